//! `webhook_configs`: Alertmanager's JSON payload POSTed to a URL.
//!
//! The entry implements `ReceiverKind`: the registry inherits, prints and builds notifiers
//! through it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::{HttpClientConfig, HttpClientSection, Secret};

use super::notifier::Webhook;
use crate::config::common::{
    fail, file_path, go_duration, http_or_global, redact, Invalid, Url, SECRET_TOKEN,
};
use crate::config::marshal::{http, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

/// One webhook notifier.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawWebhook")]
pub struct WebhookConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    /// The URL, possibly a template (`{{ ... }}`), rendered per notification.
    pub url: Secret,
    pub url_file: Option<PathBuf>,
    /// At most this many alerts per payload (0 = all); the rest are counted as truncated.
    pub max_alerts: u64,
    pub timeout: Duration,
    /// A custom payload shape, if given (rendered by the notifier).
    pub payload: Option<serde_yaml_ng::Value>,
    own_http: Option<HttpClientSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    #[serde(default)]
    send_resolved: Option<bool>,
    #[serde(default)]
    http_config: Option<HttpClientSection>,
    #[serde(default)]
    url: Secret,
    #[serde(default, deserialize_with = "file_path")]
    url_file: Option<PathBuf>,
    #[serde(default)]
    max_alerts: u64,
    #[serde(default, deserialize_with = "go_duration")]
    timeout: Option<Duration>,
    #[serde(default)]
    payload: Option<serde_yaml_ng::Value>,
}

impl TryFrom<RawWebhook> for WebhookConfig {
    type Error = Invalid;

    fn try_from(r: RawWebhook) -> Result<WebhookConfig, Invalid> {
        let url = r.url.expose();
        // A templated URL is checked once rendered; a plain one now.
        if url.contains("{{") {
            check_actions_closed(url)?;
        } else if !url.is_empty() && url != SECRET_TOKEN {
            Url::parse(url).map_err(|e| Invalid(format!("invalid URL: {}", redact(&e, url))))?;
        }
        if url.is_empty() && r.url_file.is_none() {
            return fail("one of url or url_file must be configured");
        }
        if !url.is_empty() && r.url_file.is_some() {
            return fail("at most one of url & url_file must be configured");
        }
        Ok(WebhookConfig {
            send_resolved: r.send_resolved.unwrap_or(true),
            http_config: HttpClientConfig::default(),
            url: r.url,
            url_file: r.url_file,
            max_alerts: r.max_alerts,
            timeout: r.timeout.unwrap_or(Duration::ZERO),
            payload: r.payload,
            own_http: r.http_config,
        })
    }
}

/// The template check that needs no template engine: every `{{` action is closed. (The full
/// parse happens where notifications are rendered.)
fn check_actions_closed(url: &str) -> Result<(), Invalid> {
    let mut rest = url;
    while let Some(open) = rest.find("{{") {
        match rest[open + 2..].find("}}") {
            Some(close) => rest = &rest[open + 2 + close + 2..],
            None => return fail("invalid template syntax: template: :1: unclosed action"),
        }
    }
    Ok(())
}

impl ReceiverKind for WebhookConfig {
    const NAME: &'static str = "webhook";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn inherit(&mut self, g: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        self.http_config = http_or_global(self.own_http.take(), &g.http_config, dir)?;
        Ok(())
    }

    fn print(&self) -> Value {
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&self.http_config))
            .secret("url", &self.url)
            .path("url_file", &self.url_file)
            .put("max_alerts", self.max_alerts)
            .duration("timeout", self.timeout);
        if let Some(p) = &self.payload {
            m.put("payload", p.clone());
        }
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Webhook::new(self.clone(), templates.clone())?))
    }
}
