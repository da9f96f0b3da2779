//! `promtail.yml` as Promtail reads it: every section bongsu acts on resolved with Promtail's
//! defaults (`positions`, `clients`, `scrape_configs`, `target_config`, `limits_config`,
//! `global.file_watch_config`), its error texts, and "<key> is not supported by bongsu yet" for
//! what bongsu lacks. Unknown keys fail as Go's yaml.v2 words it (`bongsu_yaml::describe`).
//!
//! The `syslog` and `clients` bodies are read into their modules' types (`syslog`, `client`),
//! and `pipeline_stages` built once to check them (kept as YAML for each pipeline built); the
//! `server` section is accepted and ignored (bongsu serves on its own `--web.listen-address`).

mod expand;
mod scrape;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_yaml_ng::Value;
use thiserror::Error;

use crate::client::ClientConfig;

pub use expand::expand_env;
pub use scrape::{Decompression, ScrapeConfig};

/// Promtail's `positions.sync_period` and `target_config.sync_period` default.
pub const DEFAULT_SYNC_PERIOD: Duration = Duration::from_secs(10);
/// Promtail's `positions.filename` default.
pub const DEFAULT_POSITIONS_FILE: &str = "/var/log/positions.yaml";
/// Promtail's `file_watch_config` poll frequencies' default.
pub const DEFAULT_POLL: Duration = Duration::from_millis(250);

/// Why a `promtail.yml` could not be loaded. Messages are Promtail's (`<file>: yaml: …`).
#[derive(Debug, Error)]
pub enum LogConfigError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("environment variable expansion: {0}")]
    Expand(String),
    /// The YAML could not be read into the model; the message carries the line.
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    /// A semantic error, or a feature bongsu lacks (`unsupported`).
    #[error("{path}: {message}")]
    Invalid {
        path: String,
        message: String,
        unsupported: bool,
    },
}

/// A loaded `promtail.yml`.
#[derive(Debug, Clone)]
pub struct LogConfig {
    pub positions: PositionsConfig,
    /// `clients` (and the deprecated single `client`). Empty: lines go to the local log store.
    pub clients: Vec<ClientConfig>,
    pub scrape_configs: Vec<ScrapeConfig>,
    /// `target_config.sync_period`: how often globs are re-scanned.
    pub target_sync_period: Duration,
    pub limits: LimitsConfig,
    /// `global.file_watch_config`: the shortest and longest wait between reads of a file.
    pub min_poll: Duration,
    pub max_poll: Duration,
}

/// `positions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionsConfig {
    pub filename: PathBuf,
    pub sync_period: Duration,
    pub ignore_invalid_yaml: bool,
}

/// The `limits_config` keys bongsu acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitsConfig {
    /// `max_line_size`: longer lines are dropped (or truncated with `max_line_size_truncate`);
    /// 0 is no limit beyond the tailer's own bound.
    pub max_line_size: u64,
    pub max_line_size_truncate: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    global: RawGlobal,
    /// Accepted and ignored: bongsu serves on its own listener.
    #[serde(default, rename = "server")]
    _server: IgnoredAny,
    #[serde(default)]
    client: Option<Value>,
    #[serde(default)]
    clients: Option<Vec<Value>>,
    #[serde(default)]
    positions: RawPositions,
    #[serde(default)]
    scrape_configs: Option<Vec<scrape::RawScrapeConfig>>,
    #[serde(default)]
    target_config: RawTargetConfig,
    #[serde(default)]
    limits_config: RawLimits,
    /// Promtail has no keys here.
    #[serde(default, rename = "options")]
    _options: IgnoredAny,
    #[serde(default)]
    tracing: Option<RawEnabled>,
    #[serde(default)]
    wal: Option<RawEnabled>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobal {
    #[serde(default)]
    file_watch_config: RawWatch,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWatch {
    #[serde(default, deserialize_with = "go_duration")]
    min_poll_frequency: Option<Duration>,
    #[serde(default, deserialize_with = "go_duration")]
    max_poll_frequency: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPositions {
    #[serde(default, deserialize_with = "go_duration")]
    sync_period: Option<Duration>,
    #[serde(default)]
    filename: Option<String>,
    #[serde(default)]
    ignore_invalid_yaml: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargetConfig {
    #[serde(default, deserialize_with = "go_duration")]
    sync_period: Option<Duration>,
    #[serde(default)]
    stdin: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    /// The rate keys only matter with `readline_rate_enabled`, which bongsu lacks.
    #[serde(default, rename = "readline_rate")]
    _readline_rate: IgnoredAny,
    #[serde(default, rename = "readline_burst")]
    _readline_burst: IgnoredAny,
    #[serde(default)]
    readline_rate_enabled: bool,
    #[serde(default, rename = "readline_rate_drop")]
    _readline_rate_drop: IgnoredAny,
    #[serde(default)]
    max_streams: i64,
    #[serde(default, deserialize_with = "bongsu_model::units::size")]
    max_line_size: u64,
    #[serde(default)]
    max_line_size_truncate: bool,
}

/// A section whose only key bongsu reads is `enabled` (`tracing`, `wal`).
#[derive(Debug, Default, Deserialize)]
struct RawEnabled {
    #[serde(default)]
    enabled: bool,
}

/// A Go `time.Duration` as yaml.v2 reads it: a `ParseDuration` string (`250ms`, `1m30s`) or
/// an integer of nanoseconds. Negative durations are refused.
pub(crate) fn go_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    let ns = match &v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => bongsu_model::units::parse_go_duration(s),
        Some(_) => None,
    };
    match ns {
        Some(ns) if ns >= 0 => Ok(Some(Duration::from_nanos(ns as u64))),
        _ => Err(serde::de::Error::custom(format!(
            "time: invalid duration {}",
            match &v {
                Some(Value::String(s)) => format!("{s:?}"),
                other => format!("{other:?}"),
            }
        ))),
    }
}

impl LogConfig {
    /// Reads and resolves `path`; with `expand_env`, `${VAR}` references are replaced from the
    /// process environment first (Promtail's `-config.expand-env`).
    pub fn load(path: &Path, expand_env: bool) -> Result<LogConfig, LogConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| LogConfigError::Read {
            path: name.clone(),
            source,
        })?;
        let text = if expand_env {
            expand::expand_env(&text, |v| std::env::var(v).ok())?
        } else {
            text
        };
        LogConfig::parse(&text, &name, expand_env)
    }

    /// Resolves the text of a `promtail.yml`; `name` names it in errors, `expanded` says
    /// whether `${VAR}` expansion ran (Promtail suggests the flag when it did not).
    pub fn parse(text: &str, name: &str, expanded: bool) -> Result<LogConfig, LogConfigError> {
        let raw: RawConfig = if text.trim().is_empty() {
            RawConfig::default()
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| {
                let mut message = yaml_message(&e);
                if !expanded {
                    message.push_str(
                        ". Use `--logs.config.expand-env=true` flag if you want to expand \
                         environment variables in your config file",
                    );
                }
                LogConfigError::Parse {
                    path: name.to_string(),
                    message,
                }
            })?
        };
        let invalid = |message: String| LogConfigError::Invalid {
            path: name.to_string(),
            message,
            unsupported: false,
        };
        let unsupported = |key: &str| LogConfigError::Invalid {
            path: name.to_string(),
            message: format!("{key} is not supported by bongsu yet"),
            unsupported: true,
        };
        if raw.tracing.is_some_and(|t| t.enabled) {
            return Err(unsupported("tracing"));
        }
        if raw.wal.is_some_and(|w| w.enabled) {
            return Err(unsupported("wal"));
        }
        if raw.target_config.stdin {
            return Err(unsupported("target_config.stdin"));
        }
        let l = &raw.limits_config;
        if l.readline_rate_enabled {
            return Err(unsupported("limits_config.readline_rate_enabled"));
        }
        if l.max_streams > 0 {
            return Err(unsupported("limits_config.max_streams"));
        }
        let mut scrape_configs = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (i, rs) in raw
            .scrape_configs
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let sc = rs.resolve(i).map_err(|e| match e {
                scrape::ScrapeError::Unsupported(key) => unsupported(&key),
                scrape::ScrapeError::Invalid(m) => invalid(m),
            })?;
            if !names.insert(sc.job_name.clone()) {
                return Err(invalid(format!(
                    "found multiple scrape configs with job name {:?}",
                    sc.job_name
                )));
            }
            check_bodies(&sc).map_err(invalid)?;
            scrape_configs.push(sc);
        }
        let mut raw_clients = raw.clients.unwrap_or_default();
        raw_clients.extend(raw.client);
        let clients = raw_clients
            .into_iter()
            .map(|c| {
                serde_yaml_ng::from_value::<ClientConfig>(c)
                    .map_err(|e| bongsu_yaml::describe(&e))
                    .and_then(|c| c.validate().map(|()| c).map_err(|e| e.to_string()))
                    .map_err(|e| invalid(format!("clients: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let watch = raw.global.file_watch_config;
        let min_poll = watch.min_poll_frequency.unwrap_or(DEFAULT_POLL);
        let max_poll = watch
            .max_poll_frequency
            .unwrap_or(DEFAULT_POLL)
            .max(min_poll);
        if min_poll.is_zero() {
            return Err(invalid(
                "file_watch_config.min_poll_frequency must be greater than 0".into(),
            ));
        }
        Ok(LogConfig {
            positions: PositionsConfig {
                filename: PathBuf::from(
                    raw.positions
                        .filename
                        .unwrap_or_else(|| DEFAULT_POSITIONS_FILE.to_string()),
                ),
                sync_period: raw.positions.sync_period.unwrap_or(DEFAULT_SYNC_PERIOD),
                ignore_invalid_yaml: raw.positions.ignore_invalid_yaml,
            },
            clients,
            scrape_configs,
            target_sync_period: raw
                .target_config
                .sync_period
                .filter(|d| !d.is_zero())
                .unwrap_or(DEFAULT_SYNC_PERIOD),
            limits: LimitsConfig {
                max_line_size: l.max_line_size,
                max_line_size_truncate: l.max_line_size_truncate,
            },
            min_poll,
            max_poll,
        })
    }
}

/// serde_yaml_ng's error in yaml.v2's words, with the line (`yaml: unmarshal errors:` for
/// errors in the data, as Go says).
fn yaml_message(e: &serde_yaml_ng::Error) -> String {
    let described = bongsu_yaml::describe(e);
    let at = e
        .location()
        .map(|l| format!("line {}: ", l.line()))
        .unwrap_or_default();
    if bongsu_yaml::is_unmarshal_error(&described) {
        format!("yaml: unmarshal errors:\n  {at}{described}")
    } else {
        format!("yaml: {at}{described}")
    }
}

#[cfg(test)]
mod tests;

/// Builds a scrape config's `pipeline_stages` as a pipeline would, so a file that loads has
/// stages the collector can build, with Promtail's stage errors.
fn check_bodies(sc: &ScrapeConfig) -> Result<(), String> {
    crate::stages::Pipeline::check(&Value::Sequence(sc.pipeline_stages.clone()))
        .map_err(|e| format!("{}: pipeline_stages: {e}", sc.job_name))
}
