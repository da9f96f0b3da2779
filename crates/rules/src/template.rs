//! Where the template engine (`crate::template`) plugs into rules: alert labels and
//! annotations are Go `text/template` texts expanded per alert with `$labels`, `$value`,
//! `$externalLabels` and `$externalURL`, and the `query` function runs PromQL through the
//! rules' engine and storage.
//!
//! This module owns the [`TemplateExpander`] seam (so evaluation tests can swap the engine),
//! [`PromTemplates`] (the real one) and [`EngineQuery`] (the `QueryFn` over PromQL). The
//! template module itself never sees PromQL or storage.

use std::collections::BTreeMap;
use std::sync::Arc;

use bongsu_gotmpl::prometheus::{
    alert_template_data, ExpandContext, Expander, QueryFn, QuerySample, ALERT_DEFS,
};
use bongsu_promql::Engine;
use bongsu_storage::Queryable;

use super::group::instant_vector;

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

/// Prometheus' alert templates: the `$labels`… definitions prepended to every text, the
/// Prometheus function set, and `query` when built [`PromTemplates::with_query`].
#[derive(Clone, Default)]
pub struct PromTemplates {
    query: Option<Arc<dyn QueryFn>>,
}

impl PromTemplates {
    /// Templates without `query` (it fails when called): for checking rule files.
    pub const fn new() -> PromTemplates {
        PromTemplates { query: None }
    }

    /// Templates whose `query` function evaluates PromQL through `query`.
    pub fn with_query(query: Arc<dyn QueryFn>) -> PromTemplates {
        PromTemplates { query: Some(query) }
    }

    fn expander(&self, time_ms: i64, external_url: &str) -> Expander {
        Expander::new(&ExpandContext {
            timestamp_ms: time_ms,
            query: self.query.clone(),
            external_url: external_url.to_string(),
        })
    }
}

impl TemplateExpander for PromTemplates {
    fn check(&self, name: &str, text: &str) -> Result<(), String> {
        self.expander(0, "")
            .parse_test(name, &format!("{ALERT_DEFS}{text}"))
            .map_err(|e| e.to_string())
    }

    fn expand(&self, name: &str, text: &str, data: &TemplateData<'_>) -> Result<String, String> {
        let dot = alert_template_data(
            data.labels,
            data.external_labels,
            data.external_url,
            data.value,
        );
        self.expander(data.time_ms, data.external_url)
            .expand(name, &format!("{ALERT_DEFS}{text}"), &dot)
            .map_err(|e| e.to_string())
    }
}

/// The `query` template function over the PromQL engine and the database rules read.
pub struct EngineQuery {
    pub db: Arc<dyn Queryable>,
    pub engine: Engine,
}

impl QueryFn for EngineQuery {
    fn query(&self, expr: &str, at_ms: i64) -> Result<Vec<QuerySample>, String> {
        let v = instant_vector(&self.engine, &self.db, expr, at_ms)?;
        Ok(v.into_iter()
            .map(|s| QuerySample {
                labels: s
                    .labels
                    .iter()
                    .map(|l| (l.name.to_string(), l.value.to_string()))
                    .collect(),
                value: s.v,
            })
            .collect())
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
