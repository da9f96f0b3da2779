//! Binary operators where a side is a native histogram (upstream's `vectorElemBinop` for
//! histograms): `h + h`, `h - h`, `h * f`, `f * h`, `h / f`, `h == h`, `h != h`, and the
//! trims `h </ f`, `h >/ f`; any other combination drops the element with an info.

use bongsu_model::{CounterResetHint, FloatHistogram};

use super::eval::{Evaluator, StepSeries};
use super::hist_annotations::HistOp;
use super::hist_ops::{self, OpError};

/// One operand.
#[derive(Clone, Copy)]
pub(super) enum Elem<'a> {
    F(f64),
    H(&'a FloatHistogram),
}

impl<'a> Elem<'a> {
    /// The value of `s` at `step`, if any.
    #[inline]
    pub fn of(s: &'a StepSeries, step: usize) -> Option<Elem<'a>> {
        match s.values[step] {
            Some(v) => Some(Elem::F(v)),
            None => s.hist(step).map(Elem::H),
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Elem::F(_) => "float",
            Elem::H(_) => "histogram",
        }
    }
}

/// A result.
#[derive(Debug, Clone)]
pub(super) enum Res {
    F(f64),
    H(Box<FloatHistogram>),
}

impl Evaluator<'_> {
    /// `l op r` with at least one histogram: the result and whether a comparison keeps it, or
    /// `None` when the element is dropped (annotated at `pos`, the operator's node).
    pub(super) fn hist_binop(
        &self,
        op: &str,
        l: Elem,
        r: Elem,
        pos: Option<usize>,
    ) -> Option<(Res, bool)> {
        let incompatible = || {
            self.annotate(|a| a.incompatible_types(l.kind(), op, r.kind(), pos));
            None
        };
        let scaled = |h: &FloatHistogram, k: f64, div: bool| {
            let mut h = h.clone();
            if div {
                h.div(k);
            } else {
                h.mul(k);
            }
            hist_ops::compact(&mut h);
            Some((Res::H(Box::new(h)), true))
        };
        match (l, r) {
            (Elem::F(k), Elem::H(h)) => match op {
                "*" => scaled(h, k, false),
                _ => incompatible(),
            },
            (Elem::H(h), Elem::F(k)) => match op {
                "*" => scaled(h, k, false),
                "/" => scaled(h, k, true),
                "</" | ">/" => {
                    let mut h = h.clone();
                    h.trim_buckets(k, op == "</");
                    Some((Res::H(Box::new(h)), true))
                }
                _ => incompatible(),
            },
            (Elem::H(a), Elem::H(b)) => match op {
                "+" | "-" => {
                    let sub = op == "-";
                    let hop = if sub { HistOp::Sub } else { HistOp::Add };
                    let mut res = a.clone();
                    let outcome = if sub {
                        hist_ops::sub(&mut res, b)
                    } else {
                        hist_ops::add(&mut res, b)
                    };
                    match outcome {
                        Ok(o) => {
                            if o.counter_reset_collision {
                                self.annotate(|a| a.counter_reset_collision(hop, pos));
                            }
                            if o.nhcb_bounds_reconciled {
                                self.annotate(|a| a.mismatched_custom_buckets(hop, pos));
                            }
                        }
                        Err(OpError::IncompatibleSchema) => {
                            self.annotate(|a| a.incompatible_bucket_layout(op, pos));
                            return None;
                        }
                        Err(OpError::Other) => return None,
                    }
                    if sub {
                        res.counter_reset_hint = CounterResetHint::Gauge;
                    }
                    hist_ops::compact(&mut res);
                    Some((Res::H(Box::new(res)), true))
                }
                "==" => Some((Res::H(Box::new(a.clone())), hist_ops::equals(a, b))),
                "!=" => Some((Res::H(Box::new(a.clone())), !hist_ops::equals(a, b))),
                _ => incompatible(),
            },
            // Only trims get here with two floats.
            (Elem::F(_), Elem::F(_)) => incompatible(),
        }
    }
}

impl StepSeries {
    /// Sets the value at `step` to a result.
    #[inline]
    pub(super) fn set(&mut self, step: usize, v: Res) {
        match v {
            Res::F(f) => self.values[step] = Some(f),
            Res::H(h) => {
                let n = self.values.len();
                self.hists.get_or_insert_with(|| vec![None; n])[step] = Some(h);
            }
        }
    }
}
