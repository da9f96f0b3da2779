//! `histogram_quantile` and `histogram_quantiles` over classic histograms (series with an `le`
//! label), with Prometheus' bucket repairs and annotations.

use std::collections::BTreeMap;

use promql_parser::parser::Expr;

use super::super::annotations::go_g;
use super::super::eval::{Evaluated, Evaluator, StepSeries};
use super::super::numeric::almost_equal;
use super::super::PromqlError;
use super::string_arg;
use crate::model::{Labels, METRIC_NAME};

/// Relative differences between neighbouring bucket counts below this are float noise.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// Where bucket counts had to be forced monotonic: lowest and highest bound, largest drop.
type Repair = (f64, f64, f64);

impl Evaluator<'_> {
    /// `histogram_quantile(φ, buckets)` or `histogram_quantiles(buckets, "label", φ...)`.
    pub(super) fn histogram_quantile(
        &self,
        name: &str,
        args: &[&Expr],
    ) -> Result<Evaluated, PromqlError> {
        let steps = self.steps();
        // Per quantile: its values and argument; and the label it goes in, if several.
        let (buckets_arg, label, q_args) = if name == "histogram_quantile" {
            (args.get(1), None, args.get(..1).unwrap_or_default())
        } else {
            let label = string_arg(args.get(1))?;
            (args.first(), Some(label), args.get(2..).unwrap_or_default())
        };
        let Some(&buckets_arg) = buckets_arg else {
            return Err(PromqlError::Execution(format!("{name}() needs a vector")));
        };
        let mut qs = Vec::with_capacity(q_args.len());
        for arg in q_args {
            let q = self.eval_scalar(arg)?;
            if q.iter().any(|q| !(0.0..=1.0).contains(q)) {
                let pos = self.pos(arg);
                self.annotate(|a| {
                    for q in q.iter().filter(|q| !(0.0..=1.0).contains(*q)) {
                        a.invalid_quantile(*q, pos);
                    }
                });
            }
            qs.push(q);
        }
        let input = self.eval_vector(buckets_arg)?;
        let pos = self.pos(buckets_arg);
        // Buckets grouped by their labels other than `le` (the name included, as its drop is
        // only pending).
        let mut groups: BTreeMap<Labels, Vec<(f64, &StepSeries)>> = BTreeMap::new();
        for s in &input {
            let le = s.labels.get("le").unwrap_or("");
            let Some(bound) = parse_le(le) else {
                let metric = s.labels.get(METRIC_NAME).unwrap_or("");
                self.annotate(|a| a.bad_bucket_label(metric, le, pos));
                continue;
            };
            groups
                .entry(s.labels.without(&["le"]))
                .or_default()
                .push((bound, s));
        }
        let times = self.times();
        let mut out = Vec::with_capacity(groups.len() * qs.len());
        for (labels, members) in groups {
            let metric = labels.get(METRIC_NAME).unwrap_or("").to_string();
            let mut values = vec![vec![None; steps]; qs.len()];
            let mut b: Vec<(f64, f64)> = Vec::with_capacity(members.len());
            for step in 0..steps {
                b.clear();
                b.extend(
                    members
                        .iter()
                        .filter_map(|(le, s)| s.values[step].map(|v| (*le, v))),
                );
                if b.is_empty() {
                    continue;
                }
                for (qi, q) in qs.iter().enumerate() {
                    let (v, repair) = bucket_quantile(q[step], &mut b.clone());
                    values[qi][step] = Some(v);
                    if let Some(r) = repair {
                        self.annotate(|a| a.forced_monotonicity(&metric, pos, times[step], r));
                    }
                }
            }
            for (qi, values) in values.into_iter().enumerate() {
                if values.iter().all(Option::is_none) {
                    continue;
                }
                let labels = match label {
                    None => labels.clone(),
                    Some(label) => {
                        // One φ per series; a step-varying φ takes its first value's name.
                        let q = qs[qi].first().copied().unwrap_or(f64::NAN);
                        let mut b = labels.builder();
                        b.set(label, openmetrics_float(q));
                        b.build()
                            .map_err(|e| PromqlError::Execution(e.to_string()))?
                    }
                };
                out.push(StepSeries {
                    labels,
                    values,
                    drop_name: true,
                });
            }
        }
        Ok(Evaluated::Vector(out))
    }
}

/// An `le` value; Rust's float syntax accepts what Go's `strconv.ParseFloat` does for
/// decimal numbers, `Inf`/`Infinity` and `NaN` in any case, with a sign.
fn parse_le(s: &str) -> Option<f64> {
    s.parse().ok()
}

/// Go's `FormatOpenMetricsFloat`: `%g`, with ".0" added to a plain integer.
fn openmetrics_float(q: f64) -> String {
    let s = go_g(q, None);
    if q.is_finite() && !s.contains(['.', 'e']) {
        format!("{s}.0")
    } else {
        s
    }
}

/// Prometheus' `BucketQuantile`: sort buckets, merge equal bounds, force monotonic counts
/// (silently ignoring float noise), then interpolate linearly inside the bucket holding the
/// rank. Also returns where monotonicity had to be forced, if it had to.
fn bucket_quantile(q: f64, b: &mut Vec<(f64, f64)>) -> (f64, Option<Repair>) {
    if q.is_nan() {
        return (f64::NAN, None);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, None);
    }
    if q > 1.0 {
        return (f64::INFINITY, None);
    }
    b.sort_by(|x, y| x.0.partial_cmp(&y.0).unwrap_or(std::cmp::Ordering::Equal));
    if b.last().is_none_or(|l| l.0 != f64::INFINITY) {
        return (f64::NAN, None);
    }
    b.dedup_by(|cur, prev| {
        if cur.0 == prev.0 {
            prev.1 += cur.1;
            true
        } else {
            false
        }
    });
    let repair = ensure_monotonic(b);
    if b.len() < 2 {
        return (f64::NAN, repair);
    }
    let observations = b[b.len() - 1].1;
    if observations == 0.0 {
        return (f64::NAN, repair);
    }
    let mut rank = q * observations;
    let i = b[..b.len() - 1].partition_point(|x| x.1 < rank);
    if i == b.len() - 1 {
        return (b[b.len() - 2].0, repair);
    }
    if i == 0 && b[0].0 <= 0.0 {
        return (b[0].0, repair);
    }
    let (mut start, end, mut count) = (0.0, b[i].0, b[i].1);
    if i > 0 {
        start = b[i - 1].0;
        count -= b[i - 1].1;
        rank -= b[i - 1].1;
    }
    (start + (end - start) * (rank / count), repair)
}

/// Levels float noise between neighbouring counts, then removes every decrease; reports the
/// decreases removed.
fn ensure_monotonic(b: &mut [(f64, f64)]) -> Option<Repair> {
    let mut repair: Option<Repair> = None;
    let mut prev = b[0].1;
    for x in b.iter_mut().skip(1) {
        let cur = x.1;
        if cur == prev {
            continue;
        }
        if almost_equal(prev, cur, SMALL_DELTA_TOLERANCE) {
            x.1 = prev;
            continue;
        }
        if cur < prev {
            x.1 = prev;
            let (lo, hi, diff) = repair.unwrap_or((f64::INFINITY, f64::NEG_INFINITY, 0.0));
            repair = Some((lo.min(x.0), hi.max(x.0), diff.max(prev - cur)));
            continue;
        }
        prev = cur;
    }
    repair
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_parses_as_go() {
        assert_eq!(parse_le("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_le("inf"), Some(f64::INFINITY));
        assert_eq!(parse_le("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_le("0.5"), Some(0.5));
        assert_eq!(parse_le("1e3"), Some(1000.0));
        assert!(parse_le("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_le(""), None);
        assert_eq!(parse_le("Hello World"), None);
    }

    #[test]
    fn forced_monotonicity_is_reported() {
        let mut b = vec![(1.0, 5.0), (2.0, 3.0), (4.0, 4.0), (f64::INFINITY, 10.0)];
        let (v, repair) = bucket_quantile(0.5, &mut b);
        assert_eq!(repair, Some((2.0, 4.0, 2.0)));
        assert_eq!(v, 1.0);
        let mut b = vec![(1.0, 1.0), (f64::INFINITY, 1.0 + 1e-13)];
        assert_eq!(bucket_quantile(0.5, &mut b).1, None);
    }

    #[test]
    fn quantile_labels() {
        assert_eq!(openmetrics_float(0.0), "0.0");
        assert_eq!(openmetrics_float(1.0), "1.0");
        assert_eq!(openmetrics_float(0.25), "0.25");
        assert_eq!(openmetrics_float(-0.1), "-0.1");
        assert_eq!(openmetrics_float(f64::NAN), "NaN");
    }
}
