//! The `prometheus_remote_read_client_*` families of Prometheus 3.5 (`storage/remote/client.go`),
//! with its `remote_name` and `url` labels.

use std::time::Duration;

use bongsu_telemetry::{Counter, Encoder, Family, Gauge, Histogram, Labeled};

/// Prometheus' buckets: the default ones and 25s, 60s.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 60.0,
];

static QUERIES_TOTAL: Family = Family::counter(
    "prometheus_remote_read_client_queries_total",
    "The total number of remote read queries.",
    &["remote_name", "url", "response_type", "code"],
);
static IN_FLIGHT: Family = Family::gauge(
    "prometheus_remote_read_client_queries",
    "The number of in-flight remote read queries.",
    &["remote_name", "url"],
);
static DURATION: Family = Family::histogram(
    "prometheus_remote_read_client_request_duration_seconds",
    "Histogram of the latency for remote read requests. Note that for streamed responses this is only the duration of the initial call and does not include the processing of the stream.",
    &["remote_name", "url", "response_type"],
);

static TOTALS: Labeled<Counter> = Labeled::new(Counter::new);
static GAUGES: Labeled<Gauge> = Labeled::new(Gauge::new);
static DURATIONS: Labeled<Histogram> = Labeled::new(|| Histogram::new(BUCKETS));

/// The metrics of one remote.
pub(crate) struct ClientMetrics {
    name: String,
    url: String,
}

impl ClientMetrics {
    pub(crate) fn new(name: &str, url: &str) -> ClientMetrics {
        GAUGES.with(&[name, url]);
        ClientMetrics {
            name: name.to_string(),
            url: url.to_string(),
        }
    }

    pub(crate) fn in_flight(&self, d: f64) {
        GAUGES.with(&[&self.name, &self.url]).add(d);
    }

    /// A query answered with `response_type` (`sampled`, `chunked`, `unsupported`) and `code`.
    pub(crate) fn answered(&self, response_type: &str, code: &str, took: Duration) {
        DURATIONS
            .with(&[&self.name, &self.url, response_type])
            .observe(took);
        TOTALS
            .with(&[&self.name, &self.url, response_type, code])
            .inc();
    }
}

/// Writes the remote-read client families.
pub fn write_metrics(enc: &mut Encoder<'_>) {
    TOTALS.encode(&mut enc.family(&QUERIES_TOTAL));
    GAUGES.encode(&mut enc.family(&IN_FLIGHT));
    DURATIONS.encode(&mut enc.family(&DURATION));
}
