//! The printed form of the receiver kinds added after the first ones (Teams workflows,
//! Webex, Mattermost, Rocket.Chat, Jira, incident.io), with upstream's keys and omit-empty
//! rules.

use serde_yaml_ng::Value;

use super::{go_duration, http, strings, Map};
use crate::config::receivers::{
    IncidentioConfig, JiraConfig, JiraField, MattermostConfig, MattermostField, MsTeamsV2Config,
    RocketchatConfig, WebexConfig,
};

pub(super) fn msteamsv2(c: &MsTeamsV2Config) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret_url("webhook_url", &c.webhook_url)
        .path("webhook_url_file", &c.webhook_url_file)
        .string("title", &c.title)
        .string("text", &c.text);
    m.done()
}

pub(super) fn webex(c: &WebexConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .url("api_url", c.api_url.as_ref())
        .string("message", &c.message)
        .put("room_id", c.room_id.as_str());
    m.done()
}

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

pub(super) fn mattermost(c: &MattermostConfig) -> Value {
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

fn jira_field(f: &JiraField) -> Value {
    let mut m = Map::default();
    m.string("template", &f.template);
    if let Some(u) = f.enable_update {
        m.put("enable_update", u);
    }
    m.done()
}

pub(super) fn jira(c: &JiraConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .url("api_url", c.api_url.as_ref())
        .string("api_type", &c.api_type)
        .string("project", &c.project)
        .put("summary", jira_field(&c.summary))
        .put("description", jira_field(&c.description))
        .list("labels", strings(&c.labels))
        .string("priority", &c.priority)
        .string("issue_type", &c.issue_type)
        .string("reopen_transition", &c.reopen_transition)
        .string("resolve_transition", &c.resolve_transition)
        .string("wont_fix_resolution", &c.wont_fix_resolution);
    if !c.reopen_duration.is_zero() {
        m.put(
            "reopen_duration",
            bongsu_model::format_prometheus_duration(c.reopen_duration),
        );
    }
    let mut fields = Map::default();
    for (k, v) in &c.fields {
        fields.put(k, v.clone());
    }
    m.map("fields", fields);
    m.done()
}

/// `url`, `url_file`, `max_alerts` and `timeout` have no omit-empty rule upstream.
pub(super) fn incidentio(c: &IncidentioConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .put(
            "url",
            c.url
                .as_ref()
                .map_or(Value::Null, |u| Value::from(u.as_str())),
        )
        .put(
            "url_file",
            c.url_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        )
        .secret("alert_source_token", &c.alert_source_token)
        .path("alert_source_token_file", &c.alert_source_token_file)
        .put("max_alerts", c.max_alerts)
        .put("timeout", go_duration(c.timeout));
    m.done()
}

/// Upstream's Rocket.Chat fields and buttons have no omit-empty rules: every key prints.
pub(super) fn rocketchat(c: &RocketchatConfig) -> Value {
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
