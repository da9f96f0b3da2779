//! The seam where a template engine plugs into rules: alert labels and annotations are Go
//! `text/template` texts expanded per alert with `$labels`, `$value`, `$externalLabels` and
//! `$externalURL`.
//!
//! This module owns only the interface and a stand-in. [`NoTemplates`] accepts every text at
//! load time (nothing can be checked without a parser) and, at evaluation, passes texts
//! without `{{` through unchanged while failing those with `{{` with a clear error, which
//! shows in the alert as Prometheus shows expansion errors.

use std::collections::BTreeMap;

/// What an alert template can see, as Prometheus' `AlertTemplateData`.
#[derive(Debug, Clone, Copy)]
pub struct TemplateData<'a> {
    /// The alert's labels (`$labels`), before the rule's labels are added.
    pub labels: &'a BTreeMap<String, String>,
    /// `global.external_labels` (`$externalLabels`).
    pub external_labels: &'a BTreeMap<String, String>,
    /// `--web.external-url` (`$externalURL`).
    pub external_url: &'a str,
    /// The sample value (`$value`).
    pub value: f64,
    /// Evaluation time (ms), for functions such as `query`.
    pub time_ms: i64,
}

/// A template engine as rules use it.
pub trait TemplateExpander: Send + Sync {
    /// Checks that `text` parses; `name` names the template in errors (`__alert_<name>`).
    fn check(&self, name: &str, text: &str) -> Result<(), String>;
    /// Expands `text` for one alert.
    fn expand(&self, name: &str, text: &str, data: &TemplateData<'_>) -> Result<String, String>;
}

/// The stand-in used until a template engine is plugged in.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTemplates;

/// What [`NoTemplates`] reports for a text that needs expanding.
pub const NOT_SUPPORTED: &str = "template expansion is not supported yet";

impl TemplateExpander for NoTemplates {
    fn check(&self, _name: &str, _text: &str) -> Result<(), String> {
        Ok(())
    }

    fn expand(&self, _name: &str, text: &str, _data: &TemplateData<'_>) -> Result<String, String> {
        if text.contains("{{") {
            Err(NOT_SUPPORTED.to_string())
        } else {
            Ok(text.to_string())
        }
    }
}

/// Expands `text`, or gives Prometheus' in-band error text when expansion fails.
pub fn expand_or_error(
    engine: &dyn TemplateExpander,
    name: &str,
    text: &str,
    data: &TemplateData<'_>,
) -> String {
    match engine.expand(name, text, data) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(template = name, error = %e, "expanding alert template failed");
            format!("<error expanding template: {e}>")
        }
    }
}
