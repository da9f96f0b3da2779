//! The evaluator: each expression becomes a value at every step, for every output series.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::label::MatchOp as ParserOp;
use promql_parser::parser::{
    AggregateExpr, AtModifier, Call, Expr, LabelModifier, MatrixSelector, Offset, VectorSelector,
};

use super::value::{Point, QueryValue, RangeSeries, VectorSample};
use super::{PromqlError, Queryable};
use crate::model::{is_stale_nan, Labels, MatchOp, Matcher, Sample, METRIC_NAME};
use crate::tsdb::Series;

/// A series with an optional value per query step.
struct StepSeries {
    labels: Labels,
    values: Vec<Option<f64>>,
}

enum Evaluated {
    /// One value per step.
    Scalar(Vec<f64>),
    String(String),
    Vector(Vec<StepSeries>),
    /// A range selector's raw samples (only valid as an instant query's result).
    Matrix(Vec<RangeSeries>),
}

pub(super) struct Evaluator<'a> {
    db: &'a dyn Queryable,
    lookback: i64,
    start: i64,
    end: i64,
    step: i64,
}

impl<'a> Evaluator<'a> {
    pub(super) fn new(
        db: &'a dyn Queryable,
        lookback: i64,
        start: i64,
        end: i64,
        step: i64,
    ) -> Evaluator<'a> {
        Evaluator {
            db,
            lookback,
            start,
            end,
            step,
        }
    }

    fn steps(&self) -> usize {
        ((self.end - self.start) / self.step + 1) as usize
    }

    pub(super) fn instant(&self, expr: &Expr) -> Result<QueryValue, PromqlError> {
        let t = self.start;
        Ok(match self.eval(expr)? {
            Evaluated::Scalar(v) => QueryValue::Scalar(Point { t, v: v[0] }),
            Evaluated::String(s) => QueryValue::String { t, s },
            Evaluated::Vector(series) => QueryValue::Vector(
                series
                    .into_iter()
                    .filter_map(|s| {
                        s.values[0].map(|v| VectorSample {
                            labels: s.labels,
                            t,
                            v,
                        })
                    })
                    .collect(),
            ),
            Evaluated::Matrix(m) => QueryValue::Matrix(m),
        })
    }

    pub(super) fn range(&self, expr: &Expr) -> Result<QueryValue, PromqlError> {
        let times: Vec<i64> = (0..self.steps())
            .map(|i| self.start + i as i64 * self.step)
            .collect();
        let to_points = |values: &[Option<f64>]| -> Vec<Point> {
            times
                .iter()
                .zip(values)
                .filter_map(|(&t, v)| v.map(|v| Point { t, v }))
                .collect()
        };
        Ok(match self.eval(expr)? {
            Evaluated::Scalar(v) => {
                let values: Vec<Option<f64>> = v.into_iter().map(Some).collect();
                QueryValue::Matrix(vec![RangeSeries {
                    labels: Labels::empty(),
                    points: to_points(&values),
                }])
            }
            Evaluated::Vector(series) => QueryValue::Matrix(
                series
                    .into_iter()
                    .map(|s| RangeSeries {
                        points: to_points(&s.values),
                        labels: s.labels,
                    })
                    .filter(|s| !s.points.is_empty())
                    .collect(),
            ),
            Evaluated::String(_) | Evaluated::Matrix(_) => {
                let kind = if matches!(expr, Expr::StringLiteral(_)) {
                    "string"
                } else {
                    "range vector"
                };
                return Err(PromqlError::Parse(format!(
                    "invalid expression type \"{kind}\" for range query, must be Scalar or instant Vector"
                )));
            }
        })
    }

    fn eval(&self, expr: &Expr) -> Result<Evaluated, PromqlError> {
        match expr {
            Expr::NumberLiteral(n) => Ok(Evaluated::Scalar(vec![n.val; self.steps()])),
            Expr::StringLiteral(s) => Ok(Evaluated::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr),
            Expr::VectorSelector(vs) => self.vector_selector(vs),
            Expr::MatrixSelector(ms) => self.matrix_selector(ms),
            Expr::Call(call) => self.call(call),
            Expr::Aggregate(agg) => self.aggregate(agg),
            Expr::Unary(_) => Err(PromqlError::Unsupported("unary minus".into())),
            Expr::Binary(_) => Err(PromqlError::Unsupported("binary operators".into())),
            Expr::Subquery(_) => Err(PromqlError::Unsupported("subqueries".into())),
            Expr::Extension(_) => Err(PromqlError::Unsupported("extension expressions".into())),
        }
    }

    /// Evaluation time of step `i` for a selector with `offset` and `@`.
    fn step_times(&self, vs: &VectorSelector) -> Result<Vec<i64>, PromqlError> {
        let offset = match &vs.offset {
            None => 0,
            Some(Offset::Pos(d)) => duration_ms(d),
            Some(Offset::Neg(d)) => -duration_ms(d),
        };
        let at = match &vs.at {
            None => None,
            Some(AtModifier::Start) => Some(self.start),
            Some(AtModifier::End) => Some(self.end),
            Some(AtModifier::At(t)) => Some(system_time_ms(*t)),
        };
        Ok((0..self.steps())
            .map(|i| at.unwrap_or(self.start + i as i64 * self.step) - offset)
            .collect())
    }

    fn select(
        &self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Series>, PromqlError> {
        if !vs.matchers.or_matchers.is_empty() {
            return Err(PromqlError::Unsupported("`or` in label matchers".into()));
        }
        let mut matchers = Vec::with_capacity(vs.matchers.matchers.len() + 1);
        if let Some(name) = &vs.name {
            matchers.push(Matcher::equal(METRIC_NAME, name));
        }
        for m in &vs.matchers.matchers {
            let op = match m.op {
                ParserOp::Equal => MatchOp::Equal,
                ParserOp::NotEqual => MatchOp::NotEqual,
                ParserOp::Re(_) => MatchOp::Regex,
                ParserOp::NotRe(_) => MatchOp::NotRegex,
            };
            matchers.push(
                Matcher::new(op, &m.name, &m.value)
                    .map_err(|e| PromqlError::Parse(e.to_string()))?,
            );
        }
        Ok(self.db.querier(mint, maxt).select(&matchers)?)
    }

    fn vector_selector(&self, vs: &VectorSelector) -> Result<Evaluated, PromqlError> {
        let times = self.step_times(vs)?;
        let (lo, hi) = min_max(&times);
        let series = self.select(vs, lo - self.lookback + 1, hi)?;
        let mut out = Vec::with_capacity(series.len());
        for s in series {
            let values: Vec<Option<f64>> = times
                .iter()
                .map(|&t| {
                    // The newest sample in (t - lookback, t], unless it marks the series stale.
                    let i = s.samples.partition_point(|x| x.t <= t);
                    let last = i.checked_sub(1).map(|i| s.samples[i])?;
                    (last.t > t - self.lookback && !is_stale_nan(last.v)).then_some(last.v)
                })
                .collect();
            if values.iter().any(Option::is_some) {
                out.push(StepSeries {
                    labels: s.labels,
                    values,
                });
            }
        }
        Ok(Evaluated::Vector(out))
    }

    /// Raw samples of a range selector for each series, per step window `(t - range, t]`.
    fn windows(&self, ms: &MatrixSelector) -> Result<(Vec<i64>, i64, Vec<Series>), PromqlError> {
        let times = self.step_times(&ms.vs)?;
        let range = duration_ms(&ms.range);
        let (lo, hi) = min_max(&times);
        let mut series = self.select(&ms.vs, lo - range + 1, hi)?;
        for s in &mut series {
            s.samples.retain(|x| !is_stale_nan(x.v));
        }
        Ok((times, range, series))
    }

    fn matrix_selector(&self, ms: &MatrixSelector) -> Result<Evaluated, PromqlError> {
        if self.steps() != 1 {
            return Err(PromqlError::Parse(
                "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector".into(),
            ));
        }
        let (times, range, series) = self.windows(ms)?;
        let t = times[0];
        let out = series
            .into_iter()
            .map(|s| RangeSeries {
                points: s
                    .samples
                    .iter()
                    .filter(|x| x.t > t - range && x.t <= t)
                    .map(|x| Point { t: x.t, v: x.v })
                    .collect(),
                labels: s.labels,
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        Ok(Evaluated::Matrix(out))
    }

    fn call(&self, call: &Call) -> Result<Evaluated, PromqlError> {
        let name = call.func.name;
        let over: fn(&[Sample]) -> f64 = match name {
            "count_over_time" => |w| w.len() as f64,
            "sum_over_time" => |w| {
                let (sum, c) = w
                    .iter()
                    .fold((0.0, 0.0), |(sum, c), s| kahan_inc(s.v, sum, c));
                if sum.is_infinite() {
                    sum
                } else {
                    sum + c
                }
            },
            _ => return Err(PromqlError::Unsupported(format!("function {name}()"))),
        };
        let Some(Expr::MatrixSelector(ms)) = call.args.args.first().map(|a| a.as_ref()) else {
            return Err(PromqlError::Unsupported(format!(
                "{name}() over a subquery"
            )));
        };
        let (times, range, series) = self.windows(ms)?;
        let mut out = Vec::with_capacity(series.len());
        for s in series {
            let values: Vec<Option<f64>> = times
                .iter()
                .map(|&t| {
                    let from = s.samples.partition_point(|x| x.t <= t - range);
                    let to = s.samples.partition_point(|x| x.t <= t);
                    (to > from).then(|| over(&s.samples[from..to]))
                })
                .collect();
            if values.iter().any(Option::is_some) {
                out.push(StepSeries {
                    labels: s.labels.without_metric_name(),
                    values,
                });
            }
        }
        check_unique(&out)?;
        Ok(Evaluated::Vector(out))
    }

    fn aggregate(&self, agg: &AggregateExpr) -> Result<Evaluated, PromqlError> {
        let op = agg.op.to_string();
        if op != "sum" && op != "count" {
            return Err(PromqlError::Unsupported(format!("aggregation {op}")));
        }
        let Evaluated::Vector(input) = self.eval(&agg.expr)? else {
            return Err(PromqlError::Parse(format!(
                "expected type instant vector in aggregation expression, got {}",
                "scalar"
            )));
        };
        // Per group and step: the sum (or count) and its Kahan compensation.
        let mut groups: BTreeMap<Labels, Vec<Option<(f64, f64)>>> = BTreeMap::new();
        let steps = self.steps();
        for s in input {
            let key = match &agg.modifier {
                None => Labels::empty(),
                Some(LabelModifier::Include(by)) => {
                    let kept = s
                        .labels
                        .iter()
                        .filter(|l| by.labels.iter().any(|n| *n == *l.name))
                        .cloned()
                        .collect();
                    Labels::new(kept).unwrap_or_default()
                }
                Some(LabelModifier::Exclude(without)) => {
                    let mut drop: Vec<&str> = without.labels.iter().map(String::as_str).collect();
                    drop.push(METRIC_NAME);
                    s.labels.without(&drop)
                }
            };
            let acc = groups.entry(key).or_insert_with(|| vec![None; steps]);
            for (a, v) in acc.iter_mut().zip(&s.values) {
                if let Some(v) = v {
                    let add = if op == "count" { 1.0 } else { *v };
                    let (sum, c) = a.unwrap_or((0.0, 0.0));
                    *a = Some(kahan_inc(add, sum, c));
                }
            }
        }
        Ok(Evaluated::Vector(
            groups
                .into_iter()
                .map(|(labels, values)| StepSeries {
                    labels,
                    values: values.into_iter().map(|a| a.map(|(s, c)| s + c)).collect(),
                })
                .collect(),
        ))
    }
}

/// One step of Prometheus' compensated summation (`kahanSumInc`, with Neumaier's
/// improvement): returns the new sum and compensation. Prometheus sums this way in `sum` and
/// `sum_over_time`, so e.g. 240 × 0.1 is 24 and 1e100 + 1 - 1e100 is 1, as there.
fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Prometheus rejects results where two series end up with the same labels at one step.
fn check_unique(series: &[StepSeries]) -> Result<(), PromqlError> {
    let mut seen: BTreeMap<&Labels, usize> = BTreeMap::new();
    for (i, s) in series.iter().enumerate() {
        if let Some(&j) = seen.get(&s.labels) {
            let clash = s
                .values
                .iter()
                .zip(&series[j].values)
                .any(|(a, b)| a.is_some() && b.is_some());
            if clash {
                return Err(PromqlError::Execution(
                    "vector cannot contain metrics with the same labelset".into(),
                ));
            }
        }
        seen.insert(&s.labels, i);
    }
    Ok(())
}

fn duration_ms(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn system_time_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => duration_ms(&d),
        Err(e) => -duration_ms(&e.duration()),
    }
}

fn min_max(times: &[i64]) -> (i64, i64) {
    (
        times.iter().copied().min().unwrap_or(0),
        times.iter().copied().max().unwrap_or(0),
    )
}
