//! The evaluator core: each expression becomes a value at every step, for every output series.
//! Owns dispatch, selectors (lookback, staleness, `offset`, `@`), range windows of matrix
//! selectors and subqueries, and shaping the final result. Operators, aggregations and
//! functions live in their own modules.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::label::MatchOp as ParserOp;
use promql_parser::parser::{
    AtModifier, Expr, MatrixSelector, Offset, SubqueryExpr, VectorSelector,
};

use bongsu_model::{is_stale_nan, Labels, MatchOp, Matcher, Sample, METRIC_NAME};
use bongsu_storage::Series;

use super::annotations::Annotations;
use super::limits::QueryCtx;
use super::position::Positions;
use super::value::{Point, QueryValue, RangeSeries, VectorSample};
use super::{PromqlError, Queryable};

/// Subqueries without a step use the default evaluation interval, as upstream's engine.
const DEFAULT_SUBQUERY_STEP_MS: i64 = 60_000;

/// A series with an optional value per query step.
pub(super) struct StepSeries {
    pub labels: Labels,
    pub values: Vec<Option<f64>>,
    /// Prometheus' delayed name removal: the metric name is dropped when the result is
    /// returned or the labels are next looked at, so that e.g. `last_over_time(rate(..))`
    /// does not clash before a later function restores distinct labels.
    pub drop_name: bool,
}

impl StepSeries {
    /// The labels with a pending name drop applied.
    pub fn final_labels(&self) -> Labels {
        if self.drop_name {
            self.labels.without_metric_name()
        } else {
            self.labels.clone()
        }
    }
}

pub(super) enum Evaluated {
    /// One value per step.
    Scalar(Vec<f64>),
    String(String),
    Vector(Vec<StepSeries>),
    /// A range selector's or subquery's raw samples (only valid as an instant query's result).
    Matrix(Vec<RangeSeries>),
}

/// The input of a range function: per series its samples, and per step the window end.
pub(super) struct Windows {
    pub times: Vec<i64>,
    pub range: i64,
    pub series: Vec<(Labels, Vec<Sample>)>,
}

impl Windows {
    /// The samples of `samples` in the left-open window `(t - range, t]`.
    pub fn window<'s>(&self, samples: &'s [Sample], t: i64) -> &'s [Sample] {
        let from = samples.partition_point(|x| x.t <= t - self.range);
        let to = samples.partition_point(|x| x.t <= t);
        &samples[from..to.max(from)]
    }
}

/// Walks one series' windows `(t - range, t]` for window ends `t` that do not decrease (as
/// the steps of a query), moving two indexes forward instead of searching at every step.
pub(super) struct WindowCursor<'s> {
    samples: &'s [Sample],
    range: i64,
    from: usize,
    to: usize,
    last: i64,
}

impl<'s> WindowCursor<'s> {
    pub fn new(samples: &'s [Sample], range: i64) -> WindowCursor<'s> {
        WindowCursor {
            samples,
            range,
            from: 0,
            to: 0,
            last: i64::MIN,
        }
    }

    /// The window `(t - range, t]` as the index range `from..to` of the series' samples.
    pub fn bounds(&mut self, t: i64) -> (usize, usize) {
        if t < self.last {
            // Never the case for query steps; start over rather than be wrong.
            (self.from, self.to) = (0, 0);
        }
        self.last = t;
        let s = self.samples;
        while self.to < s.len() && s[self.to].t <= t {
            self.to += 1;
        }
        let start = t.saturating_sub(self.range);
        while self.from < self.to && s[self.from].t <= start {
            self.from += 1;
        }
        (self.from, self.to)
    }
}

pub(super) struct Evaluator<'a> {
    db: &'a dyn Queryable,
    /// The query's deadline and sample budget, shared with subquery evaluators.
    ctx: &'a QueryCtx,
    /// Where the query's nodes start, for annotations.
    positions: &'a Positions,
    /// Shared by the evaluators of subqueries, so one query collects one set.
    annotations: &'a RefCell<Annotations>,
    lookback: i64,
    /// Prometheus' `promql-delayed-name-removal` feature: when off (its default), functions
    /// drop the metric name at once and fail on series that then share a label set.
    pub delayed_name_removal: bool,
    pub start: i64,
    pub end: i64,
    pub step: i64,
    /// The outer query's range and step, which `start()` / `end()` (in `@` and as functions),
    /// `range()` and `step()` refer to even in subqueries.
    pub query_start: i64,
    pub query_end: i64,
    pub query_step: i64,
}

impl<'a> Evaluator<'a> {
    pub(super) fn new(
        db: &'a dyn Queryable,
        ctx: &'a QueryCtx,
        (positions, annotations): (&'a Positions, &'a RefCell<Annotations>),
        (lookback, delayed_name_removal): (i64, bool),
        start: i64,
        end: i64,
        step: i64,
    ) -> Evaluator<'a> {
        Evaluator {
            db,
            ctx,
            positions,
            annotations,
            lookback,
            delayed_name_removal,
            start,
            end,
            step,
            query_start: start,
            query_end: end,
            query_step: step,
        }
    }

    /// Whether the query's deadline has passed (for loops that cannot return an error).
    pub(super) fn out_of_time(&self) -> bool {
        self.ctx.check_deadline().is_err()
    }

    /// Where `expr` starts in the query text, if known.
    pub fn pos(&self, expr: &Expr) -> Option<usize> {
        self.positions.start(expr)
    }

    /// Whether `expr` is a string literal that decodes to invalid UTF-8 (see `Positions`).
    pub fn is_not_utf8(&self, expr: &Expr) -> bool {
        self.positions.is_not_utf8(expr)
    }

    /// Records an annotation of the query.
    pub fn annotate(&self, f: impl FnOnce(&mut Annotations)) {
        f(&mut self.annotations.borrow_mut());
    }

    pub fn steps(&self) -> usize {
        ((self.end - self.start) / self.step + 1) as usize
    }

    pub fn times(&self) -> Vec<i64> {
        (0..self.steps())
            .map(|i| self.start + i as i64 * self.step)
            .collect()
    }

    pub(super) fn instant(&self, expr: &Expr) -> Result<QueryValue, PromqlError> {
        let t = self.start;
        Ok(match self.eval(expr)? {
            Evaluated::Scalar(v) => QueryValue::Scalar(Point { t, v: v[0] }),
            Evaluated::String(s) => QueryValue::String { t, s },
            Evaluated::Vector(series) => {
                let out: Vec<VectorSample> = series
                    .iter()
                    .filter_map(|s| {
                        s.values[0].map(|v| VectorSample {
                            labels: s.final_labels(),
                            t,
                            v,
                        })
                    })
                    .collect();
                let mut seen = BTreeMap::new();
                for s in &out {
                    if seen.insert(&s.labels, ()).is_some() {
                        return Err(duplicate_labelset());
                    }
                }
                QueryValue::Vector(out)
            }
            Evaluated::Matrix(m) => QueryValue::Matrix(m),
        })
    }

    pub(super) fn range(&self, expr: &Expr) -> Result<QueryValue, PromqlError> {
        let times = self.times();
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
            Evaluated::Vector(series) => {
                // Series that differ only in a dropped name merge, unless they clash at a step.
                let mut series: Vec<(Labels, Vec<Option<f64>>)> = series
                    .into_iter()
                    .map(|s| (s.final_labels(), s.values))
                    .collect();
                let sorting = std::time::Instant::now();
                series.sort_by(|a, b| a.0.cmp(&b.0));
                self.ctx.sorted(sorting.elapsed());
                let mut out: Vec<RangeSeries> = Vec::with_capacity(series.len());
                for run in series.chunk_by(|a, b| a.0 == b.0) {
                    let points = match run {
                        [(_, values)] => to_points(values),
                        _ => {
                            let mut acc = vec![None; times.len()];
                            for (_, values) in run {
                                for (a, v) in acc.iter_mut().zip(values) {
                                    if v.is_some() {
                                        if a.is_some() {
                                            return Err(duplicate_labelset());
                                        }
                                        *a = *v;
                                    }
                                }
                            }
                            to_points(&acc)
                        }
                    };
                    if !points.is_empty() {
                        out.push(RangeSeries {
                            labels: run[0].0.clone(),
                            points,
                        });
                    }
                }
                QueryValue::Matrix(out)
            }
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

    pub(super) fn eval(&self, expr: &Expr) -> Result<Evaluated, PromqlError> {
        self.ctx.check_deadline()?;
        match expr {
            Expr::NumberLiteral(n) => Ok(Evaluated::Scalar(vec![n.val; self.steps()])),
            Expr::StringLiteral(s) => Ok(Evaluated::String(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr),
            Expr::VectorSelector(vs) => self.vector_selector(vs, false),
            Expr::MatrixSelector(ms) => {
                let w = self.matrix_windows(ms)?;
                self.raw_matrix(w)
            }
            Expr::Subquery(sq) => {
                let w = self.subquery_windows(sq)?;
                self.raw_matrix(w)
            }
            Expr::Call(call) => self.call(call, self.pos(expr)),
            Expr::Aggregate(agg) => self.aggregate(agg),
            Expr::Unary(u) => self.unary(&u.expr),
            Expr::Binary(b) => self.binary(b),
            Expr::Extension(_) => Err(PromqlError::Unsupported("extension expressions".into())),
        }
    }

    /// Evaluates `expr`, which must yield an instant vector.
    pub(super) fn eval_vector(&self, expr: &Expr) -> Result<Vec<StepSeries>, PromqlError> {
        match self.eval(expr)? {
            Evaluated::Vector(v) => Ok(v),
            _ => Err(PromqlError::Execution(
                "expected an instant vector expression".into(),
            )),
        }
    }

    /// Evaluates `expr`, which must yield a scalar (one value per step).
    pub(super) fn eval_scalar(&self, expr: &Expr) -> Result<Vec<f64>, PromqlError> {
        match self.eval(expr)? {
            Evaluated::Scalar(v) => Ok(v),
            _ => Err(PromqlError::Execution(
                "expected a scalar expression".into(),
            )),
        }
    }

    /// Evaluation time of every step for a selector with `offset` and `@`.
    pub(super) fn step_times(&self, offset: &Option<Offset>, at: &Option<AtModifier>) -> Vec<i64> {
        let offset = match offset {
            None => 0,
            Some(Offset::Pos(d)) => duration_ms(d),
            Some(Offset::Neg(d)) => -duration_ms(d),
        };
        let at = match at {
            None => None,
            Some(AtModifier::Start) => Some(self.query_start),
            Some(AtModifier::End) => Some(self.query_end),
            Some(AtModifier::At(t)) => Some(system_time_ms(*t)),
        };
        self.times()
            .into_iter()
            .map(|t| at.unwrap_or(t) - offset)
            .collect()
    }

    fn select(
        &self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Series>, PromqlError> {
        self.select_series(&selector_matchers(vs)?, mint, maxt)
    }

    pub(super) fn select_series(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Series>, PromqlError> {
        let series = self.db.querier(mint, maxt)?.select(matchers)?;
        self.ctx
            .loaded(series.iter().map(|s| s.samples.len()).sum())?;
        Ok(series)
    }

    pub(super) fn lookback(&self) -> i64 {
        self.lookback
    }

    /// An instant vector selector; with `timestamps`, each value is its sample's time in
    /// seconds (what `timestamp()` of a selector returns).
    pub(super) fn vector_selector(
        &self,
        vs: &VectorSelector,
        timestamps: bool,
    ) -> Result<Evaluated, PromqlError> {
        let times = self.step_times(&vs.offset, &vs.at);
        let (lo, hi) = min_max(&times);
        let series = self.select(vs, lo - self.lookback + 1, hi)?;
        // One value per step and series is about to be held: sparse series over many steps
        // cost memory that their few samples did not count.
        self.ctx.charge(series.len().saturating_mul(times.len()))?;
        let mut out = Vec::with_capacity(series.len());
        for s in series {
            // The newest sample in (t - lookback, t], unless it marks the series stale.
            let mut next = 0;
            let values: Vec<Option<f64>> = times
                .iter()
                .map(|&t| {
                    if next > 0 && s.samples[next - 1].t > t {
                        // Steps do not go back in time; start over rather than be wrong.
                        next = s.samples.partition_point(|x| x.t <= t);
                    }
                    while next < s.samples.len() && s.samples[next].t <= t {
                        next += 1;
                    }
                    let last = s.samples[..next].last()?;
                    let fresh = last.t > t - self.lookback && !is_stale_nan(last.v);
                    fresh.then_some(if timestamps {
                        last.t as f64 / 1000.0
                    } else {
                        last.v
                    })
                })
                .collect();
            if values.iter().any(Option::is_some) {
                out.push(StepSeries {
                    labels: s.labels,
                    values,
                    drop_name: false,
                });
            }
        }
        Ok(Evaluated::Vector(out))
    }

    pub(super) fn matrix_windows(&self, ms: &MatrixSelector) -> Result<Windows, PromqlError> {
        let times = self.step_times(&ms.vs.offset, &ms.vs.at);
        let range = duration_ms(&ms.range);
        let (lo, hi) = min_max(&times);
        let series = self.select(&ms.vs, lo - range + 1, hi)?;
        Ok(Windows {
            times,
            range,
            series: series
                .into_iter()
                .map(|mut s| {
                    s.samples.retain(|x| !is_stale_nan(x.v));
                    (s.labels, s.samples)
                })
                .collect(),
        })
    }

    /// Evaluates a subquery's inner expression once, over all steps any outer window needs,
    /// aligned to multiples of the subquery step as upstream does.
    pub(super) fn subquery_windows(&self, sq: &SubqueryExpr) -> Result<Windows, PromqlError> {
        let times = self.step_times(&sq.offset, &sq.at);
        let range = duration_ms(&sq.range);
        let step = sq
            .step
            .as_ref()
            .map(duration_ms)
            .filter(|&s| s > 0)
            .unwrap_or(DEFAULT_SUBQUERY_STEP_MS);
        let (lo, hi) = min_max(&times);
        let first = lo - range;
        // Go's truncating division, then rounded up to the first step inside the range.
        let mut start = step * (first / step);
        if start < first {
            start += step;
        }
        let inner = Evaluator {
            db: self.db,
            ctx: self.ctx,
            positions: self.positions,
            annotations: self.annotations,
            lookback: self.lookback,
            delayed_name_removal: self.delayed_name_removal,
            start,
            end: hi.max(start),
            step,
            query_start: self.query_start,
            query_end: self.query_end,
            query_step: self.query_step,
        };
        // Every inner step holds at least one value: refuse before materialising them.
        self.ctx.charge(inner.steps())?;
        let inner_times = inner.times();
        let series = match inner.eval(&sq.expr)? {
            Evaluated::Vector(v) => v
                .into_iter()
                .map(|s| {
                    let samples = inner_times
                        .iter()
                        .zip(&s.values)
                        .filter_map(|(&t, v)| v.map(|v| Sample { t, v }))
                        .collect();
                    (s.final_labels(), samples)
                })
                .collect(),
            _ => {
                return Err(PromqlError::Execution(
                    "subquery is only allowed on instant vector".into(),
                ))
            }
        };
        Ok(Windows {
            times,
            range,
            series,
        })
    }

    fn raw_matrix(&self, w: Windows) -> Result<Evaluated, PromqlError> {
        if self.steps() != 1 {
            return Err(PromqlError::Parse(
                "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector".into(),
            ));
        }
        let t = w.times[0];
        let out = w
            .series
            .iter()
            .map(|(labels, samples)| RangeSeries {
                points: w
                    .window(samples, t)
                    .iter()
                    .map(|x| Point { t: x.t, v: x.v })
                    .collect(),
                labels: labels.clone(),
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        Ok(Evaluated::Matrix(out))
    }
}

/// Fails as Prometheus' `ContainsSameLabelset` check when two series share a label set.
pub(super) fn check_distinct_labels(series: &[StepSeries]) -> Result<(), PromqlError> {
    let mut seen = HashSet::with_capacity(series.len());
    if series.iter().all(|s| seen.insert(&s.labels)) {
        Ok(())
    } else {
        Err(duplicate_labelset())
    }
}

/// The matchers of a selector, its metric name included.
pub(super) fn selector_matchers(vs: &VectorSelector) -> Result<Vec<Matcher>, PromqlError> {
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
            Matcher::new(op, &m.name, &m.value).map_err(|e| PromqlError::Parse(e.to_string()))?,
        );
    }
    Ok(matchers)
}

pub(super) fn duplicate_labelset() -> PromqlError {
    PromqlError::Execution("vector cannot contain metrics with the same labelset".into())
}

/// One step of Prometheus' compensated summation (`kahanSumInc`, with Neumaier's
/// improvement): returns the new sum and compensation. Prometheus sums this way in `sum`,
/// `avg` and the `*_over_time` functions, so e.g. 1e100 + 1 - 1e100 is 1, as there.
pub(super) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    // Operands picked by value rather than by branch: which is larger depends on the data,
    // and a mispredicted branch per sample costs more than the sum.
    let (big, small) = if sum.abs() >= inc.abs() {
        (sum, inc)
    } else {
        (inc, sum)
    };
    let c = if t.is_infinite() {
        0.0
    } else {
        c + ((big - t) + small)
    };
    (t, c)
}

pub(super) fn duration_ms(d: &Duration) -> i64 {
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
