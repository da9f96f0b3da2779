//! Slack and Discord receivers end to end: alerts posted to `/api/v2/alerts` reach a server
//! in this test playing Slack (an incoming webhook and the Web API with a bot token) and
//! Discord, with exactly Alertmanager's payloads; Slack's 200-with-error answers, server
//! errors and client errors are retried or failed as upstream and counted; with
//! `update_message` the group's message is edited.

#[path = "common/alertmanager.rs"]
mod am;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use am::{next, Server};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use bongsu_alertmanager::config::Config;
use bongsu_alertmanager::notify::slack::SlackConfig;

/// One answer: status, content type, body.
type Answer = (u16, &'static str, &'static str);

/// A request the fake service received.
#[derive(Debug)]
struct Received {
    path: String,
    authorization: Option<String>,
    body: Value,
}

/// Answers each path from its script, then with the path's default answer.
#[derive(Clone)]
struct Service {
    scripts: Arc<Mutex<HashMap<String, VecDeque<Answer>>>>,
    tx: mpsc::UnboundedSender<Received>,
}

/// What the real services answer on success: Slack's Web API JSON, an incoming webhook's
/// plain `ok`, Discord's empty 204.
fn success(path: &str) -> Answer {
    match path {
        "slack-api" => (200, "application/json; charset=utf-8", r#"{"ok":true}"#),
        "slack-hook" => (200, "text/html", "ok"),
        "chat.postMessage" | "chat.update" => (
            200,
            "application/json",
            r#"{"ok":true,"channel":"C42","ts":"1700.01"}"#,
        ),
        _ => (204, "text/plain", ""),
    }
}

async fn receive(
    State(s): State<Service>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> impl IntoResponse {
    let scripted = s
        .scripts
        .lock()
        .get_mut(&path)
        .and_then(VecDeque::pop_front);
    let (code, content_type, answer) = scripted.unwrap_or_else(|| success(&path));
    let _ = s.tx.send(Received {
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        path,
    });
    (
        StatusCode::from_u16(code).unwrap(),
        [("content-type", content_type)],
        answer,
    )
}

/// Starts the fake service; returns its base URL and the requests it receives.
async fn service(scripts: &[(&str, &[Answer])]) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let s = Service {
        scripts: Arc::new(Mutex::new(
            scripts
                .iter()
                .map(|(p, a)| (p.to_string(), a.iter().copied().collect()))
                .collect(),
        )),
        tx,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/{path}", post(receive))
        .route("/api/{path}", post(receive))
        .with_state(s);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), rx)
}

async fn start(receivers: &str) -> Server {
    start_with(receivers, |_| {}).await
}

/// Starts with the configuration changed by `edit` after parsing.
async fn start_with(receivers: &str, edit: impl FnOnce(&mut Config)) -> Server {
    let config = format!(
        "
route:
  receiver: team-x
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: team-x
{receivers}"
    );
    let mut cfg = Config::parse(&config, None).expect("valid config");
    edit(&mut cfg);
    am::start(cfg, am::options("http://bongsu.example:9090")).await
}

/// The next requests, one per path, whatever order they came in.
async fn next_by_path(
    rx: &mut mpsc::UnboundedReceiver<Received>,
    n: usize,
) -> HashMap<String, Received> {
    let mut out = HashMap::new();
    while out.len() < n {
        let r = next(rx).await;
        out.insert(r.path.clone(), r);
    }
    out
}

fn disk_alerts() -> Value {
    json!([
        {"labels": {"alertname": "Disk", "instance": "b", "job": "node"},
         "annotations": {"summary": "full"},
         "generatorURL": "http://prom/graph"},
        {"labels": {"alertname": "Disk", "instance": "a", "job": "node"},
         "annotations": {"summary": "full"}}
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_and_discord_receive_upstreams_payloads() {
    let (base, mut rx) = service(&[]).await;
    let s = start(&format!(
        r##"  slack_configs:
  - api_url: {base}/slack-hook
    channel: '#ops'
    send_resolved: true
  - app_token: xoxb-test-token
    app_url: {base}/slack-api
    channel: '#{{{{ .CommonLabels.job }}}}'
    link_names: true
    fields:
    - title: Instances
      value: '{{{{ range .Alerts }}}}{{{{ .Labels.instance }}}} {{{{ end }}}}'
    actions:
    - type: button
      text: Silence
      url: '{{{{ .ExternalURL }}}}/#/silences/new'
  discord_configs:
  - webhook_url: {base}/discord
    content: '{{{{ .Alerts.Firing | len }}}} firing'
    message: '{{{{ range .Alerts }}}}{{{{ .Labels.instance }}}}={{{{ .Status }}}} {{{{ end }}}}'
    username: am
"##
    ))
    .await;
    s.post_alerts(disk_alerts()).await;
    let got = next_by_path(&mut rx, 3).await;
    let title = "[FIRING:2] Disk (node)";
    let link = "http://bongsu.example:9090/#/alerts?receiver=team-x";
    let hook = &got["slack-hook"];
    assert_eq!(hook.authorization, None);
    assert_eq!(
        hook.body,
        json!({
            "channel": "#ops",
            "username": "Alertmanager",
            "attachments": [{
                "title": title,
                "title_link": link,
                "text": "",
                "fallback": format!("{title} | {link}"),
                "callback_id": "",
                "footer": "",
                "color": "danger",
                "mrkdwn_in": ["fallback", "pretext", "text"],
            }],
        })
    );
    let api = &got["slack-api"];
    assert_eq!(api.authorization.as_deref(), Some("Bearer xoxb-test-token"));
    assert_eq!(
        api.body,
        json!({
            "channel": "#node",
            "username": "Alertmanager",
            "link_names": true,
            "attachments": [{
                "title": title,
                "title_link": link,
                "text": "",
                "fallback": format!("{title} | {link}"),
                "callback_id": "",
                "fields": [{"title": "Instances", "value": "a b ", "short": false}],
                "actions": [{"type": "button", "text": "Silence",
                             "url": "http://bongsu.example:9090/#/silences/new"}],
                "footer": "",
                "color": "danger",
                "mrkdwn_in": ["fallback", "pretext", "text"],
            }],
        })
    );
    assert_eq!(
        got["discord"].body,
        json!({
            "content": "2 firing",
            "embeds": [{"title": title, "description": "a=firing b=firing ", "color": 0x992D22}],
            "username": "am",
        })
    );
    s.wait_for(
        "alertmanager_notifications_total{integration=\"slack\"} ",
        2.0,
    )
    .await;
    s.wait_for(
        "alertmanager_notifications_total{integration=\"discord\"} ",
        1.0,
    )
    .await;

    // Resolving everything: Discord (send_resolved by default) and the first Slack
    // notifier (send_resolved: true) are told, in green; the bot-token one is not.
    s.post_alerts(json!([
        {"labels": {"alertname": "Disk", "instance": "b", "job": "node"},
         "endsAt": "2020-01-01T00:00:00Z"},
        {"labels": {"alertname": "Disk", "instance": "a", "job": "node"},
         "endsAt": "2020-01-01T00:00:00Z"}
    ]))
    .await;
    let got = next_by_path(&mut rx, 2).await;
    let hook = &got["slack-hook"].body["attachments"][0];
    assert_eq!(hook["title"], "[RESOLVED] Disk (node)");
    assert_eq!(hook["color"], "good");
    assert_eq!(
        got["discord"].body["embeds"][0],
        json!({"title": "[RESOLVED] Disk (node)", "description": "a=resolved b=resolved ", "color": 0x2ECC71})
    );
    assert_eq!(got["discord"].body["content"], "0 firing");
    assert!(!got.contains_key("slack-api"));
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_refusals_in_200_answers_fail_without_retry() {
    let refusal: &[Answer] = &[(
        200,
        "application/json",
        r#"{"ok":false,"error":"channel_not_found"}"#,
    )];
    let (base, mut rx) = service(&[("slack-api", refusal)]).await;
    let s = start(&format!(
        "  slack_configs:\n  - app_token: xoxb-t\n    app_url: {base}/slack-api\n"
    ))
    .await;
    s.post_alerts(disk_alerts()).await;
    assert_eq!(next(&mut rx).await.path, "slack-api");
    let failed =
        "alertmanager_notifications_failed_total{integration=\"slack\",reason=\"clientError\"} ";
    s.wait_for(failed, 1.0).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(rx.try_recv().is_err(), "not retried");
    assert_eq!(
        s.metric("alertmanager_notification_requests_total{integration=\"slack\"} "),
        1.0
    );
    s.am.shutdown();

    // An incoming webhook's plain answer other than `ok` is a refusal too.
    let refusal: &[Answer] = &[(200, "text/plain", "invalid_token")];
    let (base, mut rx) = service(&[("slack-hook", refusal)]).await;
    let s = start(&format!(
        "  slack_configs:\n  - api_url: {base}/slack-hook\n"
    ))
    .await;
    s.post_alerts(disk_alerts()).await;
    next(&mut rx).await;
    s.wait_for(failed, 1.0).await;
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_client_errors_are_not() {
    let flaky: &[Answer] = &[(500, "text/plain", "busy"), (503, "text/plain", "")];
    let gone: &[Answer] = &[(404, "text/plain", "no_service")];
    let (base, mut rx) = service(&[("slack-hook", flaky), ("discord", gone)]).await;
    let s = start(&format!(
        "  slack_configs:\n  - api_url: {base}/slack-hook\n  discord_configs:\n  - webhook_url: {base}/discord\n"
    ))
    .await;
    s.post_alerts(disk_alerts()).await;
    s.wait_for(
        "alertmanager_notifications_total{integration=\"slack\"} ",
        1.0,
    )
    .await;
    // Discord answers 404 once, then 204: a retry would have succeeded, so a failed
    // notification shows the 404 was not retried (the next flush tries anew).
    s.wait_for(
        "alertmanager_notifications_failed_total{integration=\"discord\",reason=\"clientError\"} ",
        1.0,
    )
    .await;
    let mut slack_requests = 0;
    while let Ok(r) = rx.try_recv() {
        slack_requests += usize::from(r.path == "slack-hook");
    }
    assert_eq!(slack_requests, 3, "two server errors, then success");
    assert_eq!(
        s.metric("alertmanager_notification_requests_failed_total{integration=\"slack\"} "),
        2.0
    );
    assert_eq!(
        s.metric("alertmanager_notifications_failed_total{integration=\"slack\",reason=\"serverError\"} "),
        0.0,
        "retried to success"
    );
    s.am.shutdown();

    // A server error until the deadline fails as serverError.
    let down: &[Answer] = &[(502, "text/plain", "down"); 64];
    let (base, _rx) = service(&[("discord", down)]).await;
    let s = start(&format!(
        "  discord_configs:\n  - webhook_url: {base}/discord\n"
    ))
    .await;
    s.post_alerts(disk_alerts()).await;
    s.wait_for(
        "alertmanager_notifications_failed_total{integration=\"discord\",reason=\"serverError\"} ",
        1.0,
    )
    .await;
    assert!(
        s.metric("alertmanager_notification_requests_failed_total{integration=\"discord\"} ") > 2.0
    );
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_message_edits_the_groups_message() {
    let (base, mut rx) = service(&[]).await;
    // The configuration allows update_message only with Slack's own chat.postMessage URL;
    // the test points the parsed configuration at its fake Web API instead.
    let local =
        bongsu_alertmanager::config::Url::parse(&format!("{base}/api/chat.postMessage")).unwrap();
    let s = start_with(
        "  slack_configs:\n  - api_url: https://slack.com/api/chat.postMessage\n    http_config:\n      authorization: {credentials: xoxb-t}\n    channel: '#ops'\n    update_message: true\n",
        |cfg| {
            cfg.receivers[0].configs_mut::<SlackConfig>()[0].api_url =
                Some(bongsu_alertmanager::config::SecretUrl::from_url(local));
        },
    )
    .await;
    s.post_alerts(json!([{"labels": {"alertname": "Disk", "instance": "a"}}]))
        .await;
    let first = next(&mut rx).await;
    assert_eq!(first.path, "chat.postMessage");
    assert_eq!(first.authorization.as_deref(), Some("Bearer xoxb-t"));
    assert_eq!(first.body["channel"], "#ops");
    assert!(first.body.get("ts").is_none());
    assert_eq!(first.body["attachments"][0]["title"], "[FIRING:1] Disk (a)");

    s.post_alerts(json!([{"labels": {"alertname": "Disk", "instance": "b"}}]))
        .await;
    let second = next(&mut rx).await;
    assert_eq!(second.path, "chat.update");
    assert_eq!(second.body["channel"], "C42");
    assert_eq!(second.body["ts"], "1700.01");
    assert_eq!(second.body["attachments"][0]["title"], "[FIRING:2] Disk ");
    s.am.shutdown();
}
