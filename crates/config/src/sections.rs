//! The smaller sections: `alerting`, `storage`, `tracing`, `otlp` and `runtime`.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use bongsu_discovery::{FileSdConfig, StaticConfig};
use bongsu_httpclient::HttpClientConfig;
use bongsu_model::units;
use bongsu_relabel::{NameValidationScheme, RelabelConfig};

use super::remote::validate_headers;
use super::scrape::with_unsupported_sd;
use super::{non_null_list, ValidationError};

fn alert_rules<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RelabelConfig>, D::Error> {
    non_null_list(d, "empty or null alert relabeling rule")
}

fn am_target_rules<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RelabelConfig>, D::Error> {
    non_null_list(d, "empty or null Alertmanager target relabeling rule")
}

fn am_alert_rules<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RelabelConfig>, D::Error> {
    non_null_list(d, "empty or null Alertmanager alert relabeling rule")
}

fn static_configs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<StaticConfig>, D::Error> {
    non_null_list(d, "empty or null section in static_configs")
}

/// `alerting` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlerting {
    #[serde(default, deserialize_with = "alert_rules")]
    alert_relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    alertmanagers: Vec<Option<RawAlertmanager>>,
}

with_unsupported_sd! {
    /// An `alertmanagers` entry as written.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawAlertmanager {
        #[serde(default)]
        sigv4: Option<serde_yaml_ng::Value>,
        #[serde(default)]
        scheme: Option<String>,
        #[serde(default)]
        path_prefix: String,
        #[serde(default, deserialize_with = "units::opt_duration")]
        timeout: Option<Duration>,
        #[serde(default)]
        api_version: Option<String>,
        #[serde(default, deserialize_with = "static_configs")]
        static_configs: Vec<StaticConfig>,
        #[serde(default)]
        file_sd_configs: Vec<FileSdConfig>,
        #[serde(default, deserialize_with = "am_target_rules")]
        relabel_configs: Vec<RelabelConfig>,
        #[serde(default, deserialize_with = "am_alert_rules")]
        alert_relabel_configs: Vec<RelabelConfig>,
    }
}

/// The `alerting` section, resolved.
#[derive(Debug, Clone, Default)]
pub struct AlertingConfig {
    /// Applied to every alert before it is sent to any Alertmanager.
    pub alert_relabel_configs: Vec<RelabelConfig>,
    pub alertmanagers: Vec<AlertmanagerConfig>,
}

/// One group of Alertmanagers to send alerts to.
#[derive(Debug, Clone)]
pub struct AlertmanagerConfig {
    /// `http` unless set.
    pub scheme: String,
    pub path_prefix: String,
    /// 10s unless set.
    pub timeout: Duration,
    pub http: HttpClientConfig,
    pub static_configs: Vec<StaticConfig>,
    pub file_sd_configs: Vec<FileSdConfig>,
    /// Applied to discovered Alertmanager targets.
    pub relabel_configs: Vec<RelabelConfig>,
    /// Applied to alerts sent to this group only.
    pub alert_relabel_configs: Vec<RelabelConfig>,
}

impl AlertingConfig {
    pub(crate) fn resolve(
        mut raw: RawAlerting,
        scheme: NameValidationScheme,
        dir: Option<&Path>,
    ) -> Result<AlertingConfig, ValidationError> {
        for rule in &mut raw.alert_relabel_configs {
            rule.validate(scheme)?;
        }
        let mut alertmanagers = Vec::with_capacity(raw.alertmanagers.len());
        for am in raw.alertmanagers {
            let am = am.ok_or_else(|| ValidationError::new("empty or null alertmanager config"))?;
            alertmanagers.push(resolve_alertmanager(am, scheme, dir)?);
        }
        Ok(AlertingConfig {
            alert_relabel_configs: raw.alert_relabel_configs,
            alertmanagers,
        })
    }
}

fn resolve_alertmanager(
    mut raw: RawAlertmanager,
    scheme: NameValidationScheme,
    dir: Option<&Path>,
) -> Result<AlertmanagerConfig, ValidationError> {
    let context = |e: ValidationError| e.in_section("alertmanager config");
    if let Some(key) = raw.unsupported_sd() {
        return Err(context(ValidationError::unsupported(key)));
    }
    let mut http = raw.take_http(true)?;
    if let Some(key) = http.unsupported() {
        return Err(context(ValidationError::unsupported(key)));
    }
    if raw.sigv4.is_some() {
        if http.basic_auth.is_some() || http.authorization.is_some() {
            return Err(ValidationError::new(
                "at most one of basic_auth, authorization, oauth2, & sigv4 must be configured",
            ));
        }
        return Err(context(ValidationError::unsupported("sigv4")));
    }
    match raw.api_version.as_deref() {
        None | Some("v2") => {}
        Some(v) => {
            return Err(ValidationError::new(format!(
                "expected Alertmanager api version to be one of [v2] but got {v}"
            )))
        }
    }
    if raw.relabel_configs.is_empty() {
        if let Some(t) = raw
            .static_configs
            .iter()
            .flat_map(|s| s.targets.iter())
            .find(|t| t.contains('/'))
        {
            return Err(ValidationError::new(format!(
                "{t:?} is not a valid hostname"
            )));
        }
    }
    for rule in raw
        .relabel_configs
        .iter_mut()
        .chain(raw.alert_relabel_configs.iter_mut())
    {
        rule.validate(scheme)?;
    }
    if let Some(d) = dir {
        http.set_directory(d);
        for f in &mut raw.file_sd_configs {
            for p in &mut f.files {
                *p = d.join(&*p);
            }
        }
    }
    Ok(AlertmanagerConfig {
        scheme: raw.scheme.unwrap_or_else(|| "http".to_string()),
        path_prefix: raw.path_prefix,
        timeout: raw.timeout.unwrap_or(Duration::from_secs(10)),
        http,
        static_configs: raw.static_configs,
        file_sd_configs: raw.file_sd_configs,
        relabel_configs: raw.relabel_configs,
        alert_relabel_configs: raw.alert_relabel_configs,
    })
}

/// `storage`: settings of the TSDB that can change on reload.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    #[serde(default)]
    pub tsdb: Option<TsdbConfig>,
    #[serde(default)]
    pub exemplars: Option<ExemplarsConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsdbConfig {
    /// How far back out-of-order samples are accepted; zero means not at all.
    #[serde(default, deserialize_with = "units::duration")]
    pub out_of_order_time_window: Duration,
    /// Share of stale series in the head that triggers an early compaction of them.
    #[serde(default)]
    pub stale_series_compaction_threshold: Option<f64>,
    #[serde(default)]
    pub retention: Option<RetentionConfig>,
    #[serde(default)]
    pub chunk_encoding: Option<ChunkEncodingConfig>,
}

/// Retention set in the file (overrides the `--storage.tsdb.retention.*` flags).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    #[serde(default, deserialize_with = "units::opt_duration")]
    pub time: Option<Duration>,
    #[serde(default, deserialize_with = "units::opt_size")]
    size: Option<i64>,
    /// Largest share of the disk, in percent.
    #[serde(default)]
    pub percentage: Option<f64>,
}

impl RetentionConfig {
    /// The size limit in bytes, if set (validation keeps it non-negative).
    pub fn size(&self) -> Option<u64> {
        self.size.and_then(|s| u64::try_from(s).ok())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkEncodingConfig {
    /// `xor` or `xor2` as written (Prometheus' float chunk encodings).
    #[serde(default)]
    pub floats: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExemplarsConfig {
    /// 0 or less turns exemplar storage off.
    #[serde(default = "default_max_exemplars")]
    pub max_exemplars: i64,
}

fn default_max_exemplars() -> i64 {
    100_000
}

impl StorageConfig {
    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        let Some(tsdb) = &self.tsdb else {
            return Ok(());
        };
        if let Some(r) = &tsdb.retention {
            if r.size.is_some_and(|s| s < 0) {
                return Err(ValidationError::new(
                    "'storage.tsdb.retention.size' must be greater than or equal to 0",
                ));
            }
            if r.percentage.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
                return Err(ValidationError::new(
                    "'storage.tsdb.retention.percentage' must be in the range [0, 100]",
                ));
            }
        }
        if let Some(f) = tsdb
            .chunk_encoding
            .as_ref()
            .and_then(|c| c.floats.as_deref())
        {
            if f != "xor" && f != "xor2" {
                return Err(ValidationError::new(format!(
                    "'storage.tsdb.chunk_encoding.floats' must be 'xor' or 'xor2', or the field must be omitted entirely, got {f:?}"
                )));
            }
        }
        Ok(())
    }
}

/// `tracing`, checked as Prometheus checks it; bongsu does not export traces yet, so a valid
/// section is then refused as unsupported. Every key is declared so that unknown keys stay
/// errors; some are not read until tracing exists.
#[allow(dead_code)]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTracing {
    #[serde(default)]
    client_type: Option<String>,
    #[serde(default)]
    endpoint: String,
    #[serde(default)]
    sampling_fraction: f64,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    tls_config: bongsu_httpclient::TlsConfig,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    compression: String,
    #[serde(default, deserialize_with = "units::opt_duration")]
    timeout: Option<Duration>,
}

impl RawTracing {
    pub(crate) fn check(&self) -> Result<(), ValidationError> {
        if let Some(t) = self
            .client_type
            .as_deref()
            .filter(|t| *t != "http" && *t != "grpc")
        {
            return Err(ValidationError::new(format!(
                "expected tracing client type to be to be http or grpc, but got {t}"
            )));
        }
        validate_headers(
            &self.headers,
            "custom authorization header configuration is not yet supported",
        )?;
        if self.endpoint.is_empty() {
            return Err(ValidationError::new("tracing endpoint must be set"));
        }
        if !self.compression.is_empty() && self.compression != "gzip" {
            return Err(ValidationError::new(format!(
                "invalid compression type {} provided, valid options: gzip",
                self.compression
            )));
        }
        Err(ValidationError::unsupported("tracing"))
    }
}

/// `otlp`: how the OTLP receiver translates metrics (used only when it is enabled).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpConfig {
    pub promote_all_resource_attributes: bool,
    pub promote_resource_attributes: Vec<String>,
    pub ignore_resource_attributes: Vec<String>,
    /// Empty means Prometheus' default, `UnderscoreEscapingWithSuffixes`.
    pub translation_strategy: String,
    pub keep_identifying_resource_attributes: bool,
    pub convert_histograms_to_nhcb: bool,
    pub promote_scope_metadata: bool,
    pub label_name_underscore_sanitization: bool,
    pub label_name_preserve_multiple_underscores: bool,
}

impl Default for OtlpConfig {
    fn default() -> OtlpConfig {
        OtlpConfig {
            promote_all_resource_attributes: false,
            promote_resource_attributes: Vec::new(),
            ignore_resource_attributes: Vec::new(),
            translation_strategy: String::new(),
            keep_identifying_resource_attributes: false,
            convert_histograms_to_nhcb: false,
            promote_scope_metadata: false,
            // Both true for backwards compatibility, as in Prometheus.
            label_name_underscore_sanitization: true,
            label_name_preserve_multiple_underscores: true,
        }
    }
}

impl OtlpConfig {
    pub(crate) fn validate(&mut self, scheme: NameValidationScheme) -> Result<(), ValidationError> {
        if self.promote_all_resource_attributes {
            if !self.promote_resource_attributes.is_empty() {
                return Err(ValidationError::new("'promote_all_resource_attributes' and 'promote_resource_attributes' cannot be configured simultaneously"));
            }
            sanitize_attributes(&mut self.ignore_resource_attributes, "ignored").map_err(|e| {
                ValidationError::new(format!("invalid 'ignore_resource_attributes': {e}"))
            })?;
        } else {
            if !self.ignore_resource_attributes.is_empty() {
                return Err(ValidationError::new("'ignore_resource_attributes' cannot be configured unless 'promote_all_resource_attributes' is true"));
            }
            sanitize_attributes(&mut self.promote_resource_attributes, "promoted").map_err(
                |e| ValidationError::new(format!("invalid 'promote_resource_attributes': {e}")),
            )?;
        }
        match self.translation_strategy.as_str() {
            "" | "UnderscoreEscapingWithSuffixes" | "UnderscoreEscapingWithoutSuffixes" => Ok(()),
            s @ ("NoTranslation" | "NoUTF8EscapingWithSuffixes") => {
                if scheme == NameValidationScheme::Legacy {
                    Err(ValidationError::new(format!(
                        "OTLP translation strategy {s:?} is not allowed when UTF8 is disabled"
                    )))
                } else {
                    Ok(())
                }
            }
            s => Err(ValidationError::new(format!(
                "unsupported OTLP translation strategy {s:?}"
            ))),
        }
    }
}

/// Trims attribute names; refuses empty and duplicate ones (all problems in one message).
fn sanitize_attributes(attrs: &mut [String], adjective: &str) -> Result<(), String> {
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for attr in attrs.iter_mut() {
        let trimmed = attr.trim().to_string();
        if trimmed.is_empty() {
            problems.push(format!("empty {adjective} OTel resource attribute"));
        } else if !seen.insert(trimmed.clone()) {
            problems.push(format!(
                "duplicated {adjective} OTel resource attribute {trimmed:?}"
            ));
        } else {
            *attr = trimmed;
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// `runtime`: Go runtime tuning in Prometheus. Accepted so files load; it has no effect on
/// bongsu, which has no garbage collector to tune.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    #[serde(default)]
    pub gogc: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alertmanager_unsupported_sd_keys_are_documented() {
        for key in RawAlertmanager::UNSUPPORTED_SD {
            assert!(super::super::UNSUPPORTED.contains(key), "{key}");
        }
    }

    #[test]
    fn alerting_resolves() {
        let raw: RawAlerting = serde_yaml_ng::from_str(
            "alertmanagers:\n  - static_configs: [{targets: ['am:9093']}]\n    api_version: v2\n",
        )
        .unwrap();
        let a = AlertingConfig::resolve(raw, NameValidationScheme::Utf8, None).unwrap();
        let am = &a.alertmanagers[0];
        assert_eq!(
            (am.scheme.as_str(), am.timeout),
            ("http", Duration::from_secs(10))
        );
        let raw: RawAlerting =
            serde_yaml_ng::from_str("alertmanagers:\n  - api_version: v1\n").unwrap();
        assert!(AlertingConfig::resolve(raw, NameValidationScheme::Utf8, None).is_err());
    }
}
