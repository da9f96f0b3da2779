//! The PagerDuty notifier: one event per notification to the Events API v2 (`routing_key`,
//! to the configured URL) or v1 (`service_key`), triggered while any alert fires and resolved
//! when all are, deduplicated by the hashed group key, as upstream builds them.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value as Json};

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::read_secret_file;

use super::config::PagerdutyConfig;
use crate::notify::gojson;
use crate::notify::retrier::{self, Call};
use crate::notify::{notification_data, Deliver, NotifyContext, NotifyError, Render};
use crate::types::Alert;

/// Upstream's fixed Events API v1 endpoint.
const V1_URL: &str = "https://events.pagerduty.com/generic/2010-04-15/create_event.json";
/// PagerDuty refuses larger events; custom details are dropped to fit.
const MAX_EVENT_SIZE: usize = 512_000;
const MAX_V1_DESCRIPTION_RUNES: usize = 1024;
const MAX_V2_SUMMARY_RUNES: usize = 1024;
const TOO_LARGE: &str =
    "Custom details have been removed because the original event exceeds the maximum size of 512kB";

/// The event, with upstream's field order and omissions (v1 carries `event_action: ""` and
/// `payload: null`, as upstream's shared struct does).
#[derive(Serialize)]
struct Message {
    #[serde(skip_serializing_if = "String::is_empty")]
    routing_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    service_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    dedup_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    incident_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    event_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    event_action: String,
    payload: Option<Payload>,
    #[serde(skip_serializing_if = "String::is_empty")]
    client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    client_url: String,
    #[serde(skip_serializing_if = "Map::is_empty")]
    details: Map<String, Json>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<Image>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
}

#[derive(Serialize)]
struct Payload {
    summary: String,
    source: String,
    severity: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    component: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    group: String,
    #[serde(skip_serializing_if = "Map::is_empty")]
    custom_details: Map<String, Json>,
}

#[derive(Serialize)]
struct Image {
    src: String,
    alt: String,
    href: String,
}

#[derive(Serialize)]
struct Link {
    href: String,
    text: String,
}

pub struct Pagerduty {
    conf: PagerdutyConfig,
    client: reqwest::Client,
    templates: Arc<NotificationTemplates>,
    v1_url: String,
}

impl Pagerduty {
    pub fn new(
        conf: PagerdutyConfig,
        templates: Arc<NotificationTemplates>,
    ) -> Result<Pagerduty, String> {
        let client = bongsu_httpclient::client(&conf.http_config, true)?;
        Ok(Pagerduty {
            conf,
            client,
            templates,
            v1_url: V1_URL.to_string(),
        })
    }

    /// The event for `alerts`: its body and whether it goes to the v1 API.
    fn event(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<Vec<u8>, NotifyError> {
        let data = notification_data(ctx, alerts);
        let render = Render::new(&self.templates, &data);
        let resolved = alerts.iter().all(|a| a.resolved_at(ctx.now));
        let action = if resolved { "resolve" } else { "trigger" };
        let details = render_details(&render, &self.conf.details)
            .map_err(|e| NotifyError::permanent(format!("failed to render details: {e}")))?;
        let key = retrier::key_hash(&ctx.group_key);
        let mut msg = if self.conf.uses_v1() {
            self.v1(&render, action, key, details)?
        } else {
            self.v2(&render, action, key, details)?
        };
        let body = gojson::body(&msg)?;
        if body.len() <= MAX_EVENT_SIZE {
            return Ok(body);
        }
        tracing::warn!(
            size = body.len(),
            limit = MAX_EVENT_SIZE,
            "truncated PagerDuty details: event too large"
        );
        let error = Map::from_iter([("error".to_string(), Json::from(TOO_LARGE))]);
        match &mut msg.payload {
            Some(p) => p.custom_details = error,
            None => msg.details = error,
        }
        gojson::body(&msg)
    }

    fn v1(
        &self,
        render: &Render<'_>,
        action: &str,
        key: String,
        details: Map<String, Json>,
    ) -> Result<Message, NotifyError> {
        let failed = |e: NotifyError| {
            NotifyError::permanent(format!(
                "failed to template PagerDuty v1 message: {}",
                e.message
            ))
        };
        let tmpl = |what: &str, text: &str| render.text(what, text).map_err(failed);
        let (description, _) = retrier::truncate_runes(
            tmpl("description", &self.conf.description)?,
            MAX_V1_DESCRIPTION_RUNES,
        );
        let service_key = match &self.conf.service_key_file {
            Some(f) if self.conf.service_key.expose().is_empty() => read_secret_file(f)
                .map_err(|e| {
                    NotifyError::permanent(format!("failed to read service key from file: {e}"))
                })?
                .expose()
                .to_string(),
            _ => self.conf.service_key.expose().to_string(),
        };
        let trigger = action == "trigger";
        let msg = Message {
            routing_key: String::new(),
            service_key: tmpl("service_key", &service_key)?,
            dedup_key: String::new(),
            incident_key: key,
            event_type: action.to_string(),
            description,
            event_action: String::new(),
            payload: None,
            client: if trigger {
                tmpl("client", &self.conf.client)?
            } else {
                String::new()
            },
            client_url: if trigger {
                tmpl("client_url", &self.conf.client_url)?
            } else {
                String::new()
            },
            details,
            images: Vec::new(),
            links: Vec::new(),
        };
        if msg.service_key.is_empty() {
            return Err(NotifyError::permanent("service key cannot be empty"));
        }
        Ok(msg)
    }

    fn v2(
        &self,
        render: &Render<'_>,
        action: &str,
        key: String,
        details: Map<String, Json>,
    ) -> Result<Message, NotifyError> {
        let failed = |e: NotifyError| {
            NotifyError::permanent(format!(
                "failed to template PagerDuty v2 message: {}",
                e.message
            ))
        };
        let tmpl = |what: &str, text: &str| render.text(what, text).map_err(failed);
        let c = &self.conf;
        let (summary, _) =
            retrier::truncate_runes(tmpl("description", &c.description)?, MAX_V2_SUMMARY_RUNES);
        let routing_key = match &c.routing_key_file {
            Some(f) if c.routing_key.expose().is_empty() => read_secret_file(f)
                .map_err(|e| {
                    NotifyError::permanent(format!("failed to read routing key from file: {e}"))
                })?
                .expose()
                .to_string(),
            _ => c.routing_key.expose().to_string(),
        };
        let severity = if c.severity.is_empty() {
            "error"
        } else {
            &c.severity
        };
        let mut images = Vec::new();
        for i in &c.images {
            let image = Image {
                src: tmpl("image src", &i.src)?,
                alt: tmpl("image alt", &i.alt)?,
                href: tmpl("image href", &i.href)?,
            };
            if !image.src.is_empty() {
                images.push(image);
            }
        }
        let mut links = Vec::new();
        for l in &c.links {
            let link = Link {
                href: tmpl("link href", &l.href)?,
                text: tmpl("link text", &l.text)?,
            };
            if !link.href.is_empty() {
                links.push(link);
            }
        }
        let msg = Message {
            routing_key: tmpl("routing_key", &routing_key)?,
            service_key: String::new(),
            dedup_key: key,
            incident_key: String::new(),
            event_type: String::new(),
            description: String::new(),
            event_action: action.to_string(),
            payload: Some(Payload {
                summary,
                source: tmpl("source", &c.source)?,
                severity: tmpl("severity", severity)?,
                class: tmpl("class", &c.class)?,
                component: tmpl("component", &c.component)?,
                group: tmpl("group", &c.group)?,
                custom_details: details,
            }),
            client: tmpl("client", &c.client)?,
            client_url: tmpl("client_url", &c.client_url)?,
            details: Map::new(),
            images,
            links,
        };
        if msg.routing_key.is_empty() {
            return Err(NotifyError::permanent("routing key cannot be empty"));
        }
        Ok(msg)
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let body = self.event(ctx, alerts)?;
        let v1 = self.conf.uses_v1();
        let url = match &self.conf.url {
            _ if v1 => &self.v1_url,
            Some(u) => u.as_str(),
            None => return Err(NotifyError::permanent("no global PagerDuty URL set")),
        };
        let call = Call {
            method: reqwest::Method::POST,
            url,
            content_type: "application/json",
            headers: Vec::new(),
            body,
            timeout: self.conf.timeout,
        };
        let reply = retrier::send(&self.client, &self.conf.http_config, call)
            .await
            .map_err(|e| {
                let api = if v1 { "PagerDuty v1" } else { "PagerDuty" };
                NotifyError::transient(format!("failed to post message to {api}: {}", e.message))
            })?;
        // Rate limiting: 403 on v1, 429 on v2.
        let (retry_codes, reason): (&[u16], _) = if v1 {
            (&[403], "other")
        } else {
            (&[429], retrier::reason_code(reply.status))
        };
        retrier::check_status(
            reply.status,
            retry_codes,
            &error_details(reply.status, &reply.body),
            reason,
        )
    }
}

impl Deliver for Pagerduty {
    async fn deliver(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        self.send(ctx, alerts).await
    }
}

/// PagerDuty's explanation of a 400 (`message: error, error`); nothing for other statuses.
fn error_details(status: u16, body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Refusal {
        #[serde(default)]
        message: String,
        #[serde(default)]
        errors: Vec<String>,
    }
    if status != 400 {
        return String::new();
    }
    match serde_json::from_str::<Refusal>(body) {
        Ok(r) => format!("{}: {}", r.message, r.errors.join(",")),
        Err(_) => String::new(),
    }
}

/// `details` with every string (keys too) rendered, as upstream's `DeepCopyWithTemplate`.
fn render_details(
    render: &Render<'_>,
    details: &std::collections::BTreeMap<String, serde_yaml_ng::Value>,
) -> Result<Map<String, Json>, String> {
    let mut out = Map::new();
    for (k, v) in details {
        out.insert(k.clone(), deep_render(render, v)?);
    }
    Ok(out)
}

fn deep_render(render: &Render<'_>, v: &serde_yaml_ng::Value) -> Result<Json, String> {
    use serde_yaml_ng::Value as Y;
    Ok(match v {
        Y::String(s) => {
            let text = render.text("details", s).map_err(|e| e.message)?;
            structured(&text)?
        }
        Y::Sequence(items) => Json::Array(
            items
                .iter()
                .map(|i| deep_render(render, i))
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let Y::String(k) = k else { continue };
                let k = render.text("details", k).map_err(|e| e.message)?;
                out.insert(k, deep_render(render, v)?);
            }
            Json::Object(out)
        }
        Y::Tagged(t) => deep_render(render, &t.value)?,
        other => yaml_to_json(other)?,
    })
}

/// A rendered detail as upstream keeps it: YAML that decodes to something other than a
/// string (a number, a list, a map, `null` — the empty text too) becomes that value;
/// anything else stays the text.
pub(super) fn structured(text: &str) -> Result<Json, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Json::Null);
    }
    // YAML 1.1 booleans, which Go's yaml.v2 decodes and YAML 1.2 parsers leave as strings.
    match t {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => return Ok(Json::Bool(true)),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => return Ok(Json::Bool(false)),
        _ => {}
    }
    match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text) {
        Err(_) | Ok(serde_yaml_ng::Value::String(_)) => Ok(Json::String(text.to_string())),
        Ok(v) => yaml_to_json(&v),
    }
}

fn yaml_to_json(v: &serde_yaml_ng::Value) -> Result<Json, String> {
    use serde_yaml_ng::Value as Y;
    Ok(match v {
        Y::Null => Json::Null,
        Y::Bool(b) => Json::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if !f.is_finite() {
                    return Err(format!("json: unsupported value: {f}"));
                }
                // Go writes an integral float64 without a fraction.
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    Json::from(f as i64)
                } else {
                    serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
                }
            }
        }
        Y::String(s) => Json::String(s.clone()),
        Y::Sequence(items) => {
            Json::Array(items.iter().map(yaml_to_json).collect::<Result<_, _>>()?)
        }
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                if let Y::String(k) = k {
                    out.insert(k.clone(), yaml_to_json(v)?);
                }
            }
            Json::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(&t.value)?,
    })
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
