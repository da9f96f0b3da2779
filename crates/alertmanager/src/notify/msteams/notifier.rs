//! The Microsoft Teams notifier: an Office 365 connector `MessageCard` POSTed to an
//! incoming-webhook URL, with upstream's fields, colours and answer handling.

use std::sync::Arc;

use serde::Serialize;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use super::config::MsTeamsConfig;
use crate::notify::{
    gojson, notification_data, retrier, Deliver, NotifyContext, NotifyError, Render,
};
use crate::types::Alert;

/// The card's colour while any alert fires.
const COLOR_FIRING: &str = "8C1A1A";
/// The card's colour when every alert is resolved.
const COLOR_RESOLVED: &str = "2DC72D";

/// The payload. Upstream names the type field `type` (not the card reference's `@type`);
/// Teams accepts both, and receivers written against Alertmanager expect upstream's.
#[derive(Serialize)]
struct MessageCard<'a> {
    #[serde(rename = "@context")]
    context: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    summary: &'a str,
    text: &'a str,
    #[serde(rename = "themeColor")]
    theme_color: &'static str,
}

pub struct MsTeams {
    conf: MsTeamsConfig,
    client: reqwest::Client,
    templates: Arc<NotificationTemplates>,
}

impl MsTeams {
    pub fn new(
        conf: MsTeamsConfig,
        templates: Arc<NotificationTemplates>,
    ) -> Result<MsTeams, String> {
        let client = bongsu_httpclient::client(&conf.http_config, true)?;
        Ok(MsTeams {
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
        let summary = render.text("summary", &self.conf.summary)?;
        let card = MessageCard {
            context: "http://schema.org/extensions",
            kind: "MessageCard",
            title: &title,
            summary: &summary,
            text: &text,
            theme_color: if data.status == "firing" {
                COLOR_FIRING
            } else {
                COLOR_RESOLVED
            },
        };
        gojson::encode(&card).map_err(|e| NotifyError::permanent(e.to_string()))
    }
}

impl Deliver for MsTeams {
    async fn deliver(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let body = self.payload(ctx, alerts)?;
        let url = self.url()?;
        // The URL carries the connector's credentials: errors never show it.
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

    fn notifier(extra: &str) -> MsTeams {
        let conf = entry(
            "{}",
            &format!("webhook_url: http://teams.example/hook\n    {extra}"),
        );
        MsTeams::new(conf, templates()).unwrap()
    }

    #[test]
    fn card_fields_and_colours() {
        let n = notifier(
            "title: 'T <{{ .Status }}>'\n    summary: 'S {{ len .Alerts }}'\n    text: 'x & y'",
        );
        let firing = n.payload(&ctx(), &[alert("A", None)]).unwrap();
        assert_eq!(
            String::from_utf8(firing).unwrap(),
            "{\"@context\":\"http://schema.org/extensions\",\"type\":\"MessageCard\",\
             \"title\":\"T \\u003cfiring\\u003e\",\"summary\":\"S 1\",\"text\":\"x \\u0026 y\",\
             \"themeColor\":\"8C1A1A\"}\n"
        );
        let ended = Some("2026-01-01T00:30:00Z".parse().unwrap());
        let resolved = n.payload(&ctx(), &[alert("A", ended)]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&resolved).unwrap();
        assert_eq!(v["themeColor"], "2DC72D");
        assert_eq!(v["title"], "T <resolved>");
    }

    #[test]
    fn bad_template_fails_without_retry() {
        let n = notifier(r#"text: '{{ template "nope" . }}'"#);
        let e = n.payload(&ctx(), &[alert("A", None)]).unwrap_err();
        assert!(!e.retry);
    }
}
