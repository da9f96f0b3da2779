//! Aggregation operators (`sum avg min max count group stddev stdvar quantile count_values`;
//! the selecting ones, `topk bottomk limitk limit_ratio`, are in `select_k`) with
//! `by`/`without`, evaluated per group over all steps at once.

use std::collections::BTreeMap;

use promql_parser::parser::{AggregateExpr, Expr, LabelModifier};

use super::binary::keep_labels;
use super::eval::{kahan_inc, Evaluated, Evaluator, StepSeries};
use super::functions::quantile;
use super::keys::{KeyIndex, KeyLabels};
use super::numeric::Mean;
use super::select_k::Selection;
use super::PromqlError;
use crate::model::{Labels, METRIC_NAME};

/// The aggregations computed here, decided once per query rather than per value.
#[derive(Clone, Copy)]
enum AggOp {
    Sum,
    Avg,
    Count,
    Group,
    Min,
    Max,
    Stddev,
    Stdvar,
    Quantile,
}

impl AggOp {
    fn of(op: &str) -> Option<AggOp> {
        Some(match op {
            "sum" => AggOp::Sum,
            "avg" => AggOp::Avg,
            "count" => AggOp::Count,
            "group" => AggOp::Group,
            "min" => AggOp::Min,
            "max" => AggOp::Max,
            "stddev" => AggOp::Stddev,
            "stdvar" => AggOp::Stdvar,
            "quantile" => AggOp::Quantile,
            _ => return None,
        })
    }
}

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
        let op =
            AggOp::of(&op).ok_or_else(|| PromqlError::Unsupported(format!("aggregation {op}")))?;
        let rule = match &agg.modifier {
            None => KeyLabels::Only(&[]),
            Some(LabelModifier::Include(by)) => KeyLabels::Only(&by.labels),
            Some(LabelModifier::Exclude(without)) => KeyLabels::AllBut(&without.labels),
        };
        let mut index = KeyIndex::default();
        // Per group: the state at every step (`n == 0`: no input there) and a pending drop.
        let mut groups: Vec<(Vec<Acc>, bool)> = Vec::new();
        for s in &input {
            let g = index.id(rule, &s.labels);
            if g == groups.len() {
                groups.push((vec![Acc::default(); steps], false));
            }
            let (acc, drop) = &mut groups[g];
            *drop |= s.drop_name;
            for (a, v) in acc.iter_mut().zip(&s.values) {
                let Some(v) = *v else { continue };
                a.n += 1.0;
                let first = a.n == 1.0;
                if first {
                    a.val = v;
                }
                match op {
                    AggOp::Sum => (a.sum, a.c) = kahan_inc(v, a.sum, a.c),
                    AggOp::Avg => a.avg.push(v),
                    AggOp::Min if !first && (a.val > v || a.val.is_nan()) => a.val = v,
                    AggOp::Max if !first && (a.val < v || a.val.is_nan()) => a.val = v,
                    // Plain Welford, as upstream's aggregation (unlike `stddev_over_time`, it
                    // does not compensate); a non-finite first value makes the result NaN.
                    AggOp::Stddev | AggOp::Stdvar if first => {
                        a.mean = v;
                        a.m2 = if v.is_finite() { 0.0 } else { f64::NAN };
                    }
                    AggOp::Stddev | AggOp::Stdvar => {
                        let delta = v - a.mean;
                        a.mean += delta / a.n;
                        a.m2 += delta * (v - a.mean);
                    }
                    AggOp::Quantile => a.values.push(v),
                    _ => {}
                }
            }
        }
        let finish = |step: usize, a: Acc| -> f64 {
            match op {
                AggOp::Sum => {
                    if a.sum.is_infinite() {
                        a.sum
                    } else {
                        a.sum + a.c
                    }
                }
                AggOp::Avg => a.avg.value(),
                AggOp::Count => a.n,
                AggOp::Group => 1.0,
                AggOp::Min | AggOp::Max => a.val,
                AggOp::Stdvar => a.m2 / a.n,
                AggOp::Stddev => (a.m2 / a.n).sqrt(),
                AggOp::Quantile => quantile(param[step], a.values),
            }
        };
        // Groups come out ordered by their labels, independent of the input order.
        let mut out: Vec<StepSeries> = index
            .into_keys()
            .into_iter()
            .zip(groups)
            .map(|(labels, (accs, drop_name))| StepSeries {
                labels,
                values: accs
                    .into_iter()
                    .enumerate()
                    .map(|(i, a)| (a.n > 0.0).then(|| finish(i, a)))
                    .collect(),
                drop_name,
            })
            .collect();
        out.sort_unstable_by(|a, b| a.labels.cmp(&b.labels));
        Ok(Evaluated::Vector(out))
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
