//! Summaries: a total count and sum, and quantiles over recent observations.
//!
//! Quantiles are exact over a sliding window (the last [`MAX_AGE`], at most
//! [`WINDOW_SAMPLES`] observations) rather than Prometheus' streaming estimate over age
//! buckets: dashboards read `quantile="0.99"` the same, and a bounded, sorted-on-render window
//! is simpler than an estimator. Under heavy load the window is the latest observations only.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::encode::{Encode, FamilyEncoder};

/// How long an observation counts towards the quantiles: client_golang's default `MaxAge`.
pub const MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// Most observations kept for the quantiles of one summary.
pub const WINDOW_SAMPLES: usize = 1024;

/// The quantiles of Prometheus' query-engine and WAL summaries.
pub const ENGINE_QUANTILES: &[f64] = &[0.5, 0.9, 0.99];

/// The quantiles of Prometheus' scrape-interval and sync-length summaries.
pub const TARGET_QUANTILES: &[f64] = &[0.01, 0.05, 0.5, 0.9, 0.99];

#[derive(Debug)]
struct State {
    window: VecDeque<(Instant, f64)>,
    count: u64,
    sum: f64,
}

/// A summary of durations, in seconds.
#[derive(Debug)]
pub struct Summary {
    quantiles: &'static [f64],
    state: Mutex<State>,
}

impl Summary {
    pub const fn new(quantiles: &'static [f64]) -> Summary {
        Summary {
            quantiles,
            state: Mutex::new(State {
                window: VecDeque::new(),
                count: 0,
                sum: 0.0,
            }),
        }
    }

    pub fn observe(&self, d: Duration) {
        let v = d.as_secs_f64();
        let now = Instant::now();
        let mut s = self.state.lock();
        s.count += 1;
        s.sum += v;
        if s.window.len() == WINDOW_SAMPLES {
            s.window.pop_front();
        }
        s.window.push_back((now, v));
        expire(&mut s.window, now);
    }

    /// `(quantile, value)` over the window; NaN for each while it is empty, as Prometheus.
    fn quantiles(&self) -> (Vec<(f64, f64)>, u64, f64) {
        let mut s = self.state.lock();
        expire(&mut s.window, Instant::now());
        let mut values: Vec<f64> = s.window.iter().map(|(_, v)| *v).collect();
        let (count, sum) = (s.count, s.sum);
        drop(s);
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let qs = self
            .quantiles
            .iter()
            .map(|&q| {
                let v = if n == 0 {
                    f64::NAN
                } else {
                    // The smallest value with at least a q share of the window at or below it.
                    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
                    values[rank - 1]
                };
                (q, v)
            })
            .collect();
        (qs, count, sum)
    }
}

fn expire(window: &mut VecDeque<(Instant, f64)>, now: Instant) {
    while window
        .front()
        .is_some_and(|(t, _)| now.duration_since(*t) > MAX_AGE)
    {
        window.pop_front();
    }
}

impl Encode for Summary {
    /// One line per quantile (`quantile` label last), then `_sum` and `_count`.
    fn encode(&self, f: &mut FamilyEncoder<'_>, labels: &[&str]) {
        let (qs, count, sum) = self.quantiles();
        for (q, v) in qs {
            f.line("", labels, Some(("quantile", &q.to_string())), v);
        }
        f.line("_sum", labels, None, sum);
        f.line("_count", labels, None, count as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{Encoder, Family};

    fn render(s: &Summary) -> String {
        let mut out = String::new();
        let family = Family::summary("q_seconds", "Q.", &["slice"]);
        Encoder::new(&mut out).family(&family).metric(&["a"], s);
        out
    }

    #[test]
    fn quantiles_are_ranks_of_the_window() {
        let s = Summary::new(ENGINE_QUANTILES);
        assert!(render(&s).contains("q_seconds{slice=\"a\",quantile=\"0.5\"} NaN\n"));
        for ms in 1..=100 {
            s.observe(Duration::from_millis(ms));
        }
        let out = render(&s);
        assert!(
            out.contains("q_seconds{slice=\"a\",quantile=\"0.5\"} 0.05\n"),
            "{out}"
        );
        assert!(out.contains("q_seconds{slice=\"a\",quantile=\"0.9\"} 0.09\n"));
        assert!(out.contains("q_seconds{slice=\"a\",quantile=\"0.99\"} 0.099\n"));
        assert!(out.contains("q_seconds_count{slice=\"a\"} 100\n"));
        let mut parsed = bongsu_exposition::Parser::new(
            out.as_bytes(),
            bongsu_exposition::Format::PrometheusText,
        );
        while parsed.next_entry().unwrap().is_some() {}
    }

    #[test]
    fn window_is_bounded_but_totals_are_not() {
        let s = Summary::new(&[1.0]);
        for i in 0..(WINDOW_SAMPLES as u64 + 10) {
            s.observe(Duration::from_secs(i));
        }
        let (qs, count, _) = s.quantiles();
        assert_eq!(s.state.lock().window.len(), WINDOW_SAMPLES);
        assert_eq!(count, WINDOW_SAMPLES as u64 + 10);
        assert_eq!(qs, vec![(1.0, (WINDOW_SAMPLES + 9) as f64)]);
    }
}
