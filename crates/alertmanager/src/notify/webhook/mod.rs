//! Webhook: Alertmanager's JSON payload POSTed to a URL (`webhook_configs`).
//!
//! This module registers the kind (its `ReceiverKind`, printed form included); `config`
//! loads and checks an entry and inherits from `global`, `notifier` delivers.

mod config;
mod notifier;

use std::path::Path;
use std::sync::Arc;

use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use crate::config::marshal::{http, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

pub use config::WebhookConfig;
pub use notifier::Webhook;

impl ReceiverKind for WebhookConfig {
    const NAME: &'static str = "webhook";

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
            .secret("url", &self.url)
            .path("url_file", &self.url_file)
            .put("max_alerts", self.max_alerts)
            .duration("timeout", self.timeout);
        if let Some(p) = &self.payload {
            m.put("payload", p.clone());
        }
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Webhook::new(self.clone(), templates.clone())?))
    }
}
