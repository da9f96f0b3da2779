//! Slack (`slack_configs`): incoming webhooks or bot tokens, attachments, and messages
//! updated in place.
//!
//! The kind's configuration (`config`), its notifier (`notifier`) and its printed form.

mod config;
mod notifier;

use serde_yaml_ng::Value;

use crate::config::marshal::{http, strings, Map};
use crate::config::DEFAULT_SLACK_APP_URL;

pub use config::{SlackAction, SlackConfig, SlackConfirmation, SlackField};
pub use notifier::Slack;

pub(crate) fn print(c: &SlackConfig) -> Value {
    // With a bot token, the Authorization header and the URL were derived from it and
    // `app_url`: printing them too would make a file that no longer loads.
    let bot = !c.app_token.expose().is_empty() || c.app_token_file.is_some();
    let mut http_config = c.http_config.clone();
    if bot {
        http_config.authorization = None;
    }
    let api_url = if bot { None } else { c.api_url.clone() };
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&http_config))
        .secret_url("api_url", &api_url)
        .path("api_url_file", &c.api_url_file)
        .secret("app_token", &c.app_token)
        .path("app_token_file", &c.app_token_file)
        .url(
            "app_url",
            c.app_url
                .as_ref()
                .filter(|u| u.as_str() != DEFAULT_SLACK_APP_URL),
        )
        .string("channel", &c.channel)
        .string("username", &c.username)
        .string("color", &c.color)
        .string("title", &c.title)
        .string("title_link", &c.title_link)
        .string("pretext", &c.pretext)
        .string("text", &c.text)
        .string("message_text", &c.message_text);
    let fields = c
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
        .put("short_fields", c.short_fields)
        .string("footer", &c.footer)
        .string("fallback", &c.fallback)
        .string("callback_id", &c.callback_id)
        .string("icon_emoji", &c.icon_emoji)
        .string("icon_url", &c.icon_url)
        .string("image_url", &c.image_url)
        .string("thumb_url", &c.thumb_url)
        .put("link_names", c.link_names)
        .list("mrkdwn_in", strings(&c.mrkdwn_in));
    let actions = c
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
        .flag("update_message", c.update_message)
        .duration("timeout", c.timeout);
    m.done()
}
