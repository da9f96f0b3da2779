//! The discovery sections of a configuration file: `static_configs` and `file_sd_configs`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use bongsu_model::units;

use crate::ConfigError;

/// A `static_configs` entry: targets (`host:port`) and labels for all of them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A `file_sd_configs` entry: JSON or YAML target files (globs allowed in the last path
/// element), re-read every `refresh_interval`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    #[serde(default)]
    pub files: Vec<PathBuf>,
    #[serde(default = "default_file_refresh", deserialize_with = "units::duration")]
    pub refresh_interval: Duration,
}

/// Prometheus' default re-read interval for file-based discovery.
fn default_file_refresh() -> Duration {
    Duration::from_secs(300)
}

impl FileSdConfig {
    /// Prometheus' checks of the file patterns.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.files.is_empty() {
            return Err(ConfigError(
                "file service discovery config must contain at least one path name".into(),
            ));
        }
        for f in &self.files {
            let s = f.to_string_lossy();
            if !valid_sd_file_pattern(&s) {
                return Err(ConfigError(format!(
                    "path name {s:?} is not valid for file discovery"
                )));
            }
        }
        Ok(())
    }
}

/// Prometheus' rule for file SD paths: `*` only in the last element, and a `.json`, `.yml`
/// or `.yaml` extension (any case of the three spellings Prometheus lists).
fn valid_sd_file_pattern(s: &str) -> bool {
    let star_ok = match s.find('*') {
        None => true,
        Some(i) => !s[i..].contains('/') && s[i + 1..].find('*').is_none(),
    };
    let ext_ok = [".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"]
        .iter()
        .any(|e| s.ends_with(e));
    star_ok && ext_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sd_file_patterns() {
        assert!(valid_sd_file_pattern("foo/*.slow.json"));
        assert!(valid_sd_file_pattern("single/file.yml"));
        assert!(!valid_sd_file_pattern("foo/*/x.json"));
        assert!(!valid_sd_file_pattern("foo/targets.txt"));
    }
}
