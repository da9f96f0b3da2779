//! The Microsoft Teams and Telegram receivers end to end: alerts posted to `/api/v2/alerts`
//! reach a local server playing Teams or the Telegram Bot API with exactly upstream's
//! request (path, headers, body bytes); failures are classified, retried and counted.

#[path = "common/alertmanager.rs"]
mod am;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use am::{next, Server};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::Router;
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use bongsu_alertmanager::config::Config;

/// One request the fake service saw.
#[derive(Debug)]
struct Seen {
    path: String,
    content_type: String,
    body: String,
}

/// What the fake service answers, request by request; then `fallback`.
#[derive(Clone)]
struct Fake {
    script: Arc<Mutex<VecDeque<(u16, String)>>>,
    fallback: (u16, String),
    tx: mpsc::UnboundedSender<Seen>,
}

async fn answer(State(f): State<Fake>, req: Request) -> (StatusCode, String) {
    let path = req.uri().path().to_string();
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let _ = f.tx.send(Seen {
        path,
        content_type,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let (code, body) = f.script.lock().pop_front().unwrap_or(f.fallback.clone());
    (StatusCode::from_u16(code).unwrap(), body)
}

/// Starts the fake service; returns its base URL and the requests it sees.
async fn fake(
    script: &[(u16, &str)],
    fallback: (u16, &str),
) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let f = Fake {
        script: Arc::new(Mutex::new(
            script.iter().map(|(c, b)| (*c, b.to_string())).collect(),
        )),
        fallback: (fallback.0, fallback.1.to_string()),
        tx,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(answer).with_state(f);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), rx)
}

async fn start(receiver: &str) -> Server {
    let config = format!(
        "
route:
  receiver: r
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: r
{receiver}
"
    );
    let cfg = Config::parse(&config, None).expect("valid config");
    am::start(cfg, am::options("http://bongsu.example:9093")).await
}

/// Posts one alert with `labels` and `annotations`.
async fn alert(s: &Server, labels: Value, annotations: Value) {
    s.post_alerts(json!([{"labels": labels, "annotations": annotations,
                          "startsAt": "2026-01-01T00:00:00Z"}]))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_receives_a_message_card() {
    let (base, mut rx) = fake(&[], (200, "1")).await;
    let s = start(&format!(
        "  msteams_configs:
  - webhook_url: {base}/webhookb2/abc
    title: '{{{{ .Status | toUpper }}}} {{{{ .GroupLabels.alertname }}}}'
    summary: '{{{{ len .Alerts }}}} alert(s) for {{{{ .Receiver }}}}'
    text: '{{{{ range .Alerts }}}}- {{{{ .Annotations.summary }}}}{{{{ end }}}}'"
    ))
    .await;
    alert(
        &s,
        json!({"alertname": "Disk"}),
        json!({"summary": "a < b & c"}),
    )
    .await;
    let got = next(&mut rx).await;
    assert_eq!(got.path, "/webhookb2/abc");
    assert_eq!(got.content_type, "application/json");
    assert_eq!(
        got.body,
        "{\"@context\":\"http://schema.org/extensions\",\"type\":\"MessageCard\",\
         \"title\":\"FIRING Disk\",\"summary\":\"1 alert(s) for r\",\
         \"text\":\"- a \\u003c b \\u0026 c\",\"themeColor\":\"8C1A1A\"}\n"
    );
    s.wait_for(
        "alertmanager_notifications_total{integration=\"msteams\"} ",
        1.0,
    )
    .await;
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_default_templates_and_answers() {
    // A 5xx is retried; a 4xx (even Teams' 429 throttling, as upstream) is not.
    let (base, mut rx) = fake(&[(502, "bad gateway"), (200, "1")], (400, "Bad payload")).await;
    let s = start(&format!("  msteams_configs:\n  - webhook_url: {base}/hook")).await;
    alert(&s, json!({"alertname": "Disk", "job": "node"}), json!({})).await;
    let first = next(&mut rx).await;
    let retried = next(&mut rx).await;
    assert_eq!(first.body, retried.body);
    let card: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(card["title"], "[FIRING:1] Disk (node)");
    assert_eq!(card["summary"], card["title"]);
    assert!(
        card["text"].as_str().unwrap().contains("alertname = Disk"),
        "{card}"
    );
    let m = "{integration=\"msteams\"} ";
    s.wait_for(&format!("alertmanager_notifications_total{m}"), 1.0)
        .await;
    assert_eq!(
        s.metric(&format!(
            "alertmanager_notification_requests_failed_total{m}"
        )),
        1.0
    );

    alert(&s, json!({"alertname": "Net", "job": "node"}), json!({})).await;
    next(&mut rx).await;
    let failed =
        "alertmanager_notifications_failed_total{integration=\"msteams\",reason=\"clientError\"} ";
    s.wait_for(failed, 1.0).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(800), rx.recv())
            .await
            .is_err(),
        "a 4xx answer is not retried"
    );
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_webhook_url_file() {
    let (base, mut rx) = fake(&[], (200, "1")).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("url");
    std::fs::write(&file, format!("{base}/from-file\n")).unwrap();
    let s = start(&format!(
        "  msteams_configs:\n  - webhook_url_file: {}",
        file.display()
    ))
    .await;
    alert(&s, json!({"alertname": "A"}), json!({})).await;
    assert_eq!(next(&mut rx).await.path, "/from-file");
    s.am.shutdown();
}

const TG_OK: &str =
    r#"{"ok":true,"result":{"message_id":7,"date":0,"chat":{"id":-1001,"type":"supergroup"}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_sends_message() {
    let (base, mut rx) = fake(&[], (200, TG_OK)).await;
    let s = start(&format!(
        "  telegram_configs:
  - api_url: {base}
    bot_token: '123:secret'
    chat_id: -1001
    message_thread_id: 42
    disable_notifications: true
    message: '<b>{{{{ .Status }}}}</b> {{{{ .CommonAnnotations.summary }}}}'"
    ))
    .await;
    alert(&s, json!({"alertname": "A"}), json!({"summary": "x & y"})).await;
    let got = next(&mut rx).await;
    assert_eq!(got.path, "/bot123:secret/sendMessage");
    // The value is HTML-escaped in an HTML message (`&amp;`), the template's own markup not.
    assert_eq!(got.content_type, "application/json");
    assert_eq!(
        got.body,
        "{\"chat_id\":\"-1001\",\"disable_notification\":\"true\",\
         \"disable_web_page_preview\":\"true\",\"message_thread_id\":\"42\",\
         \"parse_mode\":\"HTML\",\"text\":\"\\u003cb\\u003efiring\\u003c/b\\u003e x \\u0026amp; y\"}\n"
    );
    s.wait_for(
        "alertmanager_notifications_total{integration=\"telegram\"} ",
        1.0,
    )
    .await;
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_global_token_file_and_plain_truncation() {
    let (base, mut rx) = fake(&[], (200, TG_OK)).await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "999:fromfile\n").unwrap();
    let s = start(&format!(
        "  telegram_configs:
  - chat_id: 5
    parse_mode: ''
    message: '{{{{ range .Alerts }}}}{{{{ .Annotations.long }}}}{{{{ end }}}}'
global:
  telegram_api_url: {base}/tg/
  telegram_bot_token_file: {}",
        token.display()
    ))
    .await;
    alert(
        &s,
        json!({"alertname": "A"}),
        json!({"long": "é".repeat(5000)}),
    )
    .await;
    let got = next(&mut rx).await;
    assert_eq!(got.path, "/tg//bot999:fromfile/sendMessage");
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(body.get("parse_mode"), None);
    let text = body["text"].as_str().unwrap();
    assert_eq!(text.chars().count(), 4096);
    assert!(text.ends_with("é…"));
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_errors_are_retried_and_counted() {
    let refusal = r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#;
    // Upstream retries every failed send, whatever Telegram's verdict.
    let (base, mut rx) = fake(
        &[(400, refusal), (502, "<html>bad gateway</html>")],
        (200, TG_OK),
    )
    .await;
    let s = start(&format!(
        "  telegram_configs:\n  - api_url: {base}\n    bot_token: 'tok:SECRET'\n    chat_id: 1"
    ))
    .await;
    alert(&s, json!({"alertname": "A"}), json!({})).await;
    let bodies = [
        next(&mut rx).await,
        next(&mut rx).await,
        next(&mut rx).await,
    ];
    assert!(bodies.iter().all(|b| b.body == bodies[0].body));
    let t = "{integration=\"telegram\"} ";
    s.wait_for(&format!("alertmanager_notifications_total{t}"), 1.0)
        .await;
    assert_eq!(
        s.metric(&format!(
            "alertmanager_notification_requests_failed_total{t}"
        )),
        2.0
    );
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_persistent_refusal_fails_with_its_reason() {
    let refusal =
        r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#;
    let (base, mut rx) = fake(&[], (403, refusal)).await;
    let s = start(&format!(
        "  telegram_configs:\n  - api_url: {base}\n    bot_token: 'tok:SECRET'\n    chat_id: 1"
    ))
    .await;
    alert(&s, json!({"alertname": "A"}), json!({})).await;
    next(&mut rx).await;
    next(&mut rx).await;
    // The retries stop at the flush's deadline and the last verdict is counted.
    s.wait_for(
        "alertmanager_notifications_failed_total{integration=\"telegram\",reason=\"authError\"} ",
        1.0,
    )
    .await;
    assert_eq!(
        s.metric("alertmanager_notifications_total{integration=\"telegram\"} "),
        1.0
    );
    s.am.shutdown();
}
