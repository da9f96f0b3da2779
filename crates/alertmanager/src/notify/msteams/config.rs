//! `msteams_configs`: a Microsoft Teams incoming-webhook connector (its URL inline or in a
//! file), the card's templated texts and their defaults.
//!
//! The entry implements `ReceiverKind`: the registry inherits, prints and builds notifiers
//! through it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::{HttpClientConfig, HttpClientSection};

use super::notifier::MsTeams;
use crate::config::common::{file_path, http_or_global, one_webhook, template, Invalid, SecretUrl};
use crate::config::marshal::{http, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

/// One Microsoft Teams notifier (an incoming-webhook connector).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawMsTeams")]
pub struct MsTeamsConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    pub webhook_url: Option<SecretUrl>,
    pub webhook_url_file: Option<PathBuf>,
    pub title: String,
    pub summary: String,
    pub text: String,
    own_http: Option<HttpClientSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMsTeams {
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
    summary: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

impl TryFrom<RawMsTeams> for MsTeamsConfig {
    type Error = Invalid;

    fn try_from(r: RawMsTeams) -> Result<MsTeamsConfig, Invalid> {
        one_webhook(&r.webhook_url, &r.webhook_url_file)?;
        Ok(MsTeamsConfig {
            send_resolved: r.send_resolved.unwrap_or(true),
            http_config: HttpClientConfig::default(),
            webhook_url: r.webhook_url,
            webhook_url_file: r.webhook_url_file,
            title: template(r.title, "msteams.default.title"),
            summary: template(r.summary, "msteams.default.summary"),
            text: template(r.text, "msteams.default.text"),
            own_http: r.http_config,
        })
    }
}

impl ReceiverKind for MsTeamsConfig {
    const NAME: &'static str = "msteams";

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
            .secret_url("webhook_url", &self.webhook_url)
            .path("webhook_url_file", &self.webhook_url_file)
            .string("title", &self.title)
            .string("summary", &self.summary)
            .string("text", &self.text);
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(MsTeams::new(self.clone(), templates.clone())?))
    }
}
