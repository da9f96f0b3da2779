//! The Opsgenie notifier: creates an alert aliased by the hashed group key while any alert
//! fires (optionally updating its message and description too), and closes it by alias when
//! all are resolved, as upstream's requests to the Alert API v2.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use super::config::OpsgenieConfig;
use crate::notify::gojson;
use crate::notify::retrier::{self, Call};
use crate::notify::{notification_data, Deliver, NotifyContext, NotifyError, Render};
use crate::types::Alert;

/// Opsgenie's limit on an alert's message, in characters.
const MAX_MESSAGE_RUNES: usize = 130;

#[derive(Serialize)]
struct Create {
    alias: String,
    message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    details: BTreeMap<String, String>,
    source: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    responders: Vec<Responder>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    note: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    priority: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    entity: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<String>,
}

#[derive(Serialize, PartialEq, Eq)]
struct Responder {
    #[serde(skip_serializing_if = "String::is_empty")]
    id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize)]
struct Close {
    source: String,
}

#[derive(Serialize)]
struct UpdateMessage<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    message: &'a str,
}

#[derive(Serialize)]
struct UpdateDescription<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
}

/// One API request: method, path below the API URL (with query), body.
#[derive(Debug)]
pub(super) struct Request {
    pub method: reqwest::Method,
    pub path: String,
    pub body: Vec<u8>,
}

pub struct Opsgenie {
    conf: OpsgenieConfig,
    client: reqwest::Client,
    templates: Arc<NotificationTemplates>,
}

/// Upstream's `safeSplit`: the trimmed text split at `sep`, empty parts dropped.
fn split(s: &str, sep: char) -> Vec<String> {
    s.trim()
        .split(sep)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

impl Opsgenie {
    pub fn new(
        conf: OpsgenieConfig,
        templates: Arc<NotificationTemplates>,
    ) -> Result<Opsgenie, String> {
        let client = bongsu_httpclient::client(&conf.http_config, true)?;
        Ok(Opsgenie {
            conf,
            client,
            templates,
        })
    }

    /// The requests of one notification, in order, and the API key to send them with.
    pub(super) fn requests(
        &self,
        ctx: &NotifyContext,
        alerts: &[Alert],
    ) -> Result<(Vec<Request>, String), NotifyError> {
        let data = notification_data(ctx, alerts);
        let render = Render::new(&self.templates, &data);
        let tmpl = |what: &str, text: &str| {
            render
                .text(what, text)
                .map_err(|e| NotifyError::permanent(format!("templating error: {}", e.message)))
        };
        let c = &self.conf;
        let alias = retrier::key_hash(&ctx.group_key);
        let by_alias = |what: &str| format!("v2/alerts/{alias}/{what}?identifierType=alias");
        let mut out = Vec::new();
        if alerts.iter().all(|a| a.resolved_at(ctx.now)) {
            let close = Close {
                source: tmpl("source", &c.source)?,
            };
            out.push(Request {
                method: reqwest::Method::POST,
                path: by_alias("close"),
                body: gojson::body(&close)?,
            });
        } else {
            let mut details = data.common_labels.clone();
            for (k, v) in &c.details {
                details.insert(k.clone(), tmpl("details", v)?);
            }
            let (message, truncated) =
                retrier::truncate_runes(tmpl("message", &c.message)?, MAX_MESSAGE_RUNES);
            if truncated {
                tracing::warn!(max_runes = MAX_MESSAGE_RUNES, "truncated Opsgenie message");
            }
            let mut responders = Vec::new();
            for r in &c.responders {
                let responder = Responder {
                    id: tmpl("responder id", &r.id)?,
                    name: tmpl("responder name", &r.name)?,
                    username: tmpl("responder username", &r.username)?,
                    kind: tmpl("responder type", &r.kind)?,
                };
                // Responders filled from labels may come out empty: skip them.
                if responder.id.is_empty()
                    && responder.name.is_empty()
                    && responder.username.is_empty()
                    && responder.kind.is_empty()
                {
                    continue;
                }
                if responder.kind == "teams" {
                    for team in split(&responder.name, ',') {
                        responders.push(Responder {
                            id: String::new(),
                            name: tmpl("responder name", &team)?,
                            username: String::new(),
                            kind: "team".to_string(),
                        });
                    }
                    continue;
                }
                responders.push(responder);
            }
            let create = Create {
                alias: alias.clone(),
                message,
                description: tmpl("description", &c.description)?,
                details,
                source: tmpl("source", &c.source)?,
                responders,
                tags: split(&tmpl("tags", &c.tags)?, ','),
                note: tmpl("note", &c.note)?,
                priority: tmpl("priority", &c.priority)?,
                entity: tmpl("entity", &c.entity)?,
                actions: split(&tmpl("actions", &c.actions)?, ','),
            };
            out.push(Request {
                method: reqwest::Method::POST,
                path: "v2/alerts".to_string(),
                body: gojson::body(&create)?,
            });
            if c.update_alerts {
                out.push(Request {
                    method: reqwest::Method::PUT,
                    path: by_alias("message"),
                    body: gojson::body(&UpdateMessage {
                        message: &create.message,
                    })?,
                });
                out.push(Request {
                    method: reqwest::Method::PUT,
                    path: by_alias("description"),
                    body: gojson::body(&UpdateDescription {
                        description: &create.description,
                    })?,
                });
            }
        }
        let key = match &c.api_key_file {
            Some(f) if c.api_key.expose().is_empty() => {
                let raw = std::fs::read_to_string(f)
                    .map_err(|e| NotifyError::permanent(format!("read key_file error: {e}")))?;
                tmpl("api_key", &raw)?.trim().to_string()
            }
            _ => tmpl("api_key", c.api_key.expose())?,
        };
        Ok((out, key))
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let (requests, key) = self.requests(ctx, alerts)?;
        let base = match &self.conf.api_url {
            Some(u) => u.as_str(),
            None => return Err(NotifyError::permanent("no global OpsGenie URL set")),
        };
        for r in requests {
            let url = format!("{base}{}", r.path);
            let call = Call {
                method: r.method,
                url: &url,
                content_type: "application/json",
                headers: vec![("authorization", format!("GenieKey {key}"))],
                body: r.body,
                timeout: std::time::Duration::ZERO,
            };
            let reply = retrier::send(&self.client, &self.conf.http_config, call).await?;
            retrier::check_status(
                reply.status,
                &[429],
                reply.body.trim(),
                retrier::reason_code(reply.status),
            )?;
        }
        Ok(())
    }
}

impl Deliver for Opsgenie {
    async fn deliver(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        self.send(ctx, alerts).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::test_support::paging::{alert, ctx};

    fn notifier(yaml: &str) -> Opsgenie {
        let mut conf: OpsgenieConfig = serde_yaml_ng::from_str(yaml).unwrap();
        conf.api_key = bongsu_httpclient::Secret::new("k-{{ .Receiver }}");
        Opsgenie::new(conf, Arc::new(NotificationTemplates::with_defaults())).unwrap()
    }

    fn bodies(reqs: &[Request]) -> Vec<(String, String, String)> {
        reqs.iter()
            .map(|r| {
                (
                    r.method.to_string(),
                    r.path.clone(),
                    String::from_utf8(r.body.clone()).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn create_with_update_then_close() {
        let n = notifier(
            r#"
message: '{{ .CommonLabels.alertname }} & co'
description: d
source: s
details: {instance: overridden, extra: '{{ len .Alerts }}'}
responders:
- {name: 'ops,{{ .CommonLabels.alertname }}, ', type: teams}
- {id: '{{ .CommonLabels.missing }}', type: '{{ .CommonLabels.missing }}'}
- {username: u, type: user}
tags: 'a,b,,c '
note: n
priority: P1
entity: e
actions: x
update_alerts: true
"#,
        );
        let alias = retrier::key_hash(&ctx().group_key);
        let (reqs, key) = n.requests(&ctx(), &[alert("i", false)]).unwrap();
        assert_eq!(key, "k-pager");
        let q = "?identifierType=alias";
        assert_eq!(
            bodies(&reqs),
            vec![
                (
                    "POST".into(),
                    "v2/alerts".into(),
                    format!(
                        concat!(
                            r#"{{"alias":"{alias}","message":"Down \u0026 co","description":"d","#,
                            r#""details":{{"alertname":"Down","extra":"1","instance":"overridden"}},"#,
                            r#""source":"s","responders":[{{"name":"ops","type":"team"}},"#,
                            r#"{{"name":"Down","type":"team"}},"#,
                            r#"{{"username":"u","type":"user"}}],"tags":["a","b","c"],"note":"n","#,
                            r#""priority":"P1","entity":"e","actions":["x"]}}"#,
                            "\n"
                        ),
                        alias = alias
                    )
                ),
                (
                    "PUT".into(),
                    format!("v2/alerts/{alias}/message{q}"),
                    "{\"message\":\"Down \\u0026 co\"}\n".into()
                ),
                (
                    "PUT".into(),
                    format!("v2/alerts/{alias}/description{q}"),
                    "{\"description\":\"d\"}\n".into()
                ),
            ]
        );
        let (reqs, _) = n.requests(&ctx(), &[alert("i", true)]).unwrap();
        assert_eq!(
            bodies(&reqs),
            vec![(
                "POST".into(),
                format!("v2/alerts/{alias}/close{q}"),
                "{\"source\":\"s\"}\n".into()
            )]
        );
    }

    #[test]
    fn defaults_and_message_truncation() {
        let n = notifier("message: '{{ range .Alerts }}0123456789{{ end }}'");
        let alerts: Vec<Alert> = (0..14).map(|i| alert(&i.to_string(), false)).collect();
        let (reqs, _) = n.requests(&ctx(), &alerts).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&reqs[0].body).unwrap();
        let message = v["message"].as_str().unwrap();
        assert_eq!(message.chars().count(), 130);
        assert!(message.ends_with('…'));
        assert_eq!(
            v["source"],
            "http://am.example:9093/#/alerts?receiver=pager"
        );
        assert_eq!(v["details"], serde_json::json!({"alertname": "Down"}));
        assert!(v.get("responders").is_none() && v.get("tags").is_none());
    }
}
