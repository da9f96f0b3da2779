//! The webhook notifier: Alertmanager's version 4 JSON payload POSTed to a URL.

use std::time::Duration;

use serde::Serialize;

use super::{BoxFuture, Data, Notifier, NotifyContext, NotifyError};
use crate::alertmanager::config::WebhookConfig;
use crate::alertmanager::types::Alert;
use crate::config::read_secret_file;

/// Most bytes of a failed response's body quoted in the error.
const ERROR_BODY_LIMIT: usize = 1024;

/// The payload.
#[derive(Serialize)]
struct Message<'a> {
    #[serde(flatten)]
    data: &'a Data,
    version: &'static str,
    #[serde(rename = "groupKey")]
    group_key: &'a str,
    #[serde(rename = "truncatedAlerts")]
    truncated_alerts: u64,
}

pub struct Webhook {
    conf: WebhookConfig,
    client: reqwest::Client,
}

impl Webhook {
    pub fn new(conf: WebhookConfig) -> Result<Webhook, String> {
        let client = crate::scrape::from_config::client(&conf.http_config, true)?;
        Ok(Webhook { conf, client })
    }

    fn url(&self) -> Result<String, NotifyError> {
        let url = match &self.conf.url_file {
            Some(f) => read_secret_file(f)
                .map_err(|e| NotifyError::permanent(format!("failed to read url_file: {e}")))?
                .expose()
                .trim()
                .to_string(),
            None => self.conf.url.expose().to_string(),
        };
        if url.contains("{{") {
            return Err(NotifyError::permanent(
                "templated webhook URLs are not supported yet",
            ));
        }
        Ok(url)
    }

    /// The JSON body: at most `max_alerts` alerts, the rest counted as truncated.
    pub fn payload(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Vec<u8> {
        let max = self.conf.max_alerts as usize;
        let (kept, truncated) = if max > 0 && alerts.len() > max {
            (&alerts[..max], (alerts.len() - max) as u64)
        } else {
            (alerts, 0)
        };
        let data = Data::new(ctx, kept);
        let msg = Message {
            data: &data,
            version: "4",
            group_key: &ctx.group_key,
            truncated_alerts: truncated,
        };
        serde_json::to_vec(&msg).unwrap_or_default()
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        if self.conf.payload.is_some() {
            return Err(NotifyError::permanent(
                "custom webhook payloads are not supported yet",
            ));
        }
        let url = self.url()?;
        let mut req = self
            .client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                reqwest::header::USER_AGENT,
                concat!("bongsu/", env!("CARGO_PKG_VERSION")),
            )
            .body(self.payload(ctx, alerts));
        if self.conf.timeout > Duration::ZERO {
            req = req.timeout(self.conf.timeout);
        }
        let req = crate::scrape::fetch::with_auth(&self.conf.http_config, req)
            .map_err(|e| NotifyError::permanent(e.to_string()))?;
        let resp = req
            .send()
            .await
            .map_err(|e| NotifyError::transient(e.without_url().to_string()))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = resp.bytes().await.unwrap_or_default();
        let body = String::from_utf8_lossy(&body[..body.len().min(ERROR_BODY_LIMIT)]);
        let message = format!(
            "unexpected status code {}: {}",
            status.as_u16(),
            body.trim()
        );
        Err(NotifyError {
            retry: status.is_server_error(),
            message,
            reason: if status.is_server_error() {
                "serverError"
            } else {
                "clientError"
            },
        })
    }
}

impl Notifier for Webhook {
    fn notify<'a>(
        &'a self,
        ctx: &'a NotifyContext,
        alerts: &'a [Alert],
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.send(ctx, alerts))
    }
}
