//! `pagerduty_configs`: PagerDuty's Events API v2 (`routing_key`) or v1 (`service_key`), the
//! event's templated fields and their defaults, `details` (any YAML, templated when sent) and
//! the URL inherited from `global`.
//!
//! The entry implements `ReceiverKind`: the registry inherits, prints and builds notifiers
//! through it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::{HttpClientConfig, HttpClientSection, Secret};

use super::notifier::Pagerduty;
use crate::config::common::{fail, file_path, go_duration, http_or_global, Invalid, Url};
use crate::config::marshal::{go_duration_text, http, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

/// Alertmanager's `details` entries, added where the configuration has no entry of that name.
pub const DEFAULT_PAGERDUTY_DETAILS: [(&str, &str); 4] = [
    ("firing", "{{ .Alerts.Firing | toJson }}"),
    ("resolved", "{{ .Alerts.Resolved | toJson }}"),
    ("num_firing", "{{ .Alerts.Firing | len }}"),
    ("num_resolved", "{{ .Alerts.Resolved | len }}"),
];

/// One PagerDuty notifier, resolved against `global`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawPagerduty")]
pub struct PagerdutyConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    /// Events API v1 integration key (selects v1).
    pub service_key: Secret,
    pub service_key_file: Option<PathBuf>,
    /// Events API v2 integration key.
    pub routing_key: Secret,
    pub routing_key_file: Option<PathBuf>,
    /// The v2 endpoint; `pagerduty_url` from `global` unless set.
    pub url: Option<Url>,
    pub client: String,
    pub client_url: String,
    pub description: String,
    /// Custom details: strings are templates, maps and lists are templated throughout.
    pub details: BTreeMap<String, serde_yaml_ng::Value>,
    pub images: Vec<PagerdutyImage>,
    pub links: Vec<PagerdutyLink>,
    pub source: String,
    pub severity: String,
    pub class: String,
    pub component: String,
    pub group: String,
    pub timeout: Duration,
    own_http: Option<HttpClientSection>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyImage {
    #[serde(default)]
    pub src: String,
    #[serde(default)]
    pub alt: String,
    #[serde(default)]
    pub href: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyLink {
    #[serde(default)]
    pub href: String,
    #[serde(default)]
    pub text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPagerduty {
    #[serde(default)]
    send_resolved: Option<bool>,
    #[serde(default)]
    http_config: Option<HttpClientSection>,
    #[serde(default)]
    service_key: Secret,
    #[serde(default, deserialize_with = "file_path")]
    service_key_file: Option<PathBuf>,
    #[serde(default)]
    routing_key: Secret,
    #[serde(default, deserialize_with = "file_path")]
    routing_key_file: Option<PathBuf>,
    #[serde(default)]
    url: Option<Url>,
    #[serde(default)]
    client: Option<String>,
    #[serde(default)]
    client_url: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    details: Option<BTreeMap<String, serde_yaml_ng::Value>>,
    #[serde(default)]
    images: Vec<PagerdutyImage>,
    #[serde(default)]
    links: Vec<PagerdutyLink>,
    #[serde(default)]
    source: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    class: String,
    #[serde(default)]
    component: String,
    #[serde(default)]
    group: String,
    #[serde(default, deserialize_with = "go_duration")]
    timeout: Option<Duration>,
}

impl TryFrom<RawPagerduty> for PagerdutyConfig {
    type Error = Invalid;

    fn try_from(r: RawPagerduty) -> Result<PagerdutyConfig, Invalid> {
        let routing_key = !r.routing_key.expose().is_empty();
        let service_key = !r.service_key.expose().is_empty();
        if !routing_key
            && !service_key
            && r.routing_key_file.is_none()
            && r.service_key_file.is_none()
        {
            return fail("missing service or routing key in PagerDuty config");
        }
        if routing_key && r.routing_key_file.is_some() {
            return fail("at most one of routing_key & routing_key_file must be configured");
        }
        if service_key && r.service_key_file.is_some() {
            return fail("at most one of service_key & service_key_file must be configured");
        }
        let client = r
            .client
            .unwrap_or_else(|| r#"{{ template "pagerduty.default.client" . }}"#.to_string());
        let source = if r.source.is_empty() {
            client.clone()
        } else {
            r.source
        };
        let mut details = r.details.unwrap_or_default();
        for (k, v) in DEFAULT_PAGERDUTY_DETAILS {
            details
                .entry(k.to_string())
                .or_insert_with(|| serde_yaml_ng::Value::String(v.to_string()));
        }
        Ok(PagerdutyConfig {
            send_resolved: r.send_resolved.unwrap_or(true),
            http_config: HttpClientConfig::default(),
            service_key: r.service_key,
            service_key_file: r.service_key_file,
            routing_key: r.routing_key,
            routing_key_file: r.routing_key_file,
            url: r.url,
            client,
            client_url: r
                .client_url
                .unwrap_or_else(|| r#"{{ template "pagerduty.default.clientURL" . }}"#.to_string()),
            description: r.description.unwrap_or_else(|| {
                r#"{{ template "pagerduty.default.description" .}}"#.to_string()
            }),
            details,
            images: r.images,
            links: r.links,
            source,
            severity: r.severity,
            class: r.class,
            component: r.component,
            group: r.group,
            timeout: r.timeout.unwrap_or(Duration::ZERO),
            own_http: r.http_config,
        })
    }
}

impl PagerdutyConfig {
    /// Whether it sends to the Events API v1 (a service key is configured).
    pub fn uses_v1(&self) -> bool {
        !self.service_key.expose().is_empty() || self.service_key_file.is_some()
    }
}

impl ReceiverKind for PagerdutyConfig {
    const NAME: &'static str = "pagerduty";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn inherit(&mut self, g: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        self.http_config = http_or_global(self.own_http.take(), &g.http_config, dir)?;
        if self.url.is_none() {
            self.url = Some(g.pagerduty_url.clone());
        }
        Ok(())
    }

    fn print(&self) -> Value {
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&self.http_config))
            .secret("service_key", &self.service_key)
            .path("service_key_file", &self.service_key_file)
            .secret("routing_key", &self.routing_key)
            .path("routing_key_file", &self.routing_key_file)
            .url("url", self.url.as_ref())
            .string("client", &self.client)
            .string("client_url", &self.client_url)
            .string("description", &self.description);
        let mut details = Map::default();
        for (k, v) in &self.details {
            details.put(k, v.clone());
        }
        m.map("details", details);
        let images = self
            .images
            .iter()
            .map(|i| {
                let mut im = Map::default();
                im.string("src", &i.src)
                    .string("alt", &i.alt)
                    .string("href", &i.href);
                im.done()
            })
            .collect();
        let links = self
            .links
            .iter()
            .map(|l| {
                let mut lm = Map::default();
                lm.string("href", &l.href).string("text", &l.text);
                lm.done()
            })
            .collect();
        m.list("images", images)
            .list("links", links)
            .string("source", &self.source)
            .string("severity", &self.severity)
            .string("class", &self.class)
            .string("component", &self.component)
            .string("group", &self.group)
            .put("timeout", go_duration_text(self.timeout));
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Pagerduty::new(self.clone(), templates.clone())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<PagerdutyConfig, String> {
        serde_yaml_ng::from_str::<PagerdutyConfig>(yaml).map_err(|e| {
            let s = e.to_string();
            s.trim_start_matches(crate::config::common::OWN_ERROR)
                .split(" at line")
                .next()
                .unwrap_or_default()
                .to_string()
        })
    }

    #[test]
    fn key_checks_as_upstream() {
        assert_eq!(
            load("client: x").unwrap_err(),
            "missing service or routing key in PagerDuty config"
        );
        assert_eq!(
            load("routing_key: a\nrouting_key_file: /f").unwrap_err(),
            "at most one of routing_key & routing_key_file must be configured"
        );
        assert_eq!(
            load("service_key: a\nservice_key_file: /f").unwrap_err(),
            "at most one of service_key & service_key_file must be configured"
        );
    }

    #[test]
    fn defaults_and_source_from_client() {
        let c = load("routing_key: a").unwrap();
        assert!(c.send_resolved && !c.uses_v1());
        assert_eq!(c.source, r#"{{ template "pagerduty.default.client" . }}"#);
        assert_eq!(c.details.len(), 4);
        let c = load("service_key: a\nclient: me\ndetails: {firing: x, extra: {a: 1}}").unwrap();
        assert!(c.uses_v1());
        assert_eq!(c.source, "me");
        assert_eq!(c.details["firing"], serde_yaml_ng::Value::from("x"));
        assert_eq!(c.details.len(), 5);
        assert!(c.details["extra"].is_mapping());
    }

    #[test]
    fn prints_redacted_and_loads_again() {
        use crate::config::Config;
        let text = "route: {receiver: r}\nreceivers: [{name: r, pagerduty_configs: [{routing_key: rk-secret, details: {a: {b: 1}}, images: [{src: s}], links: [{href: h}], severity: warning}]}]";
        let c = Config::parse(text, None).unwrap();
        let p = &c.receivers[0].configs::<PagerdutyConfig>()[0];
        assert_eq!(
            p.url.as_ref().map(|u| u.as_str()),
            Some("https://events.pagerduty.com/v2/enqueue")
        );
        let printed = c.to_redacted_yaml();
        assert!(!printed.contains("rk-secret"), "{printed}");
        assert!(printed.contains("routing_key: <secret>"), "{printed}");
        let again = Config::parse(&printed, None).unwrap();
        assert_eq!(again.to_redacted_yaml(), printed);
    }
}
