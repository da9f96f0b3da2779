//! `incidentio_configs`: an incident.io HTTP alert source (its URL, inline or in a file),
//! authorized by the alert source token or by `http_config.authorization`, with the
//! webhook-style payload's `max_alerts` and a per-request `timeout`.
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

use super::notifier::Incidentio;
use crate::config::common::{fail, file_path, go_duration, http_or_global, Invalid, Url};
use crate::config::marshal::{go_duration_text, http, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

/// One incident.io notifier.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawIncidentio")]
pub struct IncidentioConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    pub url: Option<Url>,
    pub url_file: Option<PathBuf>,
    pub alert_source_token: Secret,
    pub alert_source_token_file: Option<PathBuf>,
    /// At most this many alerts per payload (0 = all); the rest are counted as truncated.
    pub max_alerts: u64,
    /// No limit when zero.
    pub timeout: Duration,
    own_http: Option<HttpClientSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIncidentio {
    #[serde(default)]
    send_resolved: Option<bool>,
    #[serde(default)]
    http_config: Option<HttpClientSection>,
    #[serde(default)]
    url: Option<Url>,
    #[serde(default, deserialize_with = "file_path")]
    url_file: Option<PathBuf>,
    #[serde(default)]
    alert_source_token: Secret,
    #[serde(default, deserialize_with = "file_path")]
    alert_source_token_file: Option<PathBuf>,
    #[serde(default)]
    max_alerts: u64,
    #[serde(default, deserialize_with = "go_duration")]
    timeout: Option<Duration>,
}

impl TryFrom<RawIncidentio> for IncidentioConfig {
    type Error = Invalid;

    fn try_from(r: RawIncidentio) -> Result<IncidentioConfig, Invalid> {
        match (&r.url, &r.url_file) {
            (None, None) => return fail("one of url or url_file must be configured"),
            (Some(_), Some(_)) => return fail("at most one of url & url_file must be configured"),
            _ => {}
        }
        let token = !r.alert_source_token.expose().is_empty();
        let token_file = r.alert_source_token_file.is_some();
        if token && token_file {
            return fail(
                "at most one of alert_source_token & alert_source_token_file must be configured",
            );
        }
        // Only the receiver's own `http_config` counts here, as upstream: without one, a
        // missing token is not an error at load time.
        if let Some(h) = &r.http_config {
            if h.has_authorization() && (token || token_file) {
                return fail("cannot specify alert_source_token or alert_source_token_file when using http_config.authorization");
            }
            if !h.has_authorization() && !token && !token_file {
                return fail("at least one of alert_source_token, alert_source_token_file or http_config.authorization must be configured");
            }
        }
        Ok(IncidentioConfig {
            send_resolved: r.send_resolved.unwrap_or(true),
            http_config: HttpClientConfig::default(),
            url: r.url,
            url_file: r.url_file,
            alert_source_token: r.alert_source_token,
            alert_source_token_file: r.alert_source_token_file,
            max_alerts: r.max_alerts,
            timeout: r.timeout.unwrap_or_default(),
            own_http: r.http_config,
        })
    }
}

impl ReceiverKind for IncidentioConfig {
    const NAME: &'static str = "incidentio";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn inherit(&mut self, g: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        self.http_config = http_or_global(self.own_http.take(), &g.http_config, dir)?;
        Ok(())
    }

    /// `url`, `url_file`, `max_alerts` and `timeout` have no omit-empty rule upstream.
    fn print(&self) -> Value {
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&self.http_config))
            .put(
                "url",
                self.url
                    .as_ref()
                    .map_or(Value::Null, |u| Value::from(u.as_str())),
            )
            .put(
                "url_file",
                self.url_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            )
            .secret("alert_source_token", &self.alert_source_token)
            .path("alert_source_token_file", &self.alert_source_token_file)
            .put("max_alerts", self.max_alerts)
            .put("timeout", go_duration_text(self.timeout));
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Incidentio::new(self.clone(), templates.clone())?))
    }
}

#[cfg(test)]
mod tests {
    use super::IncidentioConfig;
    use crate::config::Config;
    use crate::notify::test_support;

    fn load(body: &str) -> Result<Config, String> {
        test_support::load::<IncidentioConfig>("{}", body)
    }

    #[test]
    fn checks() {
        let cases = [
            ("max_alerts: 1", "one of url or url_file must be configured"),
            (
                "url: http://i.example/a\n    url_file: /f",
                "at most one of url & url_file must be configured",
            ),
            (
                "url: http://i.example/a\n    alert_source_token: t\n    alert_source_token_file: /f",
                "at most one of alert_source_token & alert_source_token_file must be configured",
            ),
            (
                "url: http://i.example/a\n    alert_source_token: t\n    http_config: {authorization: {credentials: c}}",
                "cannot specify alert_source_token or alert_source_token_file when using http_config.authorization",
            ),
            (
                "url: http://i.example/a\n    http_config: {follow_redirects: false}",
                "at least one of alert_source_token, alert_source_token_file or http_config.authorization must be configured",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(load(body).unwrap_err(), want, "{body}");
        }
        assert!(load("url: http://i.example/a").is_ok());
        assert!(load("url_file: /u\n    http_config: {bearer_token: b}").is_ok());
    }

    #[test]
    fn defaults() {
        let cfg =
            load("url: http://i.example/a\n    alert_source_token: t\n    timeout: 5s").unwrap();
        let c = &cfg.receivers[0].configs::<IncidentioConfig>()[0];
        assert!(c.send_resolved);
        assert_eq!(c.max_alerts, 0);
        assert_eq!(c.timeout.as_secs(), 5);
    }
}
