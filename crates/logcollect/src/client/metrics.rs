//! The Loki-push clients' metric families, with Promtail's names and labels. One
//! [`ClientMetrics`] is shared by every client of a process; the server writes it into
//! `/metrics`.

use std::time::Duration;

use bongsu_telemetry::{Counter, Encoder, Family, Histogram, Labeled};

/// Why entries were dropped (`reason`), as Promtail names it.
pub const REASON_GENERIC: &str = "ingester_error";
pub const REASON_RATE_LIMITED: &str = "rate_limited";

/// Prometheus' default histogram buckets, which Promtail's request histogram uses.
const DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static ENCODED_BYTES: Family = Family::counter(
    "promtail_encoded_bytes_total",
    "Number of bytes encoded and ready to send.",
    &["host"],
);
static SENT_BYTES: Family = Family::counter(
    "promtail_sent_bytes_total",
    "Number of bytes sent.",
    &["host"],
);
static DROPPED_BYTES: Family = Family::counter(
    "promtail_dropped_bytes_total",
    "Number of bytes dropped because failed to be sent to the ingester after all retries.",
    &["host", "tenant", "reason"],
);
static SENT_ENTRIES: Family = Family::counter(
    "promtail_sent_entries_total",
    "Number of log entries sent to the ingester.",
    &["host"],
);
static DROPPED_ENTRIES: Family = Family::counter(
    "promtail_dropped_entries_total",
    "Number of log entries dropped because failed to be sent to the ingester after all retries.",
    &["host", "tenant", "reason"],
);
static REQUEST_DURATION: Family = Family::histogram(
    "promtail_request_duration_seconds",
    "Duration of send requests.",
    &["status_code", "host"],
);
static BATCH_RETRIES: Family = Family::counter(
    "promtail_batch_retries_total",
    "Number of times batches has had to be retried.",
    &["host", "tenant"],
);

/// Counters of all Loki-push clients.
pub struct ClientMetrics {
    encoded_bytes: Labeled<Counter>,
    sent_bytes: Labeled<Counter>,
    dropped_bytes: Labeled<Counter>,
    sent_entries: Labeled<Counter>,
    dropped_entries: Labeled<Counter>,
    request_duration: Labeled<Histogram>,
    batch_retries: Labeled<Counter>,
}

impl Default for ClientMetrics {
    fn default() -> ClientMetrics {
        ClientMetrics {
            encoded_bytes: Labeled::new(Counter::new),
            sent_bytes: Labeled::new(Counter::new),
            dropped_bytes: Labeled::new(Counter::new),
            sent_entries: Labeled::new(Counter::new),
            dropped_entries: Labeled::new(Counter::new),
            request_duration: Labeled::new(|| Histogram::new(DEFAULT_BUCKETS)),
            batch_retries: Labeled::new(Counter::new),
        }
    }
}

impl std::fmt::Debug for ClientMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientMetrics")
    }
}

impl ClientMetrics {
    pub(crate) fn encoded(&self, host: &str, bytes: usize) {
        self.encoded_bytes.with(&[host]).add(bytes as u64);
    }

    pub(crate) fn sent(&self, host: &str, entries: usize, bytes: usize) {
        self.sent_entries.with(&[host]).add(entries as u64);
        self.sent_bytes.with(&[host]).add(bytes as u64);
    }

    pub(crate) fn dropped(
        &self,
        host: &str,
        tenant: &str,
        reason: &str,
        entries: usize,
        bytes: usize,
    ) {
        self.dropped_entries
            .with(&[host, tenant, reason])
            .add(entries as u64);
        self.dropped_bytes
            .with(&[host, tenant, reason])
            .add(bytes as u64);
    }

    pub(crate) fn request(&self, host: &str, status: Option<u16>, took: Duration) {
        // Promtail labels a request that got no answer with status -1.
        let status = status.map_or_else(|| "-1".to_string(), |s| s.to_string());
        self.request_duration.with(&[&status, host]).observe(took);
    }

    pub(crate) fn retry(&self, host: &str, tenant: &str) {
        self.batch_retries.with(&[host, tenant]).inc();
    }

    /// Entries acknowledged by `host` so far.
    pub fn sent_entries(&self, host: &str) -> u64 {
        self.sent_entries.with(&[host]).get()
    }

    /// Entries dropped for `reason` so far.
    pub fn dropped_entries(&self, host: &str, tenant: &str, reason: &str) -> u64 {
        self.dropped_entries.with(&[host, tenant, reason]).get()
    }

    /// Writes the families in the text exposition format.
    pub fn encode(&self, enc: &mut Encoder<'_>) {
        let families: [(&Family, &Labeled<Counter>); 6] = [
            (&ENCODED_BYTES, &self.encoded_bytes),
            (&SENT_BYTES, &self.sent_bytes),
            (&DROPPED_BYTES, &self.dropped_bytes),
            (&SENT_ENTRIES, &self.sent_entries),
            (&DROPPED_ENTRIES, &self.dropped_entries),
            (&BATCH_RETRIES, &self.batch_retries),
        ];
        for (family, values) in families {
            values.encode(&mut enc.family(family));
        }
        self.request_duration
            .encode(&mut enc.family(&REQUEST_DURATION));
    }
}
