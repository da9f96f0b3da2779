//! The main configuration file (`prometheus.yml` format) and the embedded default.
//!
//! This module currently checks a file's YAML and its top-level sections and reads `global`;
//! the scrape, rule and alerting sections are accepted but not acted on until scraping and
//! rules exist (the server logs that it ignores them).

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

pub use duration::parse_prometheus_duration;

mod duration;

/// The configuration used when no `--config.file` is given: scrape bongsu itself.
pub const DEFAULT_CONFIG: &str = include_str!("default.yml");

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("parsing YAML file {path}: {message}")]
    Parse { path: String, message: String },
}

/// A loaded configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub global: GlobalConfig,
    #[serde(default)]
    pub scrape_configs: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub scrape_config_files: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub rule_files: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub alerting: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub remote_write: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub remote_read: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub storage: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub tracing: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub otlp: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    pub runtime: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct GlobalConfig {
    #[serde(default, with = "opt_duration")]
    pub scrape_interval: Option<Duration>,
    #[serde(default, with = "opt_duration")]
    pub scrape_timeout: Option<Duration>,
    #[serde(default, with = "opt_duration")]
    pub evaluation_interval: Option<Duration>,
    #[serde(default)]
    pub external_labels: std::collections::BTreeMap<String, String>,
    #[serde(flatten)]
    pub other: std::collections::BTreeMap<String, serde_yaml_ng::Value>,
}

mod opt_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| {
            super::parse_prometheus_duration(&s).ok_or_else(|| {
                serde::de::Error::custom(format!("not a valid duration string: {s:?}"))
            })
        })
        .transpose()
    }
}

impl Config {
    /// Parses configuration text; `name` is used in errors.
    pub fn parse(text: &str, name: &str) -> Result<Config, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Parse {
            path: name.to_string(),
            message: e.to_string(),
        })
    }

    /// Loads the file at `path`, or the embedded default when `None`.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            None => Config::parse(DEFAULT_CONFIG, "<embedded default>"),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Read {
                    path: p.display().to_string(),
                    source: e,
                })?;
                Config::parse(&text, &p.display().to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_loads() {
        let c = Config::load(None).unwrap();
        assert_eq!(c.global.scrape_interval, Some(Duration::from_secs(15)));
        assert!(c.scrape_configs.is_some());
    }

    #[test]
    fn unknown_top_level_keys_are_errors() {
        let e = Config::parse("scrape_config: []\n", "x.yml").unwrap_err();
        assert!(e.to_string().contains("scrape_config"), "{e}");
        assert!(Config::parse("global:\n  scrape_interval: 5x\n", "x.yml").is_err());
    }
}
