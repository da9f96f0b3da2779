//! `jira_configs`: Jira issues kept per alert group (found again by a label holding the
//! group key's hash): the project, issue type and templated fields, which fields updates may
//! change, the reopen/resolve transitions and the API URL inherited from `global`.
//!
//! The entry implements `ReceiverKind`: the registry inherits, prints and builds notifiers
//! through it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::{HttpClientConfig, HttpClientSection};

use super::notifier::Jira;
use crate::config::common::template;
use crate::config::common::{fail, http_or_global, model_duration, Invalid, Url};
use crate::config::marshal::{http, strings, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

/// `summary` / `description`: a template, and whether updates of an existing issue set it
/// (default yes). Written either as the template alone or as a mapping.
#[derive(Debug, Clone)]
pub struct JiraField {
    pub template: String,
    pub enable_update: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawField {
    Template(String),
    Full(RawFieldMap),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFieldMap {
    #[serde(default)]
    template: Option<String>,
    #[serde(default)]
    enable_update: Option<bool>,
}

impl JiraField {
    fn from_raw(raw: Option<RawField>, default: &str) -> JiraField {
        match raw {
            None => JiraField {
                template: template(None, default),
                enable_update: None,
            },
            Some(RawField::Template(t)) => JiraField {
                template: t,
                enable_update: None,
            },
            Some(RawField::Full(m)) => JiraField {
                template: template(m.template, default),
                enable_update: m.enable_update,
            },
        }
    }

    pub fn update(&self) -> bool {
        self.enable_update.unwrap_or(true)
    }
}

/// One Jira notifier, resolved against `global`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawJira")]
pub struct JiraConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    /// `jira_api_url` from `global` unless set (required one way or the other).
    pub api_url: Option<Url>,
    /// `auto`, `cloud` or `datacenter`: which search endpoint to use.
    pub api_type: String,
    pub project: String,
    pub summary: JiraField,
    pub description: JiraField,
    pub labels: Vec<String>,
    pub priority: String,
    pub issue_type: String,
    pub reopen_transition: String,
    pub resolve_transition: String,
    pub wont_fix_resolution: String,
    pub reopen_duration: Duration,
    /// Extra issue fields; strings are templates (a rendering that reads as YAML data is
    /// sent as that data).
    pub fields: BTreeMap<String, serde_yaml_ng::Value>,
    own_http: Option<HttpClientSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJira {
    #[serde(default)]
    send_resolved: Option<bool>,
    #[serde(default)]
    http_config: Option<HttpClientSection>,
    #[serde(default)]
    api_url: Option<Url>,
    #[serde(default)]
    api_type: Option<String>,
    #[serde(default)]
    project: String,
    #[serde(default)]
    summary: Option<RawField>,
    #[serde(default)]
    description: Option<RawField>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    issue_type: String,
    #[serde(default)]
    reopen_transition: String,
    #[serde(default)]
    resolve_transition: String,
    #[serde(default)]
    wont_fix_resolution: String,
    #[serde(default, deserialize_with = "model_duration")]
    reopen_duration: Option<Duration>,
    #[serde(default)]
    fields: BTreeMap<String, serde_yaml_ng::Value>,
}

impl TryFrom<RawJira> for JiraConfig {
    type Error = Invalid;

    fn try_from(r: RawJira) -> Result<JiraConfig, Invalid> {
        if r.project.is_empty() {
            return fail("missing project in jira_config");
        }
        if r.issue_type.is_empty() {
            return fail("missing issue_type in jira_config");
        }
        let api_type = r.api_type.unwrap_or_else(|| "auto".to_string());
        if !["auto", "cloud", "datacenter"].contains(&api_type.as_str()) {
            return fail("unknown api_type on jira_config, must be auto, cloud or datacenter");
        }
        Ok(JiraConfig {
            send_resolved: r.send_resolved.unwrap_or(true),
            http_config: HttpClientConfig::default(),
            api_url: r.api_url,
            api_type,
            project: r.project,
            summary: JiraField::from_raw(r.summary, "jira.default.summary"),
            description: JiraField::from_raw(r.description, "jira.default.description"),
            labels: r.labels,
            priority: template(r.priority, "jira.default.priority"),
            issue_type: r.issue_type,
            reopen_transition: r.reopen_transition,
            resolve_transition: r.resolve_transition,
            wont_fix_resolution: r.wont_fix_resolution,
            reopen_duration: r.reopen_duration.unwrap_or_default(),
            fields: r.fields,
            own_http: r.http_config,
        })
    }
}

impl ReceiverKind for JiraConfig {
    const NAME: &'static str = "jira";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn inherit(&mut self, g: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        self.http_config = http_or_global(self.own_http.take(), &g.http_config, dir)?;
        if self.api_url.is_none() {
            self.api_url = g.jira_api_url.clone();
        }
        if self.api_url.is_none() {
            return Err(ConfigError::Invalid("no global Jira Cloud URL set".into()));
        }
        Ok(())
    }

    fn print(&self) -> Value {
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&self.http_config))
            .url("api_url", self.api_url.as_ref())
            .string("api_type", &self.api_type)
            .string("project", &self.project)
            .put("summary", jira_field(&self.summary))
            .put("description", jira_field(&self.description))
            .list("labels", strings(&self.labels))
            .string("priority", &self.priority)
            .string("issue_type", &self.issue_type)
            .string("reopen_transition", &self.reopen_transition)
            .string("resolve_transition", &self.resolve_transition)
            .string("wont_fix_resolution", &self.wont_fix_resolution);
        if !self.reopen_duration.is_zero() {
            m.put(
                "reopen_duration",
                bongsu_model::format_prometheus_duration(self.reopen_duration),
            );
        }
        let mut fields = Map::default();
        for (k, v) in &self.fields {
            fields.put(k, v.clone());
        }
        m.map("fields", fields);
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Jira::new(self.clone(), templates.clone())?))
    }
}

fn jira_field(f: &JiraField) -> Value {
    let mut m = Map::default();
    m.string("template", &f.template);
    if let Some(u) = f.enable_update {
        m.put("enable_update", u);
    }
    m.done()
}

#[cfg(test)]
mod tests {
    use super::JiraConfig;
    use crate::config::Config;
    use crate::notify::test_support;

    fn load(global: &str, body: &str) -> Result<Config, String> {
        test_support::load::<JiraConfig>(global, body)
    }

    #[test]
    fn checks() {
        let url = "jira_api_url: http://jira.example/rest/api/2";
        assert_eq!(
            load(url, "issue_type: Bug").unwrap_err(),
            "missing project in jira_config"
        );
        assert_eq!(
            load(url, "project: P").unwrap_err(),
            "missing issue_type in jira_config"
        );
        assert_eq!(
            load(url, "project: P\n    issue_type: Bug\n    api_type: server").unwrap_err(),
            "unknown api_type on jira_config, must be auto, cloud or datacenter"
        );
        assert_eq!(
            load("{}", "project: P\n    issue_type: Bug").unwrap_err(),
            "no global Jira Cloud URL set"
        );
    }

    #[test]
    fn defaults_and_field_forms() {
        let cfg = load(
            "jira_api_url: http://jira.example/rest/api/2",
            "project: P\n    issue_type: Bug\n    summary: 'S {{ .Status }}'\n    \
             description: {enable_update: false}\n    reopen_duration: 1h\n    \
             fields: {customfield_1: {value: x}}",
        )
        .unwrap();
        let c = &cfg.receivers[0].configs::<JiraConfig>()[0];
        assert!(c.send_resolved);
        assert_eq!(c.api_type, "auto");
        assert_eq!(c.summary.template, "S {{ .Status }}");
        assert!(c.summary.update());
        assert_eq!(
            c.description.template,
            r#"{{ template "jira.default.description" . }}"#
        );
        assert!(!c.description.update());
        assert_eq!(c.priority, r#"{{ template "jira.default.priority" . }}"#);
        assert_eq!(c.reopen_duration.as_secs(), 3600);
        assert_eq!(
            c.api_url.as_ref().unwrap().as_str(),
            "http://jira.example/rest/api/2"
        );
    }
}
