//! [`Mstl`]: multiple seasonal-trend decomposition by LOESS (augurs' MSTL over `stlrs`),
//! fitted on a sliding history and refitted every `refit_every` values; between refits each
//! value is compared with the last fit's forecast for its step. The band comes from the
//! model's own recent forecast errors ([`Scale`]), like every model here.

use std::collections::VecDeque;
use std::time::Duration;

use augurs_core::{Fit, Predict};
use augurs_mstl::MSTLModel;
use serde::Deserialize;

use super::{check_positive, steps_in, Model, ModelError, Prediction, Scale};

/// Errors learnt before the band is trusted.
const MIN_ERRORS: usize = 5;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MstlConfig {
    /// Season lengths, e.g. `[1d]` or `[1d, 1w]`.
    #[serde(deserialize_with = "super::durations")]
    pub seasons: Vec<Duration>,
    /// History the decomposition is fitted on, in periods of the longest season.
    #[serde(default = "default_periods")]
    pub history_periods: usize,
    /// Values between refits (default: an eighth of the shortest season).
    #[serde(default)]
    pub refit_every: Option<usize>,
    /// Band half-width in standard deviations of the recent errors.
    #[serde(default = "default_z")]
    pub z: f64,
    #[serde(default = "default_error_window")]
    pub error_window: usize,
}

fn default_periods() -> usize {
    3
}
fn default_z() -> f64 {
    3.0
}
fn default_error_window() -> usize {
    100
}

pub struct Mstl {
    periods: Vec<usize>,
    capacity: usize,
    refit_every: usize,
    z: f64,
    step_ms: i64,
    history: VecDeque<f64>,
    last: Option<(i64, f64)>,
    /// The current forecast and how many of its steps were used.
    forecast: Vec<f64>,
    used: usize,
    scale: Scale,
}

impl Mstl {
    pub fn new(c: &MstlConfig, step_ms: u128) -> Result<Mstl, ModelError> {
        if c.seasons.is_empty() {
            return Err(ModelError::Invalid("mstl needs at least one season".into()));
        }
        check_positive("z", c.z)?;
        let mut periods = c
            .seasons
            .iter()
            .map(|s| steps_in("season", *s, step_ms))
            .collect::<Result<Vec<_>, _>>()?;
        periods.sort_unstable();
        let longest = *periods.last().unwrap_or(&2);
        if c.history_periods < 2 {
            return Err(ModelError::Invalid(
                "history_periods must be at least 2".into(),
            ));
        }
        let capacity = longest.saturating_mul(c.history_periods);
        if capacity > super::MAX_POINTS_PER_SERIES {
            return Err(ModelError::Invalid(format!(
                "mstl history of {capacity} values is more than {}",
                super::MAX_POINTS_PER_SERIES
            )));
        }
        let refit_every = c.refit_every.unwrap_or((periods[0] / 8).max(1));
        if refit_every == 0 || refit_every > longest {
            return Err(ModelError::Invalid(format!(
                "refit_every must be between 1 and the longest season ({longest} values)"
            )));
        }
        Ok(Mstl {
            periods,
            capacity,
            refit_every,
            z: c.z,
            step_ms: i64::try_from(step_ms).unwrap_or(i64::MAX),
            history: VecDeque::with_capacity(capacity),
            last: None,
            forecast: Vec::new(),
            used: 0,
            scale: Scale::new(2.0 / (c.error_window.max(1) as f64 + 1.0)),
        })
    }

    fn refit(&mut self) {
        self.used = 0;
        self.forecast.clear();
        let y: Vec<f64> = self.history.iter().copied().collect();
        let fitted = MSTLModel::naive(self.periods.clone()).fit(&y);
        if let Ok(f) = fitted {
            if let Ok(fc) = f.predict(self.refit_every, None) {
                self.forecast = fc.point;
            }
        }
    }

    fn push(&mut self, y: f64) {
        if self.history.len() == self.capacity {
            self.history.pop_front();
        }
        self.history.push_back(y);
    }
}

impl Model for Mstl {
    fn observe(&mut self, t: i64, y: f64) -> Option<Prediction> {
        if !y.is_finite() {
            return None;
        }
        // Missing steps repeat the last value, keeping the seasons' phases.
        if let Some((last_t, last_y)) = self.last {
            let gap = (t - last_t) / self.step_ms.max(1);
            if gap < 1 {
                return None;
            }
            for _ in 1..gap.min(self.capacity as i64) {
                self.push(last_y);
                self.used += 1;
            }
        }
        self.last = Some((t, y));
        let ready = self.history.len() >= 2 * self.periods[self.periods.len() - 1];
        if ready && (self.forecast.is_empty() || self.used >= self.forecast.len()) {
            self.refit();
        }
        let out = self.forecast.get(self.used).copied().map(|yhat| {
            let p = (self.scale.seen() >= MIN_ERRORS)
                .then(|| Prediction::new(y, yhat, self.z * self.scale.sigma()));
            self.scale.learn(y - yhat);
            p
        });
        self.used += 1;
        self.push(y);
        out.flatten()
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + (self.history.capacity() + self.forecast.capacity()) * std::mem::size_of::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forecasts_a_seasonal_series_and_flags_a_level_shift() {
        let c = MstlConfig {
            seasons: vec![Duration::from_secs(3600)],
            history_periods: 3,
            refit_every: None,
            z: 3.0,
            error_window: 50,
        };
        let mut m = Mstl::new(&c, 60_000).unwrap();
        let wave = |i: i64| 10.0 + 5.0 * (i as f64 * std::f64::consts::TAU / 60.0).sin();
        let mut worst: f64 = 0.0;
        for i in 0..600 {
            let noise = ((i * 7919) % 13) as f64 / 13.0 - 0.5;
            if let Some(p) = m.observe(i * 60_000, wave(i) + noise) {
                worst = worst.max(p.anomaly_score);
            }
        }
        assert!(worst < 1.5, "normal values scored up to {worst}");
        let p = m.observe(600 * 60_000, wave(600) + 8.0).unwrap();
        assert!(p.anomaly_score > 1.0, "{p:?}");
    }
}
