//! The Pushover notifier: one message per notification, its fields in the query string of
//! an empty `POST` to Pushover's messages API, as upstream sends it.

use std::sync::Arc;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use super::config::PushoverConfig;
use crate::notify::retrier::{self, Call};
use crate::notify::{notification_data, Deliver, NotifyContext, NotifyError, Render};
use crate::types::Alert;

/// Upstream's fixed endpoint.
const API_URL: &str = "https://api.pushover.net/1/messages.json";
/// Pushover's limits, in characters.
const MAX_TITLE_RUNES: usize = 250;
const MAX_MESSAGE_RUNES: usize = 1024;
const MAX_URL_RUNES: usize = 512;

pub struct Pushover {
    conf: PushoverConfig,
    client: reqwest::Client,
    templates: Arc<NotificationTemplates>,
    api_url: String,
}

/// Go's `url.QueryEscape`: unreserved bytes kept, space as `+`, the rest `%XX`.
fn query_escape(s: &str, out: &mut String) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
}

/// A secret inline or, as upstream, the whole content of its file.
fn inline_or_file(
    inline: &bongsu_httpclient::Secret,
    file: &Option<std::path::PathBuf>,
    what: &str,
) -> Result<String, NotifyError> {
    match file {
        Some(f) if inline.expose().is_empty() => std::fs::read_to_string(f)
            .map_err(|e| NotifyError::permanent(format!("read {what}: {e}"))),
        _ => Ok(inline.expose().to_string()),
    }
}

impl Pushover {
    pub fn new(
        conf: PushoverConfig,
        templates: Arc<NotificationTemplates>,
    ) -> Result<Pushover, String> {
        let client = bongsu_httpclient::client(&conf.http_config, true)?;
        Ok(Pushover {
            conf,
            client,
            templates,
            api_url: API_URL.to_string(),
        })
    }

    /// The query string of one notification (keys sorted, as Go's `url.Values` encodes).
    pub(super) fn query(
        &self,
        ctx: &NotifyContext,
        alerts: &[Alert],
    ) -> Result<String, NotifyError> {
        let c = &self.conf;
        let data = notification_data(ctx, alerts);
        let render = Render::new(&self.templates, &data);
        let tmpl = |what: &str, text: &str| render.text(what, text);
        let token = inline_or_file(&c.token, &c.token_file, "token_file")?;
        let user = inline_or_file(&c.user_key, &c.user_key_file, "user_key_file")?;
        let (title, _) = retrier::truncate_runes(tmpl("title", &c.title)?, MAX_TITLE_RUNES);
        // With `html` the message is rendered with HTML escaping, as upstream's `tmplHTML`.
        let message = if c.html {
            render.html("message", &c.message)?
        } else {
            tmpl("message", &c.message)?
        };
        let (message, _) = retrier::truncate_runes(message, MAX_MESSAGE_RUNES);
        let message = match message.trim() {
            // Pushover refuses an empty message.
            "" => "(no details)".to_string(),
            m => m.to_string(),
        };
        let (url, _) = retrier::truncate_runes(tmpl("url", &c.url)?, MAX_URL_RUNES);
        let mut params = vec![
            ("device", tmpl("device", &c.device)?),
            ("expire", c.expire.as_secs().to_string()),
            ("message", message),
            ("priority", tmpl("priority", &c.priority)?),
            ("retry", c.retry.as_secs().to_string()),
            ("sound", tmpl("sound", &c.sound)?),
            ("title", title),
            ("token", tmpl("token", &token)?),
            ("url", url),
            ("url_title", tmpl("url_title", &c.url_title)?),
            ("user", tmpl("user_key", &user)?),
        ];
        if c.monospace {
            params.push(("monospace", "1".to_string()));
        }
        if c.html {
            params.push(("html", "1".to_string()));
        }
        if c.ttl.as_secs() > 0 {
            params.push(("ttl", c.ttl.as_secs().to_string()));
        }
        params.sort_by_key(|(k, _)| *k);
        let mut out = String::new();
        for (i, (k, v)) in params.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            query_escape(k, &mut out);
            out.push('=');
            query_escape(v, &mut out);
        }
        Ok(out)
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let url = format!("{}?{}", self.api_url, self.query(ctx, alerts)?);
        let call = Call {
            method: reqwest::Method::POST,
            url: &url,
            content_type: "text/plain",
            headers: Vec::new(),
            body: Vec::new(),
            timeout: std::time::Duration::ZERO,
        };
        let reply = retrier::send(&self.client, &self.conf.http_config, call).await?;
        retrier::check_status(
            reply.status,
            &[],
            reply.body.trim(),
            retrier::reason_code(reply.status),
        )
    }
}

impl Deliver for Pushover {
    async fn deliver(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        self.send(ctx, alerts).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::test_support::paging::{alert, ctx};

    fn notifier(yaml: &str) -> Pushover {
        let conf: PushoverConfig = serde_yaml_ng::from_str(yaml).unwrap();
        Pushover::new(conf, Arc::new(NotificationTemplates::with_defaults())).unwrap()
    }

    #[test]
    fn query_as_upstream_encodes_it() {
        let n = notifier("{user_key: 'u*1', token: t, title: 'a b&c', message: '  ', monospace: true, ttl: 2m, sound: siren, url_title: '{{ .Receiver }}'}");
        assert_eq!(
            n.query(&ctx(), &[alert("a", false)]).unwrap(),
            concat!(
                "device=&expire=3600&message=%28no+details%29&monospace=1&priority=2&retry=60",
                "&sound=siren&title=a+b%26c&token=t&ttl=120",
                "&url=http%3A%2F%2Fam.example%3A9093%2F%23%2Falerts%3Freceiver%3Dpager",
                "&url_title=pager&user=u%2A1"
            )
        );
        let q = n.query(&ctx(), &[alert("a", true)]).unwrap();
        assert!(q.contains("&priority=0&"), "{q}");
    }

    #[test]
    fn default_message_and_title() {
        let n = notifier("{user_key: u, token: t}");
        let q = n.query(&ctx(), &[alert("a", false)]).unwrap();
        assert!(q.contains("&title=%5BFIRING%3A1%5D+Down+%28a%29&"), "{q}");
        assert!(q.contains("&message=it+%3Cbroke%3E+%26+stayed"), "{q}");
    }

    #[test]
    fn html_messages_escape_values() {
        let n = notifier("{user_key: u, token: t, html: true, message: '<b>{{ .CommonAnnotations.summary }}</b>'}");
        let q = n.query(&ctx(), &[alert("a", false)]).unwrap();
        assert!(q.starts_with("device=&expire=3600&html=1&"), "{q}");
        assert!(
            q.contains("&message=%3Cb%3Eit+%26lt%3Bbroke%26gt%3B+%26amp%3B+stayed%3C%2Fb%3E&"),
            "{q}"
        );
    }

    #[tokio::test]
    async fn posts_empty_text_and_fails_on_4xx() {
        use axum::http::StatusCode;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let tx = tx.clone();
            async move {
                let ct = req
                    .headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap_or_default().to_string());
                let _ = tx.send((req.method().to_string(), req.uri().path().to_string(), ct));
                (StatusCode::BAD_REQUEST, "{\"status\":0}")
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut n = notifier("{user_key: u, token: t}");
        n.api_url = format!("http://{addr}/1/messages.json");
        let e = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            n.send(&ctx(), &[alert("a", false)]),
        )
        .await
        .unwrap()
        .unwrap_err();
        assert_eq!(e.message, "unexpected status code 400: {\"status\":0}");
        assert_eq!((e.retry, e.reason), (false, "clientError"));
        assert_eq!(
            rx.recv().await.unwrap(),
            (
                "POST".to_string(),
                "/1/messages.json".to_string(),
                Some("text/plain".to_string())
            )
        );
    }
}
