//! Counter and gauge range functions: `rate increase delta irate idelta deriv
//! predict_linear resets changes`, with Prometheus' extrapolation.

use promql_parser::parser::Expr;

use bongsu_model::{Sample, METRIC_NAME};

use super::super::eval::{Evaluated, Evaluator, StepSeries, Windows};
use super::super::function::Function;
use super::super::PromqlError;

impl Evaluator<'_> {
    /// The range functions (here and in `over_time`); `None` without a range argument.
    pub(super) fn range_function(
        &self,
        f: Function,
        args: &[&Expr],
    ) -> Result<Option<Evaluated>, PromqlError> {
        let range_arg = if f == Function::QuantileOverTime {
            args.get(1)
        } else {
            args.first()
        };
        let Some(first) = range_arg else {
            return Ok(None);
        };
        let mut w = self.windows_of(first)?;
        if times_only(f) {
            // Only when samples are matters: histograms count as any sample.
            w.merge_histogram_times();
        }
        let (w, hw) = w.split_histograms();
        let mut out = self.float_range_function(f, args, first, w)?;
        if let Some(hw) = hw {
            let mixed = self.histogram_range_function(f, args, first, hw)?;
            if matches!(f, Function::Rate | Function::Increase) {
                // As for float series: only outputs with floats are checked.
                let floats = mixed
                    .iter()
                    .filter(|s| s.values.iter().any(Option::is_some));
                self.check_counter_names(floats, first);
            }
            out.extend(mixed);
        }
        self.range_result(out).map(Some)
    }

    /// A range function over series without histograms.
    pub(super) fn float_range_function(
        &self,
        f: Function,
        args: &[&Expr],
        first: &Expr,
        w: Windows,
    ) -> Result<Vec<StepSeries>, PromqlError> {
        let mut w = Some(w);
        let out = match f {
            Function::Rate | Function::Increase | Function::Delta => {
                let w = take(&mut w)?;
                let range = w.range;
                let counter = f != Function::Delta;
                let is_rate = f == Function::Rate;
                let out = self.over_window_bounds(
                    w,
                    false,
                    |_| ResetScan::default(),
                    |resets, _, s, (from, to), t| {
                        // Most windows hold no reset: then its scan is skipped.
                        let scan = counter && resets.any_in(s, from, to);
                        extrapolated_rate(&s[from..to], t - range, t, (counter, scan), is_rate)
                    },
                );
                if counter {
                    self.check_counter_names(&out, first);
                }
                out
            }
            Function::Irate | Function::Idelta => {
                let w = take(&mut w)?;
                let is_rate = f == Function::Irate;
                self.over_windows(w, false, |_, s, _| instant_value(s, is_rate))
            }
            Function::Deriv => {
                let w = take(&mut w)?;
                self.over_windows(w, false, |_, s, _| {
                    (s.len() >= 2).then(|| linear_regression(s, s[0].t).0)
                })
            }
            Function::PredictLinear => {
                let w = take(&mut w)?;
                let d = self.scalar_arg(args.get(1), 0.0)?;
                // The intercept is at the step's time, even when `@` or `offset` moved the
                // window away from it.
                let steps = self.times();
                self.over_windows(w, false, |i, s, _| {
                    (s.len() >= 2).then(|| {
                        let (slope, intercept) = linear_regression(s, steps[i]);
                        intercept + slope * d[i]
                    })
                })
            }
            Function::Resets | Function::Changes => {
                let w = take(&mut w)?;
                let resets = f == Function::Resets;
                self.over_windows(w, false, |_, s, _| {
                    let n = s
                        .windows(2)
                        .filter(|p| {
                            if resets {
                                p[1].v < p[0].v
                            } else {
                                // NaN to NaN is no change.
                                p[1].v != p[0].v && !(p[1].v.is_nan() && p[0].v.is_nan())
                            }
                        })
                        .count();
                    Some(n as f64)
                })
            }
            _ => return self.over_time_function(f, args, w.take()),
        };
        Ok(out)
    }
}

/// Range functions that only look at when samples are, not at their values.
fn times_only(f: Function) -> bool {
    matches!(
        f,
        Function::CountOverTime
            | Function::PresentOverTime
            | Function::AbsentOverTime
            | Function::TsOfLastOverTime
            | Function::TsOfFirstOverTime
    )
}

/// The windows, which a range function uses once.
pub(super) fn take(w: &mut Option<Windows>) -> Result<Windows, PromqlError> {
    w.take()
        .ok_or_else(|| PromqlError::Execution("range vector used twice".into()))
}

impl Evaluator<'_> {
    /// rate() and increase() flag series whose names do not look like a counter's.
    fn check_counter_names<'s>(&self, out: impl IntoIterator<Item = &'s StepSeries>, arg: &Expr) {
        for s in out {
            let Some(name) = s.labels.get(METRIC_NAME) else {
                continue;
            };
            if !["_total", "_sum", "_count", "_bucket"]
                .iter()
                .any(|suffix| name.ends_with(suffix))
            {
                self.annotate(|a| a.possible_non_counter(name, self.pos(arg)));
            }
        }
    }
}

/// Where a series' counter resets are, found once along its windows: `last` is the
/// highest index `j < checked` with `v[j] < v[j - 1]` (0: none).
#[derive(Default)]
struct ResetScan {
    checked: usize,
    last: usize,
}

impl ResetScan {
    /// Whether the window `s[from..to]` may hold a reset (never false when it does).
    fn any_in(&mut self, s: &[Sample], from: usize, to: usize) -> bool {
        for j in self.checked.max(1)..to {
            if s[j].v < s[j - 1].v {
                self.last = j;
            }
        }
        self.checked = self.checked.max(to);
        self.last > from
    }
}

/// Prometheus' `extrapolatedRate`: the increase between the first and last sample (counter
/// resets added back), extrapolated towards the window edges by at most half the average
/// sample interval, and for counters never below zero. `counter` is (whether the series is
/// a counter, whether its window may hold a reset to add back).
pub(super) fn extrapolated_rate(
    s: &[Sample],
    range_start: i64,
    range_end: i64,
    (counter, scan): (bool, bool),
    is_rate: bool,
) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (first, last) = (s[0], s[s.len() - 1]);
    let mut result = last.v - first.v;
    if scan {
        for p in s.windows(2) {
            if p[1].v < p[0].v {
                result += p[0].v;
            }
        }
    }
    // A counter does not extrapolate below zero.
    let to_zero = (counter && result > 0.0 && first.v >= 0.0).then(|| first.v / result);
    let factor = extrapolation_factor(
        (first.t, last.t, s.len()),
        (range_start, range_end),
        to_zero,
        is_rate,
    );
    Some(result * factor)
}

/// Upstream's extrapolation of a rate: from the first and last sample time and the number of
/// samples to the range's bounds, not below zero for counters (`to_zero`: the first value
/// over the increase), divided by the range for a rate.
pub(super) fn extrapolation_factor(
    (first_t, last_t, n): (i64, i64, usize),
    (range_start, range_end): (i64, i64),
    to_zero: Option<f64>,
    is_rate: bool,
) -> f64 {
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let avg = sampled / (n - 1) as f64;
    let mut to_start = (first_t - range_start) as f64 / 1000.0;
    let mut to_end = (range_end - last_t) as f64 / 1000.0;
    let threshold = avg * 1.1;
    if to_start >= threshold {
        to_start = avg / 2.0;
    }
    if let Some(ratio) = to_zero {
        let to_zero = sampled * ratio;
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= (range_end - range_start) as f64 / 1000.0;
    }
    factor
}

pub(super) fn instant_value(s: &[Sample], is_rate: bool) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (prev, last) = (s[s.len() - 2], s[s.len() - 1]);
    let dv = if is_rate && last.v < prev.v {
        last.v
    } else {
        last.v - prev.v
    };
    if !is_rate {
        return Some(dv);
    }
    let dt = (last.t - prev.t) as f64 / 1000.0;
    (dt != 0.0).then_some(dv / dt)
}

/// Least-squares slope and intercept at `intercept_t`, summed with compensation as upstream.
pub(super) fn linear_regression(s: &[Sample], intercept_t: i64) -> (f64, f64) {
    let init_y = s[0].v;
    // (NaN is never equal, so a NaN makes the values vary, as upstream.)
    if s.windows(2).all(|p| p[1].v == p[0].v) {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let n = s.len() as f64;
    // The sums of x, y, xy and x² side by side, each summed as upstream's `kahanSumInc`:
    // four independent lanes the compiler can run together. Upstream zeroes a compensation
    // whenever its sum turns infinite; an infinite sum stays infinite or turns NaN, never
    // finite again, so skipping that check per sample and taking an infinite sum as it is
    // at the end gives the same result with less work per sample.
    let (mut sum, mut c) = ([0.0f64; 4], [0.0f64; 4]);
    for p in s {
        let x = (p.t - intercept_t) as f64 / 1000.0;
        let inc = [x, p.v, x * p.v, x * x];
        for k in 0..4 {
            let t = sum[k] + inc[k];
            let (big, small) = if sum[k].abs() >= inc[k].abs() {
                (sum[k], inc[k])
            } else {
                (inc[k], sum[k])
            };
            c[k] += (big - t) + small;
            sum[k] = t;
        }
    }
    let [sx, sy, sxy, sx2] = [0, 1, 2, 3].map(|k| {
        if sum[k].is_infinite() {
            sum[k]
        } else {
            sum[k] + c[k]
        }
    });
    let cov_xy = sxy - sx * sy / n;
    let var_x = sx2 - sx * sx / n;
    let slope = cov_xy / var_x;
    (slope, sy / n - slope * sx / n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::kahan_inc;

    /// The regression as upstream computes it: `kahanSumInc` with its infinity check on
    /// every sample.
    fn upstream(s: &[Sample], intercept_t: i64) -> (f64, f64) {
        if s.windows(2).all(|p| p[1].v == p[0].v) {
            if s[0].v.is_infinite() {
                return (f64::NAN, f64::NAN);
            }
            return (0.0, s[0].v);
        }
        let n = s.len() as f64;
        let (mut sum, mut c) = ([0.0f64; 4], [0.0f64; 4]);
        for p in s {
            let x = (p.t - intercept_t) as f64 / 1000.0;
            let inc = [x, p.v, x * p.v, x * x];
            for k in 0..4 {
                (sum[k], c[k]) = kahan_inc(inc[k], sum[k], c[k]);
            }
        }
        let [sx, sy, sxy, sx2] = [0, 1, 2, 3].map(|k| sum[k] + c[k]);
        let slope = (sxy - sx * sy / n) / (sx2 - sx * sx / n);
        (slope, sy / n - slope * sx / n)
    }

    #[test]
    fn regression_equals_upstream_bit_for_bit() {
        let inf = f64::INFINITY;
        let cases: Vec<Vec<f64>> = vec![
            vec![1.0, 2.0, 4.0, 8.0],
            vec![1e16, 1.0, -1e16, 3.0, 0.1, 0.2],
            vec![1e308, 1e308, -1e308, 5.0],
            vec![1.0, inf, 2.0, 3.0],
            vec![1.0, inf, -inf, 3.0],
            vec![-inf, 1.0, 2.0],
            vec![1.0, f64::NAN, 2.0],
            vec![inf, inf, inf],
            vec![0.3, 0.1, 0.7, 1e-300, 12345.678, -0.0],
        ];
        for values in cases {
            let s: Vec<Sample> = values
                .iter()
                .enumerate()
                .map(|(i, &v)| Sample::new(1_700_000_000_123 + i as i64 * 15_007, v))
                .collect();
            for intercept in [s[0].t, 1_700_000_000_000, 1_700_000_100_500] {
                let (a, b) = (linear_regression(&s, intercept), upstream(&s, intercept));
                for (x, y) in [(a.0, b.0), (a.1, b.1)] {
                    assert!(
                        x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                        "{values:?} at {intercept}: {a:?} != {b:?}"
                    );
                }
            }
        }
    }
}
