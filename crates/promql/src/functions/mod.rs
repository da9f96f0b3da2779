//! Function calls: argument handling and dispatch by the registry's kernel family (see
//! `function`). Range functions live in `rate` and `over_time` (`hist_range` for windows with
//! native histograms), per-value math and date functions in `math`, label and sorting
//! functions in `label`, `histogram_quantile` in `histogram`, the functions of native
//! histograms in `native`, `info` in `info`.

mod hist_range;
mod histogram;
mod info;
mod label;
mod math;
mod native;
mod over_time;
mod rate;

use promql_parser::parser::{Call, Expr};

pub(crate) use math::civil;

use super::eval::{check_distinct_labels, Evaluated, Evaluator, StepSeries, WindowCursor, Windows};
use super::function::{Family, Function};
use super::numeric::nan_first;
use super::PromqlError;
use bongsu_model::Sample;

/// Prometheus' `quantile` over a set of values (shared by `quantile` and
/// `quantile_over_time`): linear interpolation between the closest ranks.
pub(crate) fn quantile(q: f64, mut values: Vec<f64>) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(nan_first);
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

impl Evaluator<'_> {
    /// Evaluates a function call; `pos` is where the call starts in the query.
    pub(crate) fn call(&self, call: &Call, pos: Option<usize>) -> Result<Evaluated, PromqlError> {
        let unsupported = |name: &str| PromqlError::Unsupported(format!("function {name}()"));
        let f = self
            .function(call)
            .ok_or_else(|| unsupported(call.func.name))?;
        let sorts = matches!(
            f,
            Function::Sort | Function::SortDesc | Function::SortByLabel | Function::SortByLabelDesc
        );
        if sorts && self.start != self.end {
            self.annotate(|a| a.sort_in_range_query(pos));
        }
        let args: Vec<&Expr> = call.args.args.iter().map(|a| a.as_ref()).collect();
        // `None`: the arguments do not fit the kernel (the parser's checks make that rare).
        let out = match f.family() {
            Family::Range => self.range_function(f, &args)?,
            Family::Math => self.math_function(f, &args)?,
            Family::Label => self.label_function(f, &args)?,
            Family::HistogramEstimate => Some(self.histogram_function(f, &args)?),
            Family::HistogramValue => Some(self.histogram_value_function(f, &args)?),
            Family::Info => Some(self.info(&args)?),
            Family::Unimplemented => None,
        };
        out.ok_or_else(|| unsupported(f.name()))
    }

    /// The windows of a range-vector argument (a matrix selector or a subquery).
    fn windows_of(&self, expr: &Expr) -> Result<Windows, PromqlError> {
        match expr {
            Expr::MatrixSelector(ms) => self.matrix_windows(ms),
            Expr::Subquery(sq) => self.subquery_windows(sq),
            Expr::Paren(p) => self.windows_of(&p.expr),
            _ => Err(PromqlError::Execution(
                "expected a range vector argument".into(),
            )),
        }
    }

    /// Applies `f(step, window, t)` to every series' window at every step.
    fn over_windows(
        &self,
        w: Windows,
        keep_name: bool,
        f: impl Fn(usize, &[Sample], i64) -> Option<f64>,
    ) -> Vec<StepSeries> {
        self.over_window_bounds(
            w,
            keep_name,
            |_| (),
            |_, i, s, (from, to), t| f(i, &s[from..to], t),
        )
    }

    /// As `over_windows`, for functions that carry state along a series' windows: `init`
    /// makes it per series, and `f(state, step, samples, (from, to), t)` gets the series'
    /// whole samples and the window as the (non-empty) index range `from..to` of them.
    fn over_window_bounds<S>(
        &self,
        w: Windows,
        keep_name: bool,
        init: impl Fn(&[Sample]) -> S,
        f: impl Fn(&mut S, usize, &[Sample], (usize, usize), i64) -> Option<f64>,
    ) -> Vec<StepSeries> {
        let mut out = Vec::with_capacity(w.series.len());
        for (labels, samples) in &w.series {
            // Out of time: stop early; the engine reports the timeout at its next check.
            if self.out_of_time() {
                break;
            }
            let mut cursor = WindowCursor::new(samples, w.range);
            let mut state = init(samples);
            let values: Vec<Option<f64>> = w
                .times
                .iter()
                .enumerate()
                .map(|(i, &t)| {
                    let (from, to) = cursor.bounds(t);
                    if from == to {
                        None
                    } else {
                        f(&mut state, i, samples, (from, to), t)
                    }
                })
                .collect();
            if values.iter().any(Option::is_some) {
                out.push(StepSeries {
                    labels: labels.clone(),
                    values,
                    drop_name: !keep_name,
                    hists: None,
                });
            }
        }
        out
    }

    /// A range function's result: without delayed name removal, the names go now, and
    /// series left with the same labels are an error (as upstream's matrix-function path).
    fn range_result(&self, mut out: Vec<StepSeries>) -> Result<Evaluated, PromqlError> {
        if !self.delayed_name_removal {
            // Distinct series that all had one name stay distinct without it.
            let mut names = out
                .iter()
                .filter(|s| s.drop_name)
                .map(|s| s.labels.metric_name());
            let first = names.next();
            let may_clash = names.any(|n| Some(n) != first);
            for s in out.iter_mut().filter(|s| s.drop_name) {
                s.labels = s.labels.without_metric_name();
                s.drop_name = false;
            }
            if may_clash {
                check_distinct_labels(&out)?;
            }
        }
        Ok(Evaluated::Vector(out))
    }

    /// A scalar argument, or `default` at every step when it is absent.
    fn scalar_arg(&self, arg: Option<&&Expr>, default: f64) -> Result<Vec<f64>, PromqlError> {
        match arg {
            Some(e) => self.eval_scalar(e),
            None => Ok(vec![default; self.steps()]),
        }
    }
}

fn string_arg<'e>(arg: Option<&&'e Expr>) -> Result<&'e str, PromqlError> {
    let mut e = arg.copied();
    while let Some(Expr::Paren(p)) = e {
        e = Some(&p.expr);
    }
    match e {
        Some(Expr::StringLiteral(s)) => Ok(&s.val),
        _ => Err(PromqlError::Execution(
            "expected a string literal argument".into(),
        )),
    }
}
