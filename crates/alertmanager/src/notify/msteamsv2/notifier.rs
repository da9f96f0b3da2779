//! The Microsoft Teams workflow notifier: one Adaptive Card (a heading coloured by status
//! and the text) in a `message` POSTed to a Power Automate workflow URL, as upstream.

use std::sync::Arc;

use serde::Serialize;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use super::config::MsTeamsV2Config;
use crate::notify::{
    gojson, notification_data, retrier, Deliver, NotifyContext, NotifyError, Render,
};
use crate::types::Alert;

/// Adaptive Card colour names upstream gives the heading.
const COLOR_FIRING: &str = "Attention";
const COLOR_RESOLVED: &str = "Good";

#[derive(Serialize)]
struct Message<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    attachments: [Attachment<'a>; 1],
}

#[derive(Serialize)]
struct Attachment<'a> {
    #[serde(rename = "contentType")]
    content_type: &'static str,
    /// Always `null`: the card is inline.
    #[serde(rename = "contentUrl")]
    content_url: Option<&'static str>,
    content: Card<'a>,
}

#[derive(Serialize)]
struct Card<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    version: &'static str,
    body: [TextBlock<'a>; 2],
    msteams: Width,
}

#[derive(Serialize)]
struct TextBlock<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    weight: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    size: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    wrap: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    style: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    color: &'static str,
}

#[derive(Serialize)]
struct Width {
    width: &'static str,
}

pub struct MsTeamsV2 {
    conf: MsTeamsV2Config,
    client: reqwest::Client,
    templates: Arc<NotificationTemplates>,
}

impl MsTeamsV2 {
    pub fn new(
        conf: MsTeamsV2Config,
        templates: Arc<NotificationTemplates>,
    ) -> Result<MsTeamsV2, String> {
        let client = bongsu_httpclient::client(&conf.http_config, true)?;
        Ok(MsTeamsV2 {
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

    /// The JSON body for a notification of `alerts`.
    fn payload(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<Vec<u8>, NotifyError> {
        let data = notification_data(ctx, alerts);
        let render = Render::new(&self.templates, &data);
        let title = render.text("title", &self.conf.title)?;
        let text = render.text("text", &self.conf.text)?;
        let color = if data.status == "firing" {
            COLOR_FIRING
        } else {
            COLOR_RESOLVED
        };
        let msg = Message {
            kind: "message",
            attachments: [Attachment {
                content_type: "application/vnd.microsoft.card.adaptive",
                content_url: None,
                content: Card {
                    schema: "http://adaptivecards.io/schemas/adaptive-card.json",
                    kind: "AdaptiveCard",
                    version: "1.2",
                    body: [
                        TextBlock {
                            kind: "TextBlock",
                            text: &title,
                            weight: "Bolder",
                            size: "Medium",
                            wrap: true,
                            style: "heading",
                            color,
                        },
                        TextBlock {
                            kind: "TextBlock",
                            text: &text,
                            weight: "",
                            size: "",
                            wrap: true,
                            style: "",
                            color: "",
                        },
                    ],
                    msteams: Width { width: "full" },
                },
            }],
        };
        gojson::body(&msg)
    }
}

impl Deliver for MsTeamsV2 {
    async fn deliver(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let body = self.payload(ctx, alerts)?;
        let url = self.url()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::test_support::{alert, ctx, entry, templates};

    fn notifier(extra: &str) -> MsTeamsV2 {
        let conf = entry(
            "{}",
            &format!("webhook_url: http://teams.example/hook\n    {extra}"),
        );
        MsTeamsV2::new(conf, templates()).unwrap()
    }

    #[test]
    fn adaptive_card_bytes() {
        let n = notifier("title: 'T <{{ .Status }}>'\n    text: 'x & y'");
        let firing = n.payload(&ctx(), &[alert("A", None)]).unwrap();
        assert_eq!(
            String::from_utf8(firing).unwrap(),
            "{\"type\":\"message\",\"attachments\":[{\"contentType\":\"application/vnd.microsoft.card.adaptive\",\
             \"contentUrl\":null,\"content\":{\"$schema\":\"http://adaptivecards.io/schemas/adaptive-card.json\",\
             \"type\":\"AdaptiveCard\",\"version\":\"1.2\",\"body\":[{\"type\":\"TextBlock\",\
             \"text\":\"T \\u003cfiring\\u003e\",\"weight\":\"Bolder\",\"size\":\"Medium\",\"wrap\":true,\
             \"style\":\"heading\",\"color\":\"Attention\"},{\"type\":\"TextBlock\",\"text\":\"x \\u0026 y\",\
             \"wrap\":true}],\"msteams\":{\"width\":\"full\"}}}]}\n"
        );
        let ended = Some("2026-01-01T00:30:00Z".parse().unwrap());
        let resolved = n.payload(&ctx(), &[alert("A", ended)]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&resolved).unwrap();
        let heading = &v["attachments"][0]["content"]["body"][0];
        assert_eq!(heading["color"], "Good");
        assert_eq!(heading["text"], "T <resolved>");
    }

    #[test]
    fn default_templates_render() {
        let n = notifier("");
        let body = n.payload(&ctx(), &[alert("A", None)]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let title = v["attachments"][0]["content"]["body"][0]["text"]
            .as_str()
            .unwrap();
        assert!(title.contains("FIRING:1"), "{title}");
    }

    #[test]
    fn bad_template_fails_without_retry() {
        let n = notifier(r#"text: '{{ template "nope" . }}'"#);
        assert!(!n.payload(&ctx(), &[alert("A", None)]).unwrap_err().retry);
    }
}
