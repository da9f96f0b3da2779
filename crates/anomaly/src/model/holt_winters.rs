//! [`HoltWinters`]: additive exponential smoothing with a damped trend and one seasonal
//! component per configured season (daily, weekly, ...), in error-correction form: each value's
//! error moves the level, the trend and the seasonal slots of its phase.
//!
//! Warm-up: the first full period of the longest season initialises the level (its mean) and
//! the seasonal slots (the mean deviation per phase, shortest season first); predictions start
//! once a few errors have been learnt for the band. Phases come from timestamps, so a gap does
//! not shift the seasons: missing steps advance the state as predicted.

use std::time::Duration;

use serde::Deserialize;

use super::{check_fraction, check_positive, steps_in, Model, ModelError, Prediction, Scale};

/// Errors learnt before the band is trusted.
const MIN_ERRORS: usize = 5;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoltWintersConfig {
    /// Season lengths, e.g. `[1d]` or `[1d, 1w]`.
    #[serde(deserialize_with = "super::durations")]
    pub seasons: Vec<Duration>,
    /// Level smoothing.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Trend smoothing.
    #[serde(default = "default_beta")]
    pub beta: f64,
    /// Seasonal smoothing (every season).
    #[serde(default = "default_gamma")]
    pub gamma: f64,
    /// Trend damping per step.
    #[serde(default = "default_phi")]
    pub phi: f64,
    /// Band half-width in standard deviations of the recent errors.
    #[serde(default = "default_z")]
    pub z: f64,
    /// Memory of the error scale, in values.
    #[serde(default = "default_error_window")]
    pub error_window: usize,
}

fn default_alpha() -> f64 {
    0.2
}
fn default_beta() -> f64 {
    0.01
}
fn default_gamma() -> f64 {
    0.1
}
fn default_phi() -> f64 {
    0.98
}
fn default_z() -> f64 {
    3.0
}
fn default_error_window() -> usize {
    100
}

struct Season {
    slots: Vec<f64>,
}

pub struct HoltWinters {
    alpha: f64,
    beta: f64,
    gamma: f64,
    phi: f64,
    z: f64,
    step_ms: i64,
    /// Seasons, shortest first.
    seasons: Vec<Season>,
    level: f64,
    trend: f64,
    /// Timestamp of step 0 and the last step learnt.
    origin: Option<i64>,
    last_step: i64,
    /// Values of the first period of the longest season, until initialised.
    warmup: Vec<f64>,
    initialised: bool,
    scale: Scale,
}

impl HoltWinters {
    pub fn new(c: &HoltWintersConfig, step_ms: u128) -> Result<HoltWinters, ModelError> {
        if c.seasons.is_empty() {
            return Err(ModelError::Invalid(
                "holt_winters needs at least one season".into(),
            ));
        }
        check_fraction("alpha", c.alpha)?;
        check_fraction("beta", c.beta)?;
        check_fraction("gamma", c.gamma)?;
        check_fraction("phi", c.phi)?;
        check_positive("z", c.z)?;
        let mut periods = c
            .seasons
            .iter()
            .map(|s| steps_in("season", *s, step_ms))
            .collect::<Result<Vec<_>, _>>()?;
        periods.sort_unstable();
        Ok(HoltWinters {
            alpha: c.alpha,
            beta: c.beta,
            gamma: c.gamma,
            phi: c.phi,
            z: c.z,
            step_ms: i64::try_from(step_ms).unwrap_or(i64::MAX),
            seasons: periods
                .iter()
                .map(|&m| Season {
                    slots: vec![0.0; m],
                })
                .collect(),
            level: 0.0,
            trend: 0.0,
            origin: None,
            last_step: -1,
            warmup: Vec::new(),
            initialised: false,
            scale: Scale::new(2.0 / (c.error_window.max(1) as f64 + 1.0)),
        })
    }

    fn longest(&self) -> usize {
        self.seasons.last().map_or(1, |s| s.slots.len())
    }

    fn seasonal(&self, step: i64) -> f64 {
        self.seasons
            .iter()
            .map(|s| s.slots[step.rem_euclid(s.slots.len() as i64) as usize])
            .sum()
    }

    /// Level and seasons from the first period of the longest season.
    fn initialise(&mut self) {
        let values = std::mem::take(&mut self.warmup);
        self.level = values.iter().sum::<f64>() / values.len() as f64;
        let mut resid: Vec<f64> = values.iter().map(|v| v - self.level).collect();
        for season in &mut self.seasons {
            let m = season.slots.len();
            let mut sums = vec![0.0; m];
            let mut counts = vec![0usize; m];
            for (i, r) in resid.iter().enumerate() {
                sums[i % m] += r;
                counts[i % m] += 1;
            }
            for j in 0..m {
                season.slots[j] = if counts[j] > 0 {
                    sums[j] / counts[j] as f64
                } else {
                    0.0
                };
            }
            for (i, r) in resid.iter_mut().enumerate() {
                *r -= season.slots[i % m];
            }
        }
        self.initialised = true;
    }

    /// Moves the state forward by one step without an observation.
    fn coast(&mut self) {
        self.level += self.phi * self.trend;
        self.trend *= self.phi;
    }
}

impl Model for HoltWinters {
    fn observe(&mut self, t: i64, y: f64) -> Option<Prediction> {
        if !y.is_finite() {
            return None;
        }
        let origin = *self.origin.get_or_insert(t);
        let step = (t - origin).div_euclid(self.step_ms.max(1));
        if step <= self.last_step {
            return None; // not after the last value: nothing new to learn
        }
        if !self.initialised {
            // Gaps in the warm-up period repeat the last value, keeping phases aligned.
            let fill = self.warmup.last().copied().unwrap_or(y);
            while (self.warmup.len() as i64) < step && self.warmup.len() < self.longest() {
                self.warmup.push(fill);
            }
            self.warmup.push(y);
            self.last_step = step;
            if self.warmup.len() >= self.longest() {
                self.initialise();
            }
            return None;
        }
        let gap = (step - self.last_step - 1).min(self.longest() as i64);
        for _ in 0..gap {
            self.coast();
        }
        self.last_step = step;
        let yhat = self.level + self.phi * self.trend + self.seasonal(step);
        let err = y - yhat;
        let out = (self.scale.seen() >= MIN_ERRORS)
            .then(|| Prediction::new(y, yhat, self.z * self.scale.sigma()));
        self.scale.learn(err);
        // An anomaly teaches the state only as much as a value at the band's edge would.
        let limit = 4.0 * self.scale.sigma().max(f64::MIN_POSITIVE);
        let e = if self.scale.seen() > MIN_ERRORS {
            err.clamp(-limit, limit)
        } else {
            err
        };
        self.level += self.phi * self.trend + self.alpha * e;
        self.trend = self.phi * self.trend + self.beta * e;
        for season in &mut self.seasons {
            let m = season.slots.len() as i64;
            season.slots[step.rem_euclid(m) as usize] += self.gamma * e;
        }
        out
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self
                .seasons
                .iter()
                .map(|s| s.slots.capacity() * std::mem::size_of::<f64>())
                .sum::<usize>()
            + self.warmup.capacity() * std::mem::size_of::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily(step_min: u64) -> HoltWinters {
        let c = HoltWintersConfig {
            seasons: vec![Duration::from_secs(86_400)],
            alpha: 0.2,
            beta: 0.01,
            gamma: 0.1,
            phi: 0.98,
            z: 3.0,
            error_window: 100,
        };
        HoltWinters::new(&c, u128::from(step_min) * 60_000).unwrap()
    }

    fn wave(i: i64) -> f64 {
        100.0 + 50.0 * (i as f64 * std::f64::consts::TAU / 288.0).sin() + (i % 7) as f64
    }

    #[test]
    fn follows_a_daily_wave_and_flags_a_spike_at_its_trough() {
        let mut m = daily(5);
        let step = 300_000;
        let mut worst: f64 = 0.0;
        for i in 0..288 * 4 {
            if let Some(p) = m.observe(i * step, wave(i)) {
                if i > 288 * 2 {
                    worst = worst.max(p.anomaly_score);
                }
            }
        }
        assert!(worst < 1.0, "normal days scored up to {worst}");
        // At the trough a value of the crest is abnormal, though a fixed threshold between
        // the daily min and max would never fire.
        let i = 288 * 4 + 216;
        for j in 288 * 4..i {
            m.observe(j * step, wave(j));
        }
        let p = m.observe(i * step, 150.0).unwrap();
        assert!(p.anomaly_score > 2.0, "{p:?}");
    }

    #[test]
    fn gaps_keep_the_phase() {
        let mut m = daily(5);
        let step = 300_000;
        for i in (0..288 * 3).filter(|i| i % 50 != 7) {
            m.observe(i * step, wave(i));
        }
        let p = m.observe(288 * 3 * step, wave(288 * 3)).unwrap();
        assert!(p.anomaly_score < 1.0, "{p:?}");
    }
}
