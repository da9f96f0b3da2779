//! The Telegram notifier: the Bot API's `sendMessage` at `<api_url>/bot<token>/sendMessage`,
//! with the JSON body and answer handling of upstream (which sends through `telebot`).
//!
//! The bot token is part of every request URL, so no error or log line carries a URL.

use std::collections::BTreeMap;
use std::sync::Arc;

use bongsu_gotmpl::alertmanager::NotificationTemplates;
use bongsu_httpclient::read_secret_file;

use super::config::TelegramConfig;
use crate::notify::{
    gojson, notification_data, retrier, Deliver, NotifyContext, NotifyError, Render,
};
use crate::types::Alert;

/// Telegram refuses a formatted message longer than this many bytes before parsing it.
const MAX_MESSAGE_BYTES: usize = 1 << 15;
/// Telegram keeps at most this many characters of a message after parsing its markup.
const MAX_MESSAGE_RUNES: usize = 4096;
/// Most bytes of an answer quoted in an error.
const ERROR_BODY_LIMIT: usize = 512;
/// Sent instead of an HTML message too long for Telegram: cutting HTML could break its tags.
const TOO_LONG_MESSAGE: &str = "Alertmanager notification could not be sent: message length \
exceeds Telegram limits.\nPlease check the template used for producing the message content.";

const DEFAULT_API_URL: &str = "https://api.telegram.org";

pub struct Telegram {
    conf: TelegramConfig,
    client: reqwest::Client,
    templates: Arc<NotificationTemplates>,
    /// `api_url` without the trailing slash the URL parser adds to an empty path, so the
    /// method URL is the one upstream builds.
    api_base: String,
}

impl Telegram {
    pub fn new(
        conf: TelegramConfig,
        templates: Arc<NotificationTemplates>,
    ) -> Result<Telegram, String> {
        let client = bongsu_httpclient::client(&conf.http_config, true)?;
        let api_base = match &conf.api_url {
            Some(u) if u.as_url().path() == "/" && u.as_url().query().is_none() => {
                u.as_str().trim_end_matches('/').to_string()
            }
            Some(u) => u.as_str().to_string(),
            None => DEFAULT_API_URL.to_string(),
        };
        Ok(Telegram {
            conf,
            client,
            templates,
            api_base,
        })
    }

    /// The message text, within Telegram's limits.
    fn message(&self, render: &Render<'_>) -> Result<String, NotifyError> {
        if self.conf.parse_mode == "HTML" {
            // HTML messages are rendered with html/template escaping, as upstream's `tmplHTML`.
            let text = render.html("message", &self.conf.message)?;
            if text.len() > MAX_MESSAGE_BYTES || html_text_runes(&text) > MAX_MESSAGE_RUNES {
                tracing::warn!(
                    receiver_integration = "telegram",
                    "message exceeds Telegram limits, sending a notice instead"
                );
                return Ok(TOO_LONG_MESSAGE.to_string());
            }
            return Ok(text);
        }
        let text = render.text("message", &self.conf.message)?;
        let (text, truncated) = truncate_runes(text, MAX_MESSAGE_RUNES);
        if truncated {
            tracing::warn!(max_runes = MAX_MESSAGE_RUNES, "truncated Telegram message");
        }
        Ok(text)
    }

    fn bot_token(&self) -> Result<String, NotifyError> {
        match &self.conf.bot_token_file {
            Some(f) => read_secret_file(f)
                .map(|s| s.expose().to_string())
                .map_err(|e| {
                    NotifyError::transient(format!("could not read {}: {e}", f.display()))
                }),
            None => Ok(self.conf.bot_token.expose().to_string()),
        }
    }

    fn chat_id(&self) -> Result<i64, NotifyError> {
        let Some(f) = &self.conf.chat_id_file else {
            return Ok(self.conf.chat_id);
        };
        let raw = std::fs::read_to_string(f)
            .map_err(|e| NotifyError::transient(format!("could not read {}: {e}", f.display())))?;
        raw.trim().parse().map_err(|e| {
            NotifyError::transient(format!("could not parse chat_id from {}: {e}", f.display()))
        })
    }

    /// The `sendMessage` body: string values under sorted keys, as `telebot` encodes them.
    fn body(&self, chat_id: i64, text: String) -> Result<Vec<u8>, NotifyError> {
        let mut params: BTreeMap<&str, String> = BTreeMap::new();
        params.insert("chat_id", chat_id.to_string());
        params.insert("text", text);
        params.insert("disable_web_page_preview", "true".into());
        if self.conf.disable_notifications {
            params.insert("disable_notification", "true".into());
        }
        if !self.conf.parse_mode.is_empty() {
            params.insert("parse_mode", self.conf.parse_mode.clone());
        }
        if self.conf.message_thread_id != 0 {
            params.insert("message_thread_id", self.conf.message_thread_id.to_string());
        }
        gojson::encode(&params).map_err(|e| NotifyError::permanent(e.to_string()))
    }
}

impl Deliver for Telegram {
    async fn deliver(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let data = notification_data(ctx, alerts);
        let text = self.message(&Render::new(&self.templates, &data))?;
        let token = self.bot_token()?;
        let body = self.body(self.chat_id()?, text)?;
        let url = format!("{}/bot{token}/sendMessage", self.api_base);
        let req = retrier::post_json(
            &self.client,
            &url,
            body,
            &self.conf.http_config,
            std::time::Duration::ZERO,
        )?;
        let resp = req
            .send()
            .await
            .map_err(|e| NotifyError::transient(e.without_url().to_string()))?;
        let answer = resp
            .bytes()
            .await
            .map_err(|e| NotifyError::transient(e.without_url().to_string()))?;
        check_answer(&answer)
    }
}

/// Telegram's verdict, read from the answer's JSON whatever the HTTP status (as `telebot`).
/// Upstream retries every failed send; the failure reason follows `error_code`.
fn check_answer(answer: &[u8]) -> Result<(), NotifyError> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        ok: bool,
        #[serde(default)]
        error_code: i64,
        #[serde(default)]
        description: String,
    }
    match serde_json::from_slice::<Answer>(answer) {
        Ok(a) if a.ok => Ok(()),
        Ok(a) => Err(NotifyError {
            retry: true,
            message: format!("telegram: {} ({})", a.description, a.error_code),
            reason: u16::try_from(a.error_code)
                .ok()
                .and_then(|c| reqwest::StatusCode::from_u16(c).ok())
                .map_or("other", retrier::reason),
        }),
        Err(e) => {
            let quoted = String::from_utf8_lossy(&answer[..answer.len().min(ERROR_BODY_LIMIT)]);
            Err(NotifyError::transient(format!(
                "telebot: unexpected answer ({e}): {}",
                quoted.trim()
            )))
        }
    }
}

/// Cuts `s` to `max` characters, the last one becoming `…` (upstream's `TruncateInRunes`).
fn truncate_runes(s: String, max: usize) -> (String, bool) {
    if s.chars().count() <= max {
        return (s, false);
    }
    let keep = if max <= 3 { max } else { max - 1 };
    let mut out: String = s.chars().take(keep).collect();
    if max > 3 {
        out.push('…');
    }
    (out, true)
}

/// The characters Telegram shows for an HTML message: markup is not counted, an entity
/// Telegram decodes counts once. Input that is not plain tags and text (comments, doctypes,
/// an unclosed tag) is counted whole, as upstream does.
fn html_text_runes(s: &str) -> usize {
    let b = s.as_bytes();
    let mut count = 0;
    let mut text_start = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        let next = b.get(i + 1).copied().unwrap_or(0);
        let tag = next.is_ascii_alphabetic()
            || (next == b'/' && b.get(i + 2).is_some_and(u8::is_ascii_alphabetic));
        if next == b'!' || next == b'?' {
            return s.chars().count();
        }
        if !tag {
            i += 1;
            continue;
        }
        count += telegram_text_runes(&s[text_start..i]);
        match tag_end(b, i + 1) {
            Some(end) => {
                i = end;
                text_start = end;
            }
            None => return s.chars().count(),
        }
    }
    count + telegram_text_runes(&s[text_start..])
}

/// The index after the `>` closing the tag whose name starts at `from`, skipping quoted
/// attribute values.
fn tag_end(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    let mut after_eq = false;
    while i < b.len() {
        match b[i] {
            b'>' => return Some(i + 1),
            q @ (b'"' | b'\'') if after_eq => {
                let close = b[i + 1..].iter().position(|&c| c == q)?;
                i += close + 2;
                after_eq = false;
                continue;
            }
            b'=' => after_eq = true,
            c if c.is_ascii_whitespace() => {}
            _ => after_eq = false,
        }
        i += 1;
    }
    None
}

/// Characters of raw HTML text, an entity Telegram decodes (`&lt;`, `&gt;`, `&amp;`,
/// `&quot;`, numeric ones; the `;` optional) counting as one.
fn telegram_text_runes(text: &str) -> usize {
    let mut count = 0;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let len = if c == '&' { entity_len(rest) } else { 0 };
        count += 1;
        rest = &rest[if len > 0 { len } else { c.len_utf8() }..];
    }
    count
}

/// The byte length of the entity Telegram decodes at the start of `t`, or 0.
fn entity_len(t: &str) -> usize {
    let b = t.as_bytes();
    if b.len() < 2 || b[0] != b'&' {
        return 0;
    }
    let semi = |end: usize| {
        if b.get(end) == Some(&b';') {
            end + 1
        } else {
            end
        }
    };
    if b[1] != b'#' {
        let end = 1 + b[1..]
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        return match &t[1..end] {
            "lt" | "gt" | "amp" | "quot" => semi(end),
            _ => 0,
        };
    }
    let (radix, digits_start) = if b.get(2) == Some(&b'x') {
        (16, 3)
    } else {
        (10, 2)
    };
    let digits = b[digits_start..]
        .iter()
        .take_while(|c| {
            if radix == 16 {
                c.is_ascii_hexdigit()
            } else {
                c.is_ascii_digit()
            }
        })
        .count();
    let end = digits_start + digits;
    match u32::from_str_radix(&t[digits_start..end], radix) {
        Ok(code) if code != 0 && code < 0x10FFFF && end < 10 => semi(end),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::LabelSet;
    use crate::notify::test_support::{entry, templates};

    fn notifier(extra: &str) -> Telegram {
        let conf = entry(
            "{}",
            &format!("bot_token: tok\n    chat_id: -100\n    {extra}"),
        );
        Telegram::new(conf, templates()).unwrap()
    }

    fn render_message(n: &Telegram) -> String {
        let start: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut labels = LabelSet::new();
        labels.insert("alertname".into(), "A".into());
        let alerts = [Alert {
            labels,
            annotations: LabelSet::new(),
            starts_at: start,
            ends_at: "2026-01-01T02:00:00Z".parse().unwrap(),
            generator_url: String::new(),
            updated_at: start,
            timeout: false,
        }];
        let ctx = NotifyContext {
            receiver: "t".into(),
            group_key: "{}:{}".into(),
            group_labels: LabelSet::new(),
            external_url: "http://am".into(),
            now: "2026-01-01T01:00:00Z".parse().unwrap(),
            notification_reason: "first notification",
        };
        let data = notification_data(&ctx, &alerts);
        n.message(&Render::new(&n.templates, &data)).unwrap()
    }

    #[test]
    fn default_api_url_without_double_slash() {
        assert_eq!(notifier("").api_base, "https://api.telegram.org");
        let n = notifier("api_url: http://proxy.example/tg/");
        assert_eq!(n.api_base, "http://proxy.example/tg/");
    }

    #[test]
    fn body_is_telebots() {
        let n = notifier("message_thread_id: 7\n    disable_notifications: true");
        let body = n.body(-100, "<b>x</b> & y".into()).unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "{\"chat_id\":\"-100\",\"disable_notification\":\"true\",\
             \"disable_web_page_preview\":\"true\",\"message_thread_id\":\"7\",\
             \"parse_mode\":\"HTML\",\"text\":\"\\u003cb\\u003ex\\u003c/b\\u003e \\u0026 y\"}\n"
        );
        let n = notifier("parse_mode: ''");
        let body = n.body(5, "t".into()).unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "{\"chat_id\":\"5\",\"disable_web_page_preview\":\"true\",\"text\":\"t\"}\n"
        );
    }

    #[test]
    fn long_plain_messages_are_truncated() {
        let (t, cut) = truncate_runes("é".repeat(5000), MAX_MESSAGE_RUNES);
        assert!(cut);
        assert_eq!(t.chars().count(), MAX_MESSAGE_RUNES);
        assert!(t.ends_with("é…"));
        let (t, cut) = truncate_runes("abcd".into(), 3);
        assert!(cut);
        assert_eq!(t, "abc");
        assert_eq!(truncate_runes("abc".into(), 3), ("abc".into(), false));
    }

    #[test]
    fn html_messages_escape_values() {
        let msg = r#"message: '<b>{{ .Status }}</b> {{ "a<b & c" }} {{ "<i>" | safeHtml }}'"#;
        assert_eq!(
            render_message(&notifier(msg)),
            "<b>firing</b> a&lt;b &amp; c <i>"
        );
        let plain = format!("{msg}\n    parse_mode: MarkdownV2");
        assert_eq!(
            render_message(&notifier(&plain)),
            "<b>firing</b> a<b & c <i>"
        );
    }

    #[test]
    fn long_html_messages_are_replaced() {
        let long = format!("message: '<b>{}</b>'", "x".repeat(4097));
        assert_eq!(render_message(&notifier(&long)), TOO_LONG_MESSAGE);
        // Markup and entities do not count against the limit.
        let fits = format!(
            "message: '<a href=\"http://x/>\">{}</a>&amp;'",
            "x".repeat(4095)
        );
        assert!(render_message(&notifier(&fits)).ends_with("</a>&amp;"));
        let plain = format!(
            "parse_mode: MarkdownV2\n    message: '{}'",
            "y".repeat(4100)
        );
        let got = render_message(&notifier(&plain));
        assert_eq!(got.chars().count(), 4096);
        assert!(got.ends_with("y…"));
    }

    #[test]
    fn html_rune_counting() {
        assert_eq!(html_text_runes("<b>ab</b>"), 2);
        assert_eq!(html_text_runes("a &lt; b &amp c &nbsp; &#65; &#x41"), 20);
        assert_eq!(html_text_runes("1 < 2"), 5);
        assert_eq!(html_text_runes("<!-- c -->x"), 11);
        assert_eq!(html_text_runes("x <b"), 4);
        assert_eq!(html_text_runes("<a href='>'>é</a>"), 1);
    }

    #[tokio::test]
    async fn errors_never_show_the_token() {
        // Port 1 on loopback refuses connections.
        let n = notifier("api_url: http://127.0.0.1:1");
        let ctx = NotifyContext {
            receiver: "t".into(),
            group_key: "{}:{}".into(),
            group_labels: LabelSet::new(),
            external_url: "http://am".into(),
            now: jiff::Timestamp::now(),
            notification_reason: "first notification",
        };
        let e = n.deliver(&ctx, &[]).await.unwrap_err();
        assert!(e.retry);
        assert!(!e.message.contains("tok"), "{}", e.message);
    }

    #[test]
    fn answers() {
        assert!(check_answer(br#"{"ok":true,"result":{"message_id":1}}"#).is_ok());
        let e = check_answer(
            br#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
        )
        .unwrap_err();
        assert!(e.retry);
        assert_eq!(e.reason, "clientError");
        assert_eq!(e.message, "telegram: Bad Request: chat not found (400)");
        let e = check_answer(br#"{"ok":false,"error_code":502,"description":"Bad Gateway"}"#)
            .unwrap_err();
        assert_eq!(e.reason, "serverError");
        let e = check_answer(b"<html>down</html>").unwrap_err();
        assert!(e.retry);
        assert_eq!(e.reason, "other");
    }
}
