//! VictorOps / Splunk On-Call (`victorops_configs`): one event per notification to the REST
//! endpoint.
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

pub use config::VictoropsConfig;
pub use notifier::Victorops;

impl ReceiverKind for VictoropsConfig {
    const NAME: &'static str = "victorops";
    const GO_PACKAGE: &'static str = "config";

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
            .secret("api_key", &self.api_key)
            .path("api_key_file", &self.api_key_file)
            .put(
                "api_url",
                self.api_url
                    .as_ref()
                    .map(|u| u.as_str())
                    .unwrap_or_default(),
            )
            .put("routing_key", self.routing_key.as_str())
            .put("message_type", self.message_type.as_str())
            .put("state_message", self.state_message.as_str())
            .put("entity_display_name", self.entity_display_name.as_str())
            .put("monitoring_tool", self.monitoring_tool.as_str())
            .map("custom_fields", string_map(&self.custom_fields));
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Victorops::new(self.clone(), templates.clone())?))
    }
}
