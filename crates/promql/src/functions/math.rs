//! Per-value functions: math, trigonometry, `clamp*`, `round`, `timestamp time vector
//! scalar`, `pi` and the date functions.

use promql_parser::parser::Expr;

use bongsu_model::Labels;

use super::super::eval::{Evaluated, Evaluator, StepSeries};
use super::super::function::Function;
use super::super::PromqlError;

impl Evaluator<'_> {
    pub(super) fn math_function(
        &self,
        f: Function,
        args: &[&Expr],
    ) -> Result<Option<Evaluated>, PromqlError> {
        let simple: Option<fn(f64) -> f64> = match f {
            Function::Abs => Some(f64::abs),
            Function::Ceil => Some(f64::ceil),
            Function::Floor => Some(f64::floor),
            Function::Exp => Some(f64::exp),
            Function::Ln => Some(f64::ln),
            Function::Log2 => Some(f64::log2),
            Function::Log10 => Some(f64::log10),
            Function::Sqrt => Some(f64::sqrt),
            Function::Sgn => Some(|v: f64| {
                if v > 0.0 {
                    1.0
                } else if v < 0.0 {
                    -1.0
                } else {
                    v
                }
            }),
            Function::Sin => Some(f64::sin),
            Function::Cos => Some(f64::cos),
            Function::Tan => Some(f64::tan),
            Function::Asin => Some(f64::asin),
            Function::Acos => Some(f64::acos),
            Function::Atan => Some(f64::atan),
            Function::Sinh => Some(f64::sinh),
            Function::Cosh => Some(f64::cosh),
            Function::Tanh => Some(f64::tanh),
            Function::Asinh => Some(f64::asinh),
            Function::Acosh => Some(f64::acosh),
            Function::Atanh => Some(f64::atanh),
            Function::Deg => Some(f64::to_degrees),
            Function::Rad => Some(f64::to_radians),
            _ => None,
        };
        if let Some(op) = simple {
            let Some(arg) = args.first() else {
                return Ok(None);
            };
            return Ok(Some(self.map_values(arg, |_, v| Some(op(v)))?));
        }
        let steps = self.steps();
        Ok(Some(match f {
            Function::Pi => Evaluated::Scalar(vec![std::f64::consts::PI; steps]),
            // Constants of the whole query, also inside subqueries; an instant query has no step.
            Function::Start | Function::End | Function::Range | Function::Step => {
                let (start, end) = (self.query_start, self.query_end);
                let ms = match f {
                    Function::Start => start,
                    Function::End => end,
                    Function::Range => end - start,
                    _ if start == end => 0,
                    _ => self.query_step,
                };
                Evaluated::Scalar(vec![ms as f64 / 1000.0; steps])
            }
            Function::MinOf | Function::MaxOf => {
                let a = self.scalar_arg(args.first(), f64::NAN)?;
                let b = self.scalar_arg(args.get(1), f64::NAN)?;
                let op = if f == Function::MinOf { go_min } else { go_max };
                Evaluated::Scalar(a.iter().zip(&b).map(|(&a, &b)| op(a, b)).collect())
            }
            Function::Time => {
                Evaluated::Scalar(self.times().iter().map(|&t| t as f64 / 1000.0).collect())
            }
            Function::Vector => {
                let v = self.scalar_arg(args.first(), f64::NAN)?;
                Evaluated::Vector(vec![StepSeries {
                    labels: Labels::empty(),
                    values: v.into_iter().map(Some).collect(),
                    drop_name: false,
                    hists: None,
                }])
            }
            Function::Scalar => {
                let Some(arg) = args.first() else {
                    return Ok(None);
                };
                let v = self.eval_vector(arg)?;
                Evaluated::Scalar(
                    (0..steps)
                        .map(|i| {
                            let mut present = v.iter().filter_map(|s| s.values[i]);
                            match (present.next(), present.next()) {
                                (Some(x), None) => x,
                                _ => f64::NAN,
                            }
                        })
                        .collect(),
                )
            }
            Function::Timestamp => {
                let Some(arg) = args.first() else {
                    return Ok(None);
                };
                let mut e = *arg;
                while let Expr::Paren(p) = e {
                    e = &p.expr;
                }
                let mut v = match e {
                    // Of a selector, the time of the sample found, not of the step.
                    Expr::VectorSelector(vs) => match self.vector_selector(vs, true)? {
                        Evaluated::Vector(v) => v,
                        _ => Vec::new(),
                    },
                    _ => {
                        let times = self.times();
                        let mut v = self.eval_vector(e)?;
                        for s in &mut v {
                            // Histograms have a time too.
                            let hists = s.hists.take();
                            for (i, (x, &t)) in s.values.iter_mut().zip(&times).enumerate() {
                                let has_hist = hists.as_ref().is_some_and(|h| h[i].is_some());
                                if x.is_some() || has_hist {
                                    *x = Some(t as f64 / 1000.0);
                                }
                            }
                        }
                        v
                    }
                };
                v.iter_mut().for_each(|s| s.drop_name = true);
                Evaluated::Vector(v)
            }
            Function::Clamp | Function::ClampMin | Function::ClampMax => {
                let Some(arg) = args.first() else {
                    return Ok(None);
                };
                let (lo, hi) = match f {
                    Function::Clamp => (
                        self.scalar_arg(args.get(1), f64::NAN)?,
                        self.scalar_arg(args.get(2), f64::NAN)?,
                    ),
                    Function::ClampMin => (
                        self.scalar_arg(args.get(1), f64::NAN)?,
                        vec![f64::INFINITY; steps],
                    ),
                    _ => (
                        vec![f64::NEG_INFINITY; steps],
                        self.scalar_arg(args.get(1), f64::NAN)?,
                    ),
                };
                // Go's math.Max/Min: NaN bounds yield NaN; clamp with max < min yields nothing.
                self.map_values(arg, |i, v| {
                    if hi[i] < lo[i] {
                        return None;
                    }
                    Some(go_max(lo[i], go_min(hi[i], v)))
                })?
            }
            Function::Round => {
                let Some(arg) = args.first() else {
                    return Ok(None);
                };
                let to = self.scalar_arg(args.get(1), 1.0)?;
                self.map_values(arg, |i, v| {
                    let inv = 1.0 / to[i];
                    Some((v * inv + 0.5).floor() / inv)
                })?
            }
            Function::DaysInMonth
            | Function::DayOfMonth
            | Function::DayOfWeek
            | Function::DayOfYear
            | Function::Hour
            | Function::Minute
            | Function::Month
            | Function::Year => {
                let part = date_part(f);
                match args.first() {
                    None => Evaluated::Vector(vec![StepSeries {
                        labels: Labels::empty(),
                        values: self
                            .times()
                            .iter()
                            .map(|&t| Some(part(t.div_euclid(1000))))
                            .collect(),
                        drop_name: false,
                        hists: None,
                    }]),
                    Some(arg) => self.map_values(arg, |_, v| {
                        if v.is_nan() || v.is_infinite() {
                            return Some(f64::NAN);
                        }
                        Some(part(v as i64))
                    })?,
                }
            }
            _ => return Ok(None),
        }))
    }

    /// Applies `f(step, value)` to every value of a vector argument; drops the metric name.
    fn map_values(
        &self,
        arg: &Expr,
        f: impl Fn(usize, f64) -> Option<f64>,
    ) -> Result<Evaluated, PromqlError> {
        let mut v = self.eval_vector(arg)?;
        for s in &mut v {
            for (i, x) in s.values.iter_mut().enumerate() {
                *x = x.and_then(|x| f(i, x));
            }
            s.drop_name = true;
            // Float functions skip native histograms, as upstream.
            s.hists = None;
        }
        v.retain(StepSeries::any_value);
        Ok(Evaluated::Vector(v))
    }
}

/// Go's `math.Max`: +Inf wins over NaN, NaN over numbers, +0 over -0.
fn go_max(a: f64, b: f64) -> f64 {
    if a == f64::INFINITY || b == f64::INFINITY {
        f64::INFINITY
    } else if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            b
        } else {
            a
        }
    } else if a > b {
        a
    } else {
        b
    }
}

/// Go's `math.Min`: -Inf wins over NaN, NaN over numbers, -0 over +0.
fn go_min(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY || b == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            a
        } else {
            b
        }
    } else if a < b {
        a
    } else {
        b
    }
}

/// Civil date (year, month 1-12, day 1-31) of a day count since the epoch (Hinnant's method).
pub(crate) fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn date_part(f: Function) -> fn(i64) -> f64 {
    match f {
        Function::DaysInMonth => |s| {
            let (y, m, _) = civil(s.div_euclid(86_400));
            let d = match m {
                2 if is_leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d as f64
        },
        Function::DayOfMonth => |s| civil(s.div_euclid(86_400)).2 as f64,
        Function::DayOfWeek => |s| (s.div_euclid(86_400) + 4).rem_euclid(7) as f64,
        Function::DayOfYear => |s| {
            let days = s.div_euclid(86_400);
            let (y, _, _) = civil(days);
            let jan1 = days_from_civil(y);
            (days - jan1 + 1) as f64
        },
        Function::Hour => |s| (s.rem_euclid(86_400) / 3600) as f64,
        Function::Minute => |s| (s.rem_euclid(3600) / 60) as f64,
        Function::Month => |s| civil(s.div_euclid(86_400)).1 as f64,
        _ => |s| civil(s.div_euclid(86_400)).0 as f64,
    }
}

/// Days since the epoch of January 1st of year `y`.
fn days_from_civil(y: i64) -> i64 {
    let y = y - 1;
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * 10 + 2) / 5; // March-based day of year of January 1st
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
