//! The webhook notifier: Alertmanager's version 4 JSON payload POSTed to a URL.

use std::sync::Arc;

use serde::Serialize;

use bongsu_gotmpl::alertmanager::{Data, NotificationTemplates};
use bongsu_httpclient::read_secret_file;

use super::config::WebhookConfig;
use crate::notify::retrier;
use crate::notify::{
    gojson, notification_data, DataJson, Deliver, NotifyContext, NotifyError, Render,
};
use crate::types::Alert;

/// The payload.
#[derive(Serialize)]
struct Message<'a> {
    #[serde(flatten)]
    data: DataJson<'a>,
    version: &'static str,
    #[serde(rename = "groupKey")]
    group_key: &'a str,
    #[serde(rename = "truncatedAlerts")]
    truncated_alerts: u64,
}

pub struct Webhook {
    conf: WebhookConfig,
    client: reqwest::Client,
    templates: Arc<NotificationTemplates>,
}

impl Webhook {
    pub fn new(
        conf: WebhookConfig,
        templates: Arc<NotificationTemplates>,
    ) -> Result<Webhook, String> {
        let client = bongsu_httpclient::client(&conf.http_config, true)?;
        Ok(Webhook {
            conf,
            client,
            templates,
        })
    }

    /// The URL, rendered as a template (both `url` and the contents of `url_file` may be
    /// templates, as upstream).
    fn url(&self, render: &Render<'_>) -> Result<String, NotifyError> {
        let raw = match &self.conf.url_file {
            Some(f) => read_secret_file(f)
                .map_err(|e| NotifyError::permanent(format!("failed to read url_file: {e}")))?
                .expose()
                .trim()
                .to_string(),
            None => self.conf.url.expose().to_string(),
        };
        if !raw.contains("{{") {
            return Ok(raw);
        }
        let url = render.text("webhook URL", &raw).map_err(|e| {
            NotifyError::permanent(format!("failed to template webhook URL: {}", e.message))
        })?;
        if url.is_empty() {
            return Err(NotifyError::permanent(
                "webhook URL is empty after templating",
            ));
        }
        Ok(url)
    }

    /// The alerts a payload carries: at most `max_alerts`, and how many were left out.
    fn truncate<'b>(&self, alerts: &'b [Alert]) -> (&'b [Alert], u64) {
        let max = self.conf.max_alerts as usize;
        if max > 0 && alerts.len() > max {
            (&alerts[..max], (alerts.len() - max) as u64)
        } else {
            (alerts, 0)
        }
    }

    /// The JSON body of a notification whose data is `data`.
    fn payload(&self, ctx: &NotifyContext, data: &Data, truncated: u64) -> Vec<u8> {
        let msg = Message {
            data: DataJson(data),
            version: "4",
            group_key: &ctx.group_key,
            truncated_alerts: truncated,
        };
        gojson::encode(&msg).unwrap_or_default()
    }
}

impl Deliver for Webhook {
    async fn deliver(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        if self.conf.payload.is_some() {
            return Err(NotifyError::permanent(
                "custom webhook payloads are not supported yet",
            ));
        }
        let (kept, truncated) = self.truncate(alerts);
        let data = notification_data(ctx, kept);
        let url = self.url(&Render::new(&self.templates, &data))?;
        retrier::deliver_json(
            &self.client,
            &url,
            self.payload(ctx, &data, truncated),
            &self.conf.http_config,
            self.conf.timeout,
        )
        .await
    }
}
