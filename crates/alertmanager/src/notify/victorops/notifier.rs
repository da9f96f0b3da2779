//! The VictorOps notifier: one event per notification POSTed to `<api_url><key>/<routing
//! key>`, identified by the hashed group key, `RECOVERY` when every alert is resolved, as
//! upstream builds it.

use std::collections::BTreeMap;
use std::sync::Arc;

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::read_secret_file;

use super::config::VictoropsConfig;
use crate::notify::gojson;
use crate::notify::retrier::{self, Call};
use crate::notify::{notification_data, Deliver, NotifyContext, NotifyError, Render};
use crate::types::Alert;

/// VictorOps' limit on `state_message`, in characters.
const MAX_STATE_MESSAGE_RUNES: usize = 20_480;

pub struct Victorops {
    conf: VictoropsConfig,
    client: reqwest::Client,
    templates: Arc<NotificationTemplates>,
}

impl Victorops {
    pub fn new(
        conf: VictoropsConfig,
        templates: Arc<NotificationTemplates>,
    ) -> Result<Victorops, String> {
        let client = bongsu_httpclient::client(&conf.http_config, true)?;
        Ok(Victorops {
            conf,
            client,
            templates,
        })
    }

    /// The endpoint URL and the JSON body of one notification.
    pub(super) fn request(
        &self,
        ctx: &NotifyContext,
        alerts: &[Alert],
    ) -> Result<(String, Vec<u8>), NotifyError> {
        let c = &self.conf;
        let data = notification_data(ctx, alerts);
        let render = Render::new(&self.templates, &data);
        let tmpl = |what: &str, text: &str| {
            render
                .text(what, text)
                .map_err(|e| NotifyError::permanent(format!("templating error: {}", e.message)))
        };
        let key = match &c.api_key_file {
            Some(f) if c.api_key.expose().is_empty() => read_secret_file(f)
                .map_err(|e| {
                    NotifyError::permanent(format!("failed to read API key from file: {e}"))
                })?
                .expose()
                .to_string(),
            _ => c.api_key.expose().to_string(),
        };
        let Some(base) = &c.api_url else {
            return Err(NotifyError::permanent("no global VictorOps URL set"));
        };
        let mut url = base.as_url().clone();
        url.set_path(&format!(
            "{}{key}/{}",
            url.path(),
            tmpl("routing_key", &c.routing_key)?
        ));

        let resolved = alerts.iter().all(|a| a.resolved_at(ctx.now));
        let mut message_type = tmpl("message_type", &c.message_type)?;
        if resolved {
            message_type = "RECOVERY".to_string();
        } else if !["INFO", "WARNING", "CRITICAL"].contains(&message_type.as_str()) {
            message_type = "CRITICAL".to_string();
        }
        let (state_message, truncated) = retrier::truncate_runes(
            tmpl("state_message", &c.state_message)?,
            MAX_STATE_MESSAGE_RUNES,
        );
        if truncated {
            tracing::warn!(
                max_runes = MAX_STATE_MESSAGE_RUNES,
                "truncated VictorOps state_message"
            );
        }
        let mut msg = BTreeMap::from([
            ("message_type".to_string(), message_type),
            ("entity_id".to_string(), retrier::key_hash(&ctx.group_key)),
            (
                "entity_display_name".to_string(),
                tmpl("entity_display_name", &c.entity_display_name)?,
            ),
            ("state_message".to_string(), state_message),
            (
                "monitoring_tool".to_string(),
                tmpl("monitoring_tool", &c.monitoring_tool)?,
            ),
        ]);
        for (k, v) in &c.custom_fields {
            msg.insert(k.clone(), tmpl("custom_fields", v)?);
        }
        Ok((url.to_string(), gojson::body(&msg)?))
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let (url, body) = self.request(ctx, alerts)?;
        let call = Call {
            method: reqwest::Method::POST,
            url: &url,
            content_type: "application/json",
            headers: Vec::new(),
            body,
            timeout: std::time::Duration::ZERO,
        };
        let reply = retrier::send(&self.client, &self.conf.http_config, call).await?;
        retrier::check_status(
            reply.status,
            &[],
            reply.body.trim(),
            retrier::reason_code(reply.status),
        )
    }
}

impl Deliver for Victorops {
    async fn deliver(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        self.send(ctx, alerts).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::test_support::paging::{alert, ctx};
    use crate::notify::test_support::{entry, templates};

    fn notifier(receiver: &str) -> Victorops {
        Victorops::new(entry("{}", receiver), templates()).unwrap()
    }

    #[test]
    fn event_url_and_body() {
        let n = notifier(
            "{api_key: vk, api_url: 'http://vo/alert', routing_key: '{{ .CommonLabels.alertname }}-team', message_type: WARNING, entity_display_name: e, state_message: s, monitoring_tool: m, custom_fields: {runbook: 'http://rb/{{ .Receiver }}'}}",
        );
        let key = retrier::key_hash(&ctx().group_key);
        let (url, body) = n.request(&ctx(), &[alert("a", false)]).unwrap();
        assert_eq!(url, "http://vo/alert/vk/Down-team");
        assert_eq!(
            String::from_utf8(body).unwrap(),
            format!(
                "{{\"entity_display_name\":\"e\",\"entity_id\":\"{key}\",\"message_type\":\"WARNING\",\"monitoring_tool\":\"m\",\"runbook\":\"http://rb/pager\",\"state_message\":\"s\"}}\n"
            )
        );
        let (_, body) = n.request(&ctx(), &[alert("a", true)]).unwrap();
        assert!(String::from_utf8(body)
            .unwrap()
            .contains("\"message_type\":\"RECOVERY\""));
    }

    #[test]
    fn unknown_message_type_becomes_critical_and_defaults_render() {
        let n = notifier("{api_key: vk, routing_key: r, message_type: '{{ .Status }}'}");
        let (url, body) = n.request(&ctx(), &[alert("a", false)]).unwrap();
        assert_eq!(
            url,
            "https://alert.victorops.com/integrations/generic/20131114/alert/vk/r"
        );
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["message_type"], "CRITICAL");
        assert_eq!(v["monitoring_tool"], "Alertmanager");
        assert_eq!(v["entity_display_name"], "[FIRING:1] Down (a)");
    }
}
