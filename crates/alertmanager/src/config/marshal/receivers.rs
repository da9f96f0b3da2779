//! The receivers' part of the printed configuration.

use serde_yaml_ng::Value;

use super::team_chat::{incidentio, jira, mattermost, msteamsv2, rocketchat, webex};
use super::{go_duration, host_port, http, string_map, strings, tls, Map};
use crate::config::receivers::{
    DiscordConfig, EmailConfig, MsTeamsConfig, OpsgenieConfig, PagerdutyConfig, PushoverConfig,
    Receiver, SlackConfig, TelegramConfig, VictoropsConfig, WebhookConfig,
};
use crate::config::DEFAULT_SLACK_APP_URL;

fn email(c: &EmailConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .string("to", &c.to)
        .string("from", &c.from)
        .string("hello", &c.hello);
    host_port(&mut m, "smarthost", &c.smarthost);
    m.string("auth_username", &c.auth_username)
        .secret("auth_password", &c.auth_password)
        .path("auth_password_file", &c.auth_password_file)
        .secret("auth_secret", &c.auth_secret)
        .path("auth_secret_file", &c.auth_secret_file)
        .string("auth_identity", &c.auth_identity)
        .map("headers", string_map(&c.headers))
        .string("html", &c.html)
        .string("text", &c.text);
    if let Some(v) = c.require_tls {
        m.put("require_tls", v);
    }
    if let Some(t) = &c.tls_config {
        m.put("tls_config", tls(t).done());
    }
    if let Some(v) = c.force_implicit_tls {
        m.put("force_implicit_tls", v);
    }
    if c.threading.enabled {
        let mut t = Map::default();
        t.put("enabled", true)
            .string("thread_by_date", &c.threading.thread_by_date);
        m.map("threading", t);
    }
    m.done()
}

fn slack(c: &SlackConfig) -> Value {
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

fn webhook(c: &WebhookConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret("url", &c.url)
        .path("url_file", &c.url_file)
        .put("max_alerts", c.max_alerts)
        .duration("timeout", c.timeout);
    if let Some(p) = &c.payload {
        m.put("payload", p.clone());
    }
    m.done()
}

fn discord(c: &DiscordConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret_url("webhook_url", &c.webhook_url)
        .path("webhook_url_file", &c.webhook_url_file)
        .string("content", &c.content)
        .string("title", &c.title)
        .string("message", &c.message)
        .string("username", &c.username)
        .string("avatar_url", &c.avatar_url);
    m.done()
}

fn msteams(c: &MsTeamsConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret_url("webhook_url", &c.webhook_url)
        .path("webhook_url_file", &c.webhook_url_file)
        .string("title", &c.title)
        .string("summary", &c.summary)
        .string("text", &c.text);
    m.done()
}

fn telegram(c: &TelegramConfig) -> Value {
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

/// The receiver's labels, left out when only the `name` label every receiver gets is there.
fn own_labels(r: &Receiver) -> Map {
    if r.labels.len() == 1 && r.labels.get("name") == Some(&r.name) {
        return Map::default();
    }
    string_map(&r.labels)
}

fn pagerduty(c: &PagerdutyConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret("service_key", &c.service_key)
        .path("service_key_file", &c.service_key_file)
        .secret("routing_key", &c.routing_key)
        .path("routing_key_file", &c.routing_key_file)
        .url("url", c.url.as_ref())
        .string("client", &c.client)
        .string("client_url", &c.client_url)
        .string("description", &c.description);
    let mut details = Map::default();
    for (k, v) in &c.details {
        details.put(k, v.clone());
    }
    m.map("details", details);
    let images = c
        .images
        .iter()
        .map(|i| {
            let mut im = Map::default();
            im.string("src", &i.src)
                .string("alt", &i.alt)
                .string("href", &i.href);
            im.done()
        })
        .collect();
    let links = c
        .links
        .iter()
        .map(|l| {
            let mut lm = Map::default();
            lm.string("href", &l.href).string("text", &l.text);
            lm.done()
        })
        .collect();
    m.list("images", images)
        .list("links", links)
        .string("source", &c.source)
        .string("severity", &c.severity)
        .string("class", &c.class)
        .string("component", &c.component)
        .string("group", &c.group)
        .put("timeout", go_duration(c.timeout));
    m.done()
}

fn opsgenie(c: &OpsgenieConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret("api_key", &c.api_key)
        .path("api_key_file", &c.api_key_file)
        .url("api_url", c.api_url.as_ref())
        .string("message", &c.message)
        .string("description", &c.description)
        .string("source", &c.source)
        .map("details", string_map(&c.details))
        .string("entity", &c.entity);
    let responders = c
        .responders
        .iter()
        .map(|r| {
            let mut rm = Map::default();
            rm.string("id", &r.id)
                .string("name", &r.name)
                .string("username", &r.username)
                .string("type", &r.kind);
            rm.done()
        })
        .collect();
    m.list("responders", responders)
        .string("actions", &c.actions)
        .string("tags", &c.tags)
        .string("note", &c.note)
        .string("priority", &c.priority)
        .flag("update_alerts", c.update_alerts);
    m.done()
}

fn victorops(c: &VictoropsConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret("api_key", &c.api_key)
        .path("api_key_file", &c.api_key_file)
        .put(
            "api_url",
            c.api_url.as_ref().map(|u| u.as_str()).unwrap_or_default(),
        )
        .put("routing_key", c.routing_key.as_str())
        .put("message_type", c.message_type.as_str())
        .put("state_message", c.state_message.as_str())
        .put("entity_display_name", c.entity_display_name.as_str())
        .put("monitoring_tool", c.monitoring_tool.as_str())
        .map("custom_fields", string_map(&c.custom_fields));
    m.done()
}

fn pushover(c: &PushoverConfig) -> Value {
    let mut m = Map::default();
    m.put("send_resolved", c.send_resolved)
        .put("http_config", http(&c.http_config))
        .secret("user_key", &c.user_key)
        .path("user_key_file", &c.user_key_file)
        .secret("token", &c.token)
        .path("token_file", &c.token_file)
        .string("title", &c.title)
        .string("message", &c.message)
        .string("url", &c.url)
        .string("url_title", &c.url_title)
        .string("device", &c.device)
        .string("sound", &c.sound)
        .string("priority", &c.priority);
    for (key, d) in [("retry", c.retry), ("expire", c.expire), ("ttl", c.ttl)] {
        if !d.is_zero() {
            m.put(key, go_duration(d));
        }
    }
    m.flag("html", c.html).flag("monospace", c.monospace);
    m.done()
}

pub(super) fn receiver(r: &Receiver) -> Value {
    let mut m = Map::default();
    m.put("name", r.name.as_str())
        .map("labels", own_labels(r))
        .list(
            "discord_configs",
            r.discord_configs.iter().map(discord).collect(),
        )
        .list("email_configs", r.email_configs.iter().map(email).collect())
        .list(
            "incidentio_configs",
            r.incidentio_configs.iter().map(incidentio).collect(),
        )
        .list(
            "pagerduty_configs",
            r.pagerduty_configs.iter().map(pagerduty).collect(),
        )
        .list("slack_configs", r.slack_configs.iter().map(slack).collect())
        .list(
            "webhook_configs",
            r.webhook_configs.iter().map(webhook).collect(),
        )
        .list(
            "opsgenie_configs",
            r.opsgenie_configs.iter().map(opsgenie).collect(),
        )
        .list(
            "pushover_configs",
            r.pushover_configs.iter().map(pushover).collect(),
        )
        .list(
            "victorops_configs",
            r.victorops_configs.iter().map(victorops).collect(),
        )
        .list(
            "telegram_configs",
            r.telegram_configs.iter().map(telegram).collect(),
        )
        .list("webex_configs", r.webex_configs.iter().map(webex).collect())
        .list(
            "msteams_configs",
            r.msteams_configs.iter().map(msteams).collect(),
        )
        .list(
            "msteamsv2_configs",
            r.msteamsv2_configs.iter().map(msteamsv2).collect(),
        )
        .list("jira_configs", r.jira_configs.iter().map(jira).collect())
        .list(
            "rocketchat_configs",
            r.rocketchat_configs.iter().map(rocketchat).collect(),
        )
        .list(
            "mattermost_configs",
            r.mattermost_configs.iter().map(mattermost).collect(),
        );
    m.done()
}
