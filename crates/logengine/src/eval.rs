//! The metric expression walk: each node's value at every step, then the result in the API's
//! shapes (a vector for an instant query, a matrix for a range query).
//!
//! One shortcut: `sum(count_over_time({selector}[range]))` with no pipeline, at one step,
//! counts lines from the store's per-chunk counts without decompressing whole chunks (the
//! dashboard "how many lines" panel).

use bongsu_logql::ast::{LabelReplace, MetricExpr, RangeOp, VectorOp};
use bongsu_logstore::LogStore;
use bongsu_model::{Label, Labels};
use bongsu_promql::{Point, QueryValue, RangeSeries, VectorSample};

use crate::steps::{StepSeries, StepValue, Steps};
use crate::{binary, range, vector, QueryError, QueryRange};

pub(crate) fn query(
    store: &LogStore,
    m: &MetricExpr,
    r: &QueryRange,
) -> Result<QueryValue, QueryError> {
    let steps = Steps::new(r.start, r.end, r.step)?;
    let value = eval(store, m, &steps)?;
    let ms = |ns: i64| ns.div_euclid(1_000_000);
    let instant = r.start == r.end;
    Ok(match value {
        StepValue::Scalar(v) if instant => QueryValue::Scalar(Point {
            t: ms(steps.t(0)),
            v,
        }),
        StepValue::Scalar(v) => QueryValue::Matrix(vec![RangeSeries {
            labels: Labels::empty(),
            points: (0..steps.count)
                .map(|i| Point {
                    t: ms(steps.t(i)),
                    v,
                })
                .collect(),
            histograms: Vec::new(),
        }]),
        StepValue::Series(mut series) if instant => {
            match top_sort(m) {
                Some(desc) => series.sort_by(|a, b| {
                    let (x, y) = (
                        a.values[0].unwrap_or(f64::NAN),
                        b.values[0].unwrap_or(f64::NAN),
                    );
                    if desc {
                        y.total_cmp(&x)
                    } else {
                        x.total_cmp(&y)
                    }
                }),
                None => series.sort_by(|a, b| a.labels.cmp(&b.labels)),
            }
            QueryValue::Vector(
                series
                    .into_iter()
                    .filter_map(|s| {
                        Some(VectorSample {
                            v: s.values[0]?,
                            labels: s.labels,
                            t: ms(steps.t(0)),
                            h: None,
                        })
                    })
                    .collect(),
            )
        }
        StepValue::Series(mut series) => {
            series.sort_by(|a, b| a.labels.cmp(&b.labels));
            QueryValue::Matrix(
                series
                    .into_iter()
                    .map(|s| RangeSeries {
                        labels: s.labels,
                        points: s
                            .values
                            .iter()
                            .enumerate()
                            .filter_map(|(i, v)| {
                                v.map(|v| Point {
                                    t: ms(steps.t(i)),
                                    v,
                                })
                            })
                            .collect(),
                        histograms: Vec::new(),
                    })
                    .filter(|s| !s.points.is_empty())
                    .collect(),
            )
        }
    })
}

/// `Some(descending)` when the outermost operation is `sort`/`sort_desc`.
fn top_sort(m: &MetricExpr) -> Option<bool> {
    match m {
        MetricExpr::Vector(v) if v.op == VectorOp::Sort => Some(false),
        MetricExpr::Vector(v) if v.op == VectorOp::SortDesc => Some(true),
        _ => None,
    }
}

fn eval(store: &LogStore, m: &MetricExpr, steps: &Steps) -> Result<StepValue, QueryError> {
    match m {
        MetricExpr::Range(agg) => range::evaluate(store, agg, steps).map(StepValue::Series),
        MetricExpr::Vector(v) => {
            if let Some(n) = counted_sum(store, m, steps)? {
                return Ok(StepValue::Series(n));
            }
            if let Some(grouped) = summed_range(store, v, steps)? {
                return Ok(StepValue::Series(grouped));
            }
            match eval(store, &v.expr, steps)? {
                StepValue::Scalar(_) => Err(QueryError::BadQuery(
                    "vector aggregation over a scalar is not allowed".into(),
                )),
                StepValue::Series(s) => {
                    vector::aggregate(v.op, v.param, &v.grouping, s, steps.count)
                        .map(StepValue::Series)
                }
            }
        }
        MetricExpr::Binary(b) => {
            let lhs = eval(store, &b.lhs, steps)?;
            let rhs = eval(store, &b.rhs, steps)?;
            binary::apply(b, lhs, rhs, steps.count)
        }
        MetricExpr::Literal(v) => Ok(StepValue::Scalar(*v)),
        MetricExpr::VectorLiteral(v) => Ok(StepValue::Series(vec![StepSeries {
            labels: Labels::empty(),
            values: vec![Some(*v); steps.count],
        }])),
        MetricExpr::LabelReplace(lr) => match eval(store, &lr.expr, steps)? {
            StepValue::Scalar(v) => Ok(StepValue::Scalar(v)),
            StepValue::Series(s) => label_replace(lr, s).map(StepValue::Series),
        },
    }
}

/// `sum by (g) (count_over_time(…))` and the other range aggregations that add up (counts,
/// bytes, sums, and their rates): the same as the range aggregation grouped by `g` from the
/// start, which never builds the series of every distinct parsed label set (a `| json` or
/// `| pattern` makes nearly one per line). `None` when `v` is not such a sum.
fn summed_range(
    store: &LogStore,
    v: &bongsu_logql::ast::VectorAggregation,
    steps: &Steps,
) -> Result<Option<Vec<StepSeries>>, QueryError> {
    let MetricExpr::Range(agg) = &*v.expr else {
        return Ok(None);
    };
    let additive = matches!(
        agg.op,
        RangeOp::CountOverTime
            | RangeOp::BytesOverTime
            | RangeOp::SumOverTime
            | RangeOp::Rate
            | RangeOp::BytesRate
    );
    if v.op != VectorOp::Sum || !additive || agg.grouping.is_some() {
        return Ok(None);
    }
    let mut grouped = agg.clone();
    grouped.grouping = Some(v.grouping.clone());
    range::evaluate(store, &grouped, steps).map(Some)
}

/// The shortcut for `sum(count_over_time({…}[r]))` at one step, or `None` when `m` is not it.
fn counted_sum(
    store: &LogStore,
    m: &MetricExpr,
    steps: &Steps,
) -> Result<Option<Vec<StepSeries>>, QueryError> {
    let MetricExpr::Vector(v) = m else {
        return Ok(None);
    };
    let MetricExpr::Range(agg) = &*v.expr else {
        return Ok(None);
    };
    let plain = v.op == VectorOp::Sum
        && !v.grouping.without
        && v.grouping.labels.is_empty()
        && agg.op == RangeOp::CountOverTime
        && agg.range.log.stages.is_empty()
        && agg.range.unwrap.is_none()
        && agg.grouping.is_none()
        && steps.count == 1;
    if !plain {
        return Ok(None);
    }
    let range = i64::try_from(agg.range.range.as_nanos()).unwrap_or(i64::MAX);
    let end = steps.t(0).saturating_sub(agg.range.offset);
    let sel = store.select(
        &agg.range.log.matchers,
        end.saturating_sub(range).saturating_add(1),
        end,
    )?;
    let n = sel.count()?;
    Ok(Some(if n == 0 {
        Vec::new()
    } else {
        vec![StepSeries {
            labels: Labels::empty(),
            values: vec![Some(n as f64)],
        }]
    }))
}

/// `label_replace`: where the source label's value matches the anchored regex, the
/// destination label gets the expanded replacement (an empty result deletes it).
fn label_replace(
    lr: &LabelReplace,
    series: Vec<StepSeries>,
) -> Result<Vec<StepSeries>, QueryError> {
    let mut out: Vec<StepSeries> = Vec::with_capacity(series.len());
    let mut seen = std::collections::HashSet::new();
    for mut s in series {
        let src = s.labels.get(&lr.src).unwrap_or("");
        if let Some(caps) = lr.regex.captures(src) {
            let mut value = String::new();
            caps.expand(&lr.replacement, &mut value);
            let mut labels: Vec<Label> = s
                .labels
                .iter()
                .filter(|l| &*l.name != lr.dst.as_str())
                .cloned()
                .collect();
            if !value.is_empty() {
                labels.push(Label::new(lr.dst.as_str(), value));
            }
            s.labels = Labels::new(labels).map_err(|e| QueryError::BadQuery(e.to_string()))?;
        }
        if !seen.insert(s.labels.clone()) {
            return Err(QueryError::BadQuery(
                "vector cannot contain metrics with the same labelset".into(),
            ));
        }
        out.push(s);
    }
    Ok(out)
}
