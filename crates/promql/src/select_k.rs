//! The aggregations that keep input series rather than compute new ones: `topk`, `bottomk`,
//! `limitk` and `limit_ratio`. Per group and step they decide which series keep their value;
//! the checks of the parameter and the order of an instant result are upstream's.

use std::cmp::Ordering;
use std::collections::HashMap;

use promql_parser::parser::Expr;

use bongsu_model::Labels;

use super::annotations::go_g;
use super::eval::{Evaluator, StepSeries};
use super::PromqlError;

/// Which series of a group to keep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Selection {
    Top,
    Bottom,
    /// The first `k` of the group, in input order.
    Limit,
    /// Those whose label hash falls in the ratio's share of the hash space.
    Ratio,
}

impl Selection {
    pub(super) fn of(op: &str) -> Option<Selection> {
        Some(match op {
            "topk" => Selection::Top,
            "bottomk" => Selection::Bottom,
            "limitk" => Selection::Limit,
            "limit_ratio" => Selection::Ratio,
            _ => return None,
        })
    }
}

impl Evaluator<'_> {
    pub(super) fn select_k(
        &self,
        sel: Selection,
        input: Vec<StepSeries>,
        (param, param_expr): (&[f64], Option<&Expr>),
        group_key: impl Fn(&StepSeries) -> Labels,
        expr_pos: Option<usize>,
    ) -> Result<Vec<StepSeries>, PromqlError> {
        // Go's math.Min/Max over the steps: a NaN anywhere makes both NaN.
        let any_nan = param.iter().any(|p| p.is_nan());
        let (min, max) = if any_nan {
            (f64::NAN, f64::NAN)
        } else {
            param
                .iter()
                .fold((f64::MAX, -f64::MAX), |(lo, hi), &p| (lo.min(p), hi.max(p)))
        };
        if sel == Selection::Ratio {
            if max == 0.0 && min == 0.0 {
                return Ok(Vec::new());
            }
            if any_nan {
                return Err(PromqlError::Execution("Ratio value is NaN".into()));
            }
            let pos = param_expr.and_then(|p| self.pos(p));
            self.annotate(|a| {
                if max > 1.0 {
                    a.invalid_ratio(max, 1.0, pos);
                }
                if min < -1.0 {
                    a.invalid_ratio(min, -1.0, pos);
                }
            });
        } else {
            if max < 1.0 {
                return Ok(Vec::new());
            }
            if any_nan {
                return Err(PromqlError::Execution("Parameter value is NaN".into()));
            }
            // i64::MAX as f64 is 2⁶³, as Go's math.MaxInt64 in a float comparison.
            if min <= i64::MIN as f64 {
                return Err(PromqlError::Execution(format!(
                    "Scalar value {} underflows int64",
                    go_g(min, None)
                )));
            }
            if max >= i64::MAX as f64 {
                return Err(PromqlError::Execution(format!(
                    "Scalar value {} overflows int64",
                    go_g(max, None)
                )));
            }
        }

        // Groups numbered in order of first appearance, which an instant result keeps.
        let mut group_of = Vec::with_capacity(input.len());
        let mut index: HashMap<Labels, usize> = HashMap::new();
        for s in &input {
            let n = index.len();
            group_of.push(*index.entry(group_key(s)).or_insert(n));
        }
        let offsets: Vec<f64> = if sel == Selection::Ratio {
            input.iter().map(|s| ratio_offset(&s.labels)).collect()
        } else {
            Vec::new()
        };
        let steps = self.steps();
        let mut keep = vec![vec![false; steps]; input.len()];
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); index.len()];
        for step in 0..steps {
            members.iter_mut().for_each(Vec::clear);
            for (i, s) in input.iter().enumerate() {
                if s.values[step].is_some() {
                    members[group_of[i]].push(i);
                } else if s.hist(step).is_some() {
                    if matches!(sel, Selection::Limit | Selection::Ratio) {
                        members[group_of[i]].push(i);
                    } else {
                        // topk and bottomk rank floats only.
                        let op = if sel == Selection::Top {
                            "topk"
                        } else {
                            "bottomk"
                        };
                        self.annotate(|a| a.histogram_ignored_in_aggregation(op, expr_pos));
                    }
                }
            }
            let value = |i: usize| input[i].values[step].unwrap_or(f64::NAN);
            for m in &mut members {
                match sel {
                    Selection::Ratio => {
                        let r = param[step].clamp(-1.0, 1.0);
                        for &i in m.iter() {
                            let o = offsets[i];
                            if (r >= 0.0 && o < r) || (r < 0.0 && o >= 1.0 + r) {
                                keep[i][step] = true;
                            }
                        }
                    }
                    _ => {
                        // Truncated as Go converts to int64, and never more than the input.
                        let k = param[step].trunc().min(input.len() as f64);
                        if k < 1.0 {
                            continue;
                        }
                        if sel != Selection::Limit {
                            m.sort_by(|&a, &b| rank(sel, value(a), value(b)));
                        }
                        for &i in m.iter().take(k as usize) {
                            keep[i][step] = true;
                        }
                    }
                }
            }
        }
        let mut out: Vec<(usize, StepSeries)> = input
            .into_iter()
            .zip(keep)
            .zip(group_of)
            .filter_map(|((mut s, keep), g)| {
                for (step, k) in keep.iter().enumerate() {
                    if !k {
                        s.clear(step);
                    }
                }
                s.any_value().then_some((g, s))
            })
            .collect();
        if steps == 1 {
            // Group by group; topk best first, bottomk lowest first.
            out.sort_by(|(ga, a), (gb, b)| {
                ga.cmp(gb).then_with(|| match sel {
                    Selection::Top | Selection::Bottom => rank(
                        sel,
                        a.values[0].unwrap_or(f64::NAN),
                        b.values[0].unwrap_or(f64::NAN),
                    ),
                    _ => Ordering::Equal,
                })
            });
        }
        Ok(out.into_iter().map(|(_, s)| s).collect())
    }
}

/// The order in which `topk` (highest first) or `bottomk` (lowest first) pick; NaN last.
fn rank(sel: Selection, a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ if sel == Selection::Top => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Where a series falls in [0, 1) for `limit_ratio`: upstream's label hash (XXH64 of the
/// labels in its `stringlabels` encoding, each string prefixed by its length) over 2⁶⁴-1.
fn ratio_offset(labels: &Labels) -> f64 {
    let mut buf = Vec::with_capacity(128);
    for l in labels.iter() {
        for s in [&*l.name, &*l.value] {
            let n = s.len();
            if n < 255 {
                buf.push(n as u8);
            } else {
                buf.extend_from_slice(&[255, n as u8, (n >> 8) as u8, (n >> 16) as u8]);
            }
            buf.extend_from_slice(s.as_bytes());
        }
    }
    xxhash_rust::xxh64::xxh64(&buf, 0) as f64 / u64::MAX as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::Label;

    #[test]
    fn ranks_put_nan_last() {
        let mut v = [1.0, f64::NAN, 3.0, 2.0];
        v.sort_by(|a, b| rank(Selection::Top, *a, *b));
        assert_eq!(&v[..3], &[3.0, 2.0, 1.0]);
        assert!(v[3].is_nan());
        v.sort_by(|a, b| rank(Selection::Bottom, *a, *b));
        assert_eq!(&v[..3], &[1.0, 2.0, 3.0]);
    }

    #[test]
    fn ratio_offsets_are_stable_and_spread() {
        let l = |v: &str| {
            Labels::new(vec![Label::new("__name__", "m"), Label::new("i", v)]).expect("labels")
        };
        let a = ratio_offset(&l("0"));
        assert_eq!(a, ratio_offset(&l("0")));
        assert!((0.0..1.0).contains(&a));
        let below: usize = (0..1000)
            .filter(|i| ratio_offset(&l(&i.to_string())) < 0.5)
            .count();
        assert!((400..600).contains(&below), "{below}");
    }
}
