//! The Discord notifier: a webhook execution with the rendered `content` and one embed
//! (title, description, a colour for firing or resolved), as upstream. Texts longer than
//! Discord's limits are cut with `…` and a warning instead of being refused by Discord.

use std::sync::Arc;

use serde::Serialize;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use super::config::DiscordConfig;
use crate::notify::retrier::{self, truncate_runes};
use crate::notify::{gojson, notification_data, Deliver, NotifyContext, NotifyError, Render};
use crate::types::Alert;

/// Discord's limits, in characters (upstream counts runes).
const MAX_TITLE_RUNES: usize = 256;
const MAX_DESCRIPTION_RUNES: usize = 4096;
const MAX_CONTENT_RUNES: usize = 2000;

/// Upstream's embed colours.
const COLOR_RED: u32 = 0x992D22;
const COLOR_GREEN: u32 = 0x2ECC71;
const COLOR_GREY: u32 = 0x95A5A6;

#[derive(Debug, Serialize)]
struct Webhook {
    content: String,
    embeds: [Embed; 1],
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    avatar_url: String,
}

#[derive(Debug, Serialize)]
struct Embed {
    title: String,
    description: String,
    color: u32,
}

pub struct Discord {
    conf: DiscordConfig,
    client: reqwest::Client,
    templates: Arc<NotificationTemplates>,
}

impl Discord {
    pub fn new(
        conf: DiscordConfig,
        templates: Arc<NotificationTemplates>,
    ) -> Result<Discord, String> {
        let client = bongsu_httpclient::client(&conf.http_config, true)?;
        Ok(Discord {
            conf,
            client,
            templates,
        })
    }

    fn message(
        &self,
        ctx: &NotifyContext,
        status: &str,
        r: &Render<'_>,
    ) -> Result<Webhook, NotifyError> {
        let c = &self.conf;
        let cut = |what: &str, text: String, max: usize| {
            let (text, truncated) = truncate_runes(text, max);
            if truncated {
                tracing::warn!(key = %ctx.group_key, max_runes = max, "Truncated {what}");
            }
            text
        };
        let title = cut("title", r.text("title", &c.title)?, MAX_TITLE_RUNES);
        let description = cut(
            "message",
            r.text("message", &c.message)?,
            MAX_DESCRIPTION_RUNES,
        );
        let content = cut("content", r.text("content", &c.content)?, MAX_CONTENT_RUNES);
        let color = match status {
            "firing" => COLOR_RED,
            "resolved" => COLOR_GREEN,
            _ => COLOR_GREY,
        };
        let avatar_url = if go_parses_url(&c.avatar_url) {
            c.avatar_url.clone()
        } else {
            tracing::warn!(key = %ctx.group_key, "Bad avatar url");
            String::new()
        };
        Ok(Webhook {
            content,
            embeds: [Embed {
                title,
                description,
                color,
            }],
            username: c.username.clone(),
            avatar_url,
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
}

impl Deliver for Discord {
    async fn deliver(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let data = notification_data(ctx, alerts);
        let msg = self.message(ctx, &data.status, &Render::new(&self.templates, &data))?;
        let url = self.url()?;
        let body = gojson::encode(&msg)
            .map_err(|e| NotifyError::permanent(format!("encoding the message: {e}")))?;
        retrier::deliver_json(
            &self.client,
            &url,
            body,
            &self.conf.http_config,
            std::time::Duration::ZERO,
        )
        .await
    }
}

/// Whether Go's lenient `url.Parse` accepts `s`: it refuses control characters, bad `%`
/// escapes and a missing scheme before `:`, and takes anything else as a relative URL.
fn go_parses_url(s: &str) -> bool {
    if s.chars().any(|c| c.is_ascii_control()) || s.starts_with(':') {
        return false;
    }
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !hex(i + 1) || !hex(i + 2) {
                return false;
            }
            i += 2;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::test_support::{entry, templates};
    use serde_json::json;

    fn discord(receiver: &str) -> Discord {
        Discord::new(entry("{}", receiver), templates()).unwrap()
    }

    fn render(d: &Discord, status: &str) -> Result<serde_json::Value, NotifyError> {
        let ctx = NotifyContext {
            receiver: "r".into(),
            group_key: "{}:{}".into(),
            group_labels: [("alertname".to_string(), "Disk".to_string())].into(),
            external_url: "http://am.example".into(),
            now: jiff::Timestamp::from_second(2_000).unwrap(),
            notification_reason: "first notification",
        };
        let data = notification_data(&ctx, &[]);
        let msg = d.message(&ctx, status, &Render::new(&d.templates, &data))?;
        Ok(serde_json::to_value(msg).unwrap())
    }

    #[test]
    fn payload_has_one_embed_coloured_by_status() {
        let d = discord(
            "webhook_url: http://127.0.0.1:1/x\n    title: 'T {{ .GroupLabels.alertname }}'\n    message: M\n    content: 'C {{ .Receiver }}'\n    username: bot\n    avatar_url: http://img.example/a.png\n",
        );
        assert_eq!(
            render(&d, "firing").unwrap(),
            json!({
                "content": "C r",
                "embeds": [{"title": "T Disk", "description": "M", "color": 0x992D22}],
                "username": "bot",
                "avatar_url": "http://img.example/a.png",
            })
        );
        assert_eq!(
            render(&d, "resolved").unwrap()["embeds"][0]["color"],
            0x2ECC71
        );
        let plain = discord("webhook_url: http://127.0.0.1:1/x\n    message: M\n");
        assert_eq!(
            render(&plain, "resolved").unwrap(),
            json!({
                "content": "",
                "embeds": [{"title": "[RESOLVED] Disk ", "description": "M", "color": 0x2ECC71}],
            })
        );
    }

    #[test]
    fn long_texts_are_cut_to_discords_limits() {
        let (t, m, c) = ("t".repeat(300), "m".repeat(5000), "c".repeat(2100));
        let d = discord(&format!(
            "webhook_url: http://127.0.0.1:1/x\n    title: {t}\n    message: {m}\n    content: {c}\n"
        ));
        let v = render(&d, "firing").unwrap();
        let len = |v: &serde_json::Value| v.as_str().unwrap().chars().count();
        assert_eq!(len(&v["embeds"][0]["title"]), 256);
        assert_eq!(len(&v["embeds"][0]["description"]), 4096);
        assert_eq!(len(&v["content"]), 2000);
        assert!(v["content"].as_str().unwrap().ends_with("c…"));
    }

    #[test]
    fn bad_avatar_urls_are_dropped() {
        assert!(go_parses_url("http://x.example/a%20b.png"));
        assert!(go_parses_url("relative/path"));
        assert!(!go_parses_url("http://x.example/%zz"));
        assert!(!go_parses_url("://x"));
        assert!(!go_parses_url("http://x.example/\n"));
        let d = discord("webhook_url: http://127.0.0.1:1/x\n    avatar_url: 'http://x/%zz'\n");
        assert!(render(&d, "firing").unwrap().get("avatar_url").is_none());
    }
}
