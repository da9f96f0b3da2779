//! Rocket.Chat (`rocketchat_configs`): `chat.postMessage` with the token pair inherited
//! from `global`.
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

pub use config::{RocketchatAction, RocketchatConfig, RocketchatField};
pub use notifier::Rocketchat;

impl ReceiverKind for RocketchatConfig {
    const NAME: &'static str = "rocketchat";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn inherit(&mut self, global: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        self.resolve(global, dir)
    }

    fn check_null_entry(global: &GlobalConfig) -> Result<(), ConfigError> {
        config::check_global_credentials(global)
    }

    /// Upstream's Rocket.Chat fields and buttons have no omit-empty rules: every key prints.
    fn print(&self) -> Value {
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&self.http_config))
            .url("api_url", self.api_url.as_ref());
        if let Some(t) = &self.token_id {
            m.secret("token_id", t);
        }
        m.path("token_id_file", &self.token_id_file);
        if let Some(t) = &self.token {
            m.secret("token", t);
        }
        m.path("token_file", &self.token_file)
            .string("channel", &self.channel)
            .string("color", &self.color)
            .string("title", &self.title)
            .string("title_link", &self.title_link)
            .string("text", &self.text);
        let fields = self
            .fields
            .iter()
            .map(|f| {
                let mut fm = Map::default();
                fm.put("short", f.short.map_or(Value::Null, Value::from))
                    .put("title", f.title.as_str())
                    .put("value", f.value.as_str());
                fm.done()
            })
            .collect();
        m.list("fields", fields)
            .put("short_fields", self.short_fields)
            .string("emoji", &self.emoji)
            .string("icon_url", &self.icon_url)
            .string("image_url", &self.image_url)
            .string("thumb_url", &self.thumb_url)
            .put("link_names", self.link_names);
        let actions = self
            .actions
            .iter()
            .map(|a| {
                let mut am = Map::default();
                am.put("type", a.kind.as_str())
                    .put("text", a.text.as_str())
                    .put("url", a.url.as_str())
                    .put("imageurl", a.imageurl.as_str())
                    .put("iswebview", a.iswebview)
                    .put("webviewheightratio", a.webviewheightratio.as_str())
                    .put("msg", a.msg.as_str())
                    .put("msginchatwindow", a.msginchatwindow)
                    .put("msgprocessingtype", a.msgprocessingtype.as_str());
                am.done()
            })
            .collect();
        m.list("actions", actions);
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Rocketchat::new(self.clone(), templates.clone())?))
    }
}
