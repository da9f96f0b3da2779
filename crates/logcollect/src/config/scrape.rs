//! One `scrape_configs` entry: where its lines come from (`static_configs` and
//! `file_sd_configs` with `__path__` globs, `syslog`), its `relabel_configs`, and its
//! `pipeline_stages` kept as written for the stages module. Promtail's other targets and
//! discovery mechanisms are listed in [`UNSUPPORTED_KEYS`] and refused.

use std::time::Duration;

use bongsu_discovery::{FileSdConfig, StaticConfig};
use bongsu_relabel::{NameValidationScheme, RelabelConfig};
use serde::Deserialize;
use serde_yaml_ng::Value;

use crate::syslog::SyslogConfig;

/// Scrape-config keys Promtail reads and bongsu does not: each fails loading with
/// "<key> is not supported by bongsu yet". `loki_push_api` is among them because bongsu
/// already serves `/loki/api/v1/push` on its own listener.
pub const UNSUPPORTED_KEYS: &[&str] = &[
    "journal",
    "gcplog",
    "loki_push_api",
    "windows_events",
    "kafka",
    "azure_event_hubs",
    "gelf",
    "cloudflare",
    "heroku_drain",
    "docker_sd_configs",
    "dns_sd_configs",
    "consul_sd_configs",
    "consulagent_sd_configs",
    "digitalocean_sd_configs",
    "dockerswarm_sd_configs",
    "serverset_sd_configs",
    "nerve_sd_configs",
    "marathon_sd_configs",
    "kubernetes_sd_configs",
    "gce_sd_configs",
    "ec2_sd_configs",
    "openstack_sd_configs",
    "azure_sd_configs",
    "triton_sd_configs",
];

/// A resolved scrape config.
#[derive(Debug, Clone)]
pub struct ScrapeConfig {
    pub job_name: String,
    /// The `pipeline_stages` list as written; the stages module builds and validates it.
    pub pipeline_stages: Vec<Value>,
    pub static_configs: Vec<StaticConfig>,
    pub file_sd_configs: Vec<FileSdConfig>,
    pub relabel_configs: Vec<RelabelConfig>,
    /// The `syslog` section, read and checked as the syslog module defines it.
    pub syslog: Option<SyslogConfig>,
    pub decompression: Option<Decompression>,
}

/// `decompression`: files matched by this job are compressed and read once, whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decompression {
    /// Wait after a file is discovered before reading it (so its writer can finish).
    pub initial_delay: Duration,
}

/// Why a scrape config was refused.
#[derive(Debug)]
pub(crate) enum ScrapeError {
    Unsupported(String),
    Invalid(String),
}

/// A scrape config as written. Unsupported keys are read as raw values into `unsupported`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScrapeConfig {
    #[serde(default)]
    job_name: String,
    #[serde(default)]
    pipeline_stages: Option<Vec<Value>>,
    #[serde(default)]
    static_configs: Option<Vec<StaticConfig>>,
    #[serde(default)]
    file_sd_configs: Option<Vec<FileSdConfig>>,
    #[serde(default)]
    relabel_configs: Option<Vec<RelabelConfig>>,
    #[serde(default)]
    syslog: Option<Value>,
    #[serde(default)]
    encoding: String,
    #[serde(default)]
    decompression: Option<RawDecompression>,
    #[serde(default)]
    journal: Option<Value>,
    #[serde(default)]
    gcplog: Option<Value>,
    #[serde(default)]
    loki_push_api: Option<Value>,
    #[serde(default)]
    windows_events: Option<Value>,
    #[serde(default)]
    kafka: Option<Value>,
    #[serde(default)]
    azure_event_hubs: Option<Value>,
    #[serde(default)]
    gelf: Option<Value>,
    #[serde(default)]
    cloudflare: Option<Value>,
    #[serde(default)]
    heroku_drain: Option<Value>,
    #[serde(default)]
    docker_sd_configs: Option<Value>,
    #[serde(default)]
    dns_sd_configs: Option<Value>,
    #[serde(default)]
    consul_sd_configs: Option<Value>,
    #[serde(default)]
    consulagent_sd_configs: Option<Value>,
    #[serde(default)]
    digitalocean_sd_configs: Option<Value>,
    #[serde(default)]
    dockerswarm_sd_configs: Option<Value>,
    #[serde(default)]
    serverset_sd_configs: Option<Value>,
    #[serde(default)]
    nerve_sd_configs: Option<Value>,
    #[serde(default)]
    marathon_sd_configs: Option<Value>,
    #[serde(default)]
    kubernetes_sd_configs: Option<Value>,
    #[serde(default)]
    gce_sd_configs: Option<Value>,
    #[serde(default)]
    ec2_sd_configs: Option<Value>,
    #[serde(default)]
    openstack_sd_configs: Option<Value>,
    #[serde(default)]
    azure_sd_configs: Option<Value>,
    #[serde(default)]
    triton_sd_configs: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDecompression {
    #[serde(default)]
    enabled: bool,
    #[serde(default, deserialize_with = "super::go_duration")]
    initial_delay: Option<Duration>,
    #[serde(default)]
    format: String,
}

impl RawScrapeConfig {
    /// The unsupported keys present, in [`UNSUPPORTED_KEYS`] order.
    fn unsupported(&self) -> Option<&'static str> {
        let present = [
            self.journal.is_some(),
            self.gcplog.is_some(),
            self.loki_push_api.is_some(),
            self.windows_events.is_some(),
            self.kafka.is_some(),
            self.azure_event_hubs.is_some(),
            self.gelf.is_some(),
            self.cloudflare.is_some(),
            self.heroku_drain.is_some(),
            self.docker_sd_configs.is_some(),
            self.dns_sd_configs.is_some(),
            self.consul_sd_configs.is_some(),
            self.consulagent_sd_configs.is_some(),
            self.digitalocean_sd_configs.is_some(),
            self.dockerswarm_sd_configs.is_some(),
            self.serverset_sd_configs.is_some(),
            self.nerve_sd_configs.is_some(),
            self.marathon_sd_configs.is_some(),
            self.kubernetes_sd_configs.is_some(),
            self.gce_sd_configs.is_some(),
            self.ec2_sd_configs.is_some(),
            self.openstack_sd_configs.is_some(),
            self.azure_sd_configs.is_some(),
            self.triton_sd_configs.is_some(),
        ];
        debug_assert_eq!(present.len(), UNSUPPORTED_KEYS.len());
        UNSUPPORTED_KEYS
            .iter()
            .zip(present)
            .find(|(_, p)| *p)
            .map(|(k, _)| *k)
    }

    /// Promtail's checks, in its order: `job_name`, then (in `Validate`) each relabel rule.
    pub(crate) fn resolve(self, index: usize) -> Result<ScrapeConfig, ScrapeError> {
        if self.job_name.is_empty() {
            return Err(ScrapeError::Invalid("job_name is empty".into()));
        }
        if let Some(key) = self.unsupported() {
            return Err(ScrapeError::Unsupported(key.into()));
        }
        let enc = self.encoding.to_ascii_lowercase();
        if !matches!(enc.as_str(), "" | "utf-8" | "utf8") {
            return Err(ScrapeError::Unsupported(format!(
                "encoding {:?}",
                self.encoding
            )));
        }
        let decompression = match self.decompression {
            Some(d) if d.enabled => {
                if d.format != "gz" {
                    return Err(ScrapeError::Unsupported(format!(
                        "decompression format {:?}",
                        d.format
                    )));
                }
                Some(Decompression {
                    initial_delay: d.initial_delay.unwrap_or_default(),
                })
            }
            _ => None,
        };
        let mut relabel_configs = self.relabel_configs.unwrap_or_default();
        for (j, r) in relabel_configs.iter_mut().enumerate() {
            r.validate(NameValidationScheme::Utf8).map_err(|e| {
                ScrapeError::Invalid(format!("ScrapeConfig[{index}].RelabelConfigs[{j}]: {e}"))
            })?;
        }
        let file_sd_configs = self.file_sd_configs.unwrap_or_default();
        for f in &file_sd_configs {
            f.validate()
                .map_err(|e| ScrapeError::Invalid(e.to_string()))?;
        }
        let syslog = self
            .syslog
            .map(|raw| {
                serde_yaml_ng::from_value::<SyslogConfig>(raw)
                    .map_err(|e| bongsu_yaml::describe(&e))
                    .and_then(|c| c.validate().map(|()| c).map_err(|e| e.to_string()))
                    .map_err(|e| ScrapeError::Invalid(format!("{}: syslog: {e}", self.job_name)))
            })
            .transpose()?;
        Ok(ScrapeConfig {
            job_name: self.job_name,
            pipeline_stages: self.pipeline_stages.unwrap_or_default(),
            static_configs: self.static_configs.unwrap_or_default(),
            file_sd_configs,
            relabel_configs,
            syslog,
            decompression,
        })
    }
}
