//! `webex_configs`: a Webex room's messages API, authorized by the receiver's own
//! `http_config.authorization` (a bot token), with the API URL inherited from `global`.
//!
//! The entry implements `ReceiverKind`: the registry inherits, prints and builds notifiers
//! through it.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::{HttpClientConfig, HttpClientSection};

use super::notifier::Webex;
use crate::config::common::template;
use crate::config::common::{fail, http_or_global, Invalid, Url};
use crate::config::marshal::{http, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

/// One Webex notifier, resolved against `global`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawWebex")]
pub struct WebexConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    /// `webex_api_url` from `global` unless set.
    pub api_url: Option<Url>,
    pub message: String,
    /// A template naming the room.
    pub room_id: String,
    own_http: Option<HttpClientSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebex {
    #[serde(default)]
    send_resolved: Option<bool>,
    #[serde(default)]
    http_config: Option<HttpClientSection>,
    #[serde(default)]
    api_url: Option<Url>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    room_id: String,
}

impl TryFrom<RawWebex> for WebexConfig {
    type Error = Invalid;

    fn try_from(r: RawWebex) -> Result<WebexConfig, Invalid> {
        if r.room_id.is_empty() {
            return fail("missing room_id on webex_config");
        }
        // The token must be the receiver's own: a global authorization does not count.
        if !r
            .http_config
            .as_ref()
            .is_some_and(HttpClientSection::has_authorization)
        {
            return fail("missing webex_configs.http_config.authorization");
        }
        Ok(WebexConfig {
            send_resolved: r.send_resolved.unwrap_or(true),
            http_config: HttpClientConfig::default(),
            api_url: r.api_url,
            message: template(r.message, "webex.default.message"),
            room_id: r.room_id,
            own_http: r.http_config,
        })
    }
}

impl ReceiverKind for WebexConfig {
    const NAME: &'static str = "webex";
    const GO_PACKAGE: &'static str = "config";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn inherit(&mut self, g: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        self.http_config = http_or_global(self.own_http.take(), &g.http_config, dir)?;
        if self.api_url.is_none() {
            self.api_url = Some(g.webex_api_url.clone());
        }
        Ok(())
    }

    fn print(&self) -> Value {
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&self.http_config))
            .url("api_url", self.api_url.as_ref())
            .string("message", &self.message)
            .put("room_id", self.room_id.as_str());
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Webex::new(self.clone(), templates.clone())?))
    }
}

#[cfg(test)]
mod tests {
    use super::WebexConfig;
    use crate::config::Config;
    use crate::notify::test_support;

    fn load(global: &str, body: &str) -> Result<Config, String> {
        test_support::load::<WebexConfig>(global, body)
    }

    #[test]
    fn room_and_authorization_required() {
        assert_eq!(
            load("{}", "message: x").unwrap_err(),
            "missing room_id on webex_config"
        );
        assert_eq!(
            load(
                "http_config: {authorization: {credentials: g}}",
                "room_id: r"
            )
            .unwrap_err(),
            "missing webex_configs.http_config.authorization"
        );
        assert_eq!(
            load(
                "{}",
                "room_id: r\n    http_config: {follow_redirects: true}"
            )
            .unwrap_err(),
            "missing webex_configs.http_config.authorization"
        );
        assert!(load("{}", "room_id: r\n    http_config: {bearer_token: t}").is_ok());
    }

    #[test]
    fn api_url_from_global() {
        let auth = "room_id: r\n    http_config: {authorization: {credentials: t}}";
        let cfg = load("{}", auth).unwrap();
        let c = &cfg.receivers[0].configs::<WebexConfig>()[0];
        assert_eq!(
            c.api_url.as_ref().unwrap().as_str(),
            "https://webexapis.com/v1/messages"
        );
        assert!(c.send_resolved);
        assert_eq!(c.message, r#"{{ template "webex.default.message" . }}"#);
        let cfg = load("webex_api_url: http://webex.example/m", auth).unwrap();
        let c = &cfg.receivers[0].configs::<WebexConfig>()[0];
        assert_eq!(
            c.api_url.as_ref().unwrap().as_str(),
            "http://webex.example/m"
        );
    }
}
