//! `histogram_quantile`, `histogram_quantiles` and `histogram_fraction` over classic histograms
//! (series with an `le` label), with Prometheus' bucket repairs and annotations.

use std::collections::BTreeMap;

use promql_parser::parser::Expr;

use bongsu_model::{Labels, METRIC_NAME};

use super::super::annotations::go_g;
use super::super::eval::{Evaluated, Evaluator, StepSeries};
use super::super::function::Function;
use super::super::numeric::almost_equal;
use super::super::PromqlError;
use super::native::{native_fraction, native_quantile, NaNNote};
use super::string_arg;

/// Relative differences between neighbouring bucket counts below this are float noise.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// Where bucket counts had to be forced monotonic: lowest and highest bound, largest drop.
type Repair = (f64, f64, f64);

impl Evaluator<'_> {
    /// `histogram_quantile(φ, buckets)`, `histogram_quantiles(buckets, "label", φ...)` or
    /// `histogram_fraction(lower, upper, buckets)`.
    pub(super) fn histogram_function(
        &self,
        f: Function,
        args: &[&Expr],
    ) -> Result<Evaluated, PromqlError> {
        let steps = self.steps();
        // What to estimate from each group's buckets (one output series each), and for
        // histogram_quantiles the label that tells them apart.
        let mut estimates = Vec::new();
        let (buckets_arg, label) = match f {
            Function::HistogramFraction => {
                let lower = self.scalar_arg(args.first(), f64::NAN)?;
                let upper = self.scalar_arg(args.get(1), f64::NAN)?;
                estimates.push(Estimate::Fraction(lower, upper));
                (args.get(2), None)
            }
            Function::HistogramQuantile => {
                estimates.push(Estimate::Quantile(self.quantile_arg(args.first())?));
                (args.get(1), None)
            }
            _ => {
                let label = string_arg(args.get(1))?;
                for arg in args.get(2..).unwrap_or_default() {
                    estimates.push(Estimate::Quantile(self.quantile_arg(Some(arg))?));
                }
                (args.first(), Some(label))
            }
        };
        let Some(&buckets_arg) = buckets_arg else {
            let name = f.name();
            return Err(PromqlError::Execution(format!("{name}() needs a vector")));
        };
        let input = self.eval_vector(buckets_arg)?;
        let pos = self.pos(buckets_arg);
        // Buckets grouped by their labels other than `le` (the name included, as its drop is
        // only pending).
        let mut groups: BTreeMap<Labels, Group> = BTreeMap::new();
        for s in &input {
            if s.hists.is_some() {
                // Native histograms are estimated on their own, keyed by all their labels.
                groups.entry(s.labels.clone()).or_default().native.push(s);
                if s.values.iter().all(Option::is_none) {
                    continue;
                }
            }
            let le = s.labels.get("le").unwrap_or("");
            let Some(bound) = parse_le(le) else {
                let metric = s.labels.get(METRIC_NAME).unwrap_or("");
                self.annotate(|a| a.bad_bucket_label(metric, le, pos));
                continue;
            };
            groups
                .entry(s.labels.without(&["le"]))
                .or_default()
                .classic
                .push((bound, s));
        }
        let times = self.times();
        let mut out = Vec::with_capacity(groups.len() * estimates.len());
        for (labels, members) in groups {
            let metric = labels.get(METRIC_NAME).unwrap_or("").to_string();
            let mut values = vec![vec![None; steps]; estimates.len()];
            let mut b: Vec<(f64, f64)> = Vec::with_capacity(members.classic.len());
            for step in 0..steps {
                b.clear();
                b.extend(
                    members
                        .classic
                        .iter()
                        .filter_map(|(le, s)| s.values[step].map(|v| (*le, v))),
                );
                let native = members.native.iter().find_map(|s| s.hist(step));
                if let Some(h) = native {
                    // Upstream names the metric only when it keeps names until the end.
                    let name = if self.delayed_name_removal {
                        metric.as_str()
                    } else {
                        ""
                    };
                    if !b.is_empty() {
                        // Classic buckets and a native histogram of the same series: neither.
                        self.annotate(|a| a.mixed_classic_native(name, pos));
                        continue;
                    }
                    for (qi, est) in estimates.iter().enumerate() {
                        let (v, note) = match est {
                            Estimate::Quantile(q) => native_quantile(q[step], h),
                            Estimate::Fraction(lo, hi) => native_fraction(lo[step], hi[step], h),
                        };
                        values[qi][step] = Some(v);
                        let quantile = matches!(est, Estimate::Quantile(_));
                        match (note, quantile) {
                            (NaNNote::None, _) => {}
                            (NaNNote::Result, _) => {
                                self.annotate(|a| a.quantile_nan_result(name, pos))
                            }
                            (NaNNote::Skew, true) => {
                                self.annotate(|a| a.quantile_nan_skew(name, pos))
                            }
                            (NaNNote::Skew, false) => self.annotate(|a| a.fraction_nans(name, pos)),
                        }
                    }
                    continue;
                }
                if b.is_empty() {
                    continue;
                }
                for (qi, est) in estimates.iter().enumerate() {
                    // Each estimate repairs its own copy; the last may use the original.
                    let last = qi + 1 == estimates.len();
                    let mut copy;
                    let b = if last {
                        &mut b
                    } else {
                        copy = b.clone();
                        &mut copy
                    };
                    let (v, repair) = match est {
                        Estimate::Quantile(q) => bucket_quantile(q[step], b),
                        Estimate::Fraction(lo, hi) => {
                            (bucket_fraction(lo[step], hi[step], b), None)
                        }
                    };
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
                        let q = match &estimates[qi] {
                            Estimate::Quantile(q) => q.first().copied().unwrap_or(f64::NAN),
                            Estimate::Fraction(..) => f64::NAN,
                        };
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
                    hists: None,
                });
            }
        }
        Ok(Evaluated::Vector(out))
    }
}

/// The series of one output group: classic buckets with their bounds, or native histograms.
#[derive(Default)]
struct Group<'a> {
    classic: Vec<(f64, &'a StepSeries)>,
    native: Vec<&'a StepSeries>,
}

/// One estimate from a classic histogram's buckets, with its parameters per step.
enum Estimate {
    Quantile(Vec<f64>),
    Fraction(Vec<f64>, Vec<f64>),
}

impl Evaluator<'_> {
    /// A φ argument; values outside [0, 1] (or NaN) are warned about.
    fn quantile_arg(&self, arg: Option<&&Expr>) -> Result<Vec<f64>, PromqlError> {
        let q = self.scalar_arg(arg, f64::NAN)?;
        if q.iter().any(|q| !(0.0..=1.0).contains(q)) {
            let pos = arg.and_then(|a| self.pos(a));
            self.annotate(|a| {
                for q in q.iter().filter(|q| !(0.0..=1.0).contains(*q)) {
                    a.invalid_quantile(*q, pos);
                }
            });
        }
        Ok(q)
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

/// Prometheus' `BucketFraction`: the share of observations between `lower` and `upper`,
/// interpolating linearly inside the buckets they fall in (not into an infinite bucket).
fn bucket_fraction(lower: f64, upper: f64, b: &mut Vec<(f64, f64)>) -> f64 {
    b.sort_by(|x, y| x.0.partial_cmp(&y.0).unwrap_or(std::cmp::Ordering::Equal));
    if b.last().is_none_or(|l| l.0 != f64::INFINITY) {
        return f64::NAN;
    }
    b.dedup_by(|cur, prev| {
        if cur.0 == prev.0 {
            prev.1 += cur.1;
            true
        } else {
            false
        }
    });
    let count = b[b.len() - 1].1;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, None, None);
    let mut lower_bound = if b[0].0 <= 0.0 {
        f64::NEG_INFINITY
    } else {
        0.0
    };
    for (i, &(upper_bound, c)) in b.iter().enumerate() {
        if i > 0 {
            lower_bound = b[i - 1].0;
        }
        let interpolate = |v: f64| {
            if lower_bound == f64::NEG_INFINITY {
                c
            } else {
                rank + (c - rank) * (v - lower_bound) / (upper_bound - lower_bound)
            }
        };
        if lower_rank.is_none() && lower_bound >= lower {
            lower_rank = Some(rank);
        }
        if upper_rank.is_none() && lower_bound >= upper {
            upper_rank = Some(rank);
        }
        if lower_rank.is_some() && upper_rank.is_some() {
            break;
        }
        if lower_rank.is_none() && lower_bound < lower && upper_bound > lower {
            lower_rank = Some(interpolate(lower));
        }
        if upper_rank.is_none() && lower_bound < upper && upper_bound > upper {
            upper_rank = Some(interpolate(upper));
        }
        if lower_rank.is_some() && upper_rank.is_some() {
            break;
        }
        rank = c;
    }
    let cap = |r: Option<f64>| r.filter(|&r| r <= count).unwrap_or(count);
    (cap(upper_rank) - cap(lower_rank)) / count
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
