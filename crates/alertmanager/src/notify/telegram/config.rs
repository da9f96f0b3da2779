//! `telegram_configs`: the Telegram Bot API, the bot token inherited from `global`, the
//! chat, the message template and its parse mode.
//!
//! The entry implements `ReceiverKind`: the registry inherits, prints and builds notifiers
//! through it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::{HttpClientConfig, HttpClientSection, Secret};

use super::notifier::Telegram;
use crate::config::common::{fail, file_path, http_or_global, template, Invalid, Url};
use crate::config::marshal::{http, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

/// One Telegram notifier (the Bot API's `sendMessage`).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawTelegram")]
pub struct TelegramConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    /// `telegram_api_url` from `global` unless set.
    pub api_url: Option<Url>,
    pub bot_token: Secret,
    pub bot_token_file: Option<PathBuf>,
    pub chat_id: i64,
    pub chat_id_file: Option<PathBuf>,
    pub message_thread_id: i64,
    pub message: String,
    pub disable_notifications: bool,
    /// `Markdown`, `MarkdownV2`, `HTML` (the default) or empty.
    pub parse_mode: String,
    own_http: Option<HttpClientSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTelegram {
    #[serde(default)]
    send_resolved: Option<bool>,
    #[serde(default)]
    http_config: Option<HttpClientSection>,
    #[serde(default)]
    api_url: Option<Url>,
    #[serde(default)]
    bot_token: Secret,
    #[serde(default, deserialize_with = "file_path")]
    bot_token_file: Option<PathBuf>,
    #[serde(default)]
    chat_id: i64,
    #[serde(default, deserialize_with = "file_path")]
    chat_id_file: Option<PathBuf>,
    #[serde(default)]
    message_thread_id: i64,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    disable_notifications: bool,
    #[serde(default)]
    parse_mode: Option<String>,
}

impl TryFrom<RawTelegram> for TelegramConfig {
    type Error = Invalid;

    fn try_from(r: RawTelegram) -> Result<TelegramConfig, Invalid> {
        if !r.bot_token.expose().is_empty() && r.bot_token_file.is_some() {
            return fail("at most one of bot_token & bot_token_file must be configured");
        }
        if r.chat_id == 0 && r.chat_id_file.is_none() {
            return fail("missing chat_id or chat_id_file on telegram_config");
        }
        if r.chat_id != 0 && r.chat_id_file.is_some() {
            return fail("at most one of chat_id & chat_id_file must be configured");
        }
        let parse_mode = r.parse_mode.unwrap_or_else(|| "HTML".to_string());
        if !["", "Markdown", "MarkdownV2", "HTML"].contains(&parse_mode.as_str()) {
            return fail(
                "unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string",
            );
        }
        Ok(TelegramConfig {
            send_resolved: r.send_resolved.unwrap_or(true),
            http_config: HttpClientConfig::default(),
            api_url: r.api_url,
            bot_token: r.bot_token,
            bot_token_file: r.bot_token_file,
            chat_id: r.chat_id,
            chat_id_file: r.chat_id_file,
            message_thread_id: r.message_thread_id,
            message: template(r.message, "telegram.default.message"),
            disable_notifications: r.disable_notifications,
            parse_mode,
            own_http: r.http_config,
        })
    }
}

impl ReceiverKind for TelegramConfig {
    const NAME: &'static str = "telegram";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn inherit(&mut self, g: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        self.http_config = http_or_global(self.own_http.take(), &g.http_config, dir)?;
        if self.api_url.is_none() {
            self.api_url = Some(g.telegram_api_url.clone());
        }
        if self.bot_token.expose().is_empty() && self.bot_token_file.is_none() {
            if g.telegram_bot_token.expose().is_empty() && g.telegram_bot_token_file.is_none() {
                return Err(ConfigError::Invalid(
                    "missing bot_token or bot_token_file on telegram_config".into(),
                ));
            }
            self.bot_token = g.telegram_bot_token.clone();
            self.bot_token_file = g.telegram_bot_token_file.clone();
        }
        Ok(())
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
