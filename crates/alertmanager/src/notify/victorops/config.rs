//! `victorops_configs`: VictorOps' (Splunk On-Call) REST endpoint, the event's templated
//! fields and their defaults, custom fields, and the API URL and key inherited from `global`.
//!
//! The entry implements `ReceiverKind`: the registry inherits, prints and builds notifiers
//! through it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::{HttpClientConfig, HttpClientSection, Secret};

use super::notifier::Victorops;
use crate::config::common::with_trailing_slash;
use crate::config::common::{fail, file_path, http_or_global, template, Invalid, Url};
use crate::config::marshal::{http, string_map, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

/// Payload keys bongsu sets itself, which custom fields may not use (upstream's order).
const RESERVED_FIELDS: [&str; 7] = [
    "routing_key",
    "message_type",
    "state_message",
    "entity_display_name",
    "monitoring_tool",
    "entity_id",
    "entity_state",
];

/// One VictorOps notifier, resolved against `global`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawVictorops")]
pub struct VictoropsConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    pub api_key: Secret,
    pub api_key_file: Option<PathBuf>,
    /// `victorops_api_url` from `global` unless set; its path always ends in `/`.
    pub api_url: Option<Url>,
    /// A template; the key and this name the endpoint's last two path segments.
    pub routing_key: String,
    pub message_type: String,
    pub state_message: String,
    pub entity_display_name: String,
    pub monitoring_tool: String,
    pub custom_fields: BTreeMap<String, String>,
    own_http: Option<HttpClientSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVictorops {
    #[serde(default)]
    send_resolved: Option<bool>,
    #[serde(default)]
    http_config: Option<HttpClientSection>,
    #[serde(default)]
    api_key: Secret,
    #[serde(default, deserialize_with = "file_path")]
    api_key_file: Option<PathBuf>,
    #[serde(default)]
    api_url: Option<Url>,
    #[serde(default)]
    routing_key: String,
    #[serde(default)]
    message_type: Option<String>,
    #[serde(default)]
    state_message: Option<String>,
    #[serde(default)]
    entity_display_name: Option<String>,
    #[serde(default)]
    monitoring_tool: Option<String>,
    #[serde(default)]
    custom_fields: BTreeMap<String, String>,
}

impl TryFrom<RawVictorops> for VictoropsConfig {
    type Error = Invalid;

    fn try_from(r: RawVictorops) -> Result<VictoropsConfig, Invalid> {
        if r.routing_key.is_empty() {
            return fail("missing Routing key in VictorOps config");
        }
        if !r.api_key.expose().is_empty() && r.api_key_file.is_some() {
            return fail("at most one of api_key & api_key_file must be configured");
        }
        if let Some(f) = RESERVED_FIELDS
            .iter()
            .find(|f| r.custom_fields.contains_key(**f))
        {
            return fail(format!(
                "victorOps config contains custom field {f} which cannot be used as it conflicts with the fixed/static fields"
            ));
        }
        Ok(VictoropsConfig {
            send_resolved: r.send_resolved.unwrap_or(true),
            http_config: HttpClientConfig::default(),
            api_key: r.api_key,
            api_key_file: r.api_key_file,
            api_url: r.api_url,
            routing_key: r.routing_key,
            message_type: r.message_type.unwrap_or_else(|| "CRITICAL".to_string()),
            state_message: template(r.state_message, "victorops.default.state_message"),
            entity_display_name: template(
                r.entity_display_name,
                "victorops.default.entity_display_name",
            ),
            monitoring_tool: template(r.monitoring_tool, "victorops.default.monitoring_tool"),
            custom_fields: r.custom_fields,
            own_http: r.http_config,
        })
    }
}

impl ReceiverKind for VictoropsConfig {
    const NAME: &'static str = "victorops";
    const GO_PACKAGE: &'static str = "config";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    /// Upstream's inheritance: the URL (its path made to end in `/`), then the key and the
    /// key file, each taken from `global` when unset here.
    fn inherit(&mut self, g: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        self.http_config = http_or_global(self.own_http.take(), &g.http_config, dir)?;
        let url = self
            .api_url
            .take()
            .unwrap_or_else(|| g.victorops_api_url.clone());
        self.api_url = Some(with_trailing_slash(url));
        if self.api_key.expose().is_empty() {
            self.api_key = g.victorops_api_key.clone();
        }
        if self.api_key_file.is_none() {
            self.api_key_file = g.victorops_api_key_file.clone();
        }
        if self.api_key.expose().is_empty() && self.api_key_file.is_none() {
            return Err(ConfigError::Invalid(
                "no global VictorOps API Key set".into(),
            ));
        }
        Ok(())
    }

    fn print(&self) -> Value {
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&self.http_config))
            .secret("api_key", &self.api_key)
            .path("api_key_file", &self.api_key_file)
            .put(
                "api_url",
                self.api_url
                    .as_ref()
                    .map(|u| u.as_str())
                    .unwrap_or_default(),
            )
            .put("routing_key", self.routing_key.as_str())
            .put("message_type", self.message_type.as_str())
            .put("state_message", self.state_message.as_str())
            .put("entity_display_name", self.entity_display_name.as_str())
            .put("monitoring_tool", self.monitoring_tool.as_str())
            .map("custom_fields", string_map(&self.custom_fields));
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Victorops::new(self.clone(), templates.clone())?))
    }
}

#[cfg(test)]
mod tests {
    use super::VictoropsConfig;
    use crate::config::Config;
    use crate::notify::test_support;

    fn load(receiver: &str) -> Result<Config, String> {
        test_support::load::<VictoropsConfig>("{victorops_api_key: gk}", receiver)
    }

    #[test]
    fn checks_as_upstream() {
        assert_eq!(
            load("{api_key: k}").unwrap_err(),
            "missing Routing key in VictorOps config"
        );
        assert_eq!(
            load("{routing_key: r, api_key: a, api_key_file: /f}").unwrap_err(),
            "at most one of api_key & api_key_file must be configured"
        );
        assert_eq!(
            load("{routing_key: r, custom_fields: {entity_state: x, monitoring_tool: y}}")
                .unwrap_err(),
            "victorOps config contains custom field monitoring_tool which cannot be used as it conflicts with the fixed/static fields"
        );
        // The error names the entry's line: the third of this file.
        let yaml = "global: {victorops_api_key: gk}\nroute: {receiver: r}\nreceivers: [{name: r, victorops_configs: [{routing_key: r, bogus: 1}]}]";
        assert_eq!(
            Config::parse(yaml, None).unwrap_err().to_string(),
            "yaml: unmarshal errors:\n  line 3: field bogus not found in type config.plain"
        );
    }

    #[test]
    fn inherits_url_and_key_and_prints_again() {
        let c = load("{routing_key: r, api_url: 'http://vo.example/x', custom_fields: {team: t}}")
            .unwrap();
        let v = &c.receivers[0].configs::<VictoropsConfig>()[0];
        assert_eq!(v.api_url.as_ref().unwrap().as_str(), "http://vo.example/x/");
        assert_eq!(v.api_key.expose(), "gk");
        assert_eq!(v.message_type, "CRITICAL");
        let printed = c.to_redacted_yaml();
        assert!(!printed.contains("gk"), "{printed}");
        assert_eq!(
            Config::parse(&printed, None).unwrap().to_redacted_yaml(),
            printed
        );
    }
}
