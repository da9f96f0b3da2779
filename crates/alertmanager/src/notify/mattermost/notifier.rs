//! The Mattermost notifier: an incoming-webhook post with one attachment built from the
//! receiver's texts (or the attachments it lists), props and a priority made valid as
//! upstream does; the failure names the channel.

use std::sync::Arc;

use serde::Serialize;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use super::config::{MattermostConfig, MattermostField};
use crate::matcher::go_quote;
use crate::notify::retrier::{self, truncate_runes};
use crate::notify::{gojson, notification_data, Deliver, NotifyContext, NotifyError, Render};
use crate::types::Alert;

/// Mattermost's limit for a post's text, in characters.
const MAX_TEXT_RUNES: usize = 16383;

#[derive(Debug, Default, Serialize)]
struct Post {
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    channel: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_emoji: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment>,
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    props: Option<Props>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<Priority>,
}

#[derive(Debug, Serialize)]
struct Props {
    #[serde(skip_serializing_if = "String::is_empty")]
    card: String,
}

#[derive(Debug, Serialize)]
struct Priority {
    #[serde(skip_serializing_if = "String::is_empty")]
    priority: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    requested_ack: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    persistent_notifications: bool,
}

#[derive(Debug, Default, Serialize)]
struct Attachment {
    #[serde(skip_serializing_if = "String::is_empty")]
    fallback: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    color: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pretext: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    author_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    author_link: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    author_icon: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title_link: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<Field>,
    #[serde(skip_serializing_if = "String::is_empty")]
    thumb_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    footer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    footer_icon: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    image_url: String,
}

#[derive(Debug, Serialize)]
struct Field {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    short: Option<bool>,
}

pub struct Mattermost {
    conf: MattermostConfig,
    client: reqwest::Client,
    templates: Arc<NotificationTemplates>,
}

fn fields(r: &Render<'_>, fields: &[MattermostField]) -> Result<Vec<Field>, NotifyError> {
    fields
        .iter()
        .map(|f| {
            Ok(Field {
                title: r.text("field title", &f.title)?,
                value: r.text("field value", &f.value)?,
                short: f.short,
            })
        })
        .collect()
}

impl Mattermost {
    pub fn new(
        conf: MattermostConfig,
        templates: Arc<NotificationTemplates>,
    ) -> Result<Mattermost, String> {
        let client = bongsu_httpclient::client(&conf.http_config, true)?;
        Ok(Mattermost {
            conf,
            client,
            templates,
        })
    }

    fn url(&self) -> Result<String, NotifyError> {
        let c = &self.conf;
        retrier::url_or_file(
            c.webhook_url.as_ref(),
            c.webhook_url_file.as_deref(),
            "webhook_url",
            "webhook_url_file",
        )
    }

    /// The post, rendered: with configured attachments the text goes at the top level,
    /// otherwise into the one attachment made of the receiver's own texts.
    fn post(&self, r: &Render<'_>) -> Result<Post, NotifyError> {
        let c = &self.conf;
        let text = r.text("text", &c.text)?;
        let mut post = Post {
            channel: r.text("channel", &c.channel)?,
            username: r.text("username", &c.username)?,
            icon_url: r.text("icon_url", &c.icon_url)?,
            icon_emoji: r.text("icon_emoji", &c.icon_emoji)?,
            kind: r.text("type", &c.kind)?,
            ..Post::default()
        };
        if let Some(p) = c.priority.as_ref().filter(|p| !p.priority.is_empty()) {
            post.priority = Some(Priority {
                priority: r.text("priority", &p.priority)?,
                requested_ack: p.requested_ack,
                persistent_notifications: p.persistent_notifications,
            });
        }
        if let Some(p) = c.props.as_ref().filter(|p| !p.card.is_empty()) {
            post.props = Some(Props {
                card: r.text("props card", &p.card)?,
            });
        }
        if c.attachments.is_empty() {
            post.attachments.push(Attachment {
                text,
                fallback: r.text("fallback", &c.fallback)?,
                color: r.text("color", &c.color)?,
                pretext: r.text("pretext", &c.pretext)?,
                author_name: r.text("author_name", &c.author_name)?,
                author_link: r.text("author_link", &c.author_link)?,
                author_icon: r.text("author_icon", &c.author_icon)?,
                title: r.text("title", &c.title)?,
                title_link: r.text("title_link", &c.title_link)?,
                fields: fields(r, &c.fields)?,
                thumb_url: r.text("thumb_url", &c.thumb_url)?,
                footer: r.text("footer", &c.footer)?,
                footer_icon: r.text("footer_icon", &c.footer_icon)?,
                image_url: r.text("image_url", &c.image_url)?,
            });
            return Ok(post);
        }
        for a in &c.attachments {
            post.attachments.push(Attachment {
                fallback: r.text("fallback", &a.fallback)?,
                color: r.text("color", &a.color)?,
                pretext: r.text("pretext", &a.pretext)?,
                text: r.text("text", &a.text)?,
                author_name: r.text("author_name", &a.author_name)?,
                author_link: r.text("author_link", &a.author_link)?,
                author_icon: r.text("author_icon", &a.author_icon)?,
                title: r.text("title", &a.title)?,
                title_link: r.text("title_link", &a.title_link)?,
                fields: fields(r, &a.fields)?,
                thumb_url: r.text("thumb_url", &a.thumb_url)?,
                footer: r.text("footer", &a.footer)?,
                footer_icon: r.text("footer_icon", &a.footer_icon)?,
                image_url: r.text("image_url", &a.image_url)?,
            });
        }
        post.text = text;
        Ok(post)
    }

    /// Upstream's clean-up: the text cut to Mattermost's limit, an unknown priority made
    /// `standard`, and acknowledgement / persistent notifications dropped where the priority
    /// does not allow them.
    fn sanitize(post: &mut Post, key: &str) {
        let (text, truncated) = truncate_runes(std::mem::take(&mut post.text), MAX_TEXT_RUNES);
        if truncated {
            tracing::warn!(key, max_runes = MAX_TEXT_RUNES, "Truncated text");
        }
        post.text = text;
        let Some(p) = &mut post.priority else {
            return;
        };
        let lower = p.priority.to_lowercase();
        if ["urgent", "important", "standard"].contains(&lower.as_str()) {
            p.priority = lower;
        } else {
            tracing::warn!(key, priority = %p.priority, "Priority is set to standard due to invalid value");
            p.priority = "standard".to_string();
        }
        if p.requested_ack && p.priority == "standard" {
            tracing::warn!(
                key,
                "RequestedAck is set to false due to priority is standard"
            );
            p.requested_ack = false;
        }
        if p.persistent_notifications && p.priority != "urgent" {
            tracing::warn!(
                key,
                "PersistentNotifications is set to false due to priority is not urgent"
            );
            p.persistent_notifications = false;
        }
    }

    fn payload(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<Post, NotifyError> {
        let data = notification_data(ctx, alerts);
        let mut post = self.post(&Render::new(&self.templates, &data))?;
        Self::sanitize(&mut post, &ctx.group_key);
        Ok(post)
    }
}

impl Deliver for Mattermost {
    async fn deliver(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let url = self.url()?;
        let post = self.payload(ctx, alerts)?;
        let body = gojson::body(&post)?;
        let req = retrier::post_json(
            &self.client,
            &url,
            body,
            &self.conf.http_config,
            std::time::Duration::ZERO,
        )?;
        let resp = req.send().await.map_err(retrier::send_error)?;
        retrier::check(resp).await.map(drop).map_err(|mut e| {
            e.message = format!("channel {}: {}", go_quote(&post.channel), e.message);
            e
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::test_support::{alert, ctx, entry, templates};

    fn notifier(extra: &str) -> Mattermost {
        let conf = entry(
            "{}",
            &format!("webhook_url: http://mm.example/hooks/x\n    {extra}"),
        );
        Mattermost::new(conf, templates()).unwrap()
    }

    fn body(n: &Mattermost) -> String {
        let post = n.payload(&ctx(), &[alert("A", None)]).unwrap();
        String::from_utf8(gojson::body(&post).unwrap()).unwrap()
    }

    #[test]
    fn one_attachment_from_own_texts() {
        let n = notifier(
            "channel: 'c-{{ .Receiver }}'\n    username: u\n    text: 'x & y'\n    fallback: f\n    \
             color: '{{ if eq .Status \"firing\" }}danger{{ end }}'\n    title: T\n    title_link: ''\n    \
             fields: [{title: a, value: '{{ len .Alerts }}', short: false}, {title: b, value: c}]\n    \
             icon_emoji: ':fire:'\n    type: custom_alert\n    props: {card: 'k'}",
        );
        assert_eq!(
            body(&n),
            "{\"channel\":\"c-t\",\"username\":\"u\",\"icon_emoji\":\":fire:\",\"attachments\":[{\"fallback\":\"f\",\
             \"color\":\"danger\",\"text\":\"x \\u0026 y\",\"title\":\"T\",\"fields\":[{\"title\":\"a\",\"value\":\"1\",\
             \"short\":false},{\"title\":\"b\",\"value\":\"c\"}]}],\"type\":\"custom_alert\",\"props\":{\"card\":\"k\"}}\n"
        );
    }

    #[test]
    fn listed_attachments_put_text_on_top() {
        let n = notifier(
            "text: top\n    title: unused\n    attachments: [{title: 'A {{ .Status }}', text: inner}]",
        );
        let v: serde_json::Value = serde_json::from_str(&body(&n)).unwrap();
        assert_eq!(v["text"], "top");
        assert_eq!(
            v["attachments"],
            serde_json::json!([{"text": "inner", "title": "A firing"}])
        );
    }

    #[test]
    fn priority_is_made_valid() {
        let prio = |p: &str| {
            let n = notifier(&format!("priority: {p}"));
            serde_json::from_str::<serde_json::Value>(&body(&n)).unwrap()["priority"].clone()
        };
        assert_eq!(
            prio("{priority: URGENT, requested_ack: true, persistent_notifications: true}"),
            serde_json::json!({"priority": "urgent", "requested_ack": true, "persistent_notifications": true})
        );
        assert_eq!(
            prio("{priority: important, requested_ack: true, persistent_notifications: true}"),
            serde_json::json!({"priority": "important", "requested_ack": true})
        );
        assert_eq!(
            prio("{priority: bogus, requested_ack: true}"),
            serde_json::json!({"priority": "standard"})
        );
        assert_eq!(prio("{requested_ack: true}"), serde_json::Value::Null);
    }

    #[test]
    fn long_top_text_is_cut() {
        let n = notifier("text: '{{ printf \"%020000d\" 0 }}'\n    attachments: [{title: t}]");
        let v: serde_json::Value = serde_json::from_str(&body(&n)).unwrap();
        let text = v["text"].as_str().unwrap();
        assert_eq!(text.chars().count(), MAX_TEXT_RUNES);
        assert!(text.ends_with('…'));
    }

    #[test]
    fn defaults_render() {
        let v: serde_json::Value = serde_json::from_str(&body(&notifier(""))).unwrap();
        let att = &v["attachments"][0];
        assert!(att["title"].as_str().unwrap().contains("FIRING:1"));
        assert_eq!(att["title_link"], "http://am/#/alerts?receiver=t");
        assert!(!v["username"].as_str().unwrap().is_empty());
    }
}
