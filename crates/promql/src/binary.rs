//! Unary minus and binary operators: arithmetic, comparisons (filtering or `bool`), set
//! operators, and vector matching with `on`/`ignoring` and `group_left`/`group_right`.
//! Matching is decided per step, since which series exist can change from step to step.

use std::collections::HashMap;

use promql_parser::parser::{BinaryExpr, Expr, LabelModifier, VectorMatchCardinality};

use bongsu_model::{Label, Labels};

use super::eval::{Evaluated, Evaluator, StepSeries};
use super::hist_binary::{Elem, Res};
use super::keys::{KeyIndex, KeyLabels};
use super::PromqlError;

impl Evaluator<'_> {
    pub(super) fn unary(&self, expr: &Expr) -> Result<Evaluated, PromqlError> {
        Ok(match self.eval(expr)? {
            Evaluated::Scalar(v) => Evaluated::Scalar(v.into_iter().map(|v| -v).collect()),
            Evaluated::Vector(series) => Evaluated::Vector(
                series
                    .into_iter()
                    .map(|s| StepSeries {
                        values: s.values.into_iter().map(|v| v.map(|v| -v)).collect(),
                        labels: s.labels,
                        drop_name: true,
                        hists: s.hists.map(|hs| {
                            hs.into_iter()
                                .map(|h| {
                                    let mut h = h?;
                                    h.mul(-1.0);
                                    Some(h)
                                })
                                .collect()
                        }),
                    })
                    .collect(),
            ),
            _ => return Err(PromqlError::Execution("unary minus needs a number".into())),
        })
    }

    pub(super) fn binary(
        &self,
        b: &BinaryExpr,
        pos: Option<usize>,
    ) -> Result<Evaluated, PromqlError> {
        let op = match self.trim(b) {
            Some(true) => "</".to_string(),
            Some(false) => ">/".to_string(),
            None => b.op.to_string().to_lowercase(),
        };
        let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
        let lhs = self.eval(&b.lhs)?;
        let rhs = self.eval(&b.rhs)?;
        let comparison = is_comparison(&op);
        Ok(match (lhs, rhs) {
            (Evaluated::Scalar(l), Evaluated::Scalar(r)) => Evaluated::Scalar(
                l.iter()
                    .zip(&r)
                    .map(|(&a, &b)| {
                        let (v, keep) = apply(&op, a, b);
                        if comparison {
                            f64::from(u8::from(keep))
                        } else {
                            v
                        }
                    })
                    .collect(),
            ),
            (Evaluated::Vector(v), Evaluated::Scalar(s)) => {
                Evaluated::Vector(self.vector_scalar(&op, v, &s, false, return_bool, pos))
            }
            (Evaluated::Scalar(s), Evaluated::Vector(v)) => {
                Evaluated::Vector(self.vector_scalar(&op, v, &s, true, return_bool, pos))
            }
            (Evaluated::Vector(l), Evaluated::Vector(r)) => {
                Evaluated::Vector(self.vector_vector(&op, b, l, r, return_bool, pos)?)
            }
            _ => {
                return Err(PromqlError::Execution(format!(
                    "operator {op} is not defined for these operand types"
                )))
            }
        })
    }

    fn vector_vector(
        &self,
        op: &str,
        b: &BinaryExpr,
        lhs: Vec<StepSeries>,
        rhs: Vec<StepSeries>,
        return_bool: bool,
        pos: Option<usize>,
    ) -> Result<Vec<StepSeries>, PromqlError> {
        let matching = b.modifier.as_ref().and_then(|m| m.matching.clone());
        let card = b
            .modifier
            .as_ref()
            .map(|m| m.card.clone())
            .unwrap_or(VectorMatchCardinality::OneToOne);
        // Every series' match group as a dense id, so that per step only vectors are indexed.
        let rule = match matching.as_ref() {
            Some(LabelModifier::Include(on)) => KeyLabels::Only(&on.labels),
            Some(LabelModifier::Exclude(ign)) => KeyLabels::AllBut(&ign.labels),
            None => KeyLabels::AllBut(&[]),
        };
        let mut groups = KeyIndex::default();
        let lsig: Vec<usize> = lhs.iter().map(|s| groups.id(rule, &s.labels)).collect();
        let rsig: Vec<usize> = rhs.iter().map(|s| groups.id(rule, &s.labels)).collect();
        let steps = self.steps();
        // Per group, the last step (plus one) it was seen at: reset-free presence sets.
        let mut seen_at = vec![0usize; groups.len()];
        match op {
            "and" | "unless" => {
                let want = op == "and";
                let mut out = lhs;
                for step in 0..steps {
                    for (s, &g) in rhs.iter().zip(&rsig) {
                        if s.has_value(step) {
                            seen_at[g] = step + 1;
                        }
                    }
                    for (s, &g) in out.iter_mut().zip(&lsig) {
                        if (seen_at[g] == step + 1) != want {
                            s.clear(step);
                        }
                    }
                }
                return Ok(out);
            }
            "or" => {
                let mut rhs = rhs;
                for step in 0..steps {
                    for (s, &g) in lhs.iter().zip(&lsig) {
                        if s.has_value(step) {
                            seen_at[g] = step + 1;
                        }
                    }
                    for (s, &g) in rhs.iter_mut().zip(&rsig) {
                        if seen_at[g] == step + 1 {
                            s.clear(step);
                        }
                    }
                }
                let mut out = lhs;
                out.extend(rhs);
                return Ok(out);
            }
            _ => {}
        }
        // The "many" side is iterated, the "one" side looked up by match group.
        let (many, many_sig, one, one_sig, swapped, include) = match &card {
            VectorMatchCardinality::OneToMany(l) => {
                (&rhs, &rsig, &lhs, &lsig, true, l.labels.clone())
            }
            VectorMatchCardinality::ManyToOne(l) => {
                (&lhs, &lsig, &rhs, &rsig, false, l.labels.clone())
            }
            _ => (&lhs, &lsig, &rhs, &rsig, false, Vec::new()),
        };
        let one_to_one = matches!(
            card,
            VectorMatchCardinality::OneToOne | VectorMatchCardinality::ManyToMany
        );
        let comparison = is_comparison(op);
        let drop_name = !(comparison || is_trim(op)) || return_bool;
        // `fill`, `fill_left`, `fill_right`: values for a side without a match. As upstream,
        // the right one fills the "one" side (the left one with group_right).
        let fills = b.modifier.as_ref().map(|m| m.fill_values.clone());
        let fill_one = fills.as_ref().and_then(|f| f.rhs);
        let fill_many = fills.as_ref().and_then(|f| f.lhs);
        // The value of `many op one`, or none if a comparison filters it out.
        let binop = |mv: Elem, ov: Elem| {
            let (l, r) = if swapped { (ov, mv) } else { (mv, ov) };
            let (v, keep) = match (l, r) {
                (Elem::F(_), Elem::F(_)) if is_trim(op) => self.hist_binop(op, l, r, pos)?,
                (Elem::F(l), Elem::F(r)) => {
                    let (v, keep) = apply(op, l, r);
                    (Res::F(v), keep)
                }
                _ => self.hist_binop(op, l, r, pos)?,
            };
            if return_bool {
                Some(Res::F(f64::from(u8::from(keep))))
            } else {
                keep.then_some(v)
            }
        };
        let labels_of = |many_labels: &Labels, one_labels: &Labels| {
            result_labels(
                many_labels,
                one_labels,
                matching.as_ref(),
                one_to_one,
                &include,
            )
        };
        let mut out: Vec<StepSeries> = Vec::new();
        let mut index: HashMap<Labels, usize> = HashMap::new();
        // The output series of a pairing: per "many" series the last "one" series it met (none:
        // the fill stood in) and where that went; per "one" series where its fill pairing went.
        let mut many_out: Vec<Option<(Option<usize>, usize)>> = vec![None; many.len()];
        let mut fill_out: Vec<Option<usize>> = vec![None; one.len()];
        let mut out_of = |labels: Labels, out: &mut Vec<StepSeries>| {
            *index.entry(labels.clone()).or_insert_with(|| {
                out.push(StepSeries {
                    labels,
                    values: vec![None; steps],
                    drop_name,
                    hists: None,
                });
                out.len() - 1
            })
        };
        // Per group at this step: the "one" series present (seen_at marks it valid) and
        // whether a "many" series matched it.
        let mut one_at = vec![0usize; groups.len()];
        let mut matched_at = vec![0usize; groups.len()];
        let mut results: Vec<(usize, Res)> = Vec::new();
        for step in 0..steps {
            let stamp = step + 1;
            for (i, (s, &g)) in one.iter().zip(one_sig).enumerate() {
                if !s.has_value(step) {
                    continue;
                }
                if seen_at[g] == stamp {
                    let side = if swapped { "left" } else { "right" };
                    // Sorted, so that the message does not depend on the input order.
                    let mut dup = [
                        fmt_labels(&one[one_at[g]].final_labels()),
                        fmt_labels(&s.final_labels()),
                    ];
                    dup.sort();
                    return Err(PromqlError::Execution(format!(
                        "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                        fmt_labels(groups.key(g)), dup[0], dup[1]
                    )));
                }
                seen_at[g] = stamp;
                one_at[g] = i;
            }
            results.clear();
            for (mi, (s, &g)) in many.iter().zip(many_sig).enumerate() {
                let Some(mv) = Elem::of(s, step) else {
                    continue;
                };
                // Without a match, a `fill` value stands in, labelled with the match group.
                let (ov, oi) = if seen_at[g] == stamp {
                    let oi = one_at[g];
                    let ov = Elem::of(&one[oi], step).unwrap_or(Elem::F(f64::NAN));
                    (ov, Some(oi))
                } else {
                    match fill_one {
                        Some(f) => (Elem::F(f), None),
                        None => continue,
                    }
                };
                if matched_at[g] == stamp && one_to_one {
                    return Err(PromqlError::Execution("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into()));
                }
                matched_at[g] = stamp;
                let Some(v) = binop(mv, ov) else { continue };
                let o = match many_out[mi] {
                    Some((last, o)) if last == oi => o,
                    _ => {
                        let one_labels = oi.map_or(groups.key(g), |oi| &one[oi].labels);
                        let o = out_of(labels_of(&s.labels, one_labels), &mut out);
                        many_out[mi] = Some((oi, o));
                        o
                    }
                };
                results.push((o, v));
            }
            if let Some(f) = fill_many {
                for (oi, (series, &g)) in one.iter().zip(one_sig).enumerate() {
                    let Some(ov) = Elem::of(series, step) else {
                        continue;
                    };
                    if matched_at[g] == stamp {
                        continue;
                    }
                    let Some(v) = binop(Elem::F(f), ov) else {
                        continue;
                    };
                    let o = match fill_out[oi] {
                        Some(o) => o,
                        None => {
                            let o = out_of(labels_of(groups.key(g), &series.labels), &mut out);
                            fill_out[oi] = Some(o);
                            o
                        }
                    };
                    results.push((o, v));
                }
            }
            for (i, v) in results.drain(..) {
                if out[i].has_value(step) {
                    let msg = if one_to_one {
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                    } else {
                        "multiple matches for labels: grouping labels must ensure unique matches"
                    };
                    return Err(PromqlError::Execution(msg.into()));
                }
                out[i].set(step, v);
            }
        }
        Ok(out)
    }
}

impl Evaluator<'_> {
    /// A vector and a scalar: floats here, histograms through `hist_binop`.
    fn vector_scalar(
        &self,
        op: &str,
        mut series: Vec<StepSeries>,
        scalar: &[f64],
        scalar_left: bool,
        return_bool: bool,
        pos: Option<usize>,
    ) -> Vec<StepSeries> {
        if is_trim(op) {
            // Trims apply to histograms only.
            for s in &mut series {
                if s.values.iter().any(Option::is_some) {
                    self.annotate(|a| a.incompatible_types("float", op, "float", pos));
                    s.values.iter_mut().for_each(|v| *v = None);
                }
            }
        }
        let hists: Vec<_> = series.iter_mut().map(|s| s.hists.take()).collect();
        let mut out = vector_scalar(op, series, scalar, scalar_left, return_bool);
        let comparison = is_comparison(op);
        for (s, hs) in out.iter_mut().zip(hists) {
            let Some(hs) = hs else { continue };
            for (step, h) in hs.iter().enumerate() {
                let Some(h) = h.as_deref() else { continue };
                let k = Elem::F(scalar[step]);
                let (l, r) = if scalar_left {
                    (k, Elem::H(h))
                } else {
                    (Elem::H(h), k)
                };
                let Some((mut v, keep)) = self.hist_binop(op, l, r, pos) else {
                    continue;
                };
                if comparison && scalar_left {
                    // A filtering comparison keeps the vector's value.
                    v = Res::H(Box::new(h.clone()));
                }
                if return_bool {
                    s.set(step, Res::F(f64::from(u8::from(keep))));
                } else if keep {
                    s.set(step, v);
                }
            }
        }
        out.retain(StepSeries::any_value);
        out
    }
}

fn vector_scalar(
    op: &str,
    series: Vec<StepSeries>,
    scalar: &[f64],
    scalar_left: bool,
    return_bool: bool,
) -> Vec<StepSeries> {
    let comparison = is_comparison(op);
    series
        .into_iter()
        .map(|s| {
            let values = s
                .values
                .iter()
                .zip(scalar)
                .map(|(v, &k)| {
                    let v = (*v)?;
                    let (res, keep) = if scalar_left {
                        apply(op, k, v)
                    } else {
                        apply(op, v, k)
                    };
                    if return_bool {
                        Some(f64::from(u8::from(keep)))
                    } else if comparison {
                        // A filtering comparison keeps the vector's value, whichever side.
                        keep.then_some(v)
                    } else {
                        Some(res)
                    }
                })
                .collect();
            StepSeries {
                labels: s.labels,
                values,
                drop_name: s.drop_name || !(comparison || is_trim(op)) || return_bool,
                hists: None,
            }
        })
        .collect()
}

/// The histogram trim operators `</` and `>/`.
fn is_trim(op: &str) -> bool {
    matches!(op, "</" | ">/")
}

fn is_comparison(op: &str) -> bool {
    matches!(op, "==" | "!=" | ">" | "<" | ">=" | "<=")
}

/// The value of `l op r`, and for comparisons whether it holds.
fn apply(op: &str, l: f64, r: f64) -> (f64, bool) {
    match op {
        "+" => (l + r, true),
        "-" => (l - r, true),
        "*" => (l * r, true),
        "/" => (l / r, true),
        "%" => (l % r, true),
        "^" => (l.powf(r), true),
        "atan2" => (l.atan2(r), true),
        "==" => (l, l == r),
        "!=" => (l, l != r),
        ">" => (l, l > r),
        "<" => (l, l < r),
        ">=" => (l, l >= r),
        "<=" => (l, l <= r),
        _ => (f64::NAN, false),
    }
}

pub(super) fn keep_labels(labels: &Labels, names: &[String]) -> Labels {
    let kept = labels
        .iter()
        .filter(|l| names.iter().any(|n| **n == *l.name))
        .cloned()
        .collect();
    Labels::new(kept).unwrap_or_default()
}

fn result_labels(
    many: &Labels,
    one: &Labels,
    matching: Option<&LabelModifier>,
    one_to_one: bool,
    include: &[String],
) -> Labels {
    let mut labels = many.clone();
    if one_to_one {
        labels = match matching {
            Some(LabelModifier::Include(on)) => keep_labels(&labels, &on.labels),
            Some(LabelModifier::Exclude(ign)) => {
                let drop: Vec<&str> = ign.labels.iter().map(String::as_str).collect();
                labels.without(&drop)
            }
            None => labels,
        };
    }
    if include.is_empty() {
        return labels;
    }
    let mut b = labels.builder();
    for name in include {
        match one.get(name) {
            Some(v) => b.set(name.as_str(), v),
            None => b.del(name),
        };
    }
    b.build().unwrap_or(labels)
}

fn fmt_labels(l: &Labels) -> String {
    let parts: Vec<String> = l
        .iter()
        .map(|Label { name, value }| format!("{name}={value:?}"))
        .collect();
    format!("{{{}}}", parts.join(", "))
}
