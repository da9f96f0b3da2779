//! `slack_configs`: incoming webhooks (`api_url`) or bot tokens (`app_token`, posting to
//! `app_url`), message fields and their defaults, attachments' fields and actions.
//!
//! The entry implements `ReceiverKind`: the registry inherits, prints and builds notifiers
//! through it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::{Authorization, HttpClientConfig, HttpClientSection, Secret};

use super::notifier::Slack;
use crate::config::common::{
    fail, file_path, go_duration, http_or_global, template, Invalid, SecretUrl, Url,
};
use crate::config::marshal::{http, strings, Map};
use crate::config::{ConfigError, GlobalConfig, DEFAULT_SLACK_APP_URL};
use crate::notify::{Notifier, ReceiverKind};

/// One Slack notifier, resolved against `global`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawSlack")]
pub struct SlackConfig {
    pub send_resolved: bool,
    /// The receiver's own, or a copy of the global one.
    pub http_config: HttpClientConfig,
    pub api_url: Option<SecretUrl>,
    pub api_url_file: Option<PathBuf>,
    pub app_token: Secret,
    pub app_token_file: Option<PathBuf>,
    pub app_url: Option<Url>,
    pub channel: String,
    pub username: String,
    pub color: String,
    pub title: String,
    pub title_link: String,
    pub pretext: String,
    pub text: String,
    pub message_text: String,
    pub fields: Vec<SlackField>,
    pub short_fields: bool,
    pub footer: String,
    pub fallback: String,
    pub callback_id: String,
    pub icon_emoji: String,
    pub icon_url: String,
    pub image_url: String,
    pub thumb_url: String,
    pub link_names: bool,
    pub mrkdwn_in: Vec<String>,
    pub actions: Vec<SlackAction>,
    /// Edit the first message of a group instead of posting anew (bot tokens only).
    pub update_message: bool,
    pub timeout: Duration,
    /// The receiver's own `http_config` as written, until resolution against `global`.
    own_http: Option<HttpClientSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawSlackField")]
pub struct SlackField {
    pub title: String,
    pub value: String,
    pub short: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlackField {
    #[serde(default)]
    title: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    short: Option<bool>,
}

impl TryFrom<RawSlackField> for SlackField {
    type Error = Invalid;

    fn try_from(r: RawSlackField) -> Result<SlackField, Invalid> {
        if r.title.is_empty() {
            return fail("missing title in Slack field configuration");
        }
        if r.value.is_empty() {
            return fail("missing value in Slack field configuration");
        }
        Ok(SlackField {
            title: r.title,
            value: r.value,
            short: r.short,
        })
    }
}

/// A button: a link (`url`) or an interactive action (`name`/`value`).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawSlackAction")]
pub struct SlackAction {
    pub kind: String,
    pub text: String,
    pub url: String,
    pub style: String,
    pub name: String,
    pub value: String,
    pub confirm: Option<SlackConfirmation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlackAction {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    style: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    confirm: Option<SlackConfirmation>,
}

impl TryFrom<RawSlackAction> for SlackAction {
    type Error = Invalid;

    fn try_from(r: RawSlackAction) -> Result<SlackAction, Invalid> {
        if r.kind.is_empty() {
            return fail("missing type in Slack action configuration");
        }
        if r.text.is_empty() {
            return fail("missing text in Slack action configuration");
        }
        let mut a = SlackAction {
            kind: r.kind,
            text: r.text,
            url: r.url,
            style: r.style,
            name: r.name,
            value: r.value,
            confirm: r.confirm,
        };
        if !a.url.is_empty() {
            a.name.clear();
            a.value.clear();
            a.confirm = None;
        } else if a.name.is_empty() {
            return fail("missing name or url in Slack action configuration");
        }
        Ok(a)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawSlackConfirmation")]
pub struct SlackConfirmation {
    pub text: String,
    pub title: String,
    pub ok_text: String,
    pub dismiss_text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlackConfirmation {
    #[serde(default)]
    text: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    ok_text: String,
    #[serde(default)]
    dismiss_text: String,
}

impl TryFrom<RawSlackConfirmation> for SlackConfirmation {
    type Error = Invalid;

    fn try_from(r: RawSlackConfirmation) -> Result<SlackConfirmation, Invalid> {
        if r.text.is_empty() {
            return fail("missing text in Slack confirmation configuration");
        }
        Ok(SlackConfirmation {
            text: r.text,
            title: r.title,
            ok_text: r.ok_text,
            dismiss_text: r.dismiss_text,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlack {
    #[serde(default)]
    send_resolved: Option<bool>,
    #[serde(default)]
    http_config: Option<HttpClientSection>,
    #[serde(default)]
    api_url: Option<SecretUrl>,
    #[serde(default, deserialize_with = "file_path")]
    api_url_file: Option<PathBuf>,
    #[serde(default)]
    app_token: Secret,
    #[serde(default, deserialize_with = "file_path")]
    app_token_file: Option<PathBuf>,
    #[serde(default)]
    app_url: Option<Url>,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    color: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    title_link: Option<String>,
    #[serde(default)]
    pretext: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    message_text: String,
    #[serde(default)]
    fields: Vec<SlackField>,
    #[serde(default)]
    short_fields: bool,
    #[serde(default)]
    footer: Option<String>,
    #[serde(default)]
    fallback: Option<String>,
    #[serde(default)]
    callback_id: Option<String>,
    #[serde(default)]
    icon_emoji: Option<String>,
    #[serde(default)]
    icon_url: Option<String>,
    #[serde(default)]
    image_url: String,
    #[serde(default)]
    thumb_url: String,
    #[serde(default)]
    link_names: bool,
    #[serde(default)]
    mrkdwn_in: Vec<String>,
    #[serde(default)]
    actions: Vec<SlackAction>,
    #[serde(default)]
    update_message: bool,
    #[serde(default, deserialize_with = "go_duration")]
    timeout: Option<Duration>,
}

impl TryFrom<RawSlack> for SlackConfig {
    type Error = Invalid;

    fn try_from(r: RawSlack) -> Result<SlackConfig, Invalid> {
        let has_url = r.api_url.is_some() || r.api_url_file.is_some();
        let has_token = !r.app_token.expose().is_empty() || r.app_token_file.is_some();
        if r.api_url.is_some() && r.api_url_file.is_some() {
            return fail("at most one of api_url & api_url_file must be configured");
        }
        if !r.app_token.expose().is_empty() && r.app_token_file.is_some() {
            return fail("at most one of app_token & app_token_file must be configured");
        }
        if has_url && has_token {
            return fail(
                "at most one of api_url/api_url_file & app_token/app_token_file must be configured",
            );
        }
        let posts_to_app_url = r
            .api_url
            .as_ref()
            .and_then(SecretUrl::expose)
            .is_some_and(|u| u.as_str() == DEFAULT_SLACK_APP_URL);
        if r.update_message && !posts_to_app_url {
            return fail(format!(
                "update_message can only be used with bot tokens. api_url must be set to {DEFAULT_SLACK_APP_URL}"
            ));
        }
        Ok(SlackConfig {
            send_resolved: r.send_resolved.unwrap_or(false),
            http_config: HttpClientConfig::default(),
            api_url: r.api_url,
            api_url_file: r.api_url_file,
            app_token: r.app_token,
            app_token_file: r.app_token_file,
            app_url: r.app_url,
            channel: r.channel,
            username: template(r.username, "slack.default.username"),
            color: template(r.color, "slack.default.color"),
            title: template(r.title, "slack.default.title"),
            title_link: template(r.title_link, "slack.default.titlelink"),
            pretext: template(r.pretext, "slack.default.pretext"),
            text: template(r.text, "slack.default.text"),
            message_text: r.message_text,
            fields: r.fields,
            short_fields: r.short_fields,
            footer: template(r.footer, "slack.default.footer"),
            fallback: template(r.fallback, "slack.default.fallback"),
            callback_id: template(r.callback_id, "slack.default.callbackid"),
            icon_emoji: template(r.icon_emoji, "slack.default.iconemoji"),
            icon_url: template(r.icon_url, "slack.default.iconurl"),
            image_url: r.image_url,
            thumb_url: r.thumb_url,
            link_names: r.link_names,
            mrkdwn_in: r.mrkdwn_in,
            actions: r.actions,
            update_message: r.update_message,
            timeout: r.timeout.unwrap_or(Duration::ZERO),
            own_http: r.http_config,
        })
    }
}

impl ReceiverKind for SlackConfig {
    const NAME: &'static str = "slack";
    const GO_PACKAGE: &'static str = "config";

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    /// Alertmanager's inheritance: the app URL, then a global bot token (only when the
    /// receiver has no authorization and no URL of its own), then a global webhook URL; a bot
    /// token becomes the `Authorization` header and the app URL the endpoint.
    fn inherit(&mut self, g: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        if self.app_url.is_none() {
            self.app_url = Some(g.slack_app_url.clone());
        }
        let own_auth = self
            .own_http
            .as_ref()
            .is_some_and(HttpClientSection::has_authorization);
        let has_token =
            |s: &SlackConfig| !s.app_token.expose().is_empty() || s.app_token_file.is_some();
        if !has_token(self) && !own_auth && self.api_url.is_none() {
            self.app_token = g.slack_app_token.clone();
            self.app_token_file = g.slack_app_token_file.clone();
        }
        if self.api_url.is_none() && self.api_url_file.is_none() {
            self.api_url = g.slack_api_url.clone();
            self.api_url_file = g.slack_api_url_file.clone();
        }
        if self.api_url.is_none() && self.api_url_file.is_none() && !has_token(self) {
            return Err(ConfigError::Invalid(
                "no Slack API URL nor App token set either inline or in a file".into(),
            ));
        }
        self.http_config = http_or_global(self.own_http.take(), &g.http_config, dir)?;
        if has_token(self) {
            if self.http_config.authorization.is_some() {
                return Err(ConfigError::Invalid(
                    "http authorization can't be set when using Slack App tokens".into(),
                ));
            }
            self.http_config.authorization = Some(Authorization {
                kind: "Bearer".to_string(),
                credentials: self.app_token.clone(),
                credentials_file: self.app_token_file.clone(),
            });
            self.api_url = self.app_url.clone().map(SecretUrl::from_url);
        }
        Ok(())
    }

    fn print(&self) -> Value {
        // With a bot token, the Authorization header and the URL were derived from it and
        // `app_url`: printing them too would make a file that no longer loads.
        let bot = !self.app_token.expose().is_empty() || self.app_token_file.is_some();
        let mut http_config = self.http_config.clone();
        if bot {
            http_config.authorization = None;
        }
        let api_url = if bot { None } else { self.api_url.clone() };
        let mut m = Map::default();
        m.put("send_resolved", self.send_resolved)
            .put("http_config", http(&http_config))
            .secret_url("api_url", &api_url)
            .path("api_url_file", &self.api_url_file)
            .secret("app_token", &self.app_token)
            .path("app_token_file", &self.app_token_file)
            .url(
                "app_url",
                self.app_url
                    .as_ref()
                    .filter(|u| u.as_str() != DEFAULT_SLACK_APP_URL),
            )
            .string("channel", &self.channel)
            .string("username", &self.username)
            .string("color", &self.color)
            .string("title", &self.title)
            .string("title_link", &self.title_link)
            .string("pretext", &self.pretext)
            .string("text", &self.text)
            .string("message_text", &self.message_text);
        let fields = self
            .fields
            .iter()
            .map(|f| {
                let mut fm = Map::default();
                fm.string("title", &f.title).string("value", &f.value);
                if let Some(s) = f.short {
                    fm.put("short", s);
                }
                fm.done()
            })
            .collect();
        m.list("fields", fields)
            .put("short_fields", self.short_fields)
            .string("footer", &self.footer)
            .string("fallback", &self.fallback)
            .string("callback_id", &self.callback_id)
            .string("icon_emoji", &self.icon_emoji)
            .string("icon_url", &self.icon_url)
            .string("image_url", &self.image_url)
            .string("thumb_url", &self.thumb_url)
            .put("link_names", self.link_names)
            .list("mrkdwn_in", strings(&self.mrkdwn_in));
        let actions = self
            .actions
            .iter()
            .map(|a| {
                let mut am = Map::default();
                am.string("type", &a.kind)
                    .string("text", &a.text)
                    .string("url", &a.url)
                    .string("style", &a.style)
                    .string("name", &a.name)
                    .string("value", &a.value);
                if let Some(cf) = &a.confirm {
                    let mut cm = Map::default();
                    cm.string("text", &cf.text)
                        .string("title", &cf.title)
                        .string("ok_text", &cf.ok_text)
                        .string("dismiss_text", &cf.dismiss_text);
                    am.map("confirm", cm);
                }
                am.done()
            })
            .collect();
        m.list("actions", actions)
            .flag("update_message", self.update_message)
            .duration("timeout", self.timeout);
        m.done()
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        Ok(Box::new(Slack::new(self.clone(), templates.clone())?))
    }
}
