//! Mattermost (`mattermost_configs`): an incoming webhook with attachments, props and
//! priority.
//!
//! The kind's configuration (`config`), its notifier (`notifier`) and its printed form.

mod config;
mod notifier;

use serde_yaml_ng::Value;

use crate::config::marshal::{http, Map};

pub use config::{
    MattermostAttachment, MattermostConfig, MattermostField, MattermostPriority, MattermostProps,
};
pub use notifier::Mattermost;

fn mattermost_fields(fields: &[MattermostField]) -> Vec<Value> {
    fields
        .iter()
        .map(|f| {
            let mut fm = Map::default();
            fm.string("title", &f.title).string("value", &f.value);
            if let Some(s) = f.short {
                fm.put("short", s);
            }
            fm.done()
        })
        .collect()
}

pub(crate) fn print(c: &MattermostConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret_url("webhook_url", &c.webhook_url)
        .path("webhook_url_file", &c.webhook_url_file)
        .string("channel", &c.channel)
        .string("username", &c.username)
        .string("text", &c.text)
        .string("fallback", &c.fallback)
        .string("color", &c.color)
        .string("pretext", &c.pretext)
        .string("author_name", &c.author_name)
        .string("author_link", &c.author_link)
        .string("author_icon", &c.author_icon)
        .string("title", &c.title)
        .string("title_link", &c.title_link)
        .list("fields", mattermost_fields(&c.fields))
        .string("thumb_url", &c.thumb_url)
        .string("footer", &c.footer)
        .string("footer_icon", &c.footer_icon)
        .string("image_url", &c.image_url)
        .string("icon_url", &c.icon_url)
        .string("icon_emoji", &c.icon_emoji);
    let attachments = c
        .attachments
        .iter()
        .map(|a| {
            let mut am = Map::default();
            am.string("fallback", &a.fallback)
                .string("color", &a.color)
                .string("pretext", &a.pretext)
                .string("text", &a.text)
                .string("author_name", &a.author_name)
                .string("author_link", &a.author_link)
                .string("author_icon", &a.author_icon)
                .string("title", &a.title)
                .string("title_link", &a.title_link)
                .list("fields", mattermost_fields(&a.fields))
                .string("thumb_url", &a.thumb_url)
                .string("footer", &a.footer)
                .string("footer_icon", &a.footer_icon)
                .string("image_url", &a.image_url);
            am.done()
        })
        .collect();
    m.list("attachments", attachments).string("type", &c.kind);
    // Present sections print even when empty, as upstream's pointers do.
    if let Some(p) = &c.props {
        let mut pm = Map::default();
        pm.string("card", &p.card);
        m.put("props", pm.done());
    }
    if let Some(p) = &c.priority {
        let mut pm = Map::default();
        pm.string("priority", &p.priority)
            .flag("requested_ack", p.requested_ack)
            .flag("persistent_notifications", p.persistent_notifications);
        m.put("priority", pm.done());
    }
    m.done()
}
