//! Rocket.Chat (`rocketchat_configs`): `chat.postMessage` with the token pair inherited
//! from `global`.
//!
//! The kind's configuration (`config`), its notifier (`notifier`) and its printed form.

mod config;
mod notifier;

use serde_yaml_ng::Value;

use crate::config::marshal::{http, Map};

pub(crate) use config::check_global_credentials;
pub use config::{RocketchatAction, RocketchatConfig, RocketchatField};
pub use notifier::Rocketchat;

/// Upstream's Rocket.Chat fields and buttons have no omit-empty rules: every key prints.
pub(crate) fn print(c: &RocketchatConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .url("api_url", c.api_url.as_ref());
    if let Some(t) = &c.token_id {
        m.secret("token_id", t);
    }
    m.path("token_id_file", &c.token_id_file);
    if let Some(t) = &c.token {
        m.secret("token", t);
    }
    m.path("token_file", &c.token_file)
        .string("channel", &c.channel)
        .string("color", &c.color)
        .string("title", &c.title)
        .string("title_link", &c.title_link)
        .string("text", &c.text);
    let fields = c
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
        .put("short_fields", c.short_fields)
        .string("emoji", &c.emoji)
        .string("icon_url", &c.icon_url)
        .string("image_url", &c.image_url)
        .string("thumb_url", &c.thumb_url)
        .put("link_names", c.link_names);
    let actions = c
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
