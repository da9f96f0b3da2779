//! `histogram_quantile` over classic histograms (series with an `le` label).

use std::collections::BTreeMap;

use promql_parser::parser::Expr;

use super::super::eval::{Evaluated, Evaluator, StepSeries};
use super::super::PromqlError;
use crate::model::Labels;

impl Evaluator<'_> {
    pub(super) fn histogram_quantile(&self, args: &[&Expr]) -> Result<Evaluated, PromqlError> {
        let q = self.scalar_arg(args.first(), f64::NAN)?;
        let Some(arg) = args.get(1) else {
            return Err(PromqlError::Execution(
                "histogram_quantile needs a vector".into(),
            ));
        };
        let input = self.eval_vector(arg)?;
        let steps = self.steps();
        // Buckets grouped by the labels other than `le` and the name.
        let mut groups: BTreeMap<Labels, Vec<(f64, &StepSeries)>> = BTreeMap::new();
        for s in &input {
            // Series without a parseable `le` are ignored, as upstream does.
            let Some(le) = s.labels.get("le").and_then(parse_le) else {
                continue;
            };
            let key = s.labels.without(&["le", crate::model::METRIC_NAME]);
            groups.entry(key).or_default().push((le, s));
        }
        let out = groups
            .into_iter()
            .map(|(labels, buckets)| {
                let values = (0..steps)
                    .map(|i| {
                        let mut b: Vec<(f64, f64)> = buckets
                            .iter()
                            .filter_map(|(le, s)| s.values[i].map(|v| (*le, v)))
                            .collect();
                        (!b.is_empty()).then(|| bucket_quantile(q[i], &mut b))
                    })
                    .collect();
                StepSeries {
                    labels,
                    values,
                    drop_name: false,
                }
            })
            .filter(|s| s.values.iter().any(Option::is_some))
            .collect();
        Ok(Evaluated::Vector(out))
    }
}

fn parse_le(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        _ => s.parse().ok(),
    }
}

/// Prometheus' `bucketQuantile`: sort buckets, merge equal bounds, force monotonic counts
/// (ignoring tiny float noise), then interpolate linearly inside the bucket holding the rank.
fn bucket_quantile(q: f64, b: &mut Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
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
    let mut prev = b[0].1;
    for x in b.iter_mut().skip(1) {
        if x.1 == prev {
            continue;
        }
        if (x.1 - prev).abs() <= 1e-12 * x.1.abs().max(prev.abs()) || x.1 < prev {
            x.1 = prev;
            continue;
        }
        prev = x.1;
    }
    if b.len() < 2 {
        return f64::NAN;
    }
    let observations = b[b.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let i = b.partition_point(|x| x.1 < rank);
    if i == b.len() - 1 {
        return b[b.len() - 2].0;
    }
    if i == 0 && b[0].0 <= 0.0 {
        return b[0].0;
    }
    let (mut start, end, mut count) = (0.0, b[i].0, b[i].1);
    if i > 0 {
        start = b[i - 1].0;
        count -= b[i - 1].1;
        rank -= b[i - 1].1;
    }
    start + (end - start) * (rank / count)
}
