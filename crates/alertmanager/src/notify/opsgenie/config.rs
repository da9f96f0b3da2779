//! `opsgenie_configs`: Opsgenie's Alert API v2, the alert's templated fields and their
//! defaults, responders (checked as upstream checks them), and the API URL and key inherited
//! from `global`.
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

use super::notifier::Opsgenie;
use crate::config::common::{
    fail, file_path, http_or_global, template, with_trailing_slash, Invalid, Url,
};
use crate::config::marshal::{http, string_map, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

/// The responder types upstream accepts (when the type is not a template).
const RESPONDER_TYPES: &str = "^(team|teams|user|escalation|schedule)$";

/// One Opsgenie notifier, resolved against `global`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawOpsgenie")]
pub struct OpsgenieConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    pub api_key: Secret,
    pub api_key_file: Option<PathBuf>,
    /// `opsgenie_api_url` from `global` unless set; its path always ends in `/`.
    pub api_url: Option<Url>,
    pub message: String,
    pub description: String,
    pub source: String,
    pub details: BTreeMap<String, String>,
    pub entity: String,
    pub responders: Vec<OpsgenieResponder>,
    /// Comma-separated, after templating.
    pub actions: String,
    /// Comma-separated, after templating.
    pub tags: String,
    pub note: String,
    pub priority: String,
    /// Also update the message and description of an alert that is already open.
    pub update_alerts: bool,
    own_http: Option<HttpClientSection>,
}

/// A team, user, escalation or schedule to notify, by `id`, `name` or `username`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsgenieResponder {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub username: String,
    /// `team`, `teams` (a comma-separated list of names), `user`, `escalation`,
    /// `schedule`, or a template.
    #[serde(default, rename = "type")]
    pub kind: String,
}

impl std::fmt::Display for OpsgenieResponder {
    /// As Go's `%v` prints the struct.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{{{} {} {} {}}}",
            self.id, self.name, self.username, self.kind
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOpsgenie {
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
    message: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    details: BTreeMap<String, String>,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    responders: Vec<OpsgenieResponder>,
    #[serde(default)]
    actions: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    update_alerts: bool,
}

fn check_responder(r: &OpsgenieResponder) -> Result<(), Invalid> {
    if r.id.is_empty() && r.username.is_empty() && r.name.is_empty() {
        return fail(format!(
            "opsGenieConfig responder {r} has to have at least one of id, username or name specified"
        ));
    }
    if r.kind.contains("{{") {
        let mut t = bongsu_gotmpl::Template::new("");
        return t.parse(&r.kind).map_err(|e| {
            Invalid(format!(
                "opsGenieConfig responder {r} type contains invalid template syntax: {e}"
            ))
        });
    }
    // The check is case-insensitive; the type is sent as written.
    let kind = r.kind.to_lowercase();
    if !["team", "teams", "user", "escalation", "schedule"].contains(&kind.as_str()) {
        return fail(format!(
            "opsGenieConfig responder {r} type does not match valid options {RESPONDER_TYPES}"
        ));
    }
    Ok(())
}

impl TryFrom<RawOpsgenie> for OpsgenieConfig {
    type Error = Invalid;

    fn try_from(r: RawOpsgenie) -> Result<OpsgenieConfig, Invalid> {
        if !r.api_key.expose().is_empty() && r.api_key_file.is_some() {
            return fail("at most one of api_key & api_key_file must be configured");
        }
        for responder in &r.responders {
            check_responder(responder)?;
        }
        Ok(OpsgenieConfig {
            send_resolved: r.send_resolved.unwrap_or(true),
            http_config: HttpClientConfig::default(),
            api_key: r.api_key,
            api_key_file: r.api_key_file,
            api_url: r.api_url,
            message: template(r.message, "opsgenie.default.message"),
            description: template(r.description, "opsgenie.default.description"),
            source: template(r.source, "opsgenie.default.source"),
            details: r.details,
            entity: r.entity,
            responders: r.responders,
            actions: r.actions,
            tags: r.tags,
            note: r.note,
            priority: r.priority,
            update_alerts: r.update_alerts,
            own_http: r.http_config,
        })
    }
}

impl ReceiverKind for OpsgenieConfig {
    const NAME: &'static str = "opsgenie";

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
            .unwrap_or_else(|| g.opsgenie_api_url.clone());
        self.api_url = Some(with_trailing_slash(url));
        if self.api_key.expose().is_empty() {
            self.api_key = g.opsgenie_api_key.clone();
        }
        if self.api_key_file.is_none() {
            self.api_key_file = g.opsgenie_api_key_file.clone();
        }
        if self.api_key.expose().is_empty() && self.api_key_file.is_none() {
            return Err(no_key());
        }
        Ok(())
    }

    /// Upstream checks a null entry against the global key only.
    fn check_null_entry(g: &GlobalConfig) -> Result<(), ConfigError> {
        if g.opsgenie_api_key.expose().is_empty() && g.opsgenie_api_key_file.is_none() {
            return Err(no_key());
        }
        Ok(())
    }

    fn print(&self) -> Value {
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&self.http_config))
            .secret("api_key", &self.api_key)
            .path("api_key_file", &self.api_key_file)
            .url("api_url", self.api_url.as_ref())
            .string("message", &self.message)
            .string("description", &self.description)
            .string("source", &self.source)
            .map("details", string_map(&self.details))
            .string("entity", &self.entity);
        let responders = self
            .responders
            .iter()
            .map(|r| {
                let mut rm = Map::default();
                rm.string("id", &r.id)
                    .string("name", &r.name)
                    .string("username", &r.username)
                    .string("type", &r.kind);
                rm.done()
            })
            .collect();
        m.list("responders", responders)
            .string("actions", &self.actions)
            .string("tags", &self.tags)
            .string("note", &self.note)
            .string("priority", &self.priority)
            .flag("update_alerts", self.update_alerts);
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Opsgenie::new(self.clone(), templates.clone())?))
    }
}

fn no_key() -> ConfigError {
    ConfigError::Invalid("no global OpsGenie API Key set either inline or in a file".into())
}

#[cfg(test)]
mod tests {
    use super::OpsgenieConfig;
    use crate::config::Config;
    use crate::notify::test_support;

    fn load(receiver: &str) -> Result<Config, String> {
        test_support::load::<OpsgenieConfig>("{opsgenie_api_key: gk}", receiver)
    }

    #[test]
    fn responder_checks_as_upstream() {
        assert_eq!(
            load("{responders: [{type: team}]}").unwrap_err(),
            "opsGenieConfig responder {   team} has to have at least one of id, username or name specified"
        );
        assert_eq!(
            load("{responders: [{name: n, type: group}]}").unwrap_err(),
            "opsGenieConfig responder { n  group} type does not match valid options ^(team|teams|user|escalation|schedule)$"
        );
        assert!(load("{responders: [{name: n, type: '{{ .CommonLabels.t'}]}")
            .unwrap_err()
            .starts_with("opsGenieConfig responder { n  {{ .CommonLabels.t} type contains invalid template syntax: "));
        let c =
            load("{responders: [{id: i, type: Team}, {name: n, type: '{{ .CommonLabels.t }}'}]}")
                .unwrap();
        assert_eq!(
            c.receivers[0].configs::<OpsgenieConfig>()[0].responders[0].kind,
            "Team"
        );
        assert_eq!(
            load("{api_key: a, api_key_file: /f}").unwrap_err(),
            "at most one of api_key & api_key_file must be configured"
        );
    }

    #[test]
    fn inherits_url_and_key() {
        let c = load("{api_url: 'http://og.example/base'}").unwrap();
        let o = &c.receivers[0].configs::<OpsgenieConfig>()[0];
        assert_eq!(
            o.api_url.as_ref().unwrap().as_str(),
            "http://og.example/base/"
        );
        assert_eq!(o.api_key.expose(), "gk");
        let c = load("{api_key: own}").unwrap();
        let o = &c.receivers[0].configs::<OpsgenieConfig>()[0];
        assert_eq!(
            o.api_url.as_ref().unwrap().as_str(),
            "https://api.opsgenie.com/"
        );
        assert_eq!(o.api_key.expose(), "own");
        let printed = c.to_redacted_yaml();
        assert!(
            !printed.contains("own") && !printed.contains("gk"),
            "{printed}"
        );
        assert_eq!(
            Config::parse(&printed, None).unwrap().to_redacted_yaml(),
            printed
        );
    }

    #[test]
    fn null_entry_checked_against_global_key() {
        let e = Config::parse(
            "route: {receiver: r}\nreceivers: [{name: r, opsgenie_configs: [null]}]",
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "no global OpsGenie API Key set either inline or in a file"
        );
    }
}
