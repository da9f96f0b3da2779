//! `*_over_time` functions, `absent_over_time` and `double_exponential_smoothing`: one value
//! per window of raw samples.

use promql_parser::parser::Expr;

use bongsu_model::Sample;

use super::super::eval::{kahan_inc, Evaluator, StepSeries, Windows};
use super::super::function::Function;
use super::super::numeric::Mean;
use super::super::PromqlError;
use super::label::absent_labels;
use super::quantile;
use super::rate::take;

impl Evaluator<'_> {
    pub(super) fn over_time_function(
        &self,
        f: Function,
        args: &[&Expr],
        w: Option<Windows>,
    ) -> Result<Vec<StepSeries>, PromqlError> {
        let mut w = w;
        // The range vector is the first argument except for quantile_over_time.
        let range_arg = if f == Function::QuantileOverTime {
            args.get(1)
        } else {
            args.first()
        };
        let Some(range_arg) = range_arg else {
            return Ok(Vec::new());
        };
        let vals = |s: &[Sample]| s.iter().map(|x| x.v).collect::<Vec<_>>();
        let out = match f {
            Function::CountOverTime => {
                self.over_windows(take(&mut w)?, false, |_, s, _| Some(s.len() as f64))
            }
            Function::SumOverTime => {
                self.over_windows(take(&mut w)?, false, |_, s, _| Some(sum(s)))
            }
            Function::AvgOverTime => {
                self.over_windows(take(&mut w)?, false, |_, s, _| Some(avg(s)))
            }
            Function::MinOverTime | Function::MaxOverTime => {
                let max = f == Function::MaxOverTime;
                self.over_windows(take(&mut w)?, false, |_, s, _| {
                    let mut m = s[0].v;
                    for x in &s[1..] {
                        // NaN is replaced by any number.
                        if (max && x.v > m) || (!max && x.v < m) || m.is_nan() {
                            m = x.v;
                        }
                    }
                    Some(m)
                })
            }
            Function::StddevOverTime | Function::StdvarOverTime => {
                let dev = f == Function::StddevOverTime;
                self.over_windows(take(&mut w)?, false, |_, s, _| {
                    let v = variance(s);
                    Some(if dev { v.sqrt() } else { v })
                })
            }
            Function::LastOverTime => {
                self.over_windows(take(&mut w)?, true, |_, s, _| s.last().map(|x| x.v))
            }
            Function::TsOfLastOverTime => self.over_windows(take(&mut w)?, false, |_, s, _| {
                s.last().map(|x| x.t as f64 / 1000.0)
            }),
            Function::TsOfFirstOverTime => self.over_windows(take(&mut w)?, false, |_, s, _| {
                s.first().map(|x| x.t as f64 / 1000.0)
            }),
            Function::TsOfMinOverTime | Function::TsOfMaxOverTime => {
                let max = f == Function::TsOfMaxOverTime;
                // Ties go to the latest sample; NaN is replaced by any number.
                self.over_windows(take(&mut w)?, false, |_, s, _| {
                    let mut best = s[0];
                    for x in s {
                        if (max && x.v >= best.v) || (!max && x.v <= best.v) || best.v.is_nan() {
                            best = *x;
                        }
                    }
                    Some(best.t as f64 / 1000.0)
                })
            }
            Function::FirstOverTime => {
                self.over_windows(take(&mut w)?, true, |_, s, _| s.first().map(|x| x.v))
            }
            Function::PresentOverTime => {
                self.over_windows(take(&mut w)?, false, |_, _, _| Some(1.0))
            }
            Function::QuantileOverTime => {
                let q = self.scalar_arg(args.first(), f64::NAN)?;
                self.over_windows(take(&mut w)?, false, |i, s, _| {
                    if !(0.0..=1.0).contains(&q[i]) {
                        let pos = args.first().and_then(|a| self.pos(a));
                        self.annotate(|a| a.invalid_quantile(q[i], pos));
                    }
                    Some(quantile(q[i], vals(s)))
                })
            }
            Function::MadOverTime => self.over_windows(take(&mut w)?, false, |_, s, _| {
                // A NaN makes the median, and so the deviation, undefined.
                if s.iter().any(|x| x.v.is_nan()) {
                    return Some(f64::NAN);
                }
                let v = vals(s);
                let median = quantile(0.5, v.clone());
                Some(quantile(
                    0.5,
                    v.iter().map(|x| (x - median).abs()).collect(),
                ))
            }),
            Function::DoubleExponentialSmoothing => {
                let sf = self.scalar_arg(args.get(1), f64::NAN)?;
                let tf = self.scalar_arg(args.get(2), f64::NAN)?;
                for (&s, &t) in sf.iter().zip(&tf) {
                    if !(s > 0.0 && s < 1.0) {
                        return Err(PromqlError::Execution(format!(
                            "invalid smoothing factor. Expected: 0 < sf < 1, got: {s}"
                        )));
                    }
                    if !(t > 0.0 && t < 1.0) {
                        return Err(PromqlError::Execution(format!(
                            "invalid trend factor. Expected: 0 < tf < 1, got: {t}"
                        )));
                    }
                }
                self.over_windows(take(&mut w)?, false, |i, s, _| smooth(s, sf[i], tf[i]))
            }
            Function::AbsentOverTime => {
                let w = take(&mut w)?;
                let values: Vec<Option<f64>> = w
                    .times
                    .iter()
                    .map(|&t| {
                        let any = w.series.iter().any(|(_, s)| !w.window(s, t).is_empty());
                        (!any).then_some(1.0)
                    })
                    .collect();
                vec![StepSeries {
                    labels: absent_labels(range_arg),
                    values,
                    drop_name: false,
                    hists: None,
                }]
            }
            _ => {
                let name = f.name();
                return Err(PromqlError::Unsupported(format!("function {name}()")));
            }
        };
        Ok(out)
    }
}

pub(super) fn sum(s: &[Sample]) -> f64 {
    let (sum, c) = s
        .iter()
        .fold((0.0, 0.0), |(sum, c), x| kahan_inc(x.v, sum, c));
    if sum.is_infinite() {
        sum
    } else {
        sum + c
    }
}

pub(super) fn avg(s: &[Sample]) -> f64 {
    // A running sum that ever overflows ends infinite or NaN; while it stays finite, the mean
    // is the plain compensated one and the slower incremental path is not needed.
    let (sum, c) = s
        .iter()
        .fold((0.0, 0.0), |(sum, c), x| kahan_inc(x.v, sum, c));
    if sum.is_finite() {
        let n = s.len() as f64;
        return sum / n + c / n;
    }
    let mut m = Mean::default();
    s.iter().for_each(|x| m.push(x.v));
    m.value()
}

/// Population variance by Welford's method with compensated sums, as upstream.
fn variance(s: &[Sample]) -> f64 {
    let (mut n, mut mean, mut cmean, mut aux, mut caux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for x in s {
        n += 1.0;
        let delta = x.v - (mean + cmean);
        (mean, cmean) = kahan_inc(delta / n, mean, cmean);
        (aux, caux) = kahan_inc(delta * (x.v - (mean + cmean)), aux, caux);
    }
    (aux + caux) / n
}

/// Holt's linear (double exponential) smoothing of the window; needs two samples.
fn smooth(s: &[Sample], sf: f64, tf: f64) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, s[0].v);
    let mut b = s[1].v - s[0].v;
    for (i, x) in s.iter().enumerate().skip(1) {
        // The initial trend stands for the first step; later steps blend in the last change.
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let next = sf * x.v + (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = next;
    }
    Some(s1)
}
