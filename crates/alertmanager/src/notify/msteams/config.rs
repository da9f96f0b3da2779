//! `msteams_configs`: a Microsoft Teams incoming-webhook connector (its URL inline or in a
//! file), the card's templated texts and their defaults.

use std::path::PathBuf;

use serde::Deserialize;

use bongsu_httpclient::{HttpClientConfig, HttpClientSection};

use crate::config::common::{file_path, http_or_global, one_webhook, template, Invalid, SecretUrl};
use crate::config::{ConfigError, GlobalConfig};

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

impl MsTeamsConfig {
    pub(crate) fn resolve(
        &mut self,
        g: &GlobalConfig,
        dir: Option<&std::path::Path>,
    ) -> Result<(), ConfigError> {
        self.http_config = http_or_global(self.own_http.take(), &g.http_config, dir)?;
        Ok(())
    }
}
