//! Prometheus' template expander: what alerting-rule labels and annotations are rendered with.
//!
//! Mirrors upstream's `NewTemplateExpander`/`Expand` and the rule manager's use of it: the
//! data is `{Labels, ExternalLabels, ExternalURL, Value}`, the text gets the
//! `$labels`/`$externalLabels`/`$externalURL`/`$value` definitions prepended, `missingkey=zero`
//! is on, and a failed expansion becomes `<error expanding template: …>` in the rendered text
//! (the caller also reports it in the rule's health). `query` runs through [`QueryFn`], which
//! the rules layer implements over the PromQL engine; this module never imports it.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::funcs::{prometheus::funcs, FuncMap};
use super::value::{MapKind, Struct, Value};
use super::{Error, MissingKey, Template};

/// One element of an instant-vector result, as `query` hands it to the template.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Runs the PromQL `expr` at `at_ms` for the `query` template function.
pub trait QueryFn: Send + Sync {
    /// The instant-vector result, or the error text `query` reports.
    fn query(&self, expr: &str, at_ms: i64) -> Result<Vec<QuerySample>, String>;
}

/// What the template functions need from the evaluation that renders them.
#[derive(Clone, Default)]
pub struct ExpandContext {
    /// The evaluation time (Prometheus milliseconds): `query` runs at it, `now` returns it.
    pub timestamp_ms: i64,
    /// `None` makes `query` fail with an error instead of returning data.
    pub query: Option<Arc<dyn QueryFn>>,
    /// `--web.external-url`, as `externalURL` returns it; `pathPrefix` is its path.
    pub external_url: String,
}

/// The definitions Prometheus prepends to every alerting-rule label and annotation template.
pub const ALERT_DEFS: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// Go's name for the anonymous struct of `AlertTemplateData`.
const ALERT_DATA_TYPE: &str = "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }";

/// Expands templates with Prometheus' function set.
pub struct Expander {
    funcs: Arc<FuncMap>,
}

impl Expander {
    pub fn new(ctx: &ExpandContext) -> Self {
        Expander {
            funcs: Arc::new(funcs(ctx)),
        }
    }

    /// Adds or replaces functions (upstream's `Funcs`).
    pub fn add_funcs(&mut self, extra: &FuncMap) {
        Arc::make_mut(&mut self.funcs).extend(extra);
    }

    /// Parses and executes `text` as template `name` over `data`, with `missingkey=zero`.
    /// Errors read as upstream's: `error parsing template NAME: …`, `error executing template NAME: …`.
    pub fn expand(&self, name: &str, text: &str, data: &Value) -> Result<String, Error> {
        let mut t = Template::new(name)
            .shared_funcs(self.funcs.clone())
            .missing_key(MissingKey::Zero);
        t.parse(text)
            .map_err(|e| Error::Parse(format!("error parsing template {name}: {e}")))?;
        t.execute(data)
            .map_err(|e| Error::Exec(format!("error executing template {name}: {e}")))
    }

    /// Checks that `text` parses (upstream's `ParseTest`, used when loading rule files).
    pub fn parse_test(&self, name: &str, text: &str) -> Result<(), Error> {
        Template::new(name)
            .shared_funcs(self.funcs.clone())
            .missing_key(MissingKey::Zero)
            .parse(text)
    }

    /// Checks an alerting rule's label or annotation template as rule loading does: with the
    /// `$labels`… definitions prepended, as template `__alert_RULE`.
    pub fn parse_test_alert(&self, rule_name: &str, text: &str) -> Result<(), Error> {
        self.parse_test(
            &format!("__alert_{rule_name}"),
            &format!("{ALERT_DEFS}{text}"),
        )
    }

    /// Renders one alerting-rule label or annotation value as the rule manager does: the
    /// `$labels`… definitions prepended, template name `__alert_RULE`. On error the text is
    /// `<error expanding template: …>` and the error is returned beside it for health/logging.
    pub fn expand_alert(
        &self,
        rule_name: &str,
        text: &str,
        data: &Value,
    ) -> (String, Option<Error>) {
        let name = format!("__alert_{rule_name}");
        match self.expand(&name, &format!("{ALERT_DEFS}{text}"), data) {
            Ok(s) => (s, None),
            Err(e) => (format!("<error expanding template: {e}>"), Some(e)),
        }
    }
}

/// Upstream's `AlertTemplateData`: the dot of alerting-rule templates.
pub fn alert_template_data(
    labels: &BTreeMap<String, String>,
    external_labels: &BTreeMap<String, String>,
    external_url: &str,
    value: f64,
) -> Value {
    let map = |m: &BTreeMap<String, String>| {
        Value::string_map(
            MapKind::Strings,
            m.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )
    };
    Value::Struct(Struct::new(
        ALERT_DATA_TYPE,
        vec![
            ("Labels", map(labels)),
            ("ExternalLabels", map(external_labels)),
            ("ExternalURL", Value::str(external_url)),
            ("Value", Value::Float(value)),
        ],
    ))
}
