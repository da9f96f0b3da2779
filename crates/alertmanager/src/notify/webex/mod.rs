//! Webex (`webex_configs`): a room's messages API, authorized by the receiver's own bot token.
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

pub use config::WebexConfig;
pub use notifier::Webex;

impl ReceiverKind for WebexConfig {
    const NAME: &'static str = "webex";
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
            .url("api_url", self.api_url.as_ref())
            .string("message", &self.message)
            .put("room_id", self.room_id.as_str());
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Webex::new(self.clone(), templates.clone())?))
    }
}
