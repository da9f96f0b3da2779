//! The collectors' metric families, with Promtail's names where the meaning is Promtail's
//! (`promtail_read_bytes_total`, `promtail_file_bytes_total`, `promtail_read_lines_total`,
//! `promtail_files_active_total`; the first two are gauges in Promtail despite their names)
//! and `bongsu_logcollect_*` for counts Promtail lacks. [`write_metrics`] writes them for
//! bongsu's `/metrics`, with the syslog targets', the clients' and the pipelines' families:
//! like the file counters, one set per process, kept across reloads.

use std::sync::{Arc, LazyLock};

use bongsu_telemetry::{Counter, Encoder, Family, Gauge, Labeled};

use crate::client::ClientMetrics;
use crate::stages::PipelineMetrics;
use crate::syslog::SyslogMetrics;

pub(crate) static SYSLOG: LazyLock<Arc<SyslogMetrics>> = LazyLock::new(Arc::default);
pub(crate) static CLIENTS: LazyLock<Arc<ClientMetrics>> = LazyLock::new(Arc::default);
static PIPELINES: LazyLock<PipelineMetrics> = LazyLock::new(PipelineMetrics::default);

/// The pipelines' metrics: the `metrics` stages' series (which the owner appends to the TSDB
/// with [`PipelineMetrics::append_to`]) and the dropped-line counts.
pub fn pipeline_metrics() -> &'static PipelineMetrics {
    &PIPELINES
}

static READ_BYTES: Family = Family::gauge(
    "promtail_read_bytes_total",
    "Number of bytes read.",
    &["path"],
);
static FILE_BYTES: Family = Family::gauge(
    "promtail_file_bytes_total",
    "Number of bytes total.",
    &["path"],
);
static READ_LINES: Family = Family::counter(
    "promtail_read_lines_total",
    "Number of lines read.",
    &["path"],
);
static FILES_ACTIVE: Family = Family::gauge(
    "promtail_files_active_total",
    "Number of active files.",
    &[],
);
static TRUNCATED: Family = Family::counter(
    "bongsu_logcollect_truncated_lines_total",
    "Lines longer than the tailer's limit (256 KiB) or limits_config.max_line_size, cut.",
    &[],
);
static DROPPED: Family = Family::counter(
    "bongsu_logcollect_dropped_lines_total",
    "Lines read and not stored: over limits_config.max_line_size, or refused by the store.",
    &["reason"],
);
static APPEND_FAILURES: Family = Family::counter(
    "bongsu_logcollect_append_failures_total",
    "Batches the destination failed to take (read again from the last checkpoint).",
    &[],
);

/// The collectors' counters, process-wide (one collector runs at a time; a reload replaces it).
pub(crate) struct Metrics {
    pub read_bytes: Labeled<Gauge>,
    pub file_bytes: Labeled<Gauge>,
    pub read_lines: Labeled<Counter>,
    pub files_active: Gauge,
    pub truncated: Counter,
    pub dropped: Labeled<Counter>,
    pub append_failures: Counter,
}

pub(crate) static METRICS: Metrics = Metrics {
    read_bytes: Labeled::new(Gauge::new),
    file_bytes: Labeled::new(Gauge::new),
    read_lines: Labeled::new(Counter::new),
    files_active: Gauge::new(),
    truncated: Counter::new(),
    dropped: Labeled::new(Counter::new),
    append_failures: Counter::new(),
};

impl Metrics {
    /// Forgets a file no longer tailed.
    pub(crate) fn forget(&self, path: &str) {
        self.read_bytes.remove(&[path]);
        self.file_bytes.remove(&[path]);
        self.read_lines.remove(&[path]);
    }
}

/// Writes the collectors' families.
pub fn write_metrics(enc: &mut Encoder<'_>) {
    let m = &METRICS;
    m.read_bytes.encode(&mut enc.family(&READ_BYTES));
    m.file_bytes.encode(&mut enc.family(&FILE_BYTES));
    m.read_lines.encode(&mut enc.family(&READ_LINES));
    enc.single(&FILES_ACTIVE, m.files_active.get());
    enc.single(&TRUNCATED, m.truncated.get() as f64);
    m.dropped.encode(&mut enc.family(&DROPPED));
    enc.single(&APPEND_FAILURES, m.append_failures.get() as f64);
    SYSLOG.encode(enc);
    CLIENTS.encode(enc);
    PIPELINES.encode(enc);
}
