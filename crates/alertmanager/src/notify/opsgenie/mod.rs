//! Opsgenie (`opsgenie_configs`): the Alert API v2, alerts created, updated and closed per
//! group.
//!
//! This module registers the kind (its `ReceiverKind`, printed form included); `config`
//! loads and checks an entry and inherits from `global`, `notifier` delivers.

mod config;
mod notifier;

use std::path::Path;
use std::sync::Arc;

use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use crate::config::marshal::{http, string_map, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

pub use config::{OpsgenieConfig, OpsgenieResponder};
pub use notifier::Opsgenie;

impl ReceiverKind for OpsgenieConfig {
    const NAME: &'static str = "opsgenie";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn inherit(&mut self, global: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        self.resolve(global, dir)
    }

    fn check_null_entry(global: &GlobalConfig) -> Result<(), ConfigError> {
        config::check_global_key(global)
    }

    fn print(&self) -> Value {
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&self.http_config))
            .secret("api_key", &self.api_key)
            .path("api_key_file", &self.api_key_file)
            .url("api_url", self.api_url.as_ref())
            .string("message", &self.message)
            .string("description", &self.description)
            .string("source", &self.source)
            .map("details", string_map(&self.details))
            .string("entity", &self.entity);
        let responders = self
            .responders
            .iter()
            .map(|r| {
                let mut rm = Map::default();
                rm.string("id", &r.id)
                    .string("name", &r.name)
                    .string("username", &r.username)
                    .string("type", &r.kind);
                rm.done()
            })
            .collect();
        m.list("responders", responders)
            .string("actions", &self.actions)
            .string("tags", &self.tags)
            .string("note", &self.note)
            .string("priority", &self.priority)
            .flag("update_alerts", self.update_alerts);
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Opsgenie::new(self.clone(), templates.clone())?))
    }
}
