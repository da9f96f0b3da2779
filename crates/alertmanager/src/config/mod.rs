//! `alertmanager.yml`: reading, defaults and validation, so that a file Alertmanager accepts
//! loads unchanged and a file it refuses fails with its message.
//!
//! Each section is read into a private `Raw*` struct (`deny_unknown_fields`, as Go's strict
//! decoder) and converted with `TryFrom` while decoding, so per-node errors come out in
//! document order as upstream's `UnmarshalYAML` hooks do; then the whole-file checks run
//! (global exclusions, receiver inheritance from `global`, the root route, undefined
//! receivers and time intervals). Features bongsu lacks fail with "… is not supported by
//! bongsu yet". Secrets are `Secret`/`SecretUrl` and never print.

pub(crate) mod common;
mod global;
pub(crate) mod marshal;
mod receiver;
mod route;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

pub use common::{HostPort, SecretUrl, Url, SECRET_TOKEN};
pub use global::{GlobalConfig, DEFAULT_SLACK_APP_URL};
pub use receiver::Receiver;
pub use route::{InhibitRule, RouteConfig};

use crate::matcher::go_quote;
use crate::notify::registry;
use crate::timeinterval::{RawTimeInterval, TimeInterval};
use bongsu_gotmpl::alertmanager::NotificationTemplates;

/// Largest configuration file read; far above any real one.
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// Why `alertmanager.yml` could not be loaded. The message is Alertmanager's where it has one.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("open {path}: {}", go_io_error(source))]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The YAML does not fit the format (syntax, unknown key, wrong type).
    #[error("{0}")]
    Yaml(String),
    /// The file fits the format but breaks one of Alertmanager's rules.
    #[error("{0}")]
    Invalid(String),
    /// The file uses a feature bongsu does not have yet.
    #[error("{0}")]
    Unsupported(String),
    /// A notification template file does not parse.
    #[error("failed to parse templates: {0}")]
    Template(String),
}

/// An I/O error as Go words it: `no such file or directory`, without Rust's `(os error 2)`.
fn go_io_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl ConfigError {
    pub(crate) fn unsupported(key: &str) -> ConfigError {
        ConfigError::Unsupported(format!("{key} is not supported by bongsu yet"))
    }

    /// Whether loading failed only because the file uses a feature bongsu lacks.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, ConfigError::Unsupported(_))
    }
}

/// A loaded, validated configuration. `Debug` leaves out `original`, which holds secrets.
#[derive(Clone)]
pub struct Config {
    pub global: GlobalConfig,
    /// The root of the routing tree; it has a receiver and no matchers.
    pub route: RouteConfig,
    pub inhibit_rules: Vec<InhibitRule>,
    pub receivers: Vec<Receiver>,
    /// Template file globs, relative ones joined to the file's directory.
    pub templates: Vec<String>,
    /// `time_intervals` and the legacy `mute_time_intervals`, by name.
    pub time_intervals: BTreeMap<String, Vec<TimeInterval>>,
    /// The text the configuration was read from. It holds the secrets in clear: never log
    /// or serve it.
    pub original: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("global", &self.global)
            .field("route", &self.route)
            .field("inhibit_rules", &self.inhibit_rules)
            .field("receivers", &self.receivers)
            .field("templates", &self.templates)
            .field("time_intervals", &self.time_intervals)
            .field("original", &format_args!("<{} bytes>", self.original.len()))
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    global: Option<global::RawGlobal>,
    #[serde(default)]
    route: Option<RouteConfig>,
    #[serde(default)]
    inhibit_rules: Option<Vec<InhibitRule>>,
    #[serde(default)]
    receivers: Option<Vec<Receiver>>,
    #[serde(default)]
    templates: Option<Vec<String>>,
    #[serde(default)]
    mute_time_intervals: Option<Vec<NamedInterval>>,
    #[serde(default)]
    time_intervals: Option<Vec<NamedInterval>>,
    #[serde(default)]
    tracing: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    event_recorder: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
#[serde(try_from = "RawNamedInterval")]
struct NamedInterval {
    name: String,
    intervals: Vec<TimeInterval>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNamedInterval {
    #[serde(default)]
    name: String,
    #[serde(default)]
    time_intervals: Vec<RawTimeInterval>,
}

impl TryFrom<RawNamedInterval> for NamedInterval {
    type Error = common::Invalid;

    fn try_from(r: RawNamedInterval) -> Result<NamedInterval, common::Invalid> {
        let intervals = r
            .time_intervals
            .into_iter()
            .map(TimeInterval::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(common::Invalid)?;
        if r.name.is_empty() {
            return common::fail("missing name in time interval");
        }
        Ok(NamedInterval {
            name: r.name,
            intervals,
        })
    }
}

impl Config {
    /// Reads and validates a file; relative paths in it are taken from its directory.
    pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
        let read_err = |source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read_err)?;
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::Invalid(format!(
                "{} is {} bytes, more than the limit of {MAX_CONFIG_BYTES}",
                path.display(),
                meta.len()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(read_err)?;
        let dir = path.parent().map(|d| {
            if d.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                d.to_path_buf()
            }
        });
        Config::parse(&text, dir.as_deref())
    }

    /// Validates configuration text; `dir` resolves relative paths (none: left as written).
    pub fn parse(text: &str, dir: Option<&Path>) -> Result<Config, ConfigError> {
        // An empty document decodes to nothing, as in Go: no route.
        let raw: Option<RawConfig> = if text.trim().is_empty() {
            None
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| yaml_error(&e))?
        };
        let Some(raw) = raw else {
            return Err(ConfigError::Invalid("no route provided in config".into()));
        };
        let cfg = resolve(raw, text, dir)?;
        if cfg.route.continue_matching {
            return Err(ConfigError::Invalid(
                "cannot have continue in root route".into(),
            ));
        }
        Ok(cfg)
    }
}

fn resolve(raw: RawConfig, text: &str, dir: Option<&Path>) -> Result<Config, ConfigError> {
    if raw.tracing.is_some() {
        return Err(ConfigError::unsupported("tracing"));
    }
    if raw.event_recorder.is_some() {
        return Err(ConfigError::unsupported("event_recorder"));
    }
    let global = raw.global.unwrap_or_default().resolve(dir)?;
    let mut receivers = raw.receivers.unwrap_or_default();
    let mut names = HashSet::new();
    for r in &mut receivers {
        if names.contains(&r.name) {
            return Err(ConfigError::Invalid(format!(
                "notification config name {} is not unique",
                go_quote(&r.name)
            )));
        }
        r.resolve(&global, dir)?;
        names.insert(r.name.clone());
    }
    let Some(route) = raw.route else {
        return Err(ConfigError::Invalid("no routes provided".into()));
    };
    if route.receiver.is_empty() {
        return Err(ConfigError::Invalid(
            "root route must specify a default receiver".into(),
        ));
    }
    if !route.matchers.is_empty() {
        return Err(ConfigError::Invalid(
            "root route must not have any matchers".into(),
        ));
    }
    if !route.mute_time_intervals.is_empty() {
        return Err(ConfigError::Invalid(
            "root route must not have any mute time intervals".into(),
        ));
    }
    if !route.active_time_intervals.is_empty() {
        return Err(ConfigError::Invalid(
            "root route must not have any active time intervals".into(),
        ));
    }
    check_receivers(&route, &names)?;
    let mut time_intervals = BTreeMap::new();
    for (list, what) in [
        (raw.mute_time_intervals, "mute time interval"),
        (raw.time_intervals, "time interval"),
    ] {
        for ti in list.unwrap_or_default() {
            if time_intervals.contains_key(&ti.name) {
                return Err(ConfigError::Invalid(format!(
                    "{what} {} is not unique",
                    go_quote(&ti.name)
                )));
            }
            time_intervals.insert(ti.name, ti.intervals);
        }
    }
    check_time_intervals(&route, &time_intervals)?;
    let templates = raw
        .templates
        .unwrap_or_default()
        .into_iter()
        .map(|t| match dir {
            Some(d) if !t.is_empty() && !Path::new(&t).is_absolute() => {
                d.join(&t).display().to_string()
            }
            _ => t,
        })
        .collect();
    Ok(Config {
        global,
        route,
        inhibit_rules: raw.inhibit_rules.unwrap_or_default(),
        receivers,
        templates,
        time_intervals,
        original: text.to_string(),
    })
}

/// Reads the template files the globs name, in glob order (a glob matching nothing is not an
/// error, as upstream). Parsing them is the template engine's job; this finds unreadable
/// files and bad patterns.
pub fn read_templates(globs: &[String]) -> Result<Vec<(PathBuf, String)>, ConfigError> {
    let mut out = Vec::new();
    for pattern in globs {
        let paths = glob::glob(pattern)
            .map_err(|e| ConfigError::Invalid(format!("invalid template glob {pattern:?}: {e}")))?;
        for path in paths {
            let path = path.map_err(|e| ConfigError::Invalid(e.to_string()))?;
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            out.push((path, text));
        }
    }
    Ok(out)
}

/// The notification templates: bongsu's defaults, then the files the globs name (later
/// definitions replace earlier ones of the same name, as upstream).
pub fn load_templates(globs: &[String]) -> Result<NotificationTemplates, ConfigError> {
    let mut set = NotificationTemplates::with_defaults();
    for (path, text) in read_templates(globs)? {
        set.parse_file(&path.display().to_string(), &text)
            .map_err(|e| ConfigError::Template(e.to_string()))?;
    }
    Ok(set)
}

/// Children first, as upstream, so the deepest undefined receiver is the one reported.
fn check_receivers(r: &RouteConfig, names: &HashSet<String>) -> Result<(), ConfigError> {
    for child in &r.routes {
        check_receivers(child, names)?;
    }
    if !r.receiver.is_empty() && !names.contains(&r.receiver) {
        return Err(ConfigError::Invalid(format!(
            "undefined receiver {} used in route",
            go_quote(&r.receiver)
        )));
    }
    Ok(())
}

fn check_time_intervals(
    r: &RouteConfig,
    known: &BTreeMap<String, Vec<TimeInterval>>,
) -> Result<(), ConfigError> {
    for child in &r.routes {
        check_time_intervals(child, known)?;
    }
    for name in r.active_time_intervals.iter().chain(&r.mute_time_intervals) {
        if !known.contains_key(name) {
            return Err(ConfigError::Invalid(format!(
                "undefined time interval {} used in route",
                go_quote(name)
            )));
        }
    }
    Ok(())
}

/// A decoding error: our own validation message bare (as Alertmanager's hooks return it),
/// otherwise a YAML error in Go's yaml.v2 shape.
fn yaml_error(e: &serde_yaml_ng::Error) -> ConfigError {
    let text = e.to_string();
    if let Some((_, own)) = text.split_once(common::OWN_ERROR) {
        let own = match e.location() {
            Some(loc) => own
                .strip_suffix(&format!(" at line {} column {}", loc.line(), loc.column()))
                .unwrap_or(own),
            None => own,
        };
        return ConfigError::Invalid(own.to_string());
    }
    let described = bongsu_yaml::describe(e);
    // Go names the type, not the path to it.
    let described = match described.split_once(": ") {
        Some((path, rest))
            if !path.contains(' ')
                && (rest.starts_with("field ") || rest.starts_with("invalid type")) =>
        {
            rest.to_string()
        }
        _ => described,
    };
    // The private `Raw*` structs are an implementation detail: name the section.
    let described = described.replace("struct Raw", "struct ");
    let described = go_type_error(&described).unwrap_or(described);
    let described = go_receiver_type(&described).unwrap_or(described);
    match e.location() {
        Some(loc) if bongsu_yaml::is_unmarshal_error(&described) => ConfigError::Yaml(format!(
            "yaml: unmarshal errors:\n  line {}: {described}",
            loc.line()
        )),
        Some(loc) => ConfigError::Yaml(format!("yaml: line {}: {described}", loc.line())),
        None => ConfigError::Yaml(format!("yaml: {described}")),
    }
}

/// serde's `invalid type: string "BAD", expected struct RawConfig` in yaml.v2's words:
/// ``cannot unmarshal !!str `BAD` into config.plain``.
fn go_type_error(described: &str) -> Option<String> {
    let rest = described.strip_prefix("invalid type: ")?;
    let (found, expected) = rest.rsplit_once(", expected ")?;
    let (tag, value) = [
        ("string ", "!!str"),
        ("integer ", "!!int"),
        ("floating point ", "!!float"),
        ("boolean ", "!!bool"),
    ]
    .iter()
    .find_map(|(serde, go)| {
        found
            .strip_prefix(serde)
            .map(|v| (*go, v.trim_matches(['"', '`'])))
    })
    .or(match found {
        "sequence" => Some(("!!seq", "")),
        "map" => Some(("!!map", "")),
        _ => None,
    })?;
    let into = if expected == "struct RawConfig" {
        "config.plain"
    } else {
        expected
    };
    Some(if value.is_empty() {
        format!("cannot unmarshal {tag} into {into}")
    } else {
        format!("cannot unmarshal {tag} `{value}` into {into}")
    })
}

/// `field x not found in type opsgenie_config (expected …)` as yaml.v2 words it for a
/// receiver kind: the `plain` type of the package that declares the kind's configuration.
fn go_receiver_type(described: &str) -> Option<String> {
    let (head, rest) = described.split_once(" not found in type ")?;
    let name = rest.split(' ').next()?;
    let package = registry::go_package(name.strip_suffix("_config")?)?;
    Some(format!("{head} not found in type {package}.plain"))
}
