//! `msteamsv2_configs`: Microsoft Teams through a Power Automate workflow (an Adaptive Card
//! POSTed to the workflow's URL), with its title and text templates.
//!
//! The entry implements `ReceiverKind`: the registry inherits, prints and builds notifiers
//! through it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::{HttpClientConfig, HttpClientSection};

use super::notifier::MsTeamsV2;
use crate::config::common::{file_path, http_or_global, Invalid, SecretUrl};
use crate::config::common::{one_webhook, template};
use crate::config::marshal::{http, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

/// One Teams workflow notifier.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawMsTeamsV2")]
pub struct MsTeamsV2Config {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    pub webhook_url: Option<SecretUrl>,
    pub webhook_url_file: Option<PathBuf>,
    pub title: String,
    pub text: String,
    own_http: Option<HttpClientSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMsTeamsV2 {
    #[serde(default)]
    send_resolved: Option<bool>,
    #[serde(default)]
    http_config: Option<HttpClientSection>,
    #[serde(default)]
    webhook_url: Option<SecretUrl>,
    #[serde(default, deserialize_with = "file_path")]
    webhook_url_file: Option<PathBuf>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

impl TryFrom<RawMsTeamsV2> for MsTeamsV2Config {
    type Error = Invalid;

    fn try_from(r: RawMsTeamsV2) -> Result<MsTeamsV2Config, Invalid> {
        one_webhook(&r.webhook_url, &r.webhook_url_file)?;
        Ok(MsTeamsV2Config {
            send_resolved: r.send_resolved.unwrap_or(true),
            http_config: HttpClientConfig::default(),
            webhook_url: r.webhook_url,
            webhook_url_file: r.webhook_url_file,
            title: template(r.title, "msteamsv2.default.title"),
            text: template(r.text, "msteamsv2.default.text"),
            own_http: r.http_config,
        })
    }
}

impl ReceiverKind for MsTeamsV2Config {
    const NAME: &'static str = "msteamsv2";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    /// The global `http_config` when none is given; an own one without `proxy_url` still
    /// takes the global proxy (upstream does so for this kind only).
    fn inherit(&mut self, g: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        let own = self.own_http.is_some();
        self.http_config = http_or_global(self.own_http.take(), &g.http_config, dir)?;
        if own && self.http_config.proxy_url.is_none() {
            self.http_config.proxy_url = g.http_config.proxy_url.clone();
        }
        Ok(())
    }

    fn print(&self) -> Value {
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&self.http_config))
            .secret_url("webhook_url", &self.webhook_url)
            .path("webhook_url_file", &self.webhook_url_file)
            .string("title", &self.title)
            .string("text", &self.text);
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(MsTeamsV2::new(self.clone(), templates.clone())?))
    }
}

#[cfg(test)]
mod tests {
    use super::MsTeamsV2Config;
    use crate::config::Config;
    use crate::notify::test_support;

    fn load(body: &str) -> Result<Config, String> {
        test_support::load::<MsTeamsV2Config>(
            "http_config: {proxy_url: 'http://proxy.example:3128'}",
            body,
        )
    }

    #[test]
    fn webhook_url_checks() {
        assert_eq!(
            load("title: x").unwrap_err(),
            "one of webhook_url or webhook_url_file must be configured"
        );
        assert_eq!(
            load("webhook_url: http://a.example/x\n    webhook_url_file: /f").unwrap_err(),
            "at most one of webhook_url & webhook_url_file must be configured"
        );
    }

    #[test]
    fn defaults_and_proxy_inheritance() {
        let cfg = load("webhook_url: http://a.example/x").unwrap();
        let c = &cfg.receivers[0].configs::<MsTeamsV2Config>()[0];
        assert!(c.send_resolved);
        assert_eq!(c.title, r#"{{ template "msteamsv2.default.title" . }}"#);
        assert_eq!(c.text, r#"{{ template "msteamsv2.default.text" . }}"#);
        assert_eq!(
            c.http_config.proxy_url.as_deref(),
            Some("http://proxy.example:3128")
        );
        let cfg =
            load("webhook_url: http://a.example/x\n    http_config: {follow_redirects: false}")
                .unwrap();
        let c = &cfg.receivers[0].configs::<MsTeamsV2Config>()[0];
        assert!(!c.http_config.follow_redirects);
        assert_eq!(
            c.http_config.proxy_url.as_deref(),
            Some("http://proxy.example:3128")
        );
    }
}
