//! Binary operators between metric values, step by step, with Prometheus' vector matching
//! (Loki's are Prometheus'): arithmetic and comparisons (filtering, or 0/1 with `bool`)
//! between scalars and series, one-to-one and many-to-one/one-to-many matching with
//! `on`/`ignoring` and `group_left`/`group_right`, and the set operators `and or unless`.

use std::collections::HashMap;

use bongsu_logql::ast::{BinaryExpr, BinaryOp, Cardinality, VectorMatching};
use bongsu_model::{Label, Labels};

use crate::steps::{StepSeries, StepValue};
use crate::QueryError;

pub(crate) fn apply(
    e: &BinaryExpr,
    lhs: StepValue,
    rhs: StepValue,
    count: usize,
) -> Result<StepValue, QueryError> {
    match (lhs, rhs) {
        (StepValue::Scalar(a), StepValue::Scalar(b)) => Ok(StepValue::Scalar(
            scalar_op(e.op, a, b, true).unwrap_or(f64::NAN),
        )),
        (StepValue::Series(l), StepValue::Scalar(b)) => {
            Ok(StepValue::Series(with_scalar(e, l, b, false)))
        }
        (StepValue::Scalar(a), StepValue::Series(r)) => {
            Ok(StepValue::Series(with_scalar(e, r, a, true)))
        }
        (StepValue::Series(l), StepValue::Series(r)) => {
            if e.op.is_set_op() {
                Ok(StepValue::Series(set_op(e.op, &e.matching, l, r, count)))
            } else {
                vectors(e, l, r, count).map(StepValue::Series)
            }
        }
    }
}

/// `a op b`; for comparisons `Some(0/1)` with `bool`, else `Some(a)` when true, `None` when
/// false.
fn scalar_op(op: BinaryOp, a: f64, b: f64, return_bool: bool) -> Option<f64> {
    let cmp = |holds: bool| {
        if return_bool {
            Some(if holds { 1.0 } else { 0.0 })
        } else {
            holds.then_some(a)
        }
    };
    match op {
        BinaryOp::Add => Some(a + b),
        BinaryOp::Sub => Some(a - b),
        BinaryOp::Mul => Some(a * b),
        BinaryOp::Div => Some(a / b),
        BinaryOp::Mod => Some(a % b),
        BinaryOp::Pow => Some(a.powf(b)),
        BinaryOp::Eq => cmp(a == b),
        BinaryOp::Ne => cmp(a != b),
        BinaryOp::Gt => cmp(a > b),
        BinaryOp::Ge => cmp(a >= b),
        BinaryOp::Lt => cmp(a < b),
        BinaryOp::Le => cmp(a <= b),
        BinaryOp::And | BinaryOp::Or | BinaryOp::Unless => None,
    }
}

/// A series side against a scalar; `scalar_left` when the scalar is the left operand. A
/// filtering comparison keeps the series' own value.
fn with_scalar(
    e: &BinaryExpr,
    series: Vec<StepSeries>,
    s: f64,
    scalar_left: bool,
) -> Vec<StepSeries> {
    series
        .into_iter()
        .filter_map(|mut x| {
            for v in x.values.iter_mut() {
                *v = v.and_then(|v| {
                    let (a, b) = if scalar_left { (s, v) } else { (v, s) };
                    let r = scalar_op(e.op, a, b, e.return_bool)?;
                    // A filter keeps the vector side's value, whichever side it is on.
                    Some(if e.op.is_comparison() && !e.return_bool {
                        v
                    } else {
                        r
                    })
                });
            }
            x.values.iter().any(Option::is_some).then_some(x)
        })
        .collect()
}

/// The labels two series are matched on.
fn signature(labels: &Labels, m: &VectorMatching) -> Labels {
    let kept: Vec<Label> = labels
        .iter()
        .filter(|l| m.on == m.labels.iter().any(|n| n.as_str() == &*l.name))
        .cloned()
        .collect();
    Labels::new(kept).unwrap_or_default()
}

/// The result's labels, as Prometheus' `resultMetric`.
fn result_labels(own: &Labels, other: &Labels, m: &VectorMatching) -> Labels {
    let mut kept: Vec<Label> = if m.card == Cardinality::OneToOne {
        own.iter()
            .filter(|l| m.on == m.labels.iter().any(|n| n.as_str() == &*l.name))
            .cloned()
            .collect()
    } else {
        own.iter().cloned().collect()
    };
    for name in &m.include {
        kept.retain(|l| &*l.name != name.as_str());
        if let Some(v) = other.get(name) {
            kept.push(Label::new(name.as_str(), v));
        }
    }
    Labels::new(kept).unwrap_or_default()
}

fn vectors(
    e: &BinaryExpr,
    lhs: Vec<StepSeries>,
    rhs: Vec<StepSeries>,
    count: usize,
) -> Result<Vec<StepSeries>, QueryError> {
    let m = &e.matching;
    // For group_right the "one" side is the left: swap so `many` is always first.
    let (many, one, swapped) = match m.card {
        Cardinality::OneToMany => (rhs, lhs, true),
        _ => (lhs, rhs, false),
    };
    let one_sigs: Vec<Labels> = one.iter().map(|s| signature(&s.labels, m)).collect();
    let mut out: Vec<StepSeries> = Vec::new();
    let mut out_index: HashMap<Labels, usize> = HashMap::new();
    for t in 0..count {
        let mut by_sig: HashMap<&Labels, usize> = HashMap::new();
        for (i, s) in one.iter().enumerate() {
            if s.values[t].is_some() && by_sig.insert(&one_sigs[i], i).is_some() {
                return Err(QueryError::BadQuery(format!(
                    "found duplicate series for the match group {} on the {} hand-side of the operation: [{}];many-to-many matching not allowed: matching labels must be unique on one side",
                    crate::print_labels(&one_sigs[i]),
                    if swapped { "left" } else { "right" },
                    crate::print_labels(&s.labels)
                )));
            }
        }
        let mut seen_one_to_one: std::collections::HashSet<Labels> = Default::default();
        for s in &many {
            let Some(v) = s.values[t] else { continue };
            let sig = signature(&s.labels, m);
            let Some(&j) = by_sig.get(&sig) else { continue };
            let Some(w) = one[j].values[t] else { continue };
            if m.card == Cardinality::OneToOne && !seen_one_to_one.insert(sig.clone()) {
                return Err(QueryError::BadQuery(format!(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right) for {}",
                    crate::print_labels(&sig)
                )));
            }
            let (a, b) = if swapped { (w, v) } else { (v, w) };
            // A filtering comparison gives the left operand's value, as Prometheus.
            let Some(value) = scalar_op(e.op, a, b, e.return_bool) else {
                continue;
            };
            let labels = result_labels(&s.labels, &one[j].labels, m);
            let at = *out_index.entry(labels.clone()).or_insert_with(|| {
                out.push(StepSeries {
                    labels,
                    values: vec![None; count],
                });
                out.len() - 1
            });
            if out[at].values[t].is_some() {
                return Err(QueryError::BadQuery(
                    "vector cannot contain metrics with the same labelset".into(),
                ));
            }
            out[at].values[t] = Some(value);
        }
    }
    Ok(out)
}

fn set_op(
    op: BinaryOp,
    m: &VectorMatching,
    lhs: Vec<StepSeries>,
    rhs: Vec<StepSeries>,
    count: usize,
) -> Vec<StepSeries> {
    let rsigs: Vec<Labels> = rhs.iter().map(|s| signature(&s.labels, m)).collect();
    let lsigs: Vec<Labels> = lhs.iter().map(|s| signature(&s.labels, m)).collect();
    let present_at =
        |sigs: &[Labels], side: &[StepSeries], t: usize| -> std::collections::HashSet<Labels> {
            side.iter()
                .zip(sigs)
                .filter(|(s, _)| s.values[t].is_some())
                .map(|(_, sig)| sig.clone())
                .collect()
        };
    let mut left = lhs;
    let mut right = rhs;
    for t in 0..count {
        let r_here = present_at(&rsigs, &right, t);
        let l_here = present_at(&lsigs, &left, t);
        for (s, sig) in left.iter_mut().zip(&lsigs) {
            let matched = r_here.contains(sig);
            let keep = match op {
                BinaryOp::And => matched,
                BinaryOp::Unless => !matched,
                _ => true,
            };
            if !keep {
                s.values[t] = None;
            }
        }
        if op == BinaryOp::Or {
            for (s, sig) in right.iter_mut().zip(&rsigs) {
                if l_here.contains(sig) {
                    s.values[t] = None;
                }
            }
        }
    }
    if op == BinaryOp::Or {
        left.extend(right);
    }
    left.retain(|s| s.values.iter().any(Option::is_some));
    left
}
