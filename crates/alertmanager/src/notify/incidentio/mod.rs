//! incident.io (`incidentio_configs`): the webhook-style payload POSTed to an HTTP alert
//! source.
//!
//! This module registers the kind (its `ReceiverKind`, printed form included); `config`
//! loads and checks an entry and inherits from `global`, `notifier` delivers.

mod config;
mod notifier;

use std::path::Path;
use std::sync::Arc;

use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use crate::config::marshal::{go_duration, http, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

pub use config::IncidentioConfig;
pub use notifier::Incidentio;

impl ReceiverKind for IncidentioConfig {
    const NAME: &'static str = "incidentio";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn inherit(&mut self, global: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        self.resolve(global, dir)
    }

    /// `url`, `url_file`, `max_alerts` and `timeout` have no omit-empty rule upstream.
    fn print(&self) -> Value {
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&self.http_config))
            .put(
                "url",
                self.url
                    .as_ref()
                    .map_or(Value::Null, |u| Value::from(u.as_str())),
            )
            .put(
                "url_file",
                self.url_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            )
            .secret("alert_source_token", &self.alert_source_token)
            .path("alert_source_token_file", &self.alert_source_token_file)
            .put("max_alerts", self.max_alerts)
            .put("timeout", go_duration(self.timeout));
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Incidentio::new(self.clone(), templates.clone())?))
    }
}
