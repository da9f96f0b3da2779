//! The Slack notifier: one message with one legacy attachment, posted to an incoming
//! webhook (`api_url`, `api_url_file`) or, with a bot token, to the Web API (`app_url`, the
//! token sent as `Authorization: Bearer`). Every text field is a template rendered against
//! the notification, as upstream.
//!
//! Slack may accept a request with 200 and still refuse the message: the Web API answers
//! JSON `{"ok":false,"error":…}`, incoming webhooks a body other than `ok`. Both fail the
//! notification without retry, like upstream.
//!
//! With `update_message`, the Web API's id of the group's message (its channel and `ts`) is
//! kept in the notification log, and later notifications of the group edit that message
//! through `chat.update` instead of posting a new one.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use super::config::SlackConfig;
use crate::nflog::ReceiverData;
use crate::notify::retrier::{self, truncate_runes};
use crate::notify::{
    gojson, notification_data, BoxFuture, Notifier, NotifyContext, NotifyError, Render,
};
use crate::types::Alert;

/// Slack's limit on an attachment's title (characters; upstream counts runes).
const MAX_TITLE_RUNES: usize = 1024;

/// Upstream's notification-log keys of the message to update.
const THREAD_TS: &str = "threadTs";
const CHANNEL_ID: &str = "channelId";

/// The Web API method posting messages (the only `api_url` `update_message` allows), and the
/// one editing them.
const POST_METHOD: &str = "chat.postMessage";
const UPDATE_METHOD: &str = "chat.update";

/// Where attachments are rendered as markdown unless `mrkdwn_in` says otherwise.
const DEFAULT_MRKDWN_IN: [&str; 3] = ["fallback", "pretext", "text"];

/// The message: upstream's JSON names, empty optional fields left out.
#[derive(Debug, Serialize)]
struct Request {
    #[serde(skip_serializing_if = "String::is_empty")]
    channel: String,
    /// The message to edit (`chat.update`).
    #[serde(skip_serializing_if = "String::is_empty")]
    ts: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_emoji: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_url: String,
    #[serde(skip_serializing_if = "is_false")]
    link_names: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    attachments: [Attachment; 1],
}

#[derive(Debug, Serialize)]
struct Attachment {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title_link: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pretext: String,
    text: String,
    fallback: String,
    callback_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<Field>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<Action>,
    #[serde(skip_serializing_if = "String::is_empty")]
    image_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    thumb_url: String,
    footer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    color: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mrkdwn_in: Vec<String>,
}

/// A field always carries `short`: its own setting or the receiver's `short_fields`.
#[derive(Debug, Serialize)]
struct Field {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
    short: bool,
}

#[derive(Debug, Serialize)]
struct Action {
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    style: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirm: Option<Confirm>,
}

#[derive(Debug, Serialize)]
struct Confirm {
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    ok_text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    dismiss_text: String,
}

fn is_false(b: &bool) -> bool {
    !b
}

/// The Web API's answer.
#[derive(Deserialize)]
struct ApiResponse {
    #[serde(default)]
    ok: bool,
    #[serde(default)]
    error: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    ts: String,
}

/// The id of a message the Web API posted: its channel and `ts`.
#[derive(Debug, PartialEq)]
struct Posted {
    channel: String,
    ts: String,
}

pub struct Slack {
    conf: SlackConfig,
    client: reqwest::Client,
    templates: Arc<NotificationTemplates>,
}

impl Slack {
    pub fn new(conf: SlackConfig, templates: Arc<NotificationTemplates>) -> Result<Slack, String> {
        let client = bongsu_httpclient::client(&conf.http_config, true)?;
        Ok(Slack {
            conf,
            client,
            templates,
        })
    }

    /// The message for one notification rendered by `r`.
    fn request(&self, ctx: &NotifyContext, r: &Render<'_>) -> Result<Request, NotifyError> {
        let c = &self.conf;
        let (title, truncated) = truncate_runes(r.text("title", &c.title)?, MAX_TITLE_RUNES);
        if truncated {
            tracing::warn!(key = %ctx.group_key, max_runes = MAX_TITLE_RUNES, "Truncated title");
        }
        let fields = c
            .fields
            .iter()
            .map(|f| {
                Ok(Field {
                    title: r.text("field title", &f.title)?,
                    value: r.text("field value", &f.value)?,
                    short: f.short.unwrap_or(c.short_fields),
                })
            })
            .collect::<Result<_, NotifyError>>()?;
        let actions = c
            .actions
            .iter()
            .map(|a| {
                let confirm = match &a.confirm {
                    Some(f) => Some(Confirm {
                        text: r.text("confirm text", &f.text)?,
                        title: r.text("confirm title", &f.title)?,
                        ok_text: r.text("confirm ok_text", &f.ok_text)?,
                        dismiss_text: r.text("confirm dismiss_text", &f.dismiss_text)?,
                    }),
                    None => None,
                };
                Ok(Action {
                    kind: r.text("action type", &a.kind)?,
                    text: r.text("action text", &a.text)?,
                    url: r.text("action url", &a.url)?,
                    style: r.text("action style", &a.style)?,
                    name: r.text("action name", &a.name)?,
                    value: r.text("action value", &a.value)?,
                    confirm,
                })
            })
            .collect::<Result<_, NotifyError>>()?;
        let mrkdwn_in = if c.mrkdwn_in.is_empty() {
            DEFAULT_MRKDWN_IN.iter().map(|s| s.to_string()).collect()
        } else {
            c.mrkdwn_in.clone()
        };
        let attachment = Attachment {
            title,
            title_link: r.text("title_link", &c.title_link)?,
            pretext: r.text("pretext", &c.pretext)?,
            text: r.text("text", &c.text)?,
            fallback: r.text("fallback", &c.fallback)?,
            callback_id: r.text("callback_id", &c.callback_id)?,
            fields,
            actions,
            image_url: r.text("image_url", &c.image_url)?,
            thumb_url: r.text("thumb_url", &c.thumb_url)?,
            footer: r.text("footer", &c.footer)?,
            color: r.text("color", &c.color)?,
            mrkdwn_in,
        };
        Ok(Request {
            channel: r.text("channel", &c.channel)?,
            ts: String::new(),
            username: r.text("username", &c.username)?,
            icon_emoji: r.text("icon_emoji", &c.icon_emoji)?,
            icon_url: r.text("icon_url", &c.icon_url)?,
            link_names: c.link_names,
            text: r.text("message_text", &c.message_text)?,
            attachments: [attachment],
        })
    }

    /// The endpoint: `api_url` (the app URL with a bot token) or the contents of
    /// `api_url_file`.
    fn url(&self) -> Result<String, NotifyError> {
        let c = &self.conf;
        retrier::url_or_file(
            c.api_url.as_ref(),
            c.api_url_file.as_deref(),
            "api_url",
            "api_url_file",
        )
    }

    /// With `update_message` and a message of the group already posted: edit that message.
    fn target_posted(&self, kept: &ReceiverData, url: &mut String, req: &mut Request) {
        if !self.conf.update_message {
            return;
        }
        let (Some(ts), Some(channel)) = (kept.get(THREAD_TS), kept.get(CHANNEL_ID)) else {
            return;
        };
        if ts.is_empty() || channel.is_empty() {
            return;
        }
        if let Some(base) = url.strip_suffix(POST_METHOD) {
            *url = format!("{base}{UPDATE_METHOD}");
        }
        req.ts = ts.clone();
        req.channel = channel.clone();
        tracing::debug!(thread_ts = %ts, channel_id = %channel, "updating previously sent message");
    }

    async fn send(
        &self,
        ctx: &NotifyContext,
        alerts: &[Alert],
        kept: &mut ReceiverData,
    ) -> Result<(), NotifyError> {
        let data = notification_data(ctx, alerts);
        let mut req = self.request(ctx, &Render::new(&self.templates, &data))?;
        let mut url = self.url()?;
        self.target_posted(kept, &mut url, &mut req);
        let body = gojson::encode(&req)
            .map_err(|e| NotifyError::permanent(format!("encoding the message: {e}")))?;
        let http = retrier::post_json(
            &self.client,
            &url,
            body,
            &self.conf.http_config,
            self.conf.timeout,
        )?;
        let in_channel = |mut e: NotifyError| {
            e.message = format!("channel {:?}: {}", req.channel, e.message);
            e
        };
        let resp = http.send().await.map_err(|e| {
            let timed_out = e.is_timeout();
            let mut err = retrier::send_error(e);
            if timed_out && self.conf.timeout > Duration::ZERO {
                err.message = format!(
                    "{}: configured slack timeout reached ({:?})",
                    err.message, self.conf.timeout
                );
            }
            err
        })?;
        let resp = retrier::check(resp).await.map_err(in_channel)?;
        let json = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let verdict = match resp.bytes().await {
            Ok(body) => answer(json, &body),
            Err(e) => Err(NotifyError::transient(format!(
                "could not read response body: {}",
                e.without_url()
            ))),
        };
        let posted = verdict.map_err(|mut e| {
            e.reason = "clientError";
            in_channel(e)
        })?;
        if let (true, Some(p)) = (self.conf.update_message, posted) {
            if !p.ts.is_empty() && !p.channel.is_empty() {
                kept.insert(THREAD_TS.to_string(), p.ts);
                kept.insert(CHANNEL_ID.to_string(), p.channel);
            }
        }
        Ok(())
    }
}

/// Slack's verdict in a 2xx answer: the Web API's JSON `ok` (with the posted message's
/// id), or an incoming webhook's plain `ok`.
fn answer(json: bool, body: &[u8]) -> Result<Option<Posted>, NotifyError> {
    if !json {
        if body == b"ok" {
            return Ok(None);
        }
        return Err(NotifyError::permanent(format!(
            "received an error response from Slack: {}",
            String::from_utf8_lossy(body)
        )));
    }
    match serde_json::from_slice::<ApiResponse>(body) {
        Ok(r) if r.ok => Ok(Some(Posted {
            channel: r.channel,
            ts: r.ts,
        })),
        Ok(r) => Err(NotifyError::permanent(format!(
            "error response from Slack: {}",
            r.error
        ))),
        Err(e) => Err(NotifyError::transient(format!(
            "could not unmarshal JSON response {:?}: {e}",
            String::from_utf8_lossy(body)
        ))),
    }
}

impl Notifier for Slack {
    fn notify<'a>(
        &'a self,
        ctx: &'a NotifyContext,
        alerts: &'a [Alert],
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(async move { self.send(ctx, alerts, &mut ReceiverData::new()).await })
    }

    fn notify_with_data<'a>(
        &'a self,
        ctx: &'a NotifyContext,
        alerts: &'a [Alert],
        data: &'a mut ReceiverData,
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.send(ctx, alerts, data))
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
