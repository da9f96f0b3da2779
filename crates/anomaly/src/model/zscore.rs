//! [`ZScore`]: the distance from the mean of the last `window` values, in standard deviations
//! of those values (vmanomaly's `zscore`, made rolling and causal).

use std::collections::VecDeque;

use serde::Deserialize;

use super::{check_positive, check_window, Model, ModelError, Prediction};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZScoreConfig {
    /// Values the mean and deviation are taken over.
    #[serde(default = "default_window")]
    pub window: usize,
    /// Band half-width in standard deviations: `anomaly_score` 1 is `z` deviations away.
    #[serde(default = "default_z")]
    pub z: f64,
}

fn default_window() -> usize {
    288
}

fn default_z() -> f64 {
    2.5
}

/// Rolling mean and variance over a window (sums kept incrementally).
pub struct ZScore {
    window: usize,
    z: f64,
    values: VecDeque<f64>,
    sum: f64,
    sum_sq: f64,
}

impl ZScore {
    pub fn new(c: &ZScoreConfig) -> Result<ZScore, ModelError> {
        check_window(c.window)?;
        check_positive("z", c.z)?;
        Ok(ZScore {
            window: c.window,
            z: c.z,
            values: VecDeque::with_capacity(c.window),
            sum: 0.0,
            sum_sq: 0.0,
        })
    }
}

impl Model for ZScore {
    fn observe(&mut self, _t: i64, y: f64) -> Option<Prediction> {
        if !y.is_finite() {
            return None;
        }
        let n = self.values.len();
        let out = (n >= 3).then(|| {
            let mean = self.sum / n as f64;
            let var = (self.sum_sq / n as f64 - mean * mean).max(0.0);
            Prediction::new(y, mean, self.z * var.sqrt())
        });
        if n == self.window {
            if let Some(old) = self.values.pop_front() {
                self.sum -= old;
                self.sum_sq -= old * old;
            }
        }
        self.values.push_back(y);
        self.sum += y;
        self.sum_sq += y * y;
        // Running sums drift; recompute them exactly once per window.
        if self.values.len() == self.window && self.values.len() > n {
            self.sum = self.values.iter().sum();
            self.sum_sq = self.values.iter().map(|v| v * v).sum();
        }
        out
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.values.capacity() * std::mem::size_of::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spike_scores_high_and_steady_values_low() {
        let mut m = ZScore::new(&ZScoreConfig { window: 50, z: 3.0 }).unwrap();
        let mut last = None;
        for i in 0..200 {
            last = m.observe(i, 10.0 + (i % 5) as f64);
        }
        assert!(last.unwrap().anomaly_score < 1.0);
        let spike = m.observe(200, 40.0).unwrap();
        assert!(spike.anomaly_score > 3.0, "{spike:?}");
        assert!(spike.yhat_upper < 40.0);
    }

    #[test]
    fn warms_up_and_skips_nan() {
        let mut m = ZScore::new(&ZScoreConfig { window: 10, z: 3.0 }).unwrap();
        assert!(m.observe(0, 1.0).is_none());
        assert!(m.observe(1, f64::NAN).is_none());
        assert!(m.observe(2, 2.0).is_none());
        assert!(m.observe(3, 3.0).is_none());
        assert!(m.observe(4, 2.0).is_some());
    }
}
