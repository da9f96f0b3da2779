//! `discord_configs`, `msteams_configs` and `telegram_configs`: chat services reached over
//! HTTP, each with its message templates and Alertmanager's defaults.

use std::path::PathBuf;

use serde::Deserialize;

use bongsu_httpclient::{HttpClientConfig, HttpClientSection, Secret};

use super::super::common::{fail, file_path, http_or_global, Invalid, SecretUrl, Url};
use super::super::global::GlobalConfig;
use super::super::ConfigError;

pub(super) fn template(own: Option<String>, name: &str) -> String {
    own.unwrap_or_else(|| format!(r#"{{{{ template "{name}" . }}}}"#))
}

/// Checks a `webhook_url` / `webhook_url_file` pair: exactly one must be set.
pub(super) fn one_webhook(url: &Option<SecretUrl>, file: &Option<PathBuf>) -> Result<(), Invalid> {
    match (url, file) {
        (None, None) => fail("one of webhook_url or webhook_url_file must be configured"),
        (Some(_), Some(_)) => {
            fail("at most one of webhook_url & webhook_url_file must be configured")
        }
        _ => Ok(()),
    }
}

/// One Discord notifier (a webhook; messages as embeds).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawDiscord")]
pub struct DiscordConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    pub webhook_url: Option<SecretUrl>,
    pub webhook_url_file: Option<PathBuf>,
    pub content: String,
    pub title: String,
    pub message: String,
    pub username: String,
    pub avatar_url: String,
    own_http: Option<HttpClientSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDiscord {
    #[serde(default)]
    send_resolved: Option<bool>,
    #[serde(default)]
    http_config: Option<HttpClientSection>,
    #[serde(default)]
    webhook_url: Option<SecretUrl>,
    #[serde(default, deserialize_with = "file_path")]
    webhook_url_file: Option<PathBuf>,
    #[serde(default)]
    content: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    avatar_url: String,
}

impl TryFrom<RawDiscord> for DiscordConfig {
    type Error = Invalid;

    fn try_from(r: RawDiscord) -> Result<DiscordConfig, Invalid> {
        one_webhook(&r.webhook_url, &r.webhook_url_file)?;
        Ok(DiscordConfig {
            send_resolved: r.send_resolved.unwrap_or(true),
            http_config: HttpClientConfig::default(),
            webhook_url: r.webhook_url,
            webhook_url_file: r.webhook_url_file,
            content: r.content,
            title: template(r.title, "discord.default.title"),
            message: template(r.message, "discord.default.message"),
            username: r.username,
            avatar_url: r.avatar_url,
            own_http: r.http_config,
        })
    }
}

impl DiscordConfig {
    pub(crate) fn resolve(
        &mut self,
        g: &GlobalConfig,
        dir: Option<&std::path::Path>,
    ) -> Result<(), ConfigError> {
        self.http_config = http_or_global(self.own_http.take(), &g.http_config, dir)?;
        Ok(())
    }
}

/// One Microsoft Teams notifier (an incoming-webhook connector).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawMsTeams")]
pub struct MsTeamsConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    pub webhook_url: Option<SecretUrl>,
    pub webhook_url_file: Option<PathBuf>,
    pub title: String,
    pub summary: String,
    pub text: String,
    own_http: Option<HttpClientSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMsTeams {
    #[serde(default)]
    send_resolved: Option<bool>,
    #[serde(default)]
    http_config: Option<HttpClientSection>,
    #[serde(default)]
    webhook_url: Option<SecretUrl>,
    #[serde(default, deserialize_with = "file_path")]
    webhook_url_file: Option<PathBuf>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

impl TryFrom<RawMsTeams> for MsTeamsConfig {
    type Error = Invalid;

    fn try_from(r: RawMsTeams) -> Result<MsTeamsConfig, Invalid> {
        one_webhook(&r.webhook_url, &r.webhook_url_file)?;
        Ok(MsTeamsConfig {
            send_resolved: r.send_resolved.unwrap_or(true),
            http_config: HttpClientConfig::default(),
            webhook_url: r.webhook_url,
            webhook_url_file: r.webhook_url_file,
            title: template(r.title, "msteams.default.title"),
            summary: template(r.summary, "msteams.default.summary"),
            text: template(r.text, "msteams.default.text"),
            own_http: r.http_config,
        })
    }
}

impl MsTeamsConfig {
    pub(crate) fn resolve(
        &mut self,
        g: &GlobalConfig,
        dir: Option<&std::path::Path>,
    ) -> Result<(), ConfigError> {
        self.http_config = http_or_global(self.own_http.take(), &g.http_config, dir)?;
        Ok(())
    }
}

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

impl TelegramConfig {
    pub(crate) fn resolve(
        &mut self,
        g: &GlobalConfig,
        dir: Option<&std::path::Path>,
    ) -> Result<(), ConfigError> {
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
}
