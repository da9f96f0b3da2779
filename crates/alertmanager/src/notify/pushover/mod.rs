//! Pushover (`pushover_configs`): the messages API, with priorities and emergency retries.
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

pub use config::PushoverConfig;
pub use notifier::Pushover;

impl ReceiverKind for PushoverConfig {
    const NAME: &'static str = "pushover";

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
            .secret("user_key", &self.user_key)
            .path("user_key_file", &self.user_key_file)
            .secret("token", &self.token)
            .path("token_file", &self.token_file)
            .string("title", &self.title)
            .string("message", &self.message)
            .string("url", &self.url)
            .string("url_title", &self.url_title)
            .string("device", &self.device)
            .string("sound", &self.sound)
            .string("priority", &self.priority);
        for (key, d) in [
            ("retry", self.retry),
            ("expire", self.expire),
            ("ttl", self.ttl),
        ] {
            if !d.is_zero() {
                m.put(key, go_duration(d));
            }
        }
        m.flag("html", self.html).flag("monospace", self.monospace);
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Pushover::new(self.clone(), templates.clone())?))
    }
}
