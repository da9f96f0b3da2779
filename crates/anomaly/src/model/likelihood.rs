//! [`Likelihood`]: another model's scores turned into how unusual they are for this series —
//! Numenta's "anomaly likelihood" idea. A series whose model is often a bit off (noisy data)
//! should not alert as often as one whose model is nearly always right; this compares the
//! recent mean of the inner model's scores with their own long-run distribution.
//!
//! The output `anomaly_score` is the upper-tail surprise `-log10(tail probability) / digits`:
//! 1 when the recent scores are as rare as `10^-digits`. `yhat` and the band are the inner
//! model's.

use std::collections::VecDeque;

use serde::Deserialize;

use super::{check_window, Model, ModelConfig, ModelError, Prediction};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LikelihoodConfig {
    /// The model whose scores are judged.
    pub model: Box<ModelConfig>,
    /// Scores averaged for the recent mean.
    #[serde(default = "default_short")]
    pub short_window: usize,
    /// Averaged scores the long-run distribution is taken over.
    #[serde(default = "default_long")]
    pub long_window: usize,
    /// Averaged scores needed before any output.
    #[serde(default = "default_min")]
    pub min_history: usize,
    /// Tail probability `10^-digits` maps to `anomaly_score` 1.
    #[serde(default = "default_digits")]
    pub digits: f64,
}

fn default_short() -> usize {
    10
}
fn default_long() -> usize {
    2_880
}
fn default_min() -> usize {
    300
}
fn default_digits() -> f64 {
    4.0
}

pub struct Likelihood {
    inner: Box<dyn Model>,
    short: VecDeque<f64>,
    short_sum: f64,
    long: VecDeque<f64>,
    long_sum: f64,
    long_sum_sq: f64,
    short_window: usize,
    long_window: usize,
    min_history: usize,
    digits: f64,
}

impl Likelihood {
    pub fn new(c: &LikelihoodConfig, inner: Box<dyn Model>) -> Result<Likelihood, ModelError> {
        check_window(c.short_window)?;
        check_window(c.long_window)?;
        if c.min_history > c.long_window || c.min_history < 3 {
            return Err(ModelError::Invalid(
                "min_history must be between 3 and long_window".into(),
            ));
        }
        super::check_positive("digits", c.digits)?;
        Ok(Likelihood {
            inner,
            short: VecDeque::with_capacity(c.short_window),
            short_sum: 0.0,
            long: VecDeque::with_capacity(c.long_window),
            long_sum: 0.0,
            long_sum_sq: 0.0,
            short_window: c.short_window,
            long_window: c.long_window,
            min_history: c.min_history,
            digits: c.digits,
        })
    }
}

/// The standard normal's upper tail probability at `z` (Abramowitz–Stegun 7.1.26 erfc).
fn upper_tail(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-x * x).exp();
    if x >= 0.0 {
        0.5 * erfc
    } else {
        1.0 - 0.5 * erfc
    }
}

impl Model for Likelihood {
    fn observe(&mut self, t: i64, y: f64) -> Option<Prediction> {
        let p = self.inner.observe(t, y)?;
        if self.short.len() == self.short_window {
            self.short_sum -= self.short.pop_front().unwrap_or(0.0);
        }
        let raw = p.anomaly_score.min(super::MAX_SCORE);
        self.short.push_back(raw);
        self.short_sum += raw;
        let avg = self.short_sum / self.short.len() as f64;
        let n = self.long.len();
        let out = (n >= self.min_history).then(|| {
            let mean = self.long_sum / n as f64;
            let sd = (self.long_sum_sq / n as f64 - mean * mean)
                .max(0.0)
                .sqrt()
                .max(1e-3);
            let tail = upper_tail((avg - mean) / sd).max(1e-300);
            Prediction {
                anomaly_score: (-tail.log10() / self.digits).min(super::MAX_SCORE),
                ..p
            }
        });
        if n == self.long_window {
            let old = self.long.pop_front().unwrap_or(0.0);
            self.long_sum -= old;
            self.long_sum_sq -= old * old;
        }
        self.long.push_back(avg);
        self.long_sum += avg;
        self.long_sum_sq += avg * avg;
        out
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + (self.short.capacity() + self.long.capacity()) * std::mem::size_of::<f64>()
            + self.inner.state_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_probabilities() {
        assert!((upper_tail(0.0) - 0.5).abs() < 1e-6);
        assert!((upper_tail(1.96) - 0.025).abs() < 1e-4);
        assert!((upper_tail(-1.96) - 0.975).abs() < 1e-4);
    }
}
