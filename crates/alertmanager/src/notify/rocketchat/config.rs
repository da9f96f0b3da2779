//! `rocketchat_configs`: Rocket.Chat's `chat.postMessage` REST call, its user ID and token
//! (own or global, inline or in files), and the attachment's templated texts, fields and
//! buttons.
//!
//! The entry implements `ReceiverKind`: the registry inherits, prints and builds notifiers
//! through it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::{HttpClientConfig, HttpClientSection, Secret};

use super::notifier::Rocketchat;
use crate::config::common::template;
use crate::config::common::{fail, file_path, http_or_global, Invalid, Url};
use crate::config::marshal::{http, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

/// A field of the attachment; `short` falls back to the receiver's `short_fields`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RocketchatField {
    #[serde(default)]
    pub short: Option<bool>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub value: String,
}

/// A button of the attachment. Upstream gives these keys no YAML names, so they are the
/// Go field names lowercased (`imageurl`, `iswebview`, …); only `text`, `url` and `msg`
/// reach the message.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RocketchatAction {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub imageurl: String,
    #[serde(default)]
    pub iswebview: bool,
    #[serde(default)]
    pub webviewheightratio: String,
    #[serde(default)]
    pub msg: String,
    #[serde(default)]
    pub msginchatwindow: bool,
    #[serde(default)]
    pub msgprocessingtype: String,
}

/// One Rocket.Chat notifier, resolved against `global`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawRocketchat")]
pub struct RocketchatConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    /// `rocketchat_api_url` from `global` unless set.
    pub api_url: Option<Url>,
    pub token_id: Option<Secret>,
    pub token_id_file: Option<PathBuf>,
    pub token: Option<Secret>,
    pub token_file: Option<PathBuf>,
    pub channel: String,
    pub color: String,
    pub title: String,
    pub title_link: String,
    pub text: String,
    pub fields: Vec<RocketchatField>,
    pub short_fields: bool,
    pub emoji: String,
    pub icon_url: String,
    pub image_url: String,
    pub thumb_url: String,
    pub link_names: bool,
    pub actions: Vec<RocketchatAction>,
    own_http: Option<HttpClientSection>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRocketchat {
    #[serde(default)]
    send_resolved: Option<bool>,
    #[serde(default)]
    http_config: Option<HttpClientSection>,
    #[serde(default)]
    api_url: Option<Url>,
    #[serde(default)]
    token_id: Option<Secret>,
    #[serde(default, deserialize_with = "file_path")]
    token_id_file: Option<PathBuf>,
    #[serde(default)]
    token: Option<Secret>,
    #[serde(default, deserialize_with = "file_path")]
    token_file: Option<PathBuf>,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    color: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    title_link: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    fields: Vec<RocketchatField>,
    #[serde(default)]
    short_fields: bool,
    #[serde(default)]
    emoji: Option<String>,
    #[serde(default)]
    icon_url: Option<String>,
    #[serde(default)]
    image_url: String,
    #[serde(default)]
    thumb_url: String,
    #[serde(default)]
    link_names: bool,
    #[serde(default)]
    actions: Vec<RocketchatAction>,
}

impl TryFrom<RawRocketchat> for RocketchatConfig {
    type Error = Invalid;

    fn try_from(r: RawRocketchat) -> Result<RocketchatConfig, Invalid> {
        if r.token.is_some() && r.token_file.is_some() {
            return fail("at most one of token & token_file must be configured");
        }
        if r.token_id.is_some() && r.token_id_file.is_some() {
            return fail("at most one of token_id & token_id_file must be configured");
        }
        Ok(RocketchatConfig {
            send_resolved: r.send_resolved.unwrap_or(false),
            http_config: HttpClientConfig::default(),
            api_url: r.api_url,
            token_id: r.token_id,
            token_id_file: r.token_id_file,
            token: r.token,
            token_file: r.token_file,
            channel: r.channel,
            color: r.color.unwrap_or_else(|| {
                r#"{{ if eq .Status "firing" }}red{{ else }}green{{ end }}"#.to_string()
            }),
            title: template(r.title, "rocketchat.default.title"),
            title_link: template(r.title_link, "rocketchat.default.titlelink"),
            text: template(r.text, "rocketchat.default.text"),
            fields: r.fields,
            short_fields: r.short_fields,
            emoji: template(r.emoji, "rocketchat.default.emoji"),
            icon_url: template(r.icon_url, "rocketchat.default.iconurl"),
            image_url: r.image_url,
            thumb_url: r.thumb_url,
            link_names: r.link_names,
            actions: r.actions,
            own_http: r.http_config,
        })
    }
}

impl ReceiverKind for RocketchatConfig {
    const NAME: &'static str = "rocketchat";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    /// Upstream's inheritance: the URL, then the user ID and the token, each pair taken
    /// from `global` key by key when unset here.
    fn inherit(&mut self, g: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        self.http_config = http_or_global(self.own_http.take(), &g.http_config, dir)?;
        if self.api_url.is_none() {
            self.api_url = Some(g.rocketchat_api_url.clone());
        }
        if self.token_id.is_none() {
            self.token_id = g.rocketchat_token_id.clone();
        }
        if self.token_id_file.is_none() {
            self.token_id_file = g.rocketchat_token_id_file.clone();
        }
        if self.token_id.is_none() && self.token_id_file.is_none() {
            return Err(ConfigError::Invalid(
                "no global Rocketchat TokenID set either inline or in a file".into(),
            ));
        }
        if self.token.is_none() {
            self.token = g.rocketchat_token.clone();
        }
        if self.token_file.is_none() {
            self.token_file = g.rocketchat_token_file.clone();
        }
        if self.token.is_none() && self.token_file.is_none() {
            return Err(ConfigError::Invalid(
                "no global Rocketchat Token set either inline or in a file".into(),
            ));
        }
        Ok(())
    }

    /// Upstream's check of a null `rocketchat_configs` entry: it stands for an empty one, so
    /// the global credentials must be there.
    fn check_null_entry(g: &GlobalConfig) -> Result<(), ConfigError> {
        let mut empty = RocketchatConfig::try_from(RawRocketchat::default())
            .map_err(|e| ConfigError::Invalid(e.0))?;
        empty.inherit(g, None)
    }

    /// Upstream's Rocket.Chat fields and buttons have no omit-empty rules: every key prints.
    fn print(&self) -> Value {
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&self.http_config))
            .url("api_url", self.api_url.as_ref());
        if let Some(t) = &self.token_id {
            m.secret("token_id", t);
        }
        m.path("token_id_file", &self.token_id_file);
        if let Some(t) = &self.token {
            m.secret("token", t);
        }
        m.path("token_file", &self.token_file)
            .string("channel", &self.channel)
            .string("color", &self.color)
            .string("title", &self.title)
            .string("title_link", &self.title_link)
            .string("text", &self.text);
        let fields = self
            .fields
            .iter()
            .map(|f| {
                let mut fm = Map::default();
                fm.put("short", f.short.map_or(Value::Null, Value::from))
                    .put("title", f.title.as_str())
                    .put("value", f.value.as_str());
                fm.done()
            })
            .collect();
        m.list("fields", fields)
            .put("short_fields", self.short_fields)
            .string("emoji", &self.emoji)
            .string("icon_url", &self.icon_url)
            .string("image_url", &self.image_url)
            .string("thumb_url", &self.thumb_url)
            .put("link_names", self.link_names);
        let actions = self
            .actions
            .iter()
            .map(|a| {
                let mut am = Map::default();
                am.put("type", a.kind.as_str())
                    .put("text", a.text.as_str())
                    .put("url", a.url.as_str())
                    .put("imageurl", a.imageurl.as_str())
                    .put("iswebview", a.iswebview)
                    .put("webviewheightratio", a.webviewheightratio.as_str())
                    .put("msg", a.msg.as_str())
                    .put("msginchatwindow", a.msginchatwindow)
                    .put("msgprocessingtype", a.msgprocessingtype.as_str());
                am.done()
            })
            .collect();
        m.list("actions", actions);
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Rocketchat::new(self.clone(), templates.clone())?))
    }
}

#[cfg(test)]
mod tests {
    use super::RocketchatConfig;
    use crate::config::Config;
    use crate::notify::test_support;

    fn load(global: &str, body: &str) -> Result<Config, String> {
        test_support::load::<RocketchatConfig>(global, body)
    }

    #[test]
    fn credential_checks() {
        assert_eq!(
            load("{}", "token: a\n    token_file: /f").unwrap_err(),
            "at most one of token & token_file must be configured"
        );
        assert_eq!(
            load("{}", "token_id: a\n    token_id_file: /f").unwrap_err(),
            "at most one of token_id & token_id_file must be configured"
        );
        assert_eq!(
            load("{}", "token: a").unwrap_err(),
            "no global Rocketchat TokenID set either inline or in a file"
        );
        assert_eq!(
            load("{}", "token_id: a").unwrap_err(),
            "no global Rocketchat Token set either inline or in a file"
        );
        assert!(load(
            "rocketchat_token_id: u\n  rocketchat_token_file: /t",
            "channel: c"
        )
        .is_ok());
    }

    #[test]
    fn null_entry_needs_global_credentials() {
        let yaml = "route: {receiver: t}\nreceivers:\n- name: t\n  rocketchat_configs: [~]\n";
        assert_eq!(
            Config::parse(yaml, None).unwrap_err().to_string(),
            "no global Rocketchat TokenID set either inline or in a file"
        );
    }

    #[test]
    fn defaults_and_inheritance() {
        let cfg = load(
            "rocketchat_token_id: gid\n  rocketchat_token: gtok\n  rocketchat_api_url: http://rc.example/base/",
            "token: own\n    actions: [{text: t, url: 'http://x', iswebview: true}]",
        )
        .unwrap();
        let c = &cfg.receivers[0].configs::<RocketchatConfig>()[0];
        assert!(!c.send_resolved);
        assert_eq!(c.token_id.as_ref().unwrap().expose(), "gid");
        assert_eq!(c.token.as_ref().unwrap().expose(), "own");
        assert_eq!(
            c.api_url.as_ref().unwrap().as_str(),
            "http://rc.example/base/"
        );
        assert_eq!(c.emoji, r#"{{ template "rocketchat.default.emoji" . }}"#);
        assert!(c.actions[0].iswebview);
    }
}
