//! Telegram (`telegram_configs`): the Bot API's `sendMessage`.
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

pub use config::TelegramConfig;
pub use notifier::Telegram;

impl ReceiverKind for TelegramConfig {
    const NAME: &'static str = "telegram";

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
            .secret("bot_token", &self.bot_token)
            .path("bot_token_file", &self.bot_token_file);
        if self.chat_id != 0 {
            m.put("chat_id", self.chat_id);
        }
        m.path("chat_id_file", &self.chat_id_file);
        if self.message_thread_id != 0 {
            m.put("message_thread_id", self.message_thread_id);
        }
        m.string("message", &self.message)
            .flag("disable_notifications", self.disable_notifications)
            .string("parse_mode", &self.parse_mode);
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Telegram::new(self.clone(), templates.clone())?))
    }
}
