//! The incident.io notifier: the webhook-style JSON payload (version `1`, `max_alerts`
//! truncation; cut to its first alert when over incident.io's 512 KiB limit) POSTed to the
//! alert source URL with the alert source token as a `Bearer` credential. 429 and 5xx are
//! retried; error answers are summarised from their JSON `message`/`error`/`errors`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use bongsu_gotmpl::alertmanager::{Data, NotificationTemplates};
use bongsu_httpclient::{read_secret_file, Authorization, HttpClientConfig, Secret};

use super::config::IncidentioConfig;
use crate::notify::retrier::{check_status, reason_code, send, Call};
use crate::notify::{gojson, notification_data, DataJson, Deliver, NotifyContext, NotifyError};
use crate::types::Alert;

/// incident.io refuses larger payloads.
const MAX_PAYLOAD_BYTES: usize = 512 * 1024;

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

#[derive(Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<String>,
    #[serde(default)]
    error: String,
}

pub struct Incidentio {
    conf: IncidentioConfig,
    client: reqwest::Client,
}

fn encode(data: &Data, group_key: &str, truncated: u64) -> Result<Vec<u8>, NotifyError> {
    gojson::encode(&Message {
        data: DataJson(data),
        version: "1",
        group_key,
        truncated_alerts: truncated,
    })
    .map_err(|e| NotifyError::permanent(format!("failed to encode incident.io message: {e}")))
}

/// The body of a notification of `data`: with only the first alert when too large (the
/// other fields, computed from all alerts, stay).
fn payload(data: &Data, group_key: &str, truncated: u64) -> Result<Vec<u8>, NotifyError> {
    let body = encode(data, group_key, truncated)?;
    if body.len() <= MAX_PAYLOAD_BYTES {
        return Ok(body);
    }
    let mut first = data.clone();
    first.alerts.truncate(1);
    let cut = encode(&first, group_key, truncated)?;
    if cut.len() <= MAX_PAYLOAD_BYTES {
        tracing::warn!(
            original_size = body.len(),
            final_size = cut.len(),
            max_size = MAX_PAYLOAD_BYTES,
            "Truncated alert content due to incident.io payload size limit"
        );
    } else {
        tracing::error!(original_size = body.len(), final_size = cut.len(), max_size = MAX_PAYLOAD_BYTES,
            "Truncated alert content due to incident.io payload size limit, but still exceeds limit");
    }
    Ok(cut)
}

/// Upstream's summary of an error answer: its `message`, `error` and `errors` joined by
/// `: `; nothing when the answer is not such JSON.
fn error_details(body: &str) -> String {
    let Ok(a) = serde_json::from_str::<ErrorAnswer>(body) else {
        return String::new();
    };
    let mut parts = Vec::new();
    if !a.message.is_empty() {
        parts.push(a.message);
    }
    if !a.error.is_empty() {
        parts.push(a.error);
    }
    if !a.errors.is_empty() {
        parts.push(a.errors.join(", "));
    }
    parts.join(": ")
}

impl Incidentio {
    pub fn new(
        conf: IncidentioConfig,
        _templates: Arc<NotificationTemplates>,
    ) -> Result<Incidentio, String> {
        let client = bongsu_httpclient::client(&conf.http_config, true)?;
        Ok(Incidentio { conf, client })
    }

    /// The receiver's `http_config`, with the alert source token (when given) as its
    /// `Bearer` authorization.
    fn http_config(&self) -> Result<HttpClientConfig, NotifyError> {
        let mut http = self.conf.http_config.clone();
        let token = match &self.conf.alert_source_token_file {
            Some(f) => read_secret_file(f)
                .map_err(|e| {
                    NotifyError::permanent(format!("failed to read alert_source_token_file: {e}"))
                })?
                .expose()
                .trim()
                .to_string(),
            None => self.conf.alert_source_token.expose().to_string(),
        };
        if !token.is_empty() {
            http.authorization = Some(Authorization {
                kind: "Bearer".into(),
                credentials: Secret::new(token),
                credentials_file: None,
            });
        }
        Ok(http)
    }

    fn url(&self) -> Result<String, NotifyError> {
        match (&self.conf.url, &self.conf.url_file) {
            (Some(u), _) => Ok(u.as_str().to_string()),
            (None, Some(f)) => read_secret_file(f)
                .map(|s| s.expose().trim().to_string())
                .map_err(|e| NotifyError::permanent(format!("read url_file: {e}"))),
            (None, None) => Err(NotifyError::permanent("no incident.io URL")),
        }
    }
}

impl Deliver for Incidentio {
    async fn deliver(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let max = usize::try_from(self.conf.max_alerts).unwrap_or(usize::MAX);
        let (kept, truncated) = if max > 0 && alerts.len() > max {
            (&alerts[..max], (alerts.len() - max) as u64)
        } else {
            (alerts, 0)
        };
        let data = notification_data(ctx, kept);
        let body = payload(&data, &ctx.group_key, truncated)?;
        let url = self.url()?;
        let http = self.http_config()?;
        let call = Call {
            method: reqwest::Method::POST,
            url: &url,
            content_type: "application/json",
            headers: Vec::new(),
            body,
            timeout: self.conf.timeout,
        };
        let reply = send(&self.client, &http, call).await?;
        check_status(
            reply.status,
            &[429],
            &error_details(&reply.body),
            reason_code(reply.status),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::test_support::{alert, ctx};

    #[test]
    fn payload_is_the_webhook_shape_with_version_1() {
        let data = notification_data(&ctx(), &[alert("A", None)]);
        let body = String::from_utf8(payload(&data, "{}:{}", 2).unwrap()).unwrap();
        assert!(
            body.starts_with("{\"receiver\":\"t\",\"status\":\"firing\",\"alerts\":[{"),
            "{body}"
        );
        assert!(
            body.ends_with("\"externalURL\":\"http://am\",\"version\":\"1\",\"groupKey\":\"{}:{}\",\"truncatedAlerts\":2}\n"),
            "{body}"
        );
    }

    #[test]
    fn oversized_payload_keeps_the_first_alert() {
        let mut big = alert("A", None);
        big.annotations
            .insert("description".into(), "x".repeat(MAX_PAYLOAD_BYTES));
        let alerts = [alert("B", None), big];
        let data = notification_data(&ctx(), &alerts);
        let body: serde_json::Value =
            serde_json::from_slice(&payload(&data, "k", 0).unwrap()).unwrap();
        assert_eq!(body["alerts"].as_array().unwrap().len(), 1);
        assert_eq!(body["alerts"][0]["labels"]["alertname"], "B");
    }

    #[test]
    fn error_answers_are_summarised() {
        assert_eq!(
            error_details(r#"{"message":"bad","error":"invalid","errors":["a","b"]}"#),
            "bad: invalid: a, b"
        );
        assert_eq!(error_details("<html>"), "");
        assert_eq!(error_details("{}"), "");
    }
}
