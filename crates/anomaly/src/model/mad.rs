//! [`MedianMad`]: the distance from the median of the last `window` values, in median
//! absolute deviations scaled to a standard deviation — a z-score that outliers in the window
//! do not drag along.

use std::collections::VecDeque;

use serde::Deserialize;

use super::{check_positive, check_window, Model, ModelError, Prediction};

/// A normal distribution's standard deviation per median absolute deviation.
const SIGMA_PER_MAD: f64 = 1.482_602_218_505_602;
/// A normal distribution's standard deviation per mean absolute deviation.
const SIGMA_PER_MEAN_AD: f64 = 1.253_314_137_315_500_3;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MadConfig {
    #[serde(default = "default_window")]
    pub window: usize,
    /// Band half-width in scaled MADs.
    #[serde(default = "default_z")]
    pub z: f64,
}

fn default_window() -> usize {
    288
}

fn default_z() -> f64 {
    3.0
}

/// The window in arrival order and, beside it, sorted (insert and remove by binary search).
pub struct MedianMad {
    window: usize,
    z: f64,
    values: VecDeque<f64>,
    sorted: Vec<f64>,
    scratch: Vec<f64>,
}

impl MedianMad {
    pub fn new(c: &MadConfig) -> Result<MedianMad, ModelError> {
        check_window(c.window)?;
        check_positive("z", c.z)?;
        Ok(MedianMad {
            window: c.window,
            z: c.z,
            values: VecDeque::with_capacity(c.window),
            sorted: Vec::with_capacity(c.window),
            scratch: Vec::with_capacity(c.window),
        })
    }
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

impl Model for MedianMad {
    fn observe(&mut self, _t: i64, y: f64) -> Option<Prediction> {
        if !y.is_finite() {
            return None;
        }
        let out = (self.sorted.len() >= 3).then(|| {
            let med = median(&self.sorted);
            self.scratch.clear();
            self.scratch
                .extend(self.sorted.iter().map(|v| (v - med).abs()));
            self.scratch.sort_unstable_by(f64::total_cmp);
            let mut sigma = median(&self.scratch) * SIGMA_PER_MAD;
            if sigma == 0.0 {
                // More than half the window is one value (counters at rest, flat lines): the
                // mean absolute deviation still sees the rest, where the MAD would call any
                // change infinitely anomalous.
                let mean_ad = self.scratch.iter().sum::<f64>() / self.scratch.len() as f64;
                sigma = mean_ad * SIGMA_PER_MEAN_AD;
            }
            Prediction::new(y, med, self.z * sigma)
        });
        if self.values.len() == self.window {
            if let Some(old) = self.values.pop_front() {
                let i = self.sorted.partition_point(|v| v.total_cmp(&old).is_lt());
                self.sorted.remove(i);
            }
        }
        self.values.push_back(y);
        let i = self.sorted.partition_point(|v| v.total_cmp(&y).is_lt());
        self.sorted.insert(i, y);
        out
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + (self.values.capacity() + self.sorted.capacity() + self.scratch.capacity())
                * std::mem::size_of::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outliers_in_the_window_do_not_hide_the_next() {
        let mut m = MedianMad::new(&MadConfig { window: 30, z: 3.0 }).unwrap();
        for i in 0..100 {
            let v = if i % 10 == 0 {
                100.0
            } else {
                10.0 + (i % 3) as f64
            };
            m.observe(i, v);
        }
        let p = m.observe(100, 30.0).unwrap();
        assert!(p.anomaly_score > 1.0, "{p:?}");
        assert!((p.yhat - 11.0).abs() <= 1.0);
    }
}
