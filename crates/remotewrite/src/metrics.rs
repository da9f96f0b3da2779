//! The `prometheus_remote_storage_*` families, with Prometheus' names and their `remote_name`
//! and `url` labels, and the counters each queue keeps for them.

use std::sync::atomic::{AtomicI64, Ordering};

use bongsu_telemetry::{Counter, Encoder, Family, Gauge, Histogram};

/// Prometheus' buckets for `sent_batch_duration_seconds`: the default buckets and longer ones.
const SEND_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 60.0, 120.0, 300.0,
];

const L: &[&str] = &["remote_name", "url"];

static SAMPLES: Family = Family::counter(
    "prometheus_remote_storage_samples_total",
    "Total number of samples sent to remote storage.",
    L,
);
static FAILED: Family = Family::counter(
    "prometheus_remote_storage_samples_failed_total",
    "Total number of samples which failed on send to remote storage, non-recoverable errors.",
    L,
);
static RETRIED: Family = Family::counter(
    "prometheus_remote_storage_samples_retried_total",
    "Total number of samples which failed on send to remote storage but were retried because the send error was recoverable.",
    L,
);
static DROPPED: Family = Family::counter(
    "prometheus_remote_storage_samples_dropped_total",
    "Total number of samples which were dropped after being read from the WAL before being sent via remote write, either via relabelling, due to being too old or unintentionally because of an unknown reference ID.",
    L,
);
static SAMPLES_IN: Family = Family::counter(
    "prometheus_remote_storage_samples_in_total",
    "Samples read from the WAL by the remote-write queue.",
    L,
);
static HISTOGRAMS: Family = Family::counter(
    "prometheus_remote_storage_histograms_total",
    "Total number of histograms sent to remote storage.",
    L,
);
static HISTOGRAMS_FAILED: Family = Family::counter(
    "prometheus_remote_storage_histograms_failed_total",
    "Total number of histograms which failed on send to remote storage, non-recoverable errors.",
    L,
);
static HISTOGRAMS_RETRIED: Family = Family::counter(
    "prometheus_remote_storage_histograms_retried_total",
    "Total number of histograms which failed on send to remote storage but were retried because the send error was recoverable.",
    L,
);
static HISTOGRAMS_DROPPED: Family = Family::counter(
    "prometheus_remote_storage_histograms_dropped_total",
    "Total number of histograms which were dropped after being read from the WAL before being sent via remote write, either via relabelling, due to being too old or unintentionally because of an unknown reference ID.",
    L,
);
static HISTOGRAMS_IN: Family = Family::counter(
    "prometheus_remote_storage_histograms_in_total",
    "Histograms read from the WAL by the remote-write queue.",
    L,
);
static PENDING: Family = Family::gauge(
    "prometheus_remote_storage_samples_pending",
    "The number of samples pending in the queues shards to be sent to the remote storage.",
    L,
);
static BYTES: Family = Family::counter(
    "prometheus_remote_storage_bytes_total",
    "The total number of bytes of data (not metadata) sent by the queue after compression.",
    L,
);
static METADATA: Family = Family::counter(
    "prometheus_remote_storage_metadata_total",
    "Total number of metadata entries sent to remote storage.",
    L,
);
static METADATA_FAILED: Family = Family::counter(
    "prometheus_remote_storage_metadata_failed_total",
    "Total number of metadata entries which failed on send to remote storage, non-recoverable errors.",
    L,
);
static METADATA_RETRIED: Family = Family::counter(
    "prometheus_remote_storage_metadata_retried_total",
    "Total number of metadata entries which failed on send to remote storage but were retried because the send error was recoverable.",
    L,
);
static METADATA_BYTES: Family = Family::counter(
    "prometheus_remote_storage_metadata_bytes_total",
    "The total number of bytes of metadata sent by the queue after compression.",
    L,
);
static SHARDS: Family = Family::gauge(
    "prometheus_remote_storage_shards",
    "The number of shards used for parallel sending to the remote storage.",
    L,
);
static SHARDS_DESIRED: Family = Family::gauge(
    "prometheus_remote_storage_shards_desired",
    "The number of shards that the queues shard calculation wants to run based on the rate of samples in vs. samples out.",
    L,
);
static SHARDS_MIN: Family = Family::gauge(
    "prometheus_remote_storage_shards_min",
    "The minimum number of shards that the queue is allowed to run.",
    L,
);
static SHARDS_MAX: Family = Family::gauge(
    "prometheus_remote_storage_shards_max",
    "The maximum number of shards that the queue is allowed to run.",
    L,
);
static SHARD_CAPACITY: Family = Family::gauge(
    "prometheus_remote_storage_shard_capacity",
    "The capacity of each shard of the queue used for parallel sending to the remote storage.",
    L,
);
static MAX_PER_SEND: Family = Family::gauge(
    "prometheus_remote_storage_max_samples_per_send",
    "The maximum number of samples to be sent, in a single request, to the remote storage.",
    L,
);
static HIGHEST_SENT: Family = Family::gauge(
    "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
    "Timestamp from a WAL sample, the highest timestamp successfully sent by this queue, in seconds since epoch.",
    L,
);
static SEND_DURATION: Family = Family::histogram(
    "prometheus_remote_storage_sent_batch_duration_seconds",
    "Duration of send calls to the remote storage.",
    L,
);
static HIGHEST_IN: Family = Family::gauge(
    "prometheus_remote_storage_highest_timestamp_in_seconds",
    "Highest timestamp that has come into the remote storage via the Appender interface, in seconds since epoch.",
    &[],
);

/// What one queue counts.
#[derive(Debug)]
pub(crate) struct QueueMetrics {
    pub name: String,
    pub url: String,
    pub samples_sent: Counter,
    pub samples_failed: Counter,
    pub samples_retried: Counter,
    pub samples_dropped: Counter,
    pub samples_in: Counter,
    pub histograms_sent: Counter,
    pub histograms_failed: Counter,
    pub histograms_retried: Counter,
    pub histograms_dropped: Counter,
    pub histograms_in: Counter,
    pub bytes: Counter,
    pub metadata_sent: Counter,
    pub metadata_failed: Counter,
    pub metadata_retried: Counter,
    pub metadata_bytes: Counter,
    pub shards: Gauge,
    pub shards_desired: Gauge,
    pub shards_min: Gauge,
    pub shards_max: Gauge,
    pub capacity: Gauge,
    pub max_per_send: Gauge,
    pub send_duration: Histogram,
    /// Milliseconds; `i64::MIN` before the first.
    highest_sent: AtomicI64,
    highest_read: AtomicI64,
}

impl QueueMetrics {
    pub(crate) fn new(name: String, url: String) -> QueueMetrics {
        QueueMetrics {
            name,
            url,
            samples_sent: Counter::default(),
            samples_failed: Counter::default(),
            samples_retried: Counter::default(),
            samples_dropped: Counter::default(),
            samples_in: Counter::default(),
            histograms_sent: Counter::default(),
            histograms_failed: Counter::default(),
            histograms_retried: Counter::default(),
            histograms_dropped: Counter::default(),
            histograms_in: Counter::default(),
            bytes: Counter::default(),
            metadata_sent: Counter::default(),
            metadata_failed: Counter::default(),
            metadata_retried: Counter::default(),
            metadata_bytes: Counter::default(),
            shards: Gauge::default(),
            shards_desired: Gauge::default(),
            shards_min: Gauge::default(),
            shards_max: Gauge::default(),
            capacity: Gauge::default(),
            max_per_send: Gauge::default(),
            send_duration: Histogram::new(SEND_BUCKETS),
            highest_sent: AtomicI64::new(i64::MIN),
            highest_read: AtomicI64::new(i64::MIN),
        }
    }

    pub(crate) fn observe_highest_sent(&self, t: i64) {
        self.highest_sent.fetch_max(t, Ordering::Relaxed);
    }

    pub(crate) fn observe_highest_read(&self, t: i64) {
        self.highest_read.fetch_max(t, Ordering::Relaxed);
    }

    /// Highest timestamp sent, milliseconds.
    pub(crate) fn highest_sent_ms(&self) -> Option<i64> {
        Some(self.highest_sent.load(Ordering::Relaxed)).filter(|&t| t != i64::MIN)
    }

    /// Highest timestamp read from the WAL, milliseconds.
    pub(crate) fn highest_read_ms(&self) -> Option<i64> {
        Some(self.highest_read.load(Ordering::Relaxed)).filter(|&t| t != i64::MIN)
    }
}

/// A family and how to read its value from a queue.
type Column = (&'static Family, fn(&QueueMetrics) -> f64);

/// Writes the families of `queues`, with each queue's pending samples; nothing without queues
/// (as Prometheus, whose families appear with the first queue).
pub(crate) fn encode(enc: &mut Encoder<'_>, queues: &[(&QueueMetrics, u64)]) {
    if queues.is_empty() {
        return;
    }
    fn secs(ms: Option<i64>) -> f64 {
        ms.map_or(0.0, |t| t as f64 / 1000.0)
    }
    let highest_in = queues.iter().filter_map(|(m, _)| m.highest_read_ms()).max();
    let counters: [Column; 15] = [
        (&SAMPLES, |m| m.samples_sent.get() as f64),
        (&FAILED, |m| m.samples_failed.get() as f64),
        (&RETRIED, |m| m.samples_retried.get() as f64),
        (&DROPPED, |m| m.samples_dropped.get() as f64),
        (&SAMPLES_IN, |m| m.samples_in.get() as f64),
        (&HISTOGRAMS, |m| m.histograms_sent.get() as f64),
        (&HISTOGRAMS_FAILED, |m| m.histograms_failed.get() as f64),
        (&HISTOGRAMS_RETRIED, |m| m.histograms_retried.get() as f64),
        (&HISTOGRAMS_DROPPED, |m| m.histograms_dropped.get() as f64),
        (&HISTOGRAMS_IN, |m| m.histograms_in.get() as f64),
        (&BYTES, |m| m.bytes.get() as f64),
        (&METADATA, |m| m.metadata_sent.get() as f64),
        (&METADATA_FAILED, |m| m.metadata_failed.get() as f64),
        (&METADATA_RETRIED, |m| m.metadata_retried.get() as f64),
        (&METADATA_BYTES, |m| m.metadata_bytes.get() as f64),
    ];
    let gauges: [Column; 7] = [
        (&SHARDS, |m| m.shards.get()),
        (&SHARDS_DESIRED, |m| m.shards_desired.get()),
        (&SHARDS_MIN, |m| m.shards_min.get()),
        (&SHARDS_MAX, |m| m.shards_max.get()),
        (&SHARD_CAPACITY, |m| m.capacity.get()),
        (&MAX_PER_SEND, |m| m.max_per_send.get()),
        (&HIGHEST_SENT, |m| secs(m.highest_sent_ms())),
    ];
    for (family, value) in counters.iter().chain(gauges.iter()) {
        let mut f = enc.family(family);
        for (m, _) in queues {
            f.sample(&[&m.name, &m.url], value(m));
        }
    }
    let mut f = enc.family(&PENDING);
    for (m, pending) in queues {
        f.sample(&[&m.name, &m.url], *pending as f64);
    }
    let mut f = enc.family(&SEND_DURATION);
    for (m, _) in queues {
        f.metric(&[&m.name, &m.url], &m.send_duration);
    }
    enc.single(&HIGHEST_IN, secs(highest_in));
}
