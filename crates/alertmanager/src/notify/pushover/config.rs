//! `pushover_configs`: Pushover's message API, the message's templated fields and their
//! defaults, the emergency-priority retry/expire durations.
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

use super::notifier::Pushover;
use crate::config::common::{fail, file_path, go_duration, http_or_global, template, Invalid};
use crate::config::marshal::{go_duration_text, http, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

/// One Pushover notifier.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawPushover")]
pub struct PushoverConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    pub user_key: Secret,
    pub user_key_file: Option<PathBuf>,
    pub token: Secret,
    pub token_file: Option<PathBuf>,
    pub title: String,
    pub message: String,
    pub url: String,
    pub url_title: String,
    pub device: String,
    pub sound: String,
    pub priority: String,
    /// How often Pushover repeats an emergency-priority message.
    pub retry: Duration,
    /// How long it keeps repeating it.
    pub expire: Duration,
    /// Message lifetime; zero = Pushover's default.
    pub ttl: Duration,
    pub html: bool,
    pub monospace: bool,
    own_http: Option<HttpClientSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPushover {
    #[serde(default)]
    send_resolved: Option<bool>,
    #[serde(default)]
    http_config: Option<HttpClientSection>,
    #[serde(default)]
    user_key: Secret,
    #[serde(default, deserialize_with = "file_path")]
    user_key_file: Option<PathBuf>,
    #[serde(default)]
    token: Secret,
    #[serde(default, deserialize_with = "file_path")]
    token_file: Option<PathBuf>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    url_title: String,
    #[serde(default)]
    device: String,
    #[serde(default)]
    sound: String,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default, deserialize_with = "go_duration")]
    retry: Option<Duration>,
    #[serde(default, deserialize_with = "go_duration")]
    expire: Option<Duration>,
    #[serde(default, deserialize_with = "go_duration")]
    ttl: Option<Duration>,
    #[serde(default)]
    html: bool,
    #[serde(default)]
    monospace: bool,
}

impl TryFrom<RawPushover> for PushoverConfig {
    type Error = Invalid;

    fn try_from(r: RawPushover) -> Result<PushoverConfig, Invalid> {
        let user_key = !r.user_key.expose().is_empty();
        let token = !r.token.expose().is_empty();
        if !user_key && r.user_key_file.is_none() {
            return fail("one of user_key or user_key_file must be configured");
        }
        if user_key && r.user_key_file.is_some() {
            return fail("at most one of user_key & user_key_file must be configured");
        }
        if !token && r.token_file.is_none() {
            return fail("one of token or token_file must be configured");
        }
        if token && r.token_file.is_some() {
            return fail("at most one of token & token_file must be configured");
        }
        if r.html && r.monospace {
            return fail("at most one of monospace & html must be configured");
        }
        Ok(PushoverConfig {
            send_resolved: r.send_resolved.unwrap_or(true),
            http_config: HttpClientConfig::default(),
            user_key: r.user_key,
            user_key_file: r.user_key_file,
            token: r.token,
            token_file: r.token_file,
            title: template(r.title, "pushover.default.title"),
            message: template(r.message, "pushover.default.message"),
            url: template(r.url, "pushover.default.url"),
            url_title: r.url_title,
            device: r.device,
            sound: r.sound,
            // Emergency while firing, normal once resolved.
            priority: r
                .priority
                .unwrap_or_else(|| r#"{{ if eq .Status "firing" }}2{{ else }}0{{ end }}"#.into()),
            retry: r.retry.unwrap_or(Duration::from_secs(60)),
            expire: r.expire.unwrap_or(Duration::from_secs(3600)),
            ttl: r.ttl.unwrap_or(Duration::ZERO),
            html: r.html,
            monospace: r.monospace,
            own_http: r.http_config,
        })
    }
}

impl ReceiverKind for PushoverConfig {
    const NAME: &'static str = "pushover";

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
            .secret("user_key", &self.user_key)
            .path("user_key_file", &self.user_key_file)
            .secret("token", &self.token)
            .path("token_file", &self.token_file)
            .string("title", &self.title)
            .string("message", &self.message)
            .string("url", &self.url)
            .string("url_title", &self.url_title)
            .string("device", &self.device)
            .string("sound", &self.sound)
            .string("priority", &self.priority);
        for (key, d) in [
            ("retry", self.retry),
            ("expire", self.expire),
            ("ttl", self.ttl),
        ] {
            if !d.is_zero() {
                m.put(key, go_duration_text(d));
            }
        }
        m.flag("html", self.html).flag("monospace", self.monospace);
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Pushover::new(self.clone(), templates.clone())?))
    }
}

#[cfg(test)]
mod tests {
    use super::PushoverConfig;
    use crate::config::Config;
    use crate::notify::test_support;

    fn load(receiver: &str) -> Result<Config, String> {
        test_support::load::<PushoverConfig>("{}", receiver)
    }

    #[test]
    fn checks_as_upstream() {
        for (conf, want) in [
            (
                "{token: t}",
                "one of user_key or user_key_file must be configured",
            ),
            (
                "{token: t, user_key: u, user_key_file: /f}",
                "at most one of user_key & user_key_file must be configured",
            ),
            (
                "{user_key: u}",
                "one of token or token_file must be configured",
            ),
            (
                "{user_key: u, token: t, token_file: /f}",
                "at most one of token & token_file must be configured",
            ),
            (
                "{user_key: u, token: t, html: true, monospace: true}",
                "at most one of monospace & html must be configured",
            ),
            (
                "{user_key: u, token: t, retry: 5x}",
                "time: invalid duration \"5x\"",
            ),
        ] {
            assert_eq!(load(conf).unwrap_err(), want, "{conf}");
        }
    }

    #[test]
    fn defaults_and_printed_form() {
        let c = load("{user_key: u-secret, token: t-secret, ttl: 90s}").unwrap();
        let p = &c.receivers[0].configs::<PushoverConfig>()[0];
        assert_eq!(p.retry.as_secs(), 60);
        assert_eq!(p.expire.as_secs(), 3600);
        let printed = c.to_redacted_yaml();
        assert!(!printed.contains("-secret"), "{printed}");
        assert!(printed.contains("retry: 1m0s"), "{printed}");
        assert!(printed.contains("expire: 1h0m0s"), "{printed}");
        assert!(printed.contains("ttl: 1m30s"), "{printed}");
        assert_eq!(
            Config::parse(&printed, None).unwrap().to_redacted_yaml(),
            printed
        );
    }
}
