//! Telegram (`telegram_configs`): the Bot API's `sendMessage`.
//!
//! The kind's configuration (`config`), its notifier (`notifier`) and its printed form.

mod config;
mod notifier;

use serde_yaml_ng::Value;

use crate::config::marshal::{http, Map};

pub use config::TelegramConfig;
pub use notifier::Telegram;

pub(crate) fn print(c: &TelegramConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .url("api_url", c.api_url.as_ref())
        .secret("bot_token", &c.bot_token)
        .path("bot_token_file", &c.bot_token_file);
    if c.chat_id != 0 {
        m.put("chat_id", c.chat_id);
    }
    m.path("chat_id_file", &c.chat_id_file);
    if c.message_thread_id != 0 {
        m.put("message_thread_id", c.message_thread_id);
    }
    m.string("message", &c.message)
        .flag("disable_notifications", c.disable_notifications)
        .string("parse_mode", &c.parse_mode);
    m.done()
}
