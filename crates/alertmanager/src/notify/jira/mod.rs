//! Jira (`jira_configs`): one issue per alert group, created, updated, reopened and resolved.
//!
//! This module registers the kind (its `ReceiverKind`, printed form included); `config`
//! loads and checks an entry and inherits from `global`, `notifier` delivers.

mod body;
mod config;
mod notifier;

use std::path::Path;
use std::sync::Arc;

use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use crate::config::marshal::{http, strings, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

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

impl ReceiverKind for JiraConfig {
    const NAME: &'static str = "jira";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn inherit(&mut self, global: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        self.resolve(global, dir)
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
