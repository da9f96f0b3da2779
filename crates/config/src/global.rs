//! The `global` section: defaults every scrape job inherits, external labels, metric-name
//! validation, and the scrape protocols.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Deserialize;

use bongsu_model::units;
use bongsu_model::{Label, Labels};
use bongsu_relabel::NameValidationScheme;

use super::ValidationError;

/// Prometheus' default scrape interval and evaluation interval.
pub const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(60);
/// Prometheus' default scrape timeout (capped at the interval).
pub const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

/// An exposition format bongsu may ask a target for, in Prometheus' spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrapeProtocol {
    PrometheusProto,
    PrometheusText0_0_4,
    PrometheusText1_0_0,
    OpenMetricsText0_0_1,
    OpenMetricsText1_0_0,
}

impl ScrapeProtocol {
    /// How many protocols there are (Prometheus weights `Accept` entries from this).
    pub const COUNT: usize = ScrapeProtocol::ALL.len();

    const ALL: [ScrapeProtocol; 5] = [
        ScrapeProtocol::OpenMetricsText0_0_1,
        ScrapeProtocol::OpenMetricsText1_0_0,
        ScrapeProtocol::PrometheusProto,
        ScrapeProtocol::PrometheusText0_0_4,
        ScrapeProtocol::PrometheusText1_0_0,
    ];

    /// Used when neither the job nor `global` lists protocols.
    pub const DEFAULT: [ScrapeProtocol; 4] = [
        ScrapeProtocol::OpenMetricsText1_0_0,
        ScrapeProtocol::OpenMetricsText0_0_1,
        ScrapeProtocol::PrometheusText1_0_0,
        ScrapeProtocol::PrometheusText0_0_4,
    ];

    /// Used when native histograms are scraped: protobuf first.
    pub const PROTO_FIRST: [ScrapeProtocol; 5] = [
        ScrapeProtocol::PrometheusProto,
        ScrapeProtocol::OpenMetricsText1_0_0,
        ScrapeProtocol::OpenMetricsText0_0_1,
        ScrapeProtocol::PrometheusText1_0_0,
        ScrapeProtocol::PrometheusText0_0_4,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ScrapeProtocol::PrometheusProto => "PrometheusProto",
            ScrapeProtocol::PrometheusText0_0_4 => "PrometheusText0.0.4",
            ScrapeProtocol::PrometheusText1_0_0 => "PrometheusText1.0.0",
            ScrapeProtocol::OpenMetricsText0_0_1 => "OpenMetricsText0.0.1",
            ScrapeProtocol::OpenMetricsText1_0_0 => "OpenMetricsText1.0.0",
        }
    }

    /// The media type and parameters for this protocol in an `Accept` header.
    pub fn header(self) -> &'static str {
        match self {
            ScrapeProtocol::PrometheusProto => "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
            ScrapeProtocol::PrometheusText0_0_4 => "text/plain;version=0.0.4",
            ScrapeProtocol::PrometheusText1_0_0 => "text/plain;version=1.0.0",
            ScrapeProtocol::OpenMetricsText0_0_1 => "application/openmetrics-text;version=0.0.1",
            ScrapeProtocol::OpenMetricsText1_0_0 => "application/openmetrics-text;version=1.0.0",
        }
    }

    /// Parses a protocol name (case-sensitive, as Prometheus).
    pub fn parse(s: &str) -> Result<ScrapeProtocol, ValidationError> {
        ScrapeProtocol::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = ScrapeProtocol::ALL.iter().map(|p| p.as_str()).collect();
                ValidationError::new(format!(
                    "unknown scrape protocol {s}, supported: [{}]",
                    names.join(" ")
                ))
            })
    }

    /// Parses a `scrape_protocols` list: not empty, known names, no duplicates.
    pub(crate) fn parse_list(list: &[String]) -> Result<Vec<ScrapeProtocol>, ValidationError> {
        if list.is_empty() {
            return Err(ValidationError::new("scrape_protocols cannot be empty"));
        }
        let mut out = Vec::with_capacity(list.len());
        for (i, s) in list.iter().enumerate() {
            if list[..i].iter().any(|p| p.eq_ignore_ascii_case(s)) {
                return Err(ValidationError::new(format!(
                    "duplicated protocol in scrape_protocols, got [{}]",
                    list.join(" ")
                )));
            }
            let p = ScrapeProtocol::parse(s)
                .map_err(|e| ValidationError::new(format!("scrape_protocols: {e}")))?;
            out.push(p);
        }
        Ok(out)
    }
}

/// How metric names are escaped when a target cannot send UTF-8 names
/// (`metric_name_escaping_scheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscapingScheme {
    AllowUtf8,
    Underscores,
    Dots,
    Values,
}

impl EscapingScheme {
    /// The name in the configuration and in `Accept`'s `escaping` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            EscapingScheme::AllowUtf8 => "allow-utf-8",
            EscapingScheme::Underscores => "underscores",
            EscapingScheme::Dots => "dots",
            EscapingScheme::Values => "values",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<EscapingScheme> {
        Some(match s {
            "allow-utf-8" => EscapingScheme::AllowUtf8,
            "underscores" => EscapingScheme::Underscores,
            "dots" => EscapingScheme::Dots,
            "values" => EscapingScheme::Values,
            _ => return None,
        })
    }

    pub(crate) const NAMES: &'static str = "'allow-utf-8', 'underscores', 'dots', or 'values'";
}

/// Whether `--enable-feature=native-histograms` was given: it makes `true` the default of the
/// global `scrape_native_histograms` (so of every job that does not say), as Prometheus 3.5's
/// flag turns on native histogram ingestion and protobuf-first scrape protocols. Set once at
/// start-up, before the configuration is loaded (Prometheus also changes a global default).
static NATIVE_HISTOGRAMS_FEATURE: AtomicBool = AtomicBool::new(false);

/// Records `--enable-feature=native-histograms` for every configuration loaded afterwards.
pub fn set_native_histograms_feature(on: bool) {
    NATIVE_HISTOGRAMS_FEATURE.store(on, Ordering::Relaxed);
}

fn native_histograms_default() -> bool {
    NATIVE_HISTOGRAMS_FEATURE.load(Ordering::Relaxed)
}

/// Parses `metric_name_validation_scheme`; empty means "inherit" (`None`).
pub(crate) fn parse_validation_scheme(
    s: &str,
) -> Result<Option<NameValidationScheme>, ValidationError> {
    match s {
        "" => Ok(None),
        "utf8" => Ok(Some(NameValidationScheme::Utf8)),
        "legacy" => Ok(Some(NameValidationScheme::Legacy)),
        _ => Err(ValidationError::new(format!(
            "unrecognized ValidationScheme: {s:?}"
        ))),
    }
}

/// `global` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGlobal {
    #[serde(default, deserialize_with = "units::duration")]
    scrape_interval: Duration,
    #[serde(default, deserialize_with = "units::duration")]
    scrape_timeout: Duration,
    #[serde(default)]
    scrape_protocols: Option<Vec<String>>,
    #[serde(default, deserialize_with = "units::duration")]
    evaluation_interval: Duration,
    #[serde(default, deserialize_with = "units::duration")]
    rule_query_offset: Duration,
    #[serde(default)]
    query_log_file: Option<PathBuf>,
    #[serde(default)]
    scrape_failure_log_file: Option<PathBuf>,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
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
    keep_dropped_targets: u64,
    #[serde(default)]
    metric_name_validation_scheme: String,
    #[serde(default)]
    metric_name_escaping_scheme: String,
    #[serde(default)]
    scrape_native_histograms: Option<bool>,
    #[serde(default)]
    convert_classic_histograms_to_nhcb: bool,
    #[serde(default)]
    always_scrape_classic_histograms: bool,
    #[serde(default)]
    extra_scrape_metrics: bool,
}

/// The `global` section with defaults applied.
#[derive(Debug, Clone)]
pub struct GlobalConfig {
    pub scrape_interval: Duration,
    pub scrape_timeout: Duration,
    /// `None` when unset: each job then picks its default by `scrape_native_histograms`.
    pub scrape_protocols: Option<Vec<ScrapeProtocol>>,
    pub evaluation_interval: Duration,
    pub rule_query_offset: Duration,
    pub query_log_file: Option<PathBuf>,
    pub scrape_failure_log_file: Option<PathBuf>,
    /// With `$VAR`/`${VAR}` in values replaced from the environment, as Prometheus does.
    pub external_labels: Labels,
    /// Limits: 0 means none.
    pub body_size_limit: u64,
    pub sample_limit: u64,
    pub target_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
    pub keep_dropped_targets: u64,
    pub metric_name_validation_scheme: NameValidationScheme,
    /// `None` when unset: derived per job from the validation scheme.
    pub metric_name_escaping_scheme: Option<EscapingScheme>,
    pub scrape_native_histograms: bool,
    pub convert_classic_histograms_to_nhcb: bool,
    pub always_scrape_classic_histograms: bool,
    pub extra_scrape_metrics: bool,
}

impl Default for GlobalConfig {
    fn default() -> GlobalConfig {
        // Validating the empty section cannot fail; this keeps one source of defaults.
        GlobalConfig::from_raw(RawGlobal::default()).unwrap_or_else(|_| unreachable!())
    }
}

impl GlobalConfig {
    pub(crate) fn from_raw(raw: RawGlobal) -> Result<GlobalConfig, ValidationError> {
        let scheme =
            parse_validation_scheme(&raw.metric_name_validation_scheme)?.unwrap_or_default();
        let external_labels = external_labels(&raw.external_labels, scheme)?;
        let scrape_interval = if raw.scrape_interval.is_zero() {
            DEFAULT_SCRAPE_INTERVAL
        } else {
            raw.scrape_interval
        };
        if raw.scrape_timeout > scrape_interval {
            return Err(ValidationError::new(
                "global scrape timeout greater than scrape interval",
            ));
        }
        let scrape_timeout = if raw.scrape_timeout.is_zero() {
            DEFAULT_SCRAPE_TIMEOUT.min(scrape_interval)
        } else {
            raw.scrape_timeout
        };
        let scrape_protocols = raw
            .scrape_protocols
            .as_deref()
            .map(ScrapeProtocol::parse_list)
            .transpose()
            .map_err(|e| ValidationError::new(format!("{e} for global config")))?;
        let escaping = match raw.metric_name_escaping_scheme.as_str() {
            "" => None,
            s => Some(EscapingScheme::parse(s).ok_or_else(|| {
                ValidationError::new(format!(
                    "unknown global name escaping method specified, must be one of {}, got {s:?}",
                    EscapingScheme::NAMES
                ))
            })?),
        };
        Ok(GlobalConfig {
            scrape_interval,
            scrape_timeout,
            scrape_protocols,
            evaluation_interval: if raw.evaluation_interval.is_zero() {
                DEFAULT_SCRAPE_INTERVAL
            } else {
                raw.evaluation_interval
            },
            rule_query_offset: raw.rule_query_offset,
            query_log_file: raw.query_log_file,
            scrape_failure_log_file: raw.scrape_failure_log_file,
            external_labels,
            body_size_limit: raw.body_size_limit,
            sample_limit: raw.sample_limit,
            target_limit: raw.target_limit,
            label_limit: raw.label_limit,
            label_name_length_limit: raw.label_name_length_limit,
            label_value_length_limit: raw.label_value_length_limit,
            keep_dropped_targets: raw.keep_dropped_targets,
            metric_name_validation_scheme: scheme,
            metric_name_escaping_scheme: escaping,
            scrape_native_histograms: raw
                .scrape_native_histograms
                .unwrap_or_else(native_histograms_default),
            convert_classic_histograms_to_nhcb: raw.convert_classic_histograms_to_nhcb,
            always_scrape_classic_histograms: raw.always_scrape_classic_histograms,
            extra_scrape_metrics: raw.extra_scrape_metrics,
        })
    }
}

/// Validates label names, then expands environment variables in values.
fn external_labels(
    raw: &BTreeMap<String, String>,
    scheme: NameValidationScheme,
) -> Result<Labels, ValidationError> {
    let mut labels = Vec::with_capacity(raw.len());
    for (name, value) in raw {
        check_label_name(name, scheme)?;
        labels.push(Label::new(name.as_str(), expand_env(value).as_str()));
    }
    Labels::new(labels).map_err(|e| ValidationError::new(e.to_string()))
}

/// Prometheus' message for an invalid label name.
pub(crate) fn check_label_name(
    name: &str,
    scheme: NameValidationScheme,
) -> Result<(), ValidationError> {
    if scheme.is_valid_label_name(name) {
        Ok(())
    } else {
        Err(ValidationError::new(format!(
            "{name:?} is not a valid label name"
        )))
    }
}

/// `$VAR`, `${VAR}` and `$$` as Go's `os.Expand` with the environment; unset is empty.
fn expand_env(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        let (name, after) = if let Some(body) = rest.strip_prefix('{') {
            match body.find('}') {
                Some(end) => (&body[..end], &body[end + 1..]),
                // Go drops a `${` without its `}`.
                None => ("", ""),
            }
        } else if let Some(after) = rest.strip_prefix('$') {
            ("$", after)
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end == 0 {
                // A lone `$` before anything that is not a name stays as it is.
                out.push('$');
                continue;
            }
            (&rest[..end], &rest[end..])
        };
        if name == "$" {
            out.push('$');
        } else if !name.is_empty() {
            out.push_str(&std::env::var(name).unwrap_or_default());
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_expansion_in_external_labels() {
        std::env::set_var("BONGSU_TEST_REGION", "eu-1");
        assert_eq!(expand_env("r-${BONGSU_TEST_REGION}"), "r-eu-1");
        assert_eq!(expand_env("$BONGSU_TEST_REGION/x"), "eu-1/x");
        assert_eq!(expand_env("a$$b"), "a$b");
        assert_eq!(expand_env("cost: 5$"), "cost: 5$");
        assert_eq!(expand_env("$BONGSU_TEST_UNSET_VAR"), "");
    }

    #[test]
    fn protocols() {
        let list = vec!["PrometheusText0.0.4".to_string()];
        assert_eq!(
            ScrapeProtocol::parse_list(&list).unwrap(),
            vec![ScrapeProtocol::PrometheusText0_0_4]
        );
        let e = ScrapeProtocol::parse("prometheusproto").unwrap_err();
        assert_eq!(e.to_string(), "unknown scrape protocol prometheusproto, supported: [OpenMetricsText0.0.1 OpenMetricsText1.0.0 PrometheusProto PrometheusText0.0.4 PrometheusText1.0.0]");
    }
}
