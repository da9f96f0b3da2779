//! Slack (`slack_configs`): incoming webhooks or bot tokens, attachments, and messages
//! updated in place.
//!
//! This module registers the kind (its `ReceiverKind`, printed form included); `config`
//! loads and checks an entry and inherits from `global`, `notifier` delivers.

mod config;
mod notifier;

use std::path::Path;
use std::sync::Arc;

use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use crate::config::marshal::{http, strings, Map};
use crate::config::{ConfigError, GlobalConfig, DEFAULT_SLACK_APP_URL};
use crate::notify::{Notifier, ReceiverKind};

pub use config::{SlackAction, SlackConfig, SlackConfirmation, SlackField};
pub use notifier::Slack;

impl ReceiverKind for SlackConfig {
    const NAME: &'static str = "slack";
    const GO_PACKAGE: &'static str = "config";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn inherit(&mut self, global: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        self.resolve(global, dir)
    }

    fn print(&self) -> Value {
        // With a bot token, the Authorization header and the URL were derived from it and
        // `app_url`: printing them too would make a file that no longer loads.
        let bot = !self.app_token.expose().is_empty() || self.app_token_file.is_some();
        let mut http_config = self.http_config.clone();
        if bot {
            http_config.authorization = None;
        }
        let api_url = if bot { None } else { self.api_url.clone() };
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&http_config))
            .secret_url("api_url", &api_url)
            .path("api_url_file", &self.api_url_file)
            .secret("app_token", &self.app_token)
            .path("app_token_file", &self.app_token_file)
            .url(
                "app_url",
                self.app_url
                    .as_ref()
                    .filter(|u| u.as_str() != DEFAULT_SLACK_APP_URL),
            )
            .string("channel", &self.channel)
            .string("username", &self.username)
            .string("color", &self.color)
            .string("title", &self.title)
            .string("title_link", &self.title_link)
            .string("pretext", &self.pretext)
            .string("text", &self.text)
            .string("message_text", &self.message_text);
        let fields = self
            .fields
            .iter()
            .map(|f| {
                let mut fm = Map::default();
                fm.string("title", &f.title).string("value", &f.value);
                if let Some(s) = f.short {
                    fm.put("short", s);
                }
                fm.done()
            })
            .collect();
        m.list("fields", fields)
            .put("short_fields", self.short_fields)
            .string("footer", &self.footer)
            .string("fallback", &self.fallback)
            .string("callback_id", &self.callback_id)
            .string("icon_emoji", &self.icon_emoji)
            .string("icon_url", &self.icon_url)
            .string("image_url", &self.image_url)
            .string("thumb_url", &self.thumb_url)
            .put("link_names", self.link_names)
            .list("mrkdwn_in", strings(&self.mrkdwn_in));
        let actions = self
            .actions
            .iter()
            .map(|a| {
                let mut am = Map::default();
                am.string("type", &a.kind)
                    .string("text", &a.text)
                    .string("url", &a.url)
                    .string("style", &a.style)
                    .string("name", &a.name)
                    .string("value", &a.value);
                if let Some(cf) = &a.confirm {
                    let mut cm = Map::default();
                    cm.string("text", &cf.text)
                        .string("title", &cf.title)
                        .string("ok_text", &cf.ok_text)
                        .string("dismiss_text", &cf.dismiss_text);
                    am.map("confirm", cm);
                }
                am.done()
            })
            .collect();
        m.list("actions", actions)
            .flag("update_message", self.update_message)
            .duration("timeout", self.timeout);
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Slack::new(self.clone(), templates.clone())?))
    }
}
