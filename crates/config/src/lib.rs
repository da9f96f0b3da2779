//! The main configuration file (`prometheus.yml` format) and the embedded default.
//!
//! This module owns reading the file, its full model with every default resolved, and
//! validation with Prometheus' error messages, so that a user's existing file loads unchanged
//! or fails the way Prometheus would fail. Keys that Prometheus accepts but bongsu cannot act
//! on yet ([`UNSUPPORTED`]) fail loading with "<key> is not supported by bongsu yet": a
//! setting is never silently ignored. It does not discover targets, scrape, or relabel (see
//! `crate::relabel`); it describes what those parts must do.

mod global;
mod redact;
mod remote;
mod scrape;
mod sections;
mod yaml;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};
use thiserror::Error;

use bongsu_yaml::BinaryTagError;

pub use global::{set_native_histograms_feature, EscapingScheme, GlobalConfig, ScrapeProtocol};
pub use redact::{redacted_yaml, SECRET_MASK};
pub use remote::{
    MetadataConfig, ProtobufMessage, QueueConfig, RemoteReadConfig, RemoteWriteConfig,
    DEFAULT_CHUNKED_READ_LIMIT,
};
pub use scrape::ScrapeConfig;
pub use sections::{
    AlertingConfig, AlertmanagerConfig, ChunkEncodingConfig, ExemplarsConfig, OtlpConfig,
    RetentionConfig, RuntimeConfig, StorageConfig, TsdbConfig,
};

use bongsu_relabel::RelabelError;

/// The configuration used when no `--config.file` is given: scrape bongsu itself.
pub const DEFAULT_CONFIG: &str = include_str!("default.yml");

/// Keys Prometheus accepts that bongsu refuses with "not supported by bongsu yet" (also listed
/// in README.md). Service discovery other than `static_configs` and `file_sd_configs`, in
/// scrape jobs and in `alerting.alertmanagers`; authentication methods other than
/// `basic_auth` and `authorization`; remote read; trace export; `!!binary` block scalars.
pub const UNSUPPORTED: &[&str] = &[
    "azure_sd_configs",
    "consul_sd_configs",
    "digitalocean_sd_configs",
    "docker_sd_configs",
    "dockerswarm_sd_configs",
    "dns_sd_configs",
    "ec2_sd_configs",
    "eureka_sd_configs",
    "gce_sd_configs",
    "hetzner_sd_configs",
    "http_sd_configs",
    "ionos_sd_configs",
    "kubernetes_sd_configs",
    "kuma_sd_configs",
    "lightsail_sd_configs",
    "linode_sd_configs",
    "marathon_sd_configs",
    "nerve_sd_configs",
    "nomad_sd_configs",
    "oci_sd_configs",
    "openstack_sd_configs",
    "outscale_sd_configs",
    "ovhcloud_sd_configs",
    "puppetdb_sd_configs",
    "scaleway_sd_configs",
    "serverset_sd_configs",
    "stackit_sd_configs",
    "triton_sd_configs",
    "uyuni_sd_configs",
    "vultr_sd_configs",
    "oauth2",
    "sigv4",
    "azuread",
    "google_iam",
    "remote_read",
    "tracing",
    "!!binary block scalars",
];

/// Why a configuration could not be loaded. Messages follow Prometheus' (`parsing YAML file
/// <path>: …`), with the line where the YAML parser knows it.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The YAML could not be read into the model; `message` includes the line.
    #[error("parsing YAML file {path}: {message}")]
    Parse {
        path: String,
        line: Option<usize>,
        message: String,
    },
    #[error("parsing YAML file {path}: {error}")]
    Invalid {
        path: String,
        error: ValidationError,
    },
}

impl ConfigError {
    /// Whether loading failed only because the file uses a feature bongsu lacks.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, ConfigError::Invalid { error, .. } if error.unsupported)
    }
}

/// A semantic error in a configuration, with Prometheus' wording.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{message}")]
pub struct ValidationError {
    message: String,
    unsupported: bool,
}

impl ValidationError {
    pub(crate) fn new(message: impl Into<String>) -> ValidationError {
        ValidationError {
            message: message.into(),
            unsupported: false,
        }
    }

    pub(crate) fn unsupported(key: &str) -> ValidationError {
        ValidationError {
            message: format!("{key} is not supported by bongsu yet"),
            unsupported: true,
        }
    }

    fn with_context(mut self, context: String) -> ValidationError {
        self.message = format!("{} {context}", self.message);
        self
    }

    /// Adds "for scrape config with job name …" for errors that Prometheus words without it.
    pub(crate) fn in_job(self, job: &str) -> ValidationError {
        if job.is_empty() || self.message.contains("job name") {
            return self;
        }
        self.with_context(format!("for scrape config with job name {job:?}"))
    }

    pub(crate) fn in_section(self, section: &str) -> ValidationError {
        self.with_context(format!("in {section}"))
    }

    pub(crate) fn in_remote(self, section: &str, name: &str) -> ValidationError {
        if name.is_empty() {
            return self.in_section(section);
        }
        self.with_context(format!("in {section} config {name:?}"))
    }

    fn in_file(mut self, file: &Path) -> ValidationError {
        let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        self.message = format!("{:?}: {}", abs.display().to_string(), self.message);
        self
    }
}

impl From<bongsu_httpclient::ConfigError> for ValidationError {
    fn from(e: bongsu_httpclient::ConfigError) -> ValidationError {
        ValidationError::new(e.to_string())
    }
}

impl From<bongsu_discovery::ConfigError> for ValidationError {
    fn from(e: bongsu_discovery::ConfigError) -> ValidationError {
        ValidationError::new(e.to_string())
    }
}

impl From<RelabelError> for ValidationError {
    fn from(e: RelabelError) -> ValidationError {
        ValidationError::new(e.to_string())
    }
}

/// The file as written (top level).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    global: Option<global::RawGlobal>,
    #[serde(default)]
    runtime: Option<RuntimeConfig>,
    #[serde(default)]
    alerting: Option<sections::RawAlerting>,
    #[serde(default)]
    rule_files: Option<Vec<String>>,
    #[serde(default)]
    log_rule_files: Option<Vec<String>>,
    #[serde(default)]
    anomaly_detection_files: Option<Vec<String>>,
    #[serde(default)]
    scrape_config_files: Option<Vec<String>>,
    #[serde(default)]
    scrape_configs: Option<Vec<Option<scrape::RawScrapeConfig>>>,
    #[serde(default)]
    storage: Option<StorageConfig>,
    #[serde(default)]
    tracing: Option<sections::RawTracing>,
    #[serde(default)]
    remote_write: Option<Vec<Option<remote::RawRemoteWrite>>>,
    #[serde(default)]
    remote_read: Option<Vec<Option<remote::RawRemoteRead>>>,
    #[serde(default)]
    otlp: Option<OtlpConfig>,
}

/// A loaded, validated configuration with every default resolved.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub global: GlobalConfig,
    pub runtime: RuntimeConfig,
    pub alerting: AlertingConfig,
    /// As written; see [`Config::rule_file_patterns`] for paths to open.
    pub rule_files: Vec<String>,
    /// bongsu's own key: rule files whose expressions are LogQL (Loki's ruler format), as
    /// written; see [`Config::log_rule_file_patterns`].
    pub log_rule_files: Vec<String>,
    /// bongsu's own key: files of anomaly detectors (globs, as `rule_files`), as written; see
    /// [`Config::anomaly_detection_file_patterns`].
    pub anomaly_detection_files: Vec<String>,
    /// As written; their jobs are already in `scrape_configs`.
    pub scrape_config_files: Vec<String>,
    /// The file's jobs, then those from `scrape_config_files`, in order.
    pub scrape_configs: Vec<ScrapeConfig>,
    pub storage: StorageConfig,
    pub remote_write: Vec<RemoteWriteConfig>,
    pub remote_read: Vec<RemoteReadConfig>,
    pub otlp: OtlpConfig,
    /// The directory relative paths in the file are relative to (`None`: the working
    /// directory, for configurations that did not come from a file).
    pub dir: Option<PathBuf>,
}

impl Config {
    /// Parses configuration text; `name` is used in errors. `scrape_config_files` are looked
    /// up relative to the working directory.
    pub fn parse(text: &str, name: &str) -> Result<Config, ConfigError> {
        Config::parse_in(text, name, None)
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
                let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
                Config::parse_in(&text, &p.display().to_string(), Some(&dir))
            }
        }
    }

    /// `rule_files` entries as paths (globs allowed in the last element) relative to the
    /// configuration file's directory.
    pub fn rule_file_patterns(&self) -> Vec<PathBuf> {
        self.rule_files
            .iter()
            .map(|f| resolve_path(self.dir.as_deref(), f))
            .collect()
    }

    /// `log_rule_files` entries as paths, resolved as [`Config::rule_file_patterns`].
    pub fn log_rule_file_patterns(&self) -> Vec<PathBuf> {
        self.log_rule_files
            .iter()
            .map(|f| resolve_path(self.dir.as_deref(), f))
            .collect()
    }

    /// The files `anomaly_detection_files` names: its entries resolved as
    /// [`Config::rule_file_patterns`], globs expanded (a glob matching nothing is no error).
    pub fn anomaly_detection_paths(&self) -> Result<Vec<PathBuf>, String> {
        let mut out = Vec::new();
        for f in &self.anomaly_detection_files {
            let pattern = resolve_path(self.dir.as_deref(), f);
            let text = pattern.to_string_lossy();
            let paths =
                glob::glob(&text).map_err(|e| format!("anomaly detection files {text}: {e}"))?;
            for p in paths {
                out.push(p.map_err(|e| format!("anomaly detection files {text}: {e}"))?);
            }
        }
        Ok(out)
    }

    fn parse_in(text: &str, name: &str, dir: Option<&Path>) -> Result<Config, ConfigError> {
        let text = bongsu_yaml::decode_binary_tags(text).map_err(|(line, error)| {
            if error == BinaryTagError::BlockScalar {
                return ConfigError::Invalid {
                    path: name.to_string(),
                    error: ValidationError::unsupported("!!binary block scalars"),
                };
            }
            ConfigError::Parse {
                path: name.to_string(),
                line: Some(line),
                message: format!("yaml: line {line}: {error}"),
            }
        })?;
        let raw: Option<RawConfig> =
            serde_yaml_ng::from_str(&text).map_err(|e| yaml::parse_error(name, &e))?;
        let invalid = |error: ValidationError| ConfigError::Invalid {
            path: name.to_string(),
            error,
        };
        let Some(raw) = raw else {
            return Ok(Config {
                dir: dir.map(Path::to_path_buf),
                ..Config::default()
            });
        };
        Config::resolve(raw, dir).map_err(invalid)
    }

    fn resolve(raw: RawConfig, dir: Option<&Path>) -> Result<Config, ValidationError> {
        let global = GlobalConfig::from_raw(raw.global.unwrap_or_default())?;
        let scheme = global.metric_name_validation_scheme;
        let rule_files = raw.rule_files.unwrap_or_default();
        for f in &rule_files {
            if !valid_file_pattern(f) {
                return Err(ValidationError::new(format!(
                    "invalid rule file path {f:?}"
                )));
            }
        }
        let log_rule_files = raw.log_rule_files.unwrap_or_default();
        for f in &log_rule_files {
            if !valid_file_pattern(f) {
                return Err(ValidationError::new(format!(
                    "invalid log rule file path {f:?}"
                )));
            }
        }
        let anomaly_detection_files = raw.anomaly_detection_files.unwrap_or_default();
        for f in &anomaly_detection_files {
            if !valid_file_pattern(f) {
                return Err(ValidationError::new(format!(
                    "invalid anomaly detection file path {f:?}"
                )));
            }
        }
        let scrape_config_files = raw.scrape_config_files.unwrap_or_default();
        for f in &scrape_config_files {
            if !valid_file_pattern(f) {
                return Err(ValidationError::new(format!(
                    "invalid scrape config file path {f:?}"
                )));
            }
        }
        let mut scrape_configs = Vec::new();
        let mut job_names: BTreeMap<String, Option<PathBuf>> = BTreeMap::new();
        for sc in raw.scrape_configs.unwrap_or_default() {
            let sc =
                sc.ok_or_else(|| ValidationError::new("empty or null scrape config section"))?;
            let sc = ScrapeConfig::resolve(sc, &global, dir)?;
            if job_names.insert(sc.job_name.clone(), None).is_some() {
                return Err(ValidationError::new(format!(
                    "found multiple scrape configs with job name {:?}",
                    sc.job_name
                )));
            }
            scrape_configs.push(sc);
        }
        let alerting = match raw.alerting {
            Some(a) => AlertingConfig::resolve(a, scheme, dir)?,
            None => AlertingConfig::default(),
        };
        let remote_write = resolve_remote_write(raw.remote_write, scheme, dir)?;
        let remote_read = resolve_remote_read(raw.remote_read, dir)?;
        let storage = raw.storage.unwrap_or_default();
        storage.validate()?;
        if let Some(t) = &raw.tracing {
            t.check()?;
        }
        let mut otlp = raw.otlp.unwrap_or_default();
        otlp.validate(scheme)?;
        for pattern in &scrape_config_files {
            load_scrape_config_files(
                &resolve_path(dir, pattern),
                &global,
                &mut job_names,
                &mut scrape_configs,
            )?;
        }
        Ok(Config {
            global,
            runtime: raw.runtime.unwrap_or_default(),
            alerting,
            rule_files,
            log_rule_files,
            anomaly_detection_files,
            scrape_config_files,
            scrape_configs,
            storage,
            remote_write,
            remote_read,
            otlp,
            dir: dir.map(Path::to_path_buf),
        })
    }
}

fn resolve_remote_write(
    list: Option<Vec<Option<remote::RawRemoteWrite>>>,
    scheme: bongsu_relabel::NameValidationScheme,
    dir: Option<&Path>,
) -> Result<Vec<RemoteWriteConfig>, ValidationError> {
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for rw in list.unwrap_or_default() {
        let rw =
            rw.ok_or_else(|| ValidationError::new("empty or null remote write config section"))?;
        let rw = RemoteWriteConfig::resolve(rw, scheme, dir)?;
        // Unnamed endpoints are told apart by a hash of their settings, as in Prometheus.
        if !rw.name.is_empty() && !names.insert(rw.name.clone()) {
            return Err(ValidationError::new(format!(
                "found multiple remote write configs with job name {:?}",
                rw.name
            )));
        }
        out.push(rw);
    }
    Ok(out)
}

fn resolve_remote_read(
    list: Option<Vec<Option<remote::RawRemoteRead>>>,
    dir: Option<&Path>,
) -> Result<Vec<RemoteReadConfig>, ValidationError> {
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for rr in list.unwrap_or_default() {
        let rr =
            rr.ok_or_else(|| ValidationError::new("empty or null remote read config section"))?;
        if !rr.name().is_empty() && !names.insert(rr.name().to_string()) {
            return Err(ValidationError::new(format!(
                "found multiple remote read configs with job name {:?}",
                rr.name()
            )));
        }
        out.push(RemoteReadConfig::resolve(rr, dir)?);
    }
    Ok(out)
}

/// Reads every file matching `pattern` and appends its jobs, refusing job names already used.
fn load_scrape_config_files(
    pattern: &Path,
    global: &GlobalConfig,
    job_names: &mut BTreeMap<String, Option<PathBuf>>,
    out: &mut Vec<ScrapeConfig>,
) -> Result<(), ValidationError> {
    let pattern_text = pattern.to_string_lossy();
    let paths = glob::glob(&pattern_text).map_err(|e| {
        ValidationError::new(format!(
            "error retrieving scrape config files for {pattern_text:?}: {e}"
        ))
    })?;
    for path in paths {
        let path = path.map_err(|e| ValidationError::new(e.to_string()))?;
        let in_file = |e: ValidationError| e.in_file(&path);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| in_file(ValidationError::new(e.to_string())))?;
        let file: Option<scrape::ScrapeConfigsFile> = serde_yaml_ng::from_str(&text)
            .map_err(|e| in_file(ValidationError::new(bongsu_yaml::describe(&e))))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for sc in file.map(|f| f.scrape_configs).unwrap_or_default() {
            let sc = sc.ok_or_else(|| {
                in_file(ValidationError::new("empty or null scrape config section"))
            })?;
            let sc = ScrapeConfig::resolve(sc, global, Some(&dir)).map_err(in_file)?;
            if let Some(first) = job_names.get(&sc.job_name) {
                let first = match first {
                    None => "main config file".to_string(),
                    Some(p) => format!("{:?}", p.display().to_string()),
                };
                return Err(in_file(ValidationError::new(format!(
                    "found multiple scrape configs with job name {:?}, first found in {first}",
                    sc.job_name
                ))));
            }
            let abs = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
            job_names.insert(sc.job_name.clone(), Some(abs));
            out.push(sc);
        }
    }
    Ok(())
}

/// Prometheus' rule for `rule_files` and `scrape_config_files`: a `*` only in the last path
/// element.
fn valid_file_pattern(s: &str) -> bool {
    match s.find('*') {
        None => true,
        Some(i) => !s[i..].contains('/'),
    }
}

/// `path` relative to `dir` unless absolute.
fn resolve_path(dir: Option<&Path>, path: &str) -> PathBuf {
    match dir {
        Some(d) => d.join(path),
        None => PathBuf::from(path),
    }
}

/// Go's URL parser accepts nearly anything; refuse only what no URL can contain.
pub(crate) fn check_url(url: &str) -> Result<(), ValidationError> {
    Ok(bongsu_httpclient::check_url(url)?)
}

/// Reads a list in which a null entry is an error with Prometheus' `message`.
pub(crate) fn non_null_list<'de, D, T>(d: D, message: &'static str) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let items: Option<Vec<Option<T>>> = Option::deserialize(d)?;
    items
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.ok_or_else(|| serde::de::Error::custom(message)))
        .collect()
}

#[cfg(test)]
mod tests;
