//! The models, declared once: [`ModelConfig`] is the table of kinds (its `class` picks one),
//! [`ModelConfig::build`] makes the model for one series.
//!
//! Every model predicts the next value from what it has seen and scales its band by a robust
//! estimate of its own recent errors ([`Scale`]), so `anomaly_score` means the same for all of
//! them: the distance from `yhat` in band half-widths.

mod cooldown;
mod ensemble;
mod entropy;
mod holt_winters;
mod likelihood;
mod mad;
mod mstl;
mod scale;
mod zscore;

use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

pub use cooldown::Cooldown;
pub use ensemble::Ensemble;
pub use entropy::RelativeEntropy;
pub use holt_winters::HoltWinters;
pub use likelihood::Likelihood;
pub use mad::MedianMad;
pub use mstl::Mstl;
pub use scale::Scale;
pub use zscore::ZScore;

/// Most values a model keeps per series (windows, seasons, MSTL's history): the bound on
/// memory per modelled series. A season of one week at one value per minute is 10,080.
pub const MAX_POINTS_PER_SERIES: usize = 20_160;

/// What a model made of one value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub y: f64,
    pub yhat: f64,
    pub yhat_lower: f64,
    pub yhat_upper: f64,
    /// `|y − yhat|` in band half-widths: above 1 means outside the band.
    pub anomaly_score: f64,
}

impl Prediction {
    /// The prediction for `y` from an expectation and a band half-width.
    pub fn new(y: f64, yhat: f64, half_width: f64) -> Prediction {
        let anomaly_score = if half_width > 0.0 {
            (y - yhat).abs() / half_width
        } else if y == yhat {
            0.0
        } else {
            // A flat history and a different value: as anomalous as it gets, but finite so
            // that averages and thresholds over scores stay meaningful.
            MAX_SCORE
        };
        Prediction {
            y,
            yhat,
            yhat_lower: yhat - half_width,
            yhat_upper: yhat + half_width,
            anomaly_score: anomaly_score.min(MAX_SCORE),
        }
    }
}

/// Scores are capped here (a value off a perfectly flat history would otherwise be infinite).
pub const MAX_SCORE: f64 = 1_000.0;

/// A model of one series.
pub trait Model: Send {
    /// Scores `y`, the value at `t` (Unix ms), against what the model expected from the values
    /// before it, then learns it. `None` while the model is still warming up (too few values
    /// to say anything), and for non-finite `y` (skipped, not learnt).
    fn observe(&mut self, t: i64, y: f64) -> Option<Prediction>;

    /// Bytes of state this model holds (for the per-series cost report).
    fn state_bytes(&self) -> usize;
}

#[derive(Debug, Error, PartialEq)]
pub enum ModelError {
    #[error("{0}")]
    Invalid(String),
}

/// A model's settings, as written in a detector's `model:` (`class` picks the kind).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "class", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelConfig {
    /// Distance from the mean of the last `window` values, in standard deviations.
    Zscore(zscore::ZScoreConfig),
    /// Distance from the median of the last `window` values, in scaled MADs.
    Mad(mad::MadConfig),
    /// Additive Holt-Winters (level, trend, one smoothed component per season).
    HoltWinters(holt_winters::HoltWintersConfig),
    /// Multiple seasonal-trend decomposition by LOESS, refitted as values arrive.
    Mstl(mstl::MstlConfig),
    /// Another model's scores judged against their own history (how rare they are).
    Likelihood(likelihood::LikelihoodConfig),
    /// Another model's detections spaced out: one per `period`.
    Cooldown(cooldown::CooldownConfig),
    /// A change in the distribution of recent values (relative entropy against the
    /// distributions seen before).
    Entropy(entropy::EntropyConfig),
    /// Several models at once; the most anomalous verdict wins.
    Ensemble(ensemble::EnsembleConfig),
}

impl ModelConfig {
    /// The model for one series whose values arrive every `step`.
    pub fn build(&self, step: Duration) -> Result<Box<dyn Model>, ModelError> {
        let step_ms = step.as_millis();
        if step_ms == 0 {
            return Err(ModelError::Invalid(
                "the step between values must be positive".into(),
            ));
        }
        Ok(match self {
            ModelConfig::Zscore(c) => Box::new(ZScore::new(c)?),
            ModelConfig::Mad(c) => Box::new(MedianMad::new(c)?),
            ModelConfig::HoltWinters(c) => Box::new(HoltWinters::new(c, step_ms)?),
            ModelConfig::Mstl(c) => Box::new(Mstl::new(c, step_ms)?),
            ModelConfig::Likelihood(c) => Box::new(Likelihood::new(c, c.model.build(step)?)?),
            ModelConfig::Cooldown(c) => Box::new(Cooldown::new(c, c.model.build(step)?)?),
            ModelConfig::Entropy(c) => Box::new(RelativeEntropy::new(c)?),
            ModelConfig::Ensemble(c) => Box::new(Ensemble::new(c, step)?),
        })
    }

    /// Checks the settings without a step (config loading).
    pub fn validate(&self) -> Result<(), ModelError> {
        self.build(Duration::from_secs(60)).map(|_| ())
    }
}

/// Reads a Prometheus duration (`8h`).
fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    bongsu_model::parse_prometheus_duration(&s)
        .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a duration")))
}

/// Reads a list of Prometheus durations (`[1d, 1w]`).
fn durations<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
    let raw = Vec::<String>::deserialize(d)?;
    raw.iter()
        .map(|s| {
            bongsu_model::parse_prometheus_duration(s)
                .ok_or_else(|| serde::de::Error::custom(format!("season {s:?} is not a duration")))
        })
        .collect()
}

/// `period` in steps of `step_ms`, at least 2 and at most [`MAX_POINTS_PER_SERIES`].
fn steps_in(what: &str, period: Duration, step_ms: u128) -> Result<usize, ModelError> {
    let n = period.as_millis() / step_ms;
    if n < 2 {
        return Err(ModelError::Invalid(format!(
            "{what} of {period:?} is less than two steps of {step_ms}ms"
        )));
    }
    usize::try_from(n)
        .ok()
        .filter(|n| *n <= MAX_POINTS_PER_SERIES)
        .ok_or_else(|| {
            ModelError::Invalid(format!(
                "{what} of {period:?} is more than {MAX_POINTS_PER_SERIES} steps of {step_ms}ms"
            ))
        })
}

fn check_window(window: usize) -> Result<(), ModelError> {
    if !(3..=MAX_POINTS_PER_SERIES).contains(&window) {
        return Err(ModelError::Invalid(format!(
            "window must be between 3 and {MAX_POINTS_PER_SERIES} values, not {window}"
        )));
    }
    Ok(())
}

fn check_positive(what: &str, v: f64) -> Result<(), ModelError> {
    if !(v.is_finite() && v > 0.0) {
        return Err(ModelError::Invalid(format!(
            "{what} must be positive, not {v}"
        )));
    }
    Ok(())
}

fn check_fraction(what: &str, v: f64) -> Result<(), ModelError> {
    if !(v > 0.0 && v < 1.0) {
        return Err(ModelError::Invalid(format!(
            "{what} must be in (0, 1), not {v}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_picks_the_model_by_class() {
        let c: ModelConfig = serde_yaml_ng::from_str("class: zscore\nwindow: 10\nz: 3").unwrap();
        assert!(matches!(c, ModelConfig::Zscore(_)));
        let bad = serde_yaml_ng::from_str::<ModelConfig>("class: prophet").unwrap_err();
        assert!(bad.to_string().contains("unknown variant"), "{bad}");
        let c: ModelConfig = serde_yaml_ng::from_str("class: zscore\nwindow: 1").unwrap();
        assert!(c.validate().is_err());
    }

    #[test]
    fn scores_are_band_half_widths() {
        let p = Prediction::new(12.0, 10.0, 1.0);
        assert_eq!(
            (p.yhat_lower, p.yhat_upper, p.anomaly_score),
            (9.0, 11.0, 2.0)
        );
        assert_eq!(Prediction::new(5.0, 5.0, 0.0).anomaly_score, 0.0);
        assert_eq!(Prediction::new(6.0, 5.0, 0.0).anomaly_score, MAX_SCORE);
    }
}

#[cfg(test)]
mod cost_tests {
    use super::*;

    /// The per-series state the README reports.
    #[test]
    fn state_per_series() {
        let bytes = |yaml: &str, step_s: u64, values: i64| {
            let c: ModelConfig = serde_yaml_ng::from_str(yaml).unwrap();
            let mut m = c.build(Duration::from_secs(step_s)).unwrap();
            for i in 0..values {
                m.observe(i * step_s as i64 * 1000, (i % 17) as f64);
            }
            m.state_bytes()
        };
        let weekly = bytes("{class: holt_winters, seasons: [1d, 1w]}", 60, 10_100);
        assert!((92_000..95_000).contains(&weekly), "{weekly}");
        let daily = bytes("{class: holt_winters, seasons: [1d]}", 300, 300);
        assert!((2_300..2_600).contains(&daily), "{daily}");
        let z = bytes("{class: zscore, window: 1500}", 300, 2_000);
        assert!((12_000..12_300).contains(&z), "{z}");
    }
}
