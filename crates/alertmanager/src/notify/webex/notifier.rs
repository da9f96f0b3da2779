//! The Webex notifier: the rendered message as Markdown (cut to Webex's size limit) and the
//! rendered room ID POSTed to the messages API, authorized by the receiver's `http_config`.

use std::sync::Arc;

use serde::Serialize;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use super::config::WebexConfig;
use crate::notify::retrier::{self, truncate_bytes};
use crate::notify::{gojson, notification_data, Deliver, NotifyContext, NotifyError, Render};
use crate::types::Alert;

/// Webex refuses messages longer than this many bytes.
const MAX_MESSAGE_BYTES: usize = 7439;

#[derive(Serialize)]
struct Message {
    markdown: String,
    #[serde(rename = "roomId", skip_serializing_if = "String::is_empty")]
    room_id: String,
}

pub struct Webex {
    conf: WebexConfig,
    client: reqwest::Client,
    templates: Arc<NotificationTemplates>,
}

impl Webex {
    pub fn new(conf: WebexConfig, templates: Arc<NotificationTemplates>) -> Result<Webex, String> {
        let client = bongsu_httpclient::client(&conf.http_config, true)?;
        Ok(Webex {
            conf,
            client,
            templates,
        })
    }

    fn payload(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<Vec<u8>, NotifyError> {
        let data = notification_data(ctx, alerts);
        let render = Render::new(&self.templates, &data);
        let (markdown, truncated) = truncate_bytes(
            render.text("message", &self.conf.message)?,
            MAX_MESSAGE_BYTES,
        );
        if truncated {
            tracing::debug!(key = %ctx.group_key, max_bytes = MAX_MESSAGE_BYTES, "Truncated message");
        }
        let room_id = render.text("room_id", &self.conf.room_id)?;
        gojson::body(&Message { markdown, room_id })
    }
}

impl Deliver for Webex {
    async fn deliver(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let body = self.payload(ctx, alerts)?;
        let Some(url) = &self.conf.api_url else {
            return Err(NotifyError::permanent("no Webex API URL"));
        };
        retrier::deliver_json(
            &self.client,
            url.as_str(),
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

    fn notifier(extra: &str) -> Webex {
        let conf = entry(
            "{}",
            &format!("room_id: 'room-{{{{ .Receiver }}}}'\n    http_config: {{authorization: {{credentials: tok}}}}\n    {extra}"),
        );
        Webex::new(conf, templates()).unwrap()
    }

    #[test]
    fn markdown_and_room() {
        let n = notifier("message: '**{{ .Status }}** <b>'");
        let body = n.payload(&ctx(), &[alert("A", None)]).unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "{\"markdown\":\"**firing** \\u003cb\\u003e\",\"roomId\":\"room-t\"}\n"
        );
    }

    #[test]
    fn long_message_is_cut_to_the_byte_limit() {
        let n = notifier("message: '{{ range $i := .Alerts }}{{ end }}{{ printf \"%08000d\" 0 }}'");
        let body = n.payload(&ctx(), &[alert("A", None)]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let md = v["markdown"].as_str().unwrap();
        assert_eq!(md.len(), MAX_MESSAGE_BYTES);
        assert!(md.ends_with("0…"));
    }

    #[test]
    fn default_message_renders() {
        let n = notifier("");
        let body = n.payload(&ctx(), &[alert("A", None)]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(!v["markdown"].as_str().unwrap().is_empty());
    }
}
