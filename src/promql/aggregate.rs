//! Aggregation operators (`sum avg min max count group stddev stdvar quantile count_values`;
//! the selecting ones, `topk bottomk limitk limit_ratio`, are in `select_k`) with
//! `by`/`without`, evaluated per group over all steps at once.

use std::collections::BTreeMap;

use promql_parser::parser::{AggregateExpr, Expr, LabelModifier};

use super::binary::keep_labels;
use super::eval::{kahan_inc, Evaluated, Evaluator, StepSeries};
use super::functions::quantile;
use super::numeric::Mean;
use super::select_k::Selection;
use super::PromqlError;
use crate::model::{Labels, METRIC_NAME};

/// Per group and step, the running state of one aggregation.
#[derive(Clone, Default)]
struct Acc {
    n: f64,
    sum: f64,
    c: f64,
    avg: Mean,
    /// Welford's running mean and sum of squared deviations (`stddev`, `stdvar`).
    mean: f64,
    m2: f64,
    val: f64,
    values: Vec<f64>,
}

impl Evaluator<'_> {
    pub(super) fn aggregate(&self, agg: &AggregateExpr) -> Result<Evaluated, PromqlError> {
        let op = agg.op.to_string().to_lowercase();
        let input = self.eval_vector(&agg.expr)?;
        let steps = self.steps();
        // `by (__name__)` groups by a name even if its drop is pending (delayed name
        // removal); the groups then inherit the pending drop.
        let group_key = |s: &StepSeries| -> Labels {
            let labels = s.final_labels();
            match &agg.modifier {
                None => Labels::empty(),
                Some(LabelModifier::Include(by)) => keep_labels(&s.labels, &by.labels),
                Some(LabelModifier::Exclude(without)) => {
                    let mut drop: Vec<&str> = without.labels.iter().map(String::as_str).collect();
                    drop.push(METRIC_NAME);
                    labels.without(&drop)
                }
            }
        };
        match op.as_str() {
            "topk" | "bottomk" | "limitk" | "limit_ratio" => {
                let param = agg.param.as_deref();
                let k = self.param_scalar(param)?;
                let sel = Selection::of(&op)
                    .ok_or_else(|| PromqlError::Unsupported(format!("aggregation {op}")))?;
                return Ok(Evaluated::Vector(self.select_k(
                    sel,
                    input,
                    (&k, param),
                    group_key,
                )?));
            }
            _ => {}
        }
        if op == "count_values" {
            let Some(Expr::StringLiteral(label)) = agg.param.as_deref() else {
                return Err(PromqlError::Execution(
                    "count_values needs a label name".into(),
                ));
            };
            let mut groups: BTreeMap<Labels, Vec<Option<f64>>> = BTreeMap::new();
            for s in &input {
                let key = group_key(s);
                for (step, v) in s.values.iter().enumerate() {
                    let Some(v) = v else { continue };
                    let mut b = key.builder();
                    b.set(label.val.as_str(), format_value(*v));
                    let labels = b
                        .build()
                        .map_err(|e| PromqlError::Execution(e.to_string()))?;
                    let acc = groups.entry(labels).or_insert_with(|| vec![None; steps]);
                    acc[step] = Some(acc[step].unwrap_or(0.0) + 1.0);
                }
            }
            return Ok(Evaluated::Vector(
                groups
                    .into_iter()
                    .map(|(labels, values)| StepSeries {
                        labels,
                        values,
                        drop_name: false,
                    })
                    .collect(),
            ));
        }
        let param = match op.as_str() {
            "quantile" => {
                let q = self.param_scalar(agg.param.as_deref())?;
                self.check_quantiles(&q, agg.param.as_deref());
                q
            }
            _ => Vec::new(),
        };
        let mut groups: BTreeMap<Labels, (Vec<Option<Acc>>, bool)> = BTreeMap::new();
        for s in &input {
            let (acc, drop) = groups
                .entry(group_key(s))
                .or_insert_with(|| (vec![None; steps], false));
            *drop |= s.drop_name;
            for (a, v) in acc.iter_mut().zip(&s.values) {
                let Some(v) = *v else { continue };
                let first = a.is_none();
                let a = a.get_or_insert_with(|| Acc {
                    val: v,
                    ..Acc::default()
                });
                a.n += 1.0;
                match op.as_str() {
                    "sum" => (a.sum, a.c) = kahan_inc(v, a.sum, a.c),
                    "avg" => a.avg.push(v),
                    "min" if !first && (a.val > v || a.val.is_nan()) => a.val = v,
                    "max" if !first && (a.val < v || a.val.is_nan()) => a.val = v,
                    // Plain Welford, as upstream's aggregation (unlike `stddev_over_time`, it
                    // does not compensate); a non-finite first value makes the result NaN.
                    "stddev" | "stdvar" if first => {
                        a.mean = v;
                        a.m2 = if v.is_finite() { 0.0 } else { f64::NAN };
                    }
                    "stddev" | "stdvar" => {
                        let delta = v - a.mean;
                        a.mean += delta / a.n;
                        a.m2 += delta * (v - a.mean);
                    }
                    "quantile" => a.values.push(v),
                    _ => {}
                }
            }
        }
        let finish = |step: usize, a: Acc| -> f64 {
            match op.as_str() {
                "sum" => {
                    if a.sum.is_infinite() {
                        a.sum
                    } else {
                        a.sum + a.c
                    }
                }
                "avg" => a.avg.value(),
                "count" => a.n,
                "group" => 1.0,
                "min" | "max" => a.val,
                "stdvar" => a.m2 / a.n,
                "stddev" => (a.m2 / a.n).sqrt(),
                "quantile" => quantile(param[step], a.values),
                _ => f64::NAN,
            }
        };
        if !matches!(
            op.as_str(),
            "sum" | "avg" | "count" | "group" | "min" | "max" | "stdvar" | "stddev" | "quantile"
        ) {
            return Err(PromqlError::Unsupported(format!("aggregation {op}")));
        }
        Ok(Evaluated::Vector(
            groups
                .into_iter()
                .map(|(labels, (accs, drop_name))| StepSeries {
                    labels,
                    values: accs
                        .into_iter()
                        .enumerate()
                        .map(|(i, a)| a.map(|a| finish(i, a)))
                        .collect(),
                    drop_name,
                })
                .collect(),
        ))
    }

    /// Warns (once each) of a NaN φ, the largest φ above 1 and the smallest below 0.
    fn check_quantiles(&self, q: &[f64], param: Option<&Expr>) {
        let pos = param.and_then(|p| self.pos(p));
        let numbers = q.iter().copied().filter(|v| !v.is_nan());
        let (min, max) = numbers.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        self.annotate(|a| {
            if q.iter().any(|v| v.is_nan()) {
                a.invalid_quantile(f64::NAN, pos);
            }
            if max > 1.0 {
                a.invalid_quantile(max, pos);
            }
            if min < 0.0 {
                a.invalid_quantile(min, pos);
            }
        });
    }

    fn param_scalar(&self, param: Option<&Expr>) -> Result<Vec<f64>, PromqlError> {
        match param {
            Some(p) => self.eval_scalar(p),
            None => Err(PromqlError::Execution(
                "aggregation parameter missing".into(),
            )),
        }
    }
}

/// A float as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it (count_values' labels).
pub(super) fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}
