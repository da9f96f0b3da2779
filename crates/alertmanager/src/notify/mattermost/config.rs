//! `mattermost_configs`: a Mattermost incoming webhook (own URL or the global one), the
//! message's templated texts, fields, attachments, props and priority.
//!
//! The entry implements `ReceiverKind`: the registry inherits, prints and builds notifiers
//! through it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::{HttpClientConfig, HttpClientSection};

use super::notifier::Mattermost;
use crate::config::common::template;
use crate::config::common::{fail, file_path, http_or_global, Invalid, SecretUrl};
use crate::config::marshal::{http, Map};
use crate::config::{ConfigError, GlobalConfig};
use crate::notify::{Notifier, ReceiverKind};

/// A field of the message's attachment: both texts are templates and required.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawField")]
pub struct MattermostField {
    pub title: String,
    pub value: String,
    pub short: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    #[serde(default)]
    title: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    short: Option<bool>,
}

impl TryFrom<RawField> for MattermostField {
    type Error = Invalid;

    fn try_from(r: RawField) -> Result<MattermostField, Invalid> {
        if r.title.is_empty() {
            return fail("missing title in Mattermost field configuration");
        }
        if r.value.is_empty() {
            return fail("missing value in Mattermost field configuration");
        }
        Ok(MattermostField {
            title: r.title,
            value: r.value,
            short: r.short,
        })
    }
}

/// One attachment given in full; with any, the top-level texts go unused but `text`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MattermostAttachment {
    #[serde(default)]
    pub fallback: String,
    #[serde(default)]
    pub color: String,
    #[serde(default)]
    pub pretext: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub author_name: String,
    #[serde(default)]
    pub author_link: String,
    #[serde(default)]
    pub author_icon: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub title_link: String,
    #[serde(default)]
    pub fields: Vec<MattermostField>,
    #[serde(default)]
    pub thumb_url: String,
    #[serde(default)]
    pub footer: String,
    #[serde(default)]
    pub footer_icon: String,
    #[serde(default)]
    pub image_url: String,
}

/// Message priority (Mattermost Professional): `urgent`, `important` or `standard`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MattermostPriority {
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub requested_ack: bool,
    #[serde(default)]
    pub persistent_notifications: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MattermostProps {
    #[serde(default)]
    pub card: String,
}

/// One Mattermost notifier, resolved against `global`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawMattermost")]
pub struct MattermostConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    pub webhook_url: Option<SecretUrl>,
    pub webhook_url_file: Option<PathBuf>,
    pub channel: String,
    pub username: String,
    pub text: String,
    pub fallback: String,
    pub color: String,
    pub pretext: String,
    pub author_name: String,
    pub author_link: String,
    pub author_icon: String,
    pub title: String,
    pub title_link: String,
    pub fields: Vec<MattermostField>,
    pub thumb_url: String,
    pub footer: String,
    pub footer_icon: String,
    pub image_url: String,
    pub icon_url: String,
    pub icon_emoji: String,
    pub attachments: Vec<MattermostAttachment>,
    /// The post type.
    pub kind: String,
    pub props: Option<MattermostProps>,
    pub priority: Option<MattermostPriority>,
    own_http: Option<HttpClientSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMattermost {
    #[serde(default)]
    send_resolved: Option<bool>,
    #[serde(default)]
    http_config: Option<HttpClientSection>,
    #[serde(default)]
    webhook_url: Option<SecretUrl>,
    #[serde(default, deserialize_with = "file_path")]
    webhook_url_file: Option<PathBuf>,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    fallback: Option<String>,
    #[serde(default)]
    color: Option<String>,
    #[serde(default)]
    pretext: String,
    #[serde(default)]
    author_name: String,
    #[serde(default)]
    author_link: String,
    #[serde(default)]
    author_icon: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    title_link: Option<String>,
    #[serde(default)]
    fields: Vec<MattermostField>,
    #[serde(default)]
    thumb_url: String,
    #[serde(default)]
    footer: String,
    #[serde(default)]
    footer_icon: String,
    #[serde(default)]
    image_url: String,
    #[serde(default)]
    icon_url: String,
    #[serde(default)]
    icon_emoji: String,
    #[serde(default)]
    attachments: Vec<MattermostAttachment>,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    props: Option<MattermostProps>,
    #[serde(default)]
    priority: Option<MattermostPriority>,
}

impl TryFrom<RawMattermost> for MattermostConfig {
    type Error = Invalid;

    fn try_from(r: RawMattermost) -> Result<MattermostConfig, Invalid> {
        if r.webhook_url.is_some() && r.webhook_url_file.is_some() {
            return fail("at most one of webhook_url & webhook_url_file must be configured");
        }
        Ok(MattermostConfig {
            send_resolved: r.send_resolved.unwrap_or(true),
            http_config: HttpClientConfig::default(),
            webhook_url: r.webhook_url,
            webhook_url_file: r.webhook_url_file,
            channel: r.channel,
            username: template(r.username, "mattermost.default.username"),
            text: template(r.text, "mattermost.default.text"),
            fallback: template(r.fallback, "mattermost.default.fallback"),
            color: template(r.color, "mattermost.default.color"),
            pretext: r.pretext,
            author_name: r.author_name,
            author_link: r.author_link,
            author_icon: r.author_icon,
            title: template(r.title, "mattermost.default.title"),
            title_link: template(r.title_link, "mattermost.default.titlelink"),
            fields: r.fields,
            thumb_url: r.thumb_url,
            footer: r.footer,
            footer_icon: r.footer_icon,
            image_url: r.image_url,
            icon_url: r.icon_url,
            icon_emoji: r.icon_emoji,
            attachments: r.attachments,
            kind: r.kind,
            props: r.props,
            priority: r.priority,
            own_http: r.http_config,
        })
    }
}

impl ReceiverKind for MattermostConfig {
    const NAME: &'static str = "mattermost";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    /// The URL (or URL file) from `global` when the receiver has neither.
    fn inherit(&mut self, g: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        self.http_config = http_or_global(self.own_http.take(), &g.http_config, dir)?;
        if self.webhook_url.is_none() && self.webhook_url_file.is_none() {
            if g.mattermost_webhook_url.is_none() && g.mattermost_webhook_url_file.is_none() {
                return Err(ConfigError::Invalid(
                    "missing webhook_url or webhook_url_file on mattermost_config".into(),
                ));
            }
            self.webhook_url = g.mattermost_webhook_url.clone();
            self.webhook_url_file = g.mattermost_webhook_url_file.clone();
        }
        Ok(())
    }

    fn print(&self) -> Value {
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&self.http_config))
            .secret_url("webhook_url", &self.webhook_url)
            .path("webhook_url_file", &self.webhook_url_file)
            .string("channel", &self.channel)
            .string("username", &self.username)
            .string("text", &self.text)
            .string("fallback", &self.fallback)
            .string("color", &self.color)
            .string("pretext", &self.pretext)
            .string("author_name", &self.author_name)
            .string("author_link", &self.author_link)
            .string("author_icon", &self.author_icon)
            .string("title", &self.title)
            .string("title_link", &self.title_link)
            .list("fields", mattermost_fields(&self.fields))
            .string("thumb_url", &self.thumb_url)
            .string("footer", &self.footer)
            .string("footer_icon", &self.footer_icon)
            .string("image_url", &self.image_url)
            .string("icon_url", &self.icon_url)
            .string("icon_emoji", &self.icon_emoji);
        let attachments = self
            .attachments
            .iter()
            .map(|a| {
                let mut am = Map::default();
                am.string("fallback", &a.fallback)
                    .string("color", &a.color)
                    .string("pretext", &a.pretext)
                    .string("text", &a.text)
                    .string("author_name", &a.author_name)
                    .string("author_link", &a.author_link)
                    .string("author_icon", &a.author_icon)
                    .string("title", &a.title)
                    .string("title_link", &a.title_link)
                    .list("fields", mattermost_fields(&a.fields))
                    .string("thumb_url", &a.thumb_url)
                    .string("footer", &a.footer)
                    .string("footer_icon", &a.footer_icon)
                    .string("image_url", &a.image_url);
                am.done()
            })
            .collect();
        m.list("attachments", attachments)
            .string("type", &self.kind);
        // Present sections print even when empty, as upstream's pointers do.
        if let Some(p) = &self.props {
            let mut pm = Map::default();
            pm.string("card", &p.card);
            m.put("props", pm.done());
        }
        if let Some(p) = &self.priority {
            let mut pm = Map::default();
            pm.string("priority", &p.priority)
                .flag("requested_ack", p.requested_ack)
                .flag("persistent_notifications", p.persistent_notifications);
            m.put("priority", pm.done());
        }
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Mattermost::new(self.clone(), templates.clone())?))
    }
}

fn mattermost_fields(fields: &[MattermostField]) -> Vec<Value> {
    fields
        .iter()
        .map(|f| {
            let mut fm = Map::default();
            fm.string("title", &f.title).string("value", &f.value);
            if let Some(s) = f.short {
                fm.put("short", s);
            }
            fm.done()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::MattermostConfig;
    use crate::config::Config;
    use crate::notify::test_support;

    fn load(global: &str, body: &str) -> Result<Config, String> {
        test_support::load::<MattermostConfig>(global, body)
    }

    #[test]
    fn checks() {
        assert_eq!(
            load(
                "{}",
                "webhook_url: http://m.example/h\n    webhook_url_file: /f"
            )
            .unwrap_err(),
            "at most one of webhook_url & webhook_url_file must be configured"
        );
        assert_eq!(
            load("{}", "channel: c").unwrap_err(),
            "missing webhook_url or webhook_url_file on mattermost_config"
        );
        assert_eq!(
            load(
                "{}",
                "webhook_url: http://m.example/h\n    fields: [{value: v}]"
            )
            .unwrap_err(),
            "missing title in Mattermost field configuration"
        );
        assert_eq!(
            load(
                "{}",
                "webhook_url: http://m.example/h\n    attachments: [{fields: [{title: t}]}]"
            )
            .unwrap_err(),
            "missing value in Mattermost field configuration"
        );
    }

    #[test]
    fn global_url_and_defaults() {
        let cfg = load("mattermost_webhook_url_file: /g", "channel: c").unwrap();
        let c = &cfg.receivers[0].configs::<MattermostConfig>()[0];
        assert!(c.webhook_url.is_none());
        assert_eq!(c.webhook_url_file.as_deref(), Some("/g".as_ref()));
        assert!(c.send_resolved);
        assert_eq!(
            c.title_link,
            r#"{{ template "mattermost.default.titlelink" . }}"#
        );
        assert_eq!(c.pretext, "");
        let cfg = load(
            "mattermost_webhook_url_file: /g",
            "webhook_url: http://own.example/h",
        )
        .unwrap();
        let c = &cfg.receivers[0].configs::<MattermostConfig>()[0];
        assert!(c.webhook_url.is_some() && c.webhook_url_file.is_none());
    }
}
