//! `scrape_configs`: one job each, resolved against `global`, with its targets (static and
//! file-based discovery) and relabel rules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use bongsu_discovery::{FileSdConfig, StaticConfig};
use bongsu_httpclient::HttpClientConfig;
use bongsu_model::units;
use bongsu_relabel::{NameValidationScheme, RelabelConfig};

use super::global::{
    check_label_name, parse_validation_scheme, EscapingScheme, GlobalConfig, ScrapeProtocol,
};
use super::{non_null_list, ValidationError};

/// Declares a YAML struct that also carries every `<name>_sd_configs` key bongsu does not
/// implement, so it can say "not supported" rather than "unknown field", and
/// `unsupported_sd` to name the first one present. The list is written once, here.
macro_rules! with_unsupported_sd {
    ($(#[$m:meta])* $vis:vis struct $name:ident { $($body:tt)* }) => {
        with_unsupported_sd!(@build [
            azure_sd_configs, consul_sd_configs, digitalocean_sd_configs, docker_sd_configs,
            dockerswarm_sd_configs, dns_sd_configs, ec2_sd_configs, eureka_sd_configs,
            gce_sd_configs, hetzner_sd_configs, http_sd_configs, ionos_sd_configs,
            kubernetes_sd_configs, kuma_sd_configs, lightsail_sd_configs, linode_sd_configs,
            marathon_sd_configs, nerve_sd_configs, nomad_sd_configs, oci_sd_configs,
            openstack_sd_configs, outscale_sd_configs, ovhcloud_sd_configs,
            puppetdb_sd_configs, scaleway_sd_configs, serverset_sd_configs,
            stackit_sd_configs, triton_sd_configs, uyuni_sd_configs, vultr_sd_configs
        ] $(#[$m])* $vis struct $name { $($body)* });
    };
    (@build [$($sd:ident),*] $(#[$m:meta])* $vis:vis struct $name:ident { $($body:tt)* }) => {
        bongsu_httpclient::inline_http_client! {
            $(#[$m])*
            $vis struct $name {
                $($body)*
                $(
                    #[serde(default)]
                    $sd: Option<serde_yaml_ng::Value>,
                )*
            }
        }

        impl $name {
            /// Every service-discovery key this struct rejects as unsupported.
            #[cfg(test)]
            const UNSUPPORTED_SD: &'static [&'static str] = &[$(stringify!($sd)),*];

            fn unsupported_sd(&self) -> Option<&'static str> {
                $(
                    if self.$sd.is_some() {
                        return Some(stringify!($sd));
                    }
                )*
                None
            }
        }
    };
}
pub(crate) use with_unsupported_sd;

with_unsupported_sd! {
    /// A scrape job as written.
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct RawScrapeConfig {
        #[serde(default)]
        job_name: String,
        #[serde(default)]
        honor_labels: bool,
        #[serde(default)]
        honor_timestamps: Option<bool>,
        #[serde(default)]
        track_timestamps_staleness: bool,
        #[serde(default)]
        params: BTreeMap<String, Vec<String>>,
        #[serde(default, deserialize_with = "units::duration")]
        scrape_interval: Duration,
        #[serde(default, deserialize_with = "units::duration")]
        scrape_timeout: Duration,
        #[serde(default)]
        scrape_protocols: Option<Vec<String>>,
        #[serde(default)]
        fallback_scrape_protocol: Option<String>,
        #[serde(default)]
        scrape_native_histograms: Option<bool>,
        #[serde(default)]
        always_scrape_classic_histograms: Option<bool>,
        #[serde(default)]
        convert_classic_histograms_to_nhcb: Option<bool>,
        #[serde(default)]
        scrape_failure_log_file: Option<PathBuf>,
        #[serde(default)]
        metrics_path: Option<String>,
        #[serde(default)]
        scheme: Option<String>,
        #[serde(default)]
        enable_compression: Option<bool>,
        #[serde(default, deserialize_with = "units::size")]
        body_size_limit: u64,
        #[serde(default)]
        sample_limit: u64,
        #[serde(default)]
        target_limit: u64,
        #[serde(default)]
        label_limit: u64,
        #[serde(default)]
        label_name_length_limit: u64,
        #[serde(default)]
        label_value_length_limit: u64,
        #[serde(default)]
        native_histogram_bucket_limit: u64,
        #[serde(default)]
        native_histogram_min_bucket_factor: f64,
        #[serde(default)]
        keep_dropped_targets: u64,
        #[serde(default)]
        metric_name_validation_scheme: String,
        #[serde(default)]
        metric_name_escaping_scheme: String,
        #[serde(default)]
        extra_scrape_metrics: Option<bool>,
        #[serde(default, deserialize_with = "static_configs")]
        static_configs: Vec<StaticConfig>,
        #[serde(default)]
        file_sd_configs: Vec<FileSdConfig>,
        #[serde(default, deserialize_with = "target_rules")]
        relabel_configs: Vec<RelabelConfig>,
        #[serde(default, deserialize_with = "metric_rules")]
        metric_relabel_configs: Vec<RelabelConfig>,
    }
}

fn static_configs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<StaticConfig>, D::Error> {
    non_null_list(d, "empty or null section in static_configs")
}

fn target_rules<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RelabelConfig>, D::Error> {
    non_null_list(d, "empty or null target relabeling rule in scrape config")
}

fn metric_rules<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RelabelConfig>, D::Error> {
    non_null_list(d, "empty or null metric relabeling rule in scrape config")
}

/// A scrape job with every default resolved (from `global` where Prometheus inherits).
#[derive(Debug, Clone)]
pub struct ScrapeConfig {
    pub job_name: String,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub track_timestamps_staleness: bool,
    /// Query parameters added to every scrape URL.
    pub params: BTreeMap<String, Vec<String>>,
    pub scrape_interval: Duration,
    /// Never greater than `scrape_interval`.
    pub scrape_timeout: Duration,
    /// In order of preference, for the `Accept` header.
    pub scrape_protocols: Vec<ScrapeProtocol>,
    pub fallback_scrape_protocol: Option<ScrapeProtocol>,
    pub scrape_native_histograms: bool,
    pub always_scrape_classic_histograms: bool,
    pub convert_classic_histograms_to_nhcb: bool,
    pub scrape_failure_log_file: Option<PathBuf>,
    pub metrics_path: String,
    /// `http` or `https`.
    pub scheme: String,
    pub enable_compression: bool,
    /// Limits: 0 means none.
    pub body_size_limit: u64,
    pub sample_limit: u64,
    pub target_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
    pub native_histogram_bucket_limit: u64,
    pub native_histogram_min_bucket_factor: f64,
    pub keep_dropped_targets: u64,
    pub metric_name_validation_scheme: NameValidationScheme,
    pub metric_name_escaping_scheme: EscapingScheme,
    pub extra_scrape_metrics: bool,
    pub http: HttpClientConfig,
    pub static_configs: Vec<StaticConfig>,
    /// File paths already joined to the config file's directory.
    pub file_sd_configs: Vec<FileSdConfig>,
    /// Applied to each discovered target (`__address__`, `__meta_*`, …).
    pub relabel_configs: Vec<RelabelConfig>,
    /// Applied to each scraped sample's labels.
    pub metric_relabel_configs: Vec<RelabelConfig>,
}

impl ScrapeConfig {
    /// Validates a job and resolves it against `global`; `dir` is where relative paths
    /// point. Errors name the job where Prometheus does.
    pub(crate) fn resolve(
        mut raw: RawScrapeConfig,
        global: &GlobalConfig,
        dir: Option<&Path>,
    ) -> Result<ScrapeConfig, ValidationError> {
        let job = raw.job_name.clone();
        let in_job = |e: ValidationError| e.in_job(&job);
        if let Some(key) = raw.unsupported_sd() {
            return Err(ValidationError::unsupported(key).in_job(&job));
        }
        if job.is_empty() {
            return Err(ValidationError::new("job_name is empty"));
        }
        let mut http = raw.take_http(true).map_err(|e| in_job(e.into()))?;
        if let Some(key) = http.unsupported() {
            return Err(ValidationError::unsupported(key).in_job(&job));
        }
        let scheme = raw.scheme.take().unwrap_or_else(|| "http".to_string());
        if scheme != "http" && scheme != "https" {
            return Err(ValidationError::new(format!(
                "scheme must be \"http\" or \"https\", got {scheme:?}"
            ))
            .in_job(&job));
        }
        let validation =
            parse_validation_scheme(&raw.metric_name_validation_scheme).map_err(in_job)?;
        for sc in &raw.static_configs {
            for name in sc.labels.keys() {
                check_label_name(name, global.metric_name_validation_scheme)?;
            }
            // Prometheus' guard against `http://host/path` targets, unless rules may fix them.
            if raw.relabel_configs.is_empty() {
                if let Some(t) = sc.targets.iter().find(|t| t.contains('/')) {
                    return Err(ValidationError::new(format!(
                        "{t:?} is not a valid hostname"
                    )));
                }
            }
        }
        for f in &raw.file_sd_configs {
            f.validate().map_err(|e| in_job(e.into()))?;
        }

        let scrape_interval = nonzero_or(raw.scrape_interval, global.scrape_interval);
        if raw.scrape_timeout > scrape_interval {
            return Err(ValidationError::new(format!(
                "scrape timeout greater than scrape interval for scrape config with job name {job:?}"
            )));
        }
        let scrape_timeout = if raw.scrape_timeout.is_zero() {
            global.scrape_timeout.min(scrape_interval)
        } else {
            raw.scrape_timeout
        };
        let native = raw
            .scrape_native_histograms
            .unwrap_or(global.scrape_native_histograms);
        let scrape_protocols = match (&raw.scrape_protocols, &global.scrape_protocols) {
            (Some(list), _) => ScrapeProtocol::parse_list(list).map_err(|e| {
                ValidationError::new(format!("{e} for scrape config with job name {job:?}"))
            })?,
            (None, Some(g)) => g.clone(),
            (None, None) if native => ScrapeProtocol::PROTO_FIRST.to_vec(),
            (None, None) => ScrapeProtocol::DEFAULT.to_vec(),
        };
        let fallback_scrape_protocol = raw
            .fallback_scrape_protocol
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(ScrapeProtocol::parse)
            .transpose()
            .map_err(|e| {
                ValidationError::new(format!(
                    "invalid fallback_scrape_protocol for scrape config with job name {job:?}: {e}"
                ))
            })?;
        let (validation, escaping) = resolve_name_schemes(validation, &raw, global)?;
        for rule in raw
            .relabel_configs
            .iter_mut()
            .chain(raw.metric_relabel_configs.iter_mut())
        {
            rule.validate(validation).map_err(ValidationError::from)?;
        }
        if let Some(d) = dir {
            http.set_directory(d);
            for f in &mut raw.file_sd_configs {
                for p in &mut f.files {
                    *p = d.join(&*p);
                }
            }
        }
        let scrape_failure_log_file = raw
            .scrape_failure_log_file
            .map(|p| dir.map_or(p.clone(), |d| d.join(&p)))
            .or_else(|| global.scrape_failure_log_file.clone());
        Ok(ScrapeConfig {
            job_name: raw.job_name,
            honor_labels: raw.honor_labels,
            honor_timestamps: raw.honor_timestamps.unwrap_or(true),
            track_timestamps_staleness: raw.track_timestamps_staleness,
            params: raw.params,
            scrape_interval,
            scrape_timeout,
            scrape_protocols,
            fallback_scrape_protocol,
            scrape_native_histograms: native,
            always_scrape_classic_histograms: raw
                .always_scrape_classic_histograms
                .unwrap_or(global.always_scrape_classic_histograms),
            convert_classic_histograms_to_nhcb: raw
                .convert_classic_histograms_to_nhcb
                .unwrap_or(global.convert_classic_histograms_to_nhcb),
            scrape_failure_log_file,
            metrics_path: raw.metrics_path.unwrap_or_else(|| "/metrics".to_string()),
            scheme,
            enable_compression: raw.enable_compression.unwrap_or(true),
            body_size_limit: nonzero_or(raw.body_size_limit, global.body_size_limit),
            sample_limit: nonzero_or(raw.sample_limit, global.sample_limit),
            target_limit: nonzero_or(raw.target_limit, global.target_limit),
            label_limit: nonzero_or(raw.label_limit, global.label_limit),
            label_name_length_limit: nonzero_or(
                raw.label_name_length_limit,
                global.label_name_length_limit,
            ),
            label_value_length_limit: nonzero_or(
                raw.label_value_length_limit,
                global.label_value_length_limit,
            ),
            native_histogram_bucket_limit: raw.native_histogram_bucket_limit,
            native_histogram_min_bucket_factor: raw.native_histogram_min_bucket_factor,
            keep_dropped_targets: nonzero_or(raw.keep_dropped_targets, global.keep_dropped_targets),
            metric_name_validation_scheme: validation,
            metric_name_escaping_scheme: escaping,
            extra_scrape_metrics: raw
                .extra_scrape_metrics
                .unwrap_or(global.extra_scrape_metrics),
            http,
            static_configs: raw.static_configs,
            file_sd_configs: raw.file_sd_configs,
            relabel_configs: raw.relabel_configs,
            metric_relabel_configs: raw.metric_relabel_configs,
        })
    }
}

/// Prometheus' rules: a job's validation scheme defaults to the global one; its escaping
/// scheme to the global one if the job set no validation scheme, else to what its own scheme
/// implies; UTF-8 names cannot be asked for under legacy validation.
fn resolve_name_schemes(
    local: Option<NameValidationScheme>,
    raw: &RawScrapeConfig,
    global: &GlobalConfig,
) -> Result<(NameValidationScheme, EscapingScheme), ValidationError> {
    let implied = |s: NameValidationScheme| match s {
        NameValidationScheme::Legacy => EscapingScheme::Underscores,
        NameValidationScheme::Utf8 => EscapingScheme::AllowUtf8,
    };
    let validation = local.unwrap_or(global.metric_name_validation_scheme);
    let escaping = match raw.metric_name_escaping_scheme.as_str() {
        "" if local.is_none() => global
            .metric_name_escaping_scheme
            .unwrap_or_else(|| implied(global.metric_name_validation_scheme)),
        "" => implied(validation),
        s => EscapingScheme::parse(s).ok_or_else(|| {
            ValidationError::new(format!(
                "unknown scrape config name escaping method specified, must be one of {}, got {s:?}",
                EscapingScheme::NAMES
            ))
        })?,
    };
    if escaping == EscapingScheme::AllowUtf8 && validation != NameValidationScheme::Utf8 {
        return Err(ValidationError::new(
            "utf8 metric names requested but validation scheme is not set to UTF8",
        ));
    }
    Ok((validation, escaping))
}

fn nonzero_or<T: Default + PartialEq>(value: T, inherited: T) -> T {
    if value == T::default() {
        inherited
    } else {
        value
    }
}

/// The YAML shape of a file listed in `scrape_config_files`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScrapeConfigsFile {
    #[serde(default)]
    pub scrape_configs: Vec<Option<RawScrapeConfig>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_sd_keys_are_documented() {
        for key in RawScrapeConfig::UNSUPPORTED_SD {
            assert!(
                super::super::UNSUPPORTED.contains(key),
                "{key} missing from UNSUPPORTED"
            );
        }
    }
}
