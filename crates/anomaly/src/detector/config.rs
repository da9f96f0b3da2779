//! Detector files: the files `anomaly_detection_files` names in the main configuration (globs,
//! as `rule_files`), each a list of detectors.
//!
//! ```yaml
//! detectors:
//!   - name: checkout_errors            # the `for` label of the output series
//!     query: sum by (service) (rate(http_requests_total{code=~"5.."}[5m]))
//!     interval: 1m                     # one value per series per interval
//!     history: 7d                      # fitted from this much history at start
//!     model: {class: holt_winters, seasons: [1d, 1w]}
//!     labels: {team: payments}         # added to the output series
//!     max_series: 1000                 # more result series fail the round
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::model::ModelConfig;

/// Default bound on the series one detector models.
pub const DEFAULT_MAX_SERIES: usize = 1_000;
/// Largest `max_series` a detector may set: the model state is per series.
pub const MAX_SERIES_LIMIT: usize = 100_000;
/// Most steps of history fetched at start (Prometheus' bound on one range query's steps).
pub const MAX_HISTORY_STEPS: u128 = 11_000;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: {msg}")]
    File { path: PathBuf, msg: String },
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorFile {
    #[serde(default)]
    pub detectors: Vec<DetectorConfig>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    pub name: String,
    pub query: String,
    #[serde(default = "default_interval", deserialize_with = "de_duration")]
    pub interval: Duration,
    #[serde(default = "default_history", deserialize_with = "de_duration")]
    pub history: Duration,
    pub model: ModelConfig,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default = "default_max_series")]
    pub max_series: usize,
}

fn default_interval() -> Duration {
    Duration::from_secs(60)
}
fn default_history() -> Duration {
    Duration::from_secs(3 * 86_400)
}
fn default_max_series() -> usize {
    DEFAULT_MAX_SERIES
}

fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    bongsu_model::parse_prometheus_duration(&s)
        .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a duration")))
}

impl DetectorConfig {
    /// Checks what serde cannot: names, bounds, the query's syntax, the model at this interval.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.is_empty() {
            return Err("a detector needs a name".into());
        }
        if self.interval.is_zero() {
            return Err(format!(
                "detector {:?}: interval must be positive",
                self.name
            ));
        }
        if self.history.as_millis() / self.interval.as_millis().max(1) > MAX_HISTORY_STEPS {
            return Err(format!(
                "detector {:?}: history is more than {MAX_HISTORY_STEPS} intervals",
                self.name
            ));
        }
        if self.max_series == 0 || self.max_series > MAX_SERIES_LIMIT {
            return Err(format!(
                "detector {:?}: max_series must be between 1 and {MAX_SERIES_LIMIT}",
                self.name
            ));
        }
        for name in self.labels.keys() {
            if name == "for" || name == "__name__" || !valid_label_name(name) {
                return Err(format!(
                    "detector {:?}: {name:?} cannot be an extra label",
                    self.name
                ));
            }
        }
        bongsu_promql::parse(&self.query)
            .map_err(|e| format!("detector {:?}: query: {e}", self.name))?;
        self.model
            .build(self.interval)
            .map(|_| ())
            .map_err(|e| format!("detector {:?}: model: {e}", self.name))
    }
}

fn valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads one detector file.
pub fn load_file(path: &Path) -> Result<Vec<DetectorConfig>, ConfigError> {
    let fail = |msg: String| ConfigError::File {
        path: path.to_path_buf(),
        msg,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let file: DetectorFile = serde_yaml_ng::from_str(&text).map_err(|e| fail(e.to_string()))?;
    for d in &file.detectors {
        d.validate().map_err(fail)?;
    }
    Ok(file.detectors)
}

/// Reads every file; detector names must be unique across them.
pub fn load_files(paths: &[PathBuf]) -> Result<Vec<DetectorConfig>, ConfigError> {
    let mut out = Vec::new();
    let mut names = BTreeSet::new();
    for path in paths {
        for d in load_file(path)? {
            if !names.insert(d.name.clone()) {
                return Err(ConfigError::File {
                    path: path.clone(),
                    msg: format!("detector {:?} is defined twice", d.name),
                });
            }
            out.push(d);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<(), String> {
        let f: DetectorFile = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
        f.detectors.iter().try_for_each(DetectorConfig::validate)
    }

    #[test]
    fn a_detector_and_its_errors() {
        parse("detectors: [{name: a, query: up, model: {class: zscore}}]").unwrap();
        let e = parse("detectors: [{name: a, query: 'up{', model: {class: zscore}}]").unwrap_err();
        assert!(e.starts_with("detector \"a\": query:"), "{e}");
        let e =
            parse("detectors: [{name: a, query: up, model: {class: zscore}, labels: {for: x}}]")
                .unwrap_err();
        assert!(e.contains("cannot be an extra label"), "{e}");
        let e = parse(
            "detectors: [{name: a, query: up, interval: 1s, history: 1d, model: {class: zscore}}]",
        )
        .unwrap_err();
        assert!(e.contains("history is more than"), "{e}");
        let e = parse("detectors: [{name: a, query: up, model: {class: zscore}, bogus: 1}]")
            .unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
    }
}
