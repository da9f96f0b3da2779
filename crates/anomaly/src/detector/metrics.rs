//! The `bongsu_anomaly_*` families: per detector, its modelled series, their state's bytes,
//! rounds, failures, anomalies and the time a round takes.

use bongsu_telemetry::{Counter, Encoder, Family, Gauge, Histogram, Labeled};

use super::run::Round;

const BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0];

static SERIES: Family = Family::gauge(
    "bongsu_anomaly_series",
    "Series the detector models.",
    &["detector"],
);
static STATE_BYTES: Family = Family::gauge(
    "bongsu_anomaly_state_bytes",
    "Bytes of model state the detector holds over all its series.",
    &["detector"],
);
static ROUNDS: Family = Family::counter(
    "bongsu_anomaly_rounds_total",
    "Detector rounds that completed.",
    &["detector"],
);
static FAILURES: Family = Family::counter(
    "bongsu_anomaly_failures_total",
    "Detector rounds (or fits from history) that failed.",
    &["detector"],
);
static ANOMALIES: Family = Family::counter(
    "bongsu_anomaly_anomalous_values_total",
    "Values scored above 1.",
    &["detector"],
);
static DURATION: Family = Family::histogram(
    "bongsu_anomaly_round_duration_seconds",
    "Time one detector round takes: the query, the models and the writes.",
    &["detector"],
);

static GAUGES: Labeled<Gauge> = Labeled::new(Gauge::new);
static BYTES: Labeled<Gauge> = Labeled::new(Gauge::new);
static ROUND_TOTALS: Labeled<Counter> = Labeled::new(Counter::new);
static FAILURE_TOTALS: Labeled<Counter> = Labeled::new(Counter::new);
static ANOMALY_TOTALS: Labeled<Counter> = Labeled::new(Counter::new);
static DURATIONS: Labeled<Histogram> = Labeled::new(|| Histogram::new(BUCKETS));

pub(super) fn round(detector: &str, r: &Round, series: usize, bytes: usize) {
    GAUGES.with(&[detector]).set(series as f64);
    BYTES.with(&[detector]).set(bytes as f64);
    ROUND_TOTALS.with(&[detector]).inc();
    ANOMALY_TOTALS.with(&[detector]).add(r.anomalies as u64);
    DURATIONS
        .with(&[detector])
        .observe(std::time::Duration::from_secs_f64(r.seconds));
}

pub(super) fn failed(detector: &str) {
    FAILURE_TOTALS.with(&[detector]).inc();
}

/// A removed detector's gauges go away (its counters stay, as counters do).
pub(super) fn forget(detector: &str) {
    GAUGES.remove(&[detector]);
    BYTES.remove(&[detector]);
}

/// Writes the families.
pub fn write_metrics(enc: &mut Encoder<'_>) {
    GAUGES.encode(&mut enc.family(&SERIES));
    BYTES.encode(&mut enc.family(&STATE_BYTES));
    ROUND_TOTALS.encode(&mut enc.family(&ROUNDS));
    FAILURE_TOTALS.encode(&mut enc.family(&FAILURES));
    ANOMALY_TOTALS.encode(&mut enc.family(&ANOMALIES));
    DURATIONS.encode(&mut enc.family(&DURATION));
}
