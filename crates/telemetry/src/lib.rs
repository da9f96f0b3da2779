//! bongsu's own metrics that need more than a counter: latency histograms with fixed
//! buckets, kept in atomics and rendered in the Prometheus text format by `api::metrics`.
//!
//! Counters and gauges live next to what they count (`tsdb`, `ingest`); this module owns only
//! the shared histogram type and the families built from it.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

/// Bucket bounds (seconds) for request and scrape latencies, as Prometheus' own
/// `prometheus_http_request_duration_seconds` uses.
pub const LATENCY_BUCKETS: &[f64] = &[0.1, 0.2, 0.4, 1.0, 3.0, 8.0, 20.0, 60.0, 120.0];

/// A histogram with fixed buckets.
pub struct Histogram {
    bounds: &'static [f64],
    /// Per bucket, not cumulative; the last is `+Inf`.
    counts: Vec<AtomicU64>,
    /// Sum of observations in nanoseconds, so it can be an atomic integer.
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, d: std::time::Duration) {
        let secs = d.as_secs_f64();
        let i = self.bounds.partition_point(|b| *b < secs);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(
            d.as_nanos().min(u128::from(u64::MAX)) as u64,
            Ordering::Relaxed,
        );
    }

    /// Appends the `_bucket`, `_sum` and `_count` lines; `labels` is `k="v",…` or empty.
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            let le = self
                .bounds
                .get(i)
                .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// Histograms keyed by one label value (a handler, a scrape pool).
pub struct HistogramVec {
    label: &'static str,
    bounds: &'static [f64],
    by_value: RwLock<BTreeMap<String, Histogram>>,
}

impl HistogramVec {
    pub const fn new(label: &'static str, bounds: &'static [f64]) -> HistogramVec {
        HistogramVec {
            label,
            bounds,
            by_value: RwLock::new(BTreeMap::new()),
        }
    }

    pub fn observe(&self, value: &str, d: std::time::Duration) {
        if let Some(h) = self.by_value.read().get(value) {
            h.observe(d);
            return;
        }
        self.by_value
            .write()
            .entry(value.to_string())
            .or_insert_with(|| Histogram::new(self.bounds))
            .observe(d);
    }

    /// The whole family: HELP, TYPE and one histogram per label value.
    pub fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (v, h) in self.by_value.read().iter() {
            let escaped = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            h.render(out, name, &format!("{}=\"{escaped}\"", self.label));
        }
    }
}

/// Duration of HTTP requests by route.
pub static HTTP_REQUEST_DURATION: HistogramVec = HistogramVec::new("handler", LATENCY_BUCKETS);

/// Duration of scrapes by scrape pool.
pub static SCRAPE_DURATION: HistogramVec = HistogramVec::new("scrape_job", LATENCY_BUCKETS);

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn renders_cumulative_buckets() {
        let h = HistogramVec::new("handler", &[0.1, 1.0]);
        h.observe("/a", Duration::from_millis(50));
        h.observe("/a", Duration::from_millis(500));
        h.observe("/a", Duration::from_secs(5));
        let mut out = String::new();
        h.render(&mut out, "x_seconds", "X.");
        assert!(
            out.contains("x_seconds_bucket{handler=\"/a\",le=\"0.1\"} 1\n"),
            "{out}"
        );
        assert!(out.contains("x_seconds_bucket{handler=\"/a\",le=\"1\"} 2\n"));
        assert!(out.contains("x_seconds_bucket{handler=\"/a\",le=\"+Inf\"} 3\n"));
        assert!(out.contains("x_seconds_sum{handler=\"/a\"} 5.55\n"));
        assert!(out.contains("x_seconds_count{handler=\"/a\"} 3\n"));
        let mut parsed = bongsu_exposition::Parser::new(
            out.as_bytes(),
            bongsu_exposition::Format::PrometheusText,
        );
        while parsed.next_entry().unwrap().is_some() {}
    }
}
