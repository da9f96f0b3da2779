//! Functions of native histograms: `histogram_count`, `histogram_sum`, `histogram_avg`,
//! `histogram_stddev`, `histogram_stdvar`, and the native halves of `histogram_quantile` and
//! `histogram_fraction` (upstream's `HistogramQuantile` and `HistogramFraction`).

use promql_parser::parser::Expr;

use bongsu_model::FloatHistogram;

use super::super::eval::{kahan_inc, Evaluated, Evaluator, StepSeries};
use super::super::function::Function;
use super::super::hist_ops::{buckets, HBucket};
use super::super::PromqlError;

impl Evaluator<'_> {
    /// A function of each native histogram that yields a float; floats are skipped.
    pub(super) fn histogram_value_function(
        &self,
        f: Function,
        args: &[&Expr],
    ) -> Result<Evaluated, PromqlError> {
        let Some(arg) = args.first() else {
            let name = f.name();
            return Err(PromqlError::Execution(format!("{name}() needs a vector")));
        };
        let value: fn(&FloatHistogram) -> f64 = match f {
            Function::HistogramCount => |h| h.count,
            Function::HistogramSum => |h| h.sum,
            Function::HistogramAvg => |h| h.sum / h.count,
            Function::HistogramStddev => |h| variance(h).sqrt(),
            _ => variance,
        };
        let input = self.eval_vector(arg)?;
        let out = input
            .into_iter()
            .filter_map(|s| {
                let hists = s.hists?;
                let values: Vec<Option<f64>> =
                    hists.iter().map(|h| h.as_deref().map(value)).collect();
                Some(StepSeries {
                    labels: s.labels,
                    values,
                    drop_name: true,
                    hists: None,
                })
            })
            .collect();
        Ok(Evaluated::Vector(out))
    }
}

/// The estimated variance of the observations (upstream's `histogramVariance`): each bucket's
/// observations at its arithmetic (custom buckets), zero (zero bucket) or geometric mean.
fn variance(h: &FloatHistogram) -> f64 {
    let mean = h.sum / h.count;
    let (mut var, mut c) = (0.0, 0.0);
    for b in buckets(h) {
        if b.count == 0.0 {
            continue;
        }
        let val = if h.uses_custom_buckets() {
            (b.upper + b.lower) / 2.0
        } else if b.lower <= 0.0 && b.upper >= 0.0 {
            0.0
        } else {
            let v = (b.upper * b.lower).sqrt();
            if b.upper < 0.0 {
                -v
            } else {
                v
            }
        };
        let d = val - mean;
        (var, c) = kahan_inc(b.count * d * d, var, c);
    }
    (var + c) / h.count
}

/// What a native estimate has to say besides its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NaNNote {
    None,
    /// The result is NaN because of NaN observations.
    Result,
    /// NaN observations skew the result higher (quantile) or are left out (fraction).
    Skew,
}

/// The `q` quantile of a native histogram.
pub(super) fn native_quantile(q: f64, h: &FloatHistogram) -> (f64, NaNNote) {
    if q < 0.0 {
        return (f64::NEG_INFINITY, NaNNote::None);
    }
    if q > 1.0 {
        return (f64::INFINITY, NaNNote::None);
    }
    if h.count == 0.0 || q.is_nan() {
        return (f64::NAN, NaNNote::None);
    }
    let all = buckets(h);
    let forward = h.sum.is_nan() || q < 0.5;
    let ordered: Vec<HBucket> = if forward {
        all
    } else {
        all.into_iter().rev().collect()
    };
    let mut rank = if forward {
        q * h.count
    } else {
        (1.0 - q) * h.count
    };
    let mut count = 0.0;
    let mut idx = 0;
    let mut bucket: Option<HBucket> = None;
    while idx < ordered.len() {
        let b = ordered[idx];
        idx += 1;
        if b.count == 0.0 {
            continue;
        }
        bucket = Some(b);
        count += b.count;
        if count >= rank {
            break;
        }
    }
    // No populated bucket: upstream goes on with an empty one.
    let mut b = bucket.unwrap_or(HBucket {
        lower: 0.0,
        upper: 0.0,
        lower_inclusive: false,
        upper_inclusive: false,
        count: 0.0,
        index: 0,
    });
    if !h.uses_custom_buckets() && b.lower < 0.0 && b.upper > 0.0 {
        if h.negative_buckets.is_empty() && !h.positive_buckets.is_empty() {
            b.lower = 0.0;
        } else if h.positive_buckets.is_empty() && !h.negative_buckets.is_empty() {
            b.upper = 0.0;
        }
    } else if h.uses_custom_buckets() {
        if b.lower == f64::NEG_INFINITY {
            if b.upper <= 0.0 {
                return (b.upper, NaNNote::None);
            }
            b.lower = 0.0;
        } else if b.upper == f64::INFINITY {
            return (b.lower, NaNNote::None);
        }
    }
    if count > h.count {
        count = h.count;
    }
    if count < rank {
        if h.sum.is_nan() {
            return (f64::NAN, NaNNote::Result);
        }
        return (b.upper, NaNNote::None);
    }
    if forward {
        rank -= count - b.count;
    } else {
        rank = count - rank;
    }
    let mut note = NaNNote::None;
    if h.sum.is_nan() {
        let rest: f64 = ordered[idx..].iter().map(|b| b.count).sum();
        if count + rest < h.count {
            note = NaNNote::Skew;
        }
    }
    let fraction = rank / b.count;
    if h.uses_custom_buckets() || (b.lower <= 0.0 && b.upper >= 0.0) {
        return (b.lower + (b.upper - b.lower) * fraction, note);
    }
    let log_lower = b.lower.abs().log2();
    let log_upper = b.upper.abs().log2();
    if b.lower > 0.0 {
        return (
            (log_lower + (log_upper - log_lower) * fraction).exp2(),
            note,
        );
    }
    (
        -(log_upper + (log_lower - log_upper) * (1.0 - fraction)).exp2(),
        note,
    )
}

/// The fraction of a native histogram's observations between `lower` and `upper`.
pub(super) fn native_fraction(lower: f64, upper: f64, h: &FloatHistogram) -> (f64, NaNNote) {
    if h.count == 0.0 || lower.is_nan() || upper.is_nan() {
        return (f64::NAN, NaNNote::None);
    }
    if lower >= upper {
        return (0.0, NaNNote::None);
    }
    let all = buckets(h);
    let (mut count, mut rank) = (0.0, 0.0);
    let (mut lower_rank, mut upper_rank) = (0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    let mut idx = 0;
    while idx < all.len() {
        let mut b = all[idx];
        idx += 1;
        count += b.count;
        let mut zero_bucket = false;
        if b.lower <= 0.0 && b.upper >= 0.0 {
            zero_bucket = true;
            if h.negative_buckets.is_empty() && !h.positive_buckets.is_empty() {
                b.lower = 0.0;
            } else if h.positive_buckets.is_empty() && !h.negative_buckets.is_empty() {
                b.upper = 0.0;
            }
        }
        let linear = h.uses_custom_buckets() || zero_bucket;
        let interpolate = |v: f64| {
            if linear && b.lower == f64::NEG_INFINITY {
                b.count
            } else {
                rank + b.count * b.fraction_below(v, linear)
            }
        };
        if !lower_set && b.lower >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && b.lower >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && b.lower < lower && b.upper > lower {
            lower_rank = interpolate(lower);
            lower_set = true;
        }
        if !upper_set && b.lower < upper && b.upper > upper {
            upper_rank = interpolate(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank += b.count;
    }
    let mut note = NaNNote::None;
    if h.sum.is_nan() {
        count += all[idx..].iter().map(|b| b.count).sum::<f64>();
        if count < h.count {
            note = NaNNote::Skew;
        }
    } else {
        count = h.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    ((upper_rank - lower_rank) / h.count, note)
}
