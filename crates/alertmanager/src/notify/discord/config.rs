//! `discord_configs`: a Discord webhook (its URL inline or in a file), the message's
//! templated texts and their defaults.
//!
//! The entry implements `ReceiverKind`: the registry inherits, prints and builds notifiers
//! through it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::{HttpClientConfig, HttpClientSection};

use super::notifier::Discord;
use crate::config::common::{file_path, http_or_global, one_webhook, template, Invalid, SecretUrl};
use crate::config::marshal::{http, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

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

impl ReceiverKind for DiscordConfig {
    const NAME: &'static str = "discord";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn inherit(&mut self, g: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        self.http_config = http_or_global(self.own_http.take(), &g.http_config, dir)?;
        Ok(())
    }

    fn print(&self) -> Value {
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&self.http_config))
            .secret_url("webhook_url", &self.webhook_url)
            .path("webhook_url_file", &self.webhook_url_file)
            .string("content", &self.content)
            .string("title", &self.title)
            .string("message", &self.message)
            .string("username", &self.username)
            .string("avatar_url", &self.avatar_url);
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Discord::new(self.clone(), templates.clone())?))
    }
}
