//! Jira (`jira_configs`): one issue per alert group, created, updated, reopened and resolved.
//!
//! The kind's configuration (`config`), its notifier (`notifier`) and its printed form.

mod body;
mod config;
mod notifier;

use serde_yaml_ng::Value;

use crate::config::marshal::{http, strings, Map};

pub use config::{JiraConfig, JiraField};
pub use notifier::Jira;

fn jira_field(f: &JiraField) -> Value {
    let mut m = Map::default();
    m.string("template", &f.template);
    if let Some(u) = f.enable_update {
        m.put("enable_update", u);
    }
    m.done()
}

pub(crate) fn print(c: &JiraConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .url("api_url", c.api_url.as_ref())
        .string("api_type", &c.api_type)
        .string("project", &c.project)
        .put("summary", jira_field(&c.summary))
        .put("description", jira_field(&c.description))
        .list("labels", strings(&c.labels))
        .string("priority", &c.priority)
        .string("issue_type", &c.issue_type)
        .string("reopen_transition", &c.reopen_transition)
        .string("resolve_transition", &c.resolve_transition)
        .string("wont_fix_resolution", &c.wont_fix_resolution);
    if !c.reopen_duration.is_zero() {
        m.put(
            "reopen_duration",
            bongsu_model::format_prometheus_duration(c.reopen_duration),
        );
    }
    let mut fields = Map::default();
    for (k, v) in &c.fields {
        fields.put(k, v.clone());
    }
    m.map("fields", fields);
    m.done()
}
