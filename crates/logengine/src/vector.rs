//! Vector aggregations, step by step: `sum avg min max stddev stdvar count` over the series of
//! each group (`by`/`without`), `topk`/`bottomk` (the `k` largest or smallest series of each
//! group at each step, keeping their labels), `sort`/`sort_desc` (an order, applied to instant
//! results by the caller).

use std::collections::HashMap;

use bongsu_logql::ast::{Grouping, VectorOp};
use bongsu_model::{Label, Labels};

use crate::steps::StepSeries;
use crate::{QueryError, MAX_SERIES};

/// The group key labels of `labels` under `g`.
pub(crate) fn group_labels(labels: &Labels, g: &Grouping) -> Labels {
    let kept: Vec<Label> = labels
        .iter()
        .filter(|l| g.without != g.labels.iter().any(|n| n.as_str() == &*l.name))
        .cloned()
        .collect();
    Labels::new(kept).unwrap_or_default()
}

pub(crate) fn aggregate(
    op: VectorOp,
    k: i64,
    g: &Grouping,
    input: Vec<StepSeries>,
    count: usize,
) -> Result<Vec<StepSeries>, QueryError> {
    let mut groups: Vec<(Labels, Vec<usize>)> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for (i, s) in input.iter().enumerate() {
        let key = group_labels(&s.labels, g);
        let at = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(i);
    }
    if groups.len() > MAX_SERIES {
        return Err(QueryError::Limit(format!(
            "the aggregation would produce more than {MAX_SERIES} series"
        )));
    }
    match op {
        VectorOp::Topk | VectorOp::Bottomk | VectorOp::ApproxTopk => {
            Ok(select_k(op != VectorOp::Bottomk, k, &groups, input, count))
        }
        // The order is the caller's business (instant queries); values pass through.
        VectorOp::Sort | VectorOp::SortDesc => Ok(input),
        _ => Ok(groups
            .into_iter()
            .filter_map(|(labels, members)| {
                let values: Vec<Option<f64>> = (0..count)
                    .map(|t| {
                        let vals: Vec<f64> =
                            members.iter().filter_map(|&i| input[i].values[t]).collect();
                        (!vals.is_empty()).then(|| reduce(op, &vals))
                    })
                    .collect();
                values
                    .iter()
                    .any(Option::is_some)
                    .then_some(StepSeries { labels, values })
            })
            .collect()),
    }
}

fn reduce(op: VectorOp, v: &[f64]) -> f64 {
    match op {
        VectorOp::Sum => v.iter().sum(),
        VectorOp::Count => v.len() as f64,
        VectorOp::Avg => {
            let (mut mean, mut n) = (0.0f64, 0.0f64);
            for &x in v {
                n += 1.0;
                mean += x / n - mean / n;
            }
            mean
        }
        VectorOp::Min => v
            .iter()
            .copied()
            .fold(f64::NAN, |m, x| if m.is_nan() || x < m { x } else { m }),
        VectorOp::Max => v
            .iter()
            .copied()
            .fold(f64::NAN, |m, x| if m.is_nan() || x > m { x } else { m }),
        VectorOp::Stdvar | VectorOp::Stddev => {
            let (mut aux, mut n, mut mean) = (0.0f64, 0.0f64, 0.0f64);
            for &x in v {
                n += 1.0;
                let d = x - mean;
                mean += d / n;
                aux += d * (x - mean);
            }
            if op == VectorOp::Stddev {
                (aux / n).sqrt()
            } else {
                aux / n
            }
        }
        VectorOp::Topk
        | VectorOp::Bottomk
        | VectorOp::ApproxTopk
        | VectorOp::Sort
        | VectorOp::SortDesc => f64::NAN,
    }
}

/// `topk`/`bottomk`: at each step, the `k` series of each group with the largest (smallest)
/// values keep their value there; NaN sorts last, as in Prometheus.
fn select_k(
    largest: bool,
    k: i64,
    groups: &[(Labels, Vec<usize>)],
    mut input: Vec<StepSeries>,
    count: usize,
) -> Vec<StepSeries> {
    let k = usize::try_from(k).unwrap_or(0);
    let mut keep = vec![vec![false; count]; input.len()];
    for (_, members) in groups {
        for (t, _) in (0..count).enumerate() {
            let mut present: Vec<(usize, f64)> = members
                .iter()
                .filter_map(|&i| input[i].values[t].map(|v| (i, v)))
                .collect();
            present.sort_by(|a, b| {
                let (x, y) = (a.1, b.1);
                match (x.is_nan(), y.is_nan()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ if largest => y.total_cmp(&x),
                    _ => x.total_cmp(&y),
                }
            });
            for &(i, _) in present.iter().take(k) {
                keep[i][t] = true;
            }
        }
    }
    for (s, keep) in input.iter_mut().zip(&keep) {
        for (v, &k) in s.values.iter_mut().zip(keep) {
            if !k {
                *v = None;
            }
        }
    }
    input.retain(|s| s.values.iter().any(Option::is_some));
    input
}
