//! [`Cooldown`]: one anomaly, one signal. After a value scores at or above `threshold`, the
//! scores of the values in the following `period` are capped just below it, so a long incident
//! (or a noisy stretch) yields one detection instead of many — what an on-call engineer wants
//! from a page, and what NAB's scoring rewards (only the first detection in a window counts,
//! every other one outside a window costs).

use std::time::Duration;

use serde::Deserialize;

use super::{check_positive, Model, ModelConfig, ModelError, Prediction};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CooldownConfig {
    /// The model whose detections are spaced out.
    pub model: Box<ModelConfig>,
    /// How long after a detection the scores stay below `threshold`.
    #[serde(deserialize_with = "super::duration")]
    pub period: Duration,
    /// The score that counts as a detection (alerting rules use `anomaly_score > 1`).
    #[serde(default = "default_threshold")]
    pub threshold: f64,
}

fn default_threshold() -> f64 {
    1.0
}

pub struct Cooldown {
    inner: Box<dyn Model>,
    period_ms: i64,
    threshold: f64,
    quiet_until: i64,
}

impl Cooldown {
    pub fn new(c: &CooldownConfig, inner: Box<dyn Model>) -> Result<Cooldown, ModelError> {
        check_positive("threshold", c.threshold)?;
        Ok(Cooldown {
            inner,
            period_ms: i64::try_from(c.period.as_millis()).unwrap_or(i64::MAX),
            threshold: c.threshold,
            quiet_until: i64::MIN,
        })
    }
}

impl Model for Cooldown {
    fn observe(&mut self, t: i64, y: f64) -> Option<Prediction> {
        let mut p = self.inner.observe(t, y)?;
        if t <= self.quiet_until {
            // Strictly below the threshold: a cooled-down value is never a detection.
            p.anomaly_score = p.anomaly_score.min(self.threshold * (1.0 - f64::EPSILON));
        } else if p.anomaly_score >= self.threshold {
            self.quiet_until = t.saturating_add(self.period_ms);
        }
        Some(p)
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.inner.state_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_detection_per_period() {
        let c: ModelConfig = serde_yaml_ng::from_str(
            "{class: cooldown, period: 10m, model: {class: zscore, window: 20}}",
        )
        .unwrap();
        let mut m = c.build(Duration::from_secs(60)).unwrap();
        let mut detections = Vec::new();
        for i in 0..100i64 {
            let y = if (60..70).contains(&i) {
                100.0
            } else {
                (i % 3) as f64
            };
            if m.observe(i * 60_000, y)
                .is_some_and(|p| p.anomaly_score >= 1.0)
            {
                detections.push(i);
            }
        }
        assert_eq!(detections.first(), Some(&60));
        assert!(
            detections.iter().all(|&i| i == 60 || i > 70),
            "{detections:?}"
        );
    }
}
