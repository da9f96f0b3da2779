//! The Rocket.Chat notifier: one attachment (title cut to Rocket.Chat's limit, link, text,
//! colour, fields, buttons) POSTed to `chat.postMessage` with the user ID and token headers;
//! a 2xx answer must also say `"success": true`. Failures name the channel, as upstream.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::{read_secret_file, Secret};

use super::config::RocketchatConfig;
use crate::matcher::go_quote;
use crate::notify::retrier::{self, truncate_runes};
use crate::notify::{gojson, notification_data, Deliver, NotifyContext, NotifyError, Render};
use crate::types::Alert;

/// Rocket.Chat's limit for an attachment title, in characters.
const MAX_TITLE_RUNES: usize = 1024;

/// Most bytes of an answer read: enough for the posted message Rocket.Chat echoes back.
const MAX_ANSWER_BYTES: usize = 1 << 20;

#[derive(Serialize)]
struct PostMessage {
    #[serde(skip_serializing_if = "String::is_empty")]
    channel: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    emoji: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    avatar: String,
    attachments: [Attachment; 1],
}

#[derive(Serialize)]
struct Attachment {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title_link: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    image_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    thumb_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    color: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<Field>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<Action>,
}

#[derive(Serialize)]
struct Field {
    short: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
}

/// A button; the two flags are always sent, false.
#[derive(Serialize)]
struct Action {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    url: String,
    is_webview: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    msg: String,
    msg_in_chat_window: bool,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    error: String,
}

pub struct Rocketchat {
    conf: RocketchatConfig,
    client: reqwest::Client,
    templates: Arc<NotificationTemplates>,
}

/// A credential given inline or in a file (read now, trimmed).
fn credential(
    inline: &Option<Secret>,
    file: &Option<std::path::PathBuf>,
) -> Result<String, NotifyError> {
    if let Some(f) = file {
        return read_secret_file(f)
            .map(|s| s.expose().trim().to_string())
            .map_err(|e| NotifyError::permanent(format!("could not read {}: {e}", f.display())));
    }
    Ok(inline
        .as_ref()
        .map(|s| s.expose().to_string())
        .unwrap_or_default())
}

impl Rocketchat {
    pub fn new(
        conf: RocketchatConfig,
        templates: Arc<NotificationTemplates>,
    ) -> Result<Rocketchat, String> {
        let client = bongsu_httpclient::client(&conf.http_config, true)?;
        Ok(Rocketchat {
            conf,
            client,
            templates,
        })
    }

    /// `api/v1/chat.postMessage` under the API URL's path.
    fn url(&self) -> Result<String, NotifyError> {
        let Some(base) = &self.conf.api_url else {
            return Err(NotifyError::permanent("no Rocketchat API URL"));
        };
        let mut url = base.as_url().clone();
        let path = format!(
            "{}/api/v1/chat.postMessage",
            url.path().trim_end_matches('/')
        );
        url.set_path(&path);
        Ok(url.to_string())
    }

    fn message(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<PostMessage, NotifyError> {
        let c = &self.conf;
        let data = notification_data(ctx, alerts);
        let r = Render::new(&self.templates, &data);
        let (title, truncated) = truncate_runes(r.text("title", &c.title)?, MAX_TITLE_RUNES);
        if truncated {
            tracing::warn!(key = %ctx.group_key, max_runes = MAX_TITLE_RUNES, "Truncated title");
        }
        let fields = c
            .fields
            .iter()
            .map(|f| {
                Ok(Field {
                    short: f.short.unwrap_or(c.short_fields),
                    title: r.text("field title", &f.title)?,
                    value: r.text("field value", &f.value)?,
                })
            })
            .collect::<Result<_, NotifyError>>()?;
        let actions = c
            .actions
            .iter()
            .map(|a| {
                Ok(Action {
                    kind: "button",
                    text: r.text("action text", &a.text)?,
                    url: r.text("action url", &a.url)?,
                    is_webview: false,
                    msg: r.text("action msg", &a.msg)?,
                    msg_in_chat_window: false,
                })
            })
            .collect::<Result<_, NotifyError>>()?;
        Ok(PostMessage {
            channel: r.text("channel", &c.channel)?,
            emoji: r.text("emoji", &c.emoji)?,
            avatar: r.text("icon_url", &c.icon_url)?,
            attachments: [Attachment {
                title,
                title_link: r.text("title_link", &c.title_link)?,
                text: r.text("text", &c.text)?,
                image_url: r.text("image_url", &c.image_url)?,
                thumb_url: r.text("thumb_url", &c.thumb_url)?,
                color: r.text("color", &c.color)?,
                fields,
                actions,
            }],
        })
    }
}

/// What a 2xx answer says: success, or Rocket.Chat's error (not retried); an answer that
/// is not the expected JSON is retried.
fn check_answer(body: &[u8]) -> Result<(), NotifyError> {
    match serde_json::from_slice::<Answer>(body) {
        Err(e) => Err(NotifyError::transient(format!(
            "could not unmarshal JSON response {}: {e}",
            go_quote(&String::from_utf8_lossy(body))
        ))),
        Ok(a) if !a.success => Err(NotifyError::permanent(format!(
            "error response from Rocketchat: {}",
            a.error
        ))),
        Ok(_) => Ok(()),
    }
}

impl Deliver for Rocketchat {
    async fn deliver(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let token = credential(&self.conf.token, &self.conf.token_file)?;
        let token_id = credential(&self.conf.token_id, &self.conf.token_id_file)?;
        let msg = self.message(ctx, alerts)?;
        let body = gojson::body(&msg)?;
        let req = retrier::post_json(
            &self.client,
            &self.url()?,
            body,
            &self.conf.http_config,
            std::time::Duration::ZERO,
        )?
        .header("X-Auth-Token", token)
        .header("X-User-Id", token_id);
        let named = |mut e: NotifyError| {
            e.message = format!("channel {}: {}", go_quote(&msg.channel), e.message);
            e
        };
        let resp = req.send().await.map_err(retrier::send_error)?;
        let status = resp.status();
        let mut answer = Vec::new();
        let mut resp = resp;
        while let Some(chunk) = resp.chunk().await.map_err(retrier::send_error)? {
            answer.extend_from_slice(&chunk);
            if answer.len() > MAX_ANSWER_BYTES {
                break;
            }
        }
        if !status.is_success() {
            return Err(named(retrier::status_error(status, &answer)));
        }
        check_answer(&answer).map_err(|mut e| {
            e.reason = "clientError";
            named(e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::test_support::{alert, ctx, entry, templates};

    fn notifier(extra: &str) -> Rocketchat {
        let conf = entry("{}", &format!("token_id: u\n    token: k\n    {extra}"));
        Rocketchat::new(conf, templates()).unwrap()
    }

    fn body(n: &Rocketchat) -> String {
        let msg = n.message(&ctx(), &[alert("A", None)]).unwrap();
        String::from_utf8(gojson::body(&msg).unwrap()).unwrap()
    }

    #[test]
    fn message_bytes() {
        let n = notifier(
            "channel: '#c'\n    title: 'T <{{ .Status }}>'\n    title_link: ''\n    text: x\n    \
             short_fields: true\n    fields: [{title: a, value: '{{ len .Alerts }}'}, {title: b, value: c, short: false}]\n    \
             actions: [{text: Run, url: 'http://r/{{ .Receiver }}', msg: m, iswebview: true}]",
        );
        assert_eq!(
            body(&n),
            "{\"channel\":\"#c\",\"attachments\":[{\"title\":\"T \\u003cfiring\\u003e\",\"text\":\"x\",\
             \"color\":\"red\",\"fields\":[{\"short\":true,\"title\":\"a\",\"value\":\"1\"},\
             {\"short\":false,\"title\":\"b\",\"value\":\"c\"}],\"actions\":[{\"type\":\"button\",\
             \"text\":\"Run\",\"url\":\"http://r/t\",\"is_webview\":false,\"msg\":\"m\",\
             \"msg_in_chat_window\":false}]}]}\n"
        );
    }

    #[test]
    fn url_under_api_path_and_long_title() {
        let n = notifier("api_url: 'http://rc.example/base/'");
        assert_eq!(
            n.url().unwrap(),
            "http://rc.example/base/api/v1/chat.postMessage"
        );
        let n = notifier("title: '{{ printf \"%02000d\" 0 }}'");
        assert_eq!(
            n.url().unwrap(),
            "https://open.rocket.chat/api/v1/chat.postMessage"
        );
        let msg = n.message(&ctx(), &[alert("A", None)]).unwrap();
        assert_eq!(msg.attachments[0].title.chars().count(), MAX_TITLE_RUNES);
    }

    #[test]
    fn answers() {
        assert!(check_answer(br#"{"success":true,"message":{}}"#).is_ok());
        let e = check_answer(br#"{"success":false,"error":"no room"}"#).unwrap_err();
        assert!(!e.retry);
        assert_eq!(e.message, "error response from Rocketchat: no room");
        let e = check_answer(b"<html>").unwrap_err();
        assert!(e.retry);
        assert!(e
            .message
            .starts_with("could not unmarshal JSON response \"<html>\": "));
    }
}
