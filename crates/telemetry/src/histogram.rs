//! Histograms with fixed buckets, kept in atomics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::encode::{Encode, FamilyEncoder};

/// Bucket bounds (seconds) for request and scrape latencies, as Prometheus' own
/// `prometheus_http_request_duration_seconds` uses.
pub const LATENCY_BUCKETS: &[f64] = &[0.1, 0.2, 0.4, 1.0, 3.0, 8.0, 20.0, 60.0, 120.0];

/// A histogram of durations with fixed buckets.
#[derive(Debug)]
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

    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = self.bounds.partition_point(|b| *b < secs);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(
            d.as_nanos().min(u128::from(u64::MAX)) as u64,
            Ordering::Relaxed,
        );
    }
}

impl Encode for Histogram {
    /// The `_bucket` (cumulative, `le` last), `_sum` and `_count` lines.
    fn encode(&self, f: &mut FamilyEncoder<'_>, labels: &[&str]) {
        let mut cumulative = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            let le = self
                .bounds
                .get(i)
                .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
            f.line("_bucket", labels, Some(("le", &le)), cumulative as f64);
        }
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        f.line("_sum", labels, None, sum);
        f.line("_count", labels, None, cumulative as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{Encoder, Family};

    #[test]
    fn renders_cumulative_buckets() {
        let h = Histogram::new(&[0.1, 1.0]);
        h.observe(Duration::from_millis(50));
        h.observe(Duration::from_millis(500));
        h.observe(Duration::from_secs(5));
        let mut out = String::new();
        let family = Family::histogram("x_seconds", "X.", &["handler"]);
        Encoder::new(&mut out).family(&family).metric(&["/a"], &h);
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
