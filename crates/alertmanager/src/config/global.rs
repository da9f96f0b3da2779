//! The `global` section: defaults that receivers inherit (SMTP, Slack, API URLs and keys, the
//! HTTP client), `resolve_timeout`, and the global mutual-exclusion checks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use bongsu_httpclient::{HttpClientConfig, HttpClientSection, Secret, TlsConfig};

use super::common::{file_path, http_section, model_duration, HostPort, SecretUrl, Url};
use super::ConfigError;

/// `global` as written; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGlobal {
    #[serde(default, deserialize_with = "model_duration")]
    resolve_timeout: Option<Duration>,
    #[serde(default)]
    http_config: Option<HttpClientSection>,
    #[serde(default)]
    jira_api_url: Option<Url>,
    #[serde(default)]
    smtp_from: String,
    #[serde(default)]
    smtp_hello: Option<String>,
    #[serde(default)]
    smtp_smarthost: HostPort,
    #[serde(default)]
    smtp_auth_username: String,
    #[serde(default)]
    smtp_auth_password: Secret,
    #[serde(default, deserialize_with = "file_path")]
    smtp_auth_password_file: Option<PathBuf>,
    #[serde(default)]
    smtp_auth_secret: Secret,
    #[serde(default, deserialize_with = "file_path")]
    smtp_auth_secret_file: Option<PathBuf>,
    #[serde(default)]
    smtp_auth_identity: String,
    #[serde(default)]
    smtp_require_tls: Option<bool>,
    #[serde(default)]
    smtp_tls_config: Option<TlsConfig>,
    #[serde(default)]
    smtp_force_implicit_tls: Option<bool>,
    #[serde(default)]
    slack_api_url: Option<SecretUrl>,
    #[serde(default, deserialize_with = "file_path")]
    slack_api_url_file: Option<PathBuf>,
    #[serde(default)]
    slack_app_token: Secret,
    #[serde(default, deserialize_with = "file_path")]
    slack_app_token_file: Option<PathBuf>,
    #[serde(default)]
    slack_app_url: Option<Url>,
    #[serde(default)]
    pagerduty_url: Option<Url>,
    #[serde(default)]
    opsgenie_api_url: Option<Url>,
    #[serde(default)]
    opsgenie_api_key: Secret,
    #[serde(default, deserialize_with = "file_path")]
    opsgenie_api_key_file: Option<PathBuf>,
    #[serde(default)]
    wechat_api_url: Option<Url>,
    #[serde(default)]
    wechat_api_secret: Secret,
    #[serde(default, deserialize_with = "file_path")]
    wechat_api_secret_file: Option<PathBuf>,
    #[serde(default)]
    wechat_api_corp_id: String,
    #[serde(default)]
    victorops_api_url: Option<Url>,
    #[serde(default)]
    victorops_api_key: Secret,
    #[serde(default, deserialize_with = "file_path")]
    victorops_api_key_file: Option<PathBuf>,
    #[serde(default)]
    telegram_api_url: Option<Url>,
    #[serde(default)]
    telegram_bot_token: Secret,
    #[serde(default, deserialize_with = "file_path")]
    telegram_bot_token_file: Option<PathBuf>,
    #[serde(default)]
    webex_api_url: Option<Url>,
    #[serde(default)]
    rocketchat_api_url: Option<Url>,
    #[serde(default)]
    rocketchat_token: Option<Secret>,
    #[serde(default, deserialize_with = "file_path")]
    rocketchat_token_file: Option<PathBuf>,
    #[serde(default)]
    rocketchat_token_id: Option<Secret>,
    #[serde(default, deserialize_with = "file_path")]
    rocketchat_token_id_file: Option<PathBuf>,
    #[serde(default)]
    mattermost_webhook_url: Option<SecretUrl>,
    #[serde(default, deserialize_with = "file_path")]
    mattermost_webhook_url_file: Option<PathBuf>,
}

/// `global`, with Alertmanager's defaults filled in.
#[derive(Debug, Clone)]
pub struct GlobalConfig {
    /// After this long without an update, an alert without `endsAt` counts as resolved.
    pub resolve_timeout: Duration,
    pub http_config: HttpClientConfig,
    pub jira_api_url: Option<Url>,
    pub smtp_from: String,
    pub smtp_hello: String,
    pub smtp_smarthost: HostPort,
    pub smtp_auth_username: String,
    pub smtp_auth_password: Secret,
    pub smtp_auth_password_file: Option<PathBuf>,
    pub smtp_auth_secret: Secret,
    pub smtp_auth_secret_file: Option<PathBuf>,
    pub smtp_auth_identity: String,
    pub smtp_require_tls: bool,
    pub smtp_tls_config: TlsConfig,
    pub smtp_force_implicit_tls: Option<bool>,
    pub slack_api_url: Option<SecretUrl>,
    pub slack_api_url_file: Option<PathBuf>,
    pub slack_app_token: Secret,
    pub slack_app_token_file: Option<PathBuf>,
    pub slack_app_url: Url,
    pub pagerduty_url: Url,
    pub opsgenie_api_url: Url,
    pub opsgenie_api_key: Secret,
    pub opsgenie_api_key_file: Option<PathBuf>,
    pub wechat_api_url: Url,
    pub wechat_api_secret: Secret,
    pub wechat_api_secret_file: Option<PathBuf>,
    pub wechat_api_corp_id: String,
    pub victorops_api_url: Url,
    pub victorops_api_key: Secret,
    pub victorops_api_key_file: Option<PathBuf>,
    pub telegram_api_url: Url,
    pub telegram_bot_token: Secret,
    pub telegram_bot_token_file: Option<PathBuf>,
    pub webex_api_url: Url,
    pub rocketchat_api_url: Url,
    pub rocketchat_token: Option<Secret>,
    pub rocketchat_token_file: Option<PathBuf>,
    pub rocketchat_token_id: Option<Secret>,
    pub rocketchat_token_id_file: Option<PathBuf>,
    pub mattermost_webhook_url: Option<SecretUrl>,
    pub mattermost_webhook_url_file: Option<PathBuf>,
}

/// Alertmanager's built-in endpoints.
pub const DEFAULT_SLACK_APP_URL: &str = "https://slack.com/api/chat.postMessage";
pub const DEFAULT_ROCKETCHAT_API_URL: &str = "https://open.rocket.chat/";
const DEFAULT_URLS: [&str; 8] = [
    "https://events.pagerduty.com/v2/enqueue",
    "https://api.opsgenie.com/",
    "https://qyapi.weixin.qq.com/cgi-bin/",
    "https://alert.victorops.com/integrations/generic/20131114/alert/",
    "https://api.telegram.org",
    "https://webexapis.com/v1/messages",
    DEFAULT_ROCKETCHAT_API_URL,
    DEFAULT_SLACK_APP_URL,
];

fn default_url(i: usize) -> Url {
    Url::parse(DEFAULT_URLS[i]).expect("built-in URLs are valid")
}

fn secret_set(s: &Secret) -> bool {
    !s.expose().is_empty()
}

fn at_most_one(a: bool, b: bool, what: &str) -> Result<(), ConfigError> {
    if a && b {
        return Err(ConfigError::Invalid(format!(
            "at most one of {what} must be configured"
        )));
    }
    Ok(())
}

impl RawGlobal {
    /// Applies the defaults and Alertmanager's global checks, in its order.
    pub(crate) fn resolve(self, dir: Option<&Path>) -> Result<GlobalConfig, ConfigError> {
        let http_config = http_section(self.http_config.unwrap_or_default(), dir)?;
        let g = GlobalConfig {
            resolve_timeout: self.resolve_timeout.unwrap_or(Duration::from_secs(300)),
            http_config,
            jira_api_url: self.jira_api_url,
            smtp_from: self.smtp_from,
            smtp_hello: self.smtp_hello.unwrap_or_else(|| "localhost".to_string()),
            smtp_smarthost: self.smtp_smarthost,
            smtp_auth_username: self.smtp_auth_username,
            smtp_auth_password: self.smtp_auth_password,
            smtp_auth_password_file: self.smtp_auth_password_file,
            smtp_auth_secret: self.smtp_auth_secret,
            smtp_auth_secret_file: self.smtp_auth_secret_file,
            smtp_auth_identity: self.smtp_auth_identity,
            smtp_require_tls: self.smtp_require_tls.unwrap_or(true),
            smtp_tls_config: self.smtp_tls_config.unwrap_or_default(),
            smtp_force_implicit_tls: self.smtp_force_implicit_tls,
            slack_api_url: self.slack_api_url,
            slack_api_url_file: self.slack_api_url_file,
            slack_app_token: self.slack_app_token,
            slack_app_token_file: self.slack_app_token_file,
            slack_app_url: self.slack_app_url.unwrap_or_else(|| default_url(7)),
            pagerduty_url: self.pagerduty_url.unwrap_or_else(|| default_url(0)),
            opsgenie_api_url: self.opsgenie_api_url.unwrap_or_else(|| default_url(1)),
            opsgenie_api_key: self.opsgenie_api_key,
            opsgenie_api_key_file: self.opsgenie_api_key_file,
            wechat_api_url: self.wechat_api_url.unwrap_or_else(|| default_url(2)),
            wechat_api_secret: self.wechat_api_secret,
            wechat_api_secret_file: self.wechat_api_secret_file,
            wechat_api_corp_id: self.wechat_api_corp_id,
            victorops_api_url: self.victorops_api_url.unwrap_or_else(|| default_url(3)),
            victorops_api_key: self.victorops_api_key,
            victorops_api_key_file: self.victorops_api_key_file,
            telegram_api_url: self.telegram_api_url.unwrap_or_else(|| default_url(4)),
            telegram_bot_token: self.telegram_bot_token,
            telegram_bot_token_file: self.telegram_bot_token_file,
            webex_api_url: self.webex_api_url.unwrap_or_else(|| default_url(5)),
            rocketchat_api_url: self.rocketchat_api_url.unwrap_or_else(|| default_url(6)),
            rocketchat_token: self.rocketchat_token,
            rocketchat_token_file: self.rocketchat_token_file,
            rocketchat_token_id: self.rocketchat_token_id,
            rocketchat_token_id_file: self.rocketchat_token_id_file,
            mattermost_webhook_url: self.mattermost_webhook_url,
            mattermost_webhook_url_file: self.mattermost_webhook_url_file,
        };
        g.smtp_tls_config
            .validate()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        g.check()?;
        Ok(g)
    }
}

impl Default for GlobalConfig {
    fn default() -> GlobalConfig {
        RawGlobal::default()
            .resolve(None)
            .expect("the default global section is valid")
    }
}

impl GlobalConfig {
    fn check(&self) -> Result<(), ConfigError> {
        let app_token = secret_set(&self.slack_app_token) || self.slack_app_token_file.is_some();
        let api_url = self.slack_api_url.is_some() || self.slack_api_url_file.is_some();
        at_most_one(
            secret_set(&self.slack_app_token),
            self.slack_app_token_file.is_some(),
            "slack_app_token & slack_app_token_file",
        )?;
        at_most_one(
            self.slack_api_url.is_some(),
            self.slack_api_url_file.is_some(),
            "slack_api_url & slack_api_url_file",
        )?;
        // A global api_url equal to the app URL is the old workaround for bot tokens: allowed.
        let api_url_is_app_url = self
            .slack_api_url
            .as_ref()
            .and_then(SecretUrl::expose)
            .is_some_and(|u| u == &self.slack_app_url);
        if app_token && api_url && !api_url_is_app_url {
            return Err(ConfigError::Invalid(
                "at most one of slack_app_token/slack_app_token_file & slack_api_url/slack_api_url_file must be configured".into(),
            ));
        }
        let pairs: [(bool, bool, &str); 9] = [
            (
                secret_set(&self.opsgenie_api_key),
                self.opsgenie_api_key_file.is_some(),
                "opsgenie_api_key & opsgenie_api_key_file",
            ),
            (
                secret_set(&self.victorops_api_key),
                self.victorops_api_key_file.is_some(),
                "victorops_api_key & victorops_api_key_file",
            ),
            (
                secret_set(&self.telegram_bot_token),
                self.telegram_bot_token_file.is_some(),
                "telegram_bot_token & telegram_bot_token_file",
            ),
            (
                secret_set(&self.smtp_auth_password),
                self.smtp_auth_password_file.is_some(),
                "smtp_auth_password & smtp_auth_password_file",
            ),
            (
                self.rocketchat_token.is_some(),
                self.rocketchat_token_file.is_some(),
                "rocketchat_token & rocketchat_token_file",
            ),
            (
                self.rocketchat_token_id.is_some(),
                self.rocketchat_token_id_file.is_some(),
                "rocketchat_token_id & rocketchat_token_id_file",
            ),
            (
                secret_set(&self.smtp_auth_secret),
                self.smtp_auth_secret_file.is_some(),
                "smtp_auth_secret & smtp_auth_secret_file",
            ),
            (
                secret_set(&self.wechat_api_secret),
                self.wechat_api_secret_file.is_some(),
                "wechat_api_secret & wechat_api_secret_file",
            ),
            (
                self.mattermost_webhook_url.is_some(),
                self.mattermost_webhook_url_file.is_some(),
                "mattermost_webhook_url & mattermost_webhook_url_file",
            ),
        ];
        for (a, b, what) in pairs {
            at_most_one(a, b, what)?;
        }
        Ok(())
    }
}
