//! The evaluator core: each expression becomes a value at every step, for every output series.
//! Owns dispatch, selectors (lookback, staleness, `offset`, `@`), range windows of matrix
//! selectors and subqueries, and shaping the final result. Operators, aggregations and
//! functions live in their own modules.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::label::MatchOp as ParserOp;
use promql_parser::parser::{AtModifier, Expr, Offset, VectorSelector};

use bongsu_model::{FloatHistogram, HistogramValue, Labels, MatchOp, Matcher, Sample, METRIC_NAME};
use bongsu_storage::Series;

use super::annotations::Annotations;
use super::function::Function;
use super::limits::QueryCtx;
use super::position::Positions;
use super::value::{HistogramPoint, Point, QueryValue, RangeSeries, VectorSample};
use super::{PromqlError, Queryable};

mod select;

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
    /// Native histograms per step, when the series has any (a step holds a float or a
    /// histogram, never both). `None` keeps the float path free of histogram costs.
    pub hists: HistColumn,
}

/// An optional histogram per step.
pub(super) type HistColumn = Option<Vec<Option<Box<FloatHistogram>>>>;

impl StepSeries {
    /// The histogram at step `i`, if any.
    #[inline]
    pub fn hist(&self, i: usize) -> Option<&FloatHistogram> {
        self.hists.as_ref()?.get(i)?.as_deref()
    }

    /// Whether the series has a float or a histogram at step `i`.
    #[inline]
    pub fn has_value(&self, i: usize) -> bool {
        self.values.get(i).is_some_and(Option::is_some) || self.hist(i).is_some()
    }

    /// Removes the value (float or histogram) at step `i`.
    pub fn clear(&mut self, i: usize) {
        self.values[i] = None;
        if let Some(h) = self.hists.as_mut() {
            h[i] = None;
        }
    }

    /// Whether the series has a value at any step.
    pub fn any_value(&self) -> bool {
        self.values.iter().any(Option::is_some)
            || self
                .hists
                .as_ref()
                .is_some_and(|h| h.iter().any(Option::is_some))
    }

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
    /// Per series (same order as `series`), its histogram samples (often none).
    pub hists: Vec<Vec<HistogramPoint>>,
}

impl Windows {
    /// The samples of `samples` in the left-open window `(t - range, t]`.
    pub fn window<'s>(&self, samples: &'s [Sample], t: i64) -> &'s [Sample] {
        let from = samples.partition_point(|x| x.t <= t - self.range);
        let to = samples.partition_point(|x| x.t <= t);
        &samples[from..to.max(from)]
    }

    /// Gives every histogram sample's time to the floats (value 0), for functions that only
    /// look at when samples are.
    pub fn merge_histogram_times(&mut self) {
        for ((_, samples), hs) in self.series.iter_mut().zip(&mut self.hists) {
            if hs.is_empty() {
                continue;
            }
            samples.extend(hs.drain(..).map(|h| Sample { t: h.t, v: 0.0 }));
            samples.sort_by_key(|s| s.t);
        }
    }

    /// Splits into the series without histograms and, if any, those with.
    pub fn split_histograms(self) -> (Windows, Option<Windows>) {
        if self.hists.iter().all(Vec::is_empty) {
            return (self, None);
        }
        let empty = |w: &Windows| Windows {
            times: w.times.clone(),
            range: w.range,
            series: Vec::new(),
            hists: Vec::new(),
        };
        let (mut floats, mut mixed) = (empty(&self), empty(&self));
        for (s, hs) in self.series.into_iter().zip(self.hists) {
            let to = if hs.is_empty() {
                &mut floats
            } else {
                &mut mixed
            };
            to.series.push(s);
            to.hists.push(hs);
        }
        (floats, Some(mixed))
    }

    /// The histograms of `hs` in the left-open window `(t - range, t]`.
    pub fn hist_window<'s>(&self, hs: &'s [HistogramPoint], t: i64) -> &'s [HistogramPoint] {
        let from = hs.partition_point(|x| x.t <= t - self.range);
        let to = hs.partition_point(|x| x.t <= t);
        &hs[from..to.max(from)]
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

    /// The function `call` calls, resolved when the query was prepared.
    pub(crate) fn function(&self, call: &promql_parser::parser::Call) -> Option<Function> {
        self.positions.function(call)
    }

    /// Whether a binary expression is a histogram trim (`</`: true, `>/`: false).
    pub fn trim(&self, b: &promql_parser::parser::BinaryExpr) -> Option<bool> {
        self.positions.trim(b)
    }

    /// A string literal that decodes to invalid UTF-8, as Go's `%q` prints it.
    pub fn go_quoted(&self, expr: &Expr) -> Option<&str> {
        self.positions.go_quoted(expr)
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
                        if let Some(h) = s.hist(0) {
                            return Some(VectorSample {
                                labels: s.final_labels(),
                                t,
                                v: 0.0,
                                h: Some(Box::new(h.clone())),
                            });
                        }
                        s.values[0].map(|v| VectorSample {
                            labels: s.final_labels(),
                            t,
                            v,
                            h: None,
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
        Ok(match self.eval(expr)? {
            Evaluated::Scalar(v) => {
                let values: Vec<Option<f64>> = v.into_iter().map(Some).collect();
                QueryValue::Matrix(vec![RangeSeries {
                    labels: Labels::empty(),
                    points: to_points(&times, &values),
                    histograms: Vec::new(),
                }])
            }
            Evaluated::Vector(series) => {
                // Series that differ only in a dropped name merge, unless they clash at a step.
                let mut series: Vec<(Labels, StepSeries)> =
                    series.into_iter().map(|s| (s.final_labels(), s)).collect();
                let sorting = std::time::Instant::now();
                series.sort_by(|a, b| a.0.cmp(&b.0));
                self.ctx.sorted(sorting.elapsed());
                let mut out: Vec<RangeSeries> = Vec::with_capacity(series.len());
                for run in series.chunk_by(|a, b| a.0 == b.0) {
                    let (points, histograms) = match run {
                        [(_, s)] => (
                            to_points(&times, &s.values),
                            to_hist_points(&times, &s.hists),
                        ),
                        _ => {
                            let mut acc = vec![None; times.len()];
                            let mut hacc: Vec<Option<Box<FloatHistogram>>> =
                                vec![None; times.len()];
                            for (_, s) in run {
                                for (i, a) in acc.iter_mut().enumerate() {
                                    let v = s.values[i];
                                    let h = s.hist(i);
                                    if v.is_some() || h.is_some() {
                                        if a.is_some() || hacc[i].is_some() {
                                            return Err(duplicate_labelset());
                                        }
                                        *a = v;
                                        hacc[i] = h.map(|h| Box::new(h.clone()));
                                    }
                                }
                            }
                            (to_points(&times, &acc), to_hist_points(&times, &Some(hacc)))
                        }
                    };
                    if !points.is_empty() || !histograms.is_empty() {
                        out.push(RangeSeries {
                            labels: run[0].0.clone(),
                            points,
                            histograms,
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
            Expr::Binary(b) => self.binary(b, self.pos(expr)),
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
        self.ctx.loaded(
            series
                .iter()
                .map(|s| s.samples.len() + s.histograms.iter().map(|h| weight(&h.h)).sum::<usize>())
                .sum(),
        )?;
        Ok(series)
    }

    pub(super) fn lookback(&self) -> i64 {
        self.lookback
    }
}

fn to_points(times: &[i64], values: &[Option<f64>]) -> Vec<Point> {
    times
        .iter()
        .zip(values)
        .filter_map(|(&t, v)| v.map(|v| Point { t, v }))
        .collect()
}

fn to_hist_points(times: &[i64], hists: &HistColumn) -> Vec<HistogramPoint> {
    let Some(hists) = hists else {
        return Vec::new();
    };
    times
        .iter()
        .zip(hists)
        .filter_map(|(&t, h)| h.as_ref().map(|h| HistogramPoint { t, h: h.clone() }))
        .collect()
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

/// What a histogram counts against the sample limits: its size in Go (upstream's
/// `FloatHistogram.Size()` plus the timestamp) over the 16 bytes of a float sample.
fn weight(h: &HistogramValue) -> usize {
    let n = match h {
        HistogramValue::Int(h) => {
            h.positive_spans.len()
                + h.negative_spans.len()
                + h.positive_buckets.len()
                + h.negative_buckets.len()
                + h.custom_values.len()
        }
        HistogramValue::Float(h) => {
            h.positive_spans.len()
                + h.negative_spans.len()
                + h.positive_buckets.len()
                + h.negative_buckets.len()
                + h.custom_values.len()
        }
    };
    (168 + 8 * n + 8) / 16
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
