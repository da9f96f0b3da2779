//! The receivers added after the first ones (Teams workflows, Webex, Mattermost,
//! Rocket.Chat, Jira, incident.io) end to end: alerts posted to an in-process Alertmanager reach a server in
//! this test playing the vendor, with exactly upstream's request bodies, headers and paths;
//! 5xx answers are retried, 4xx fail without retry and are counted by integration and reason.

#[path = "common/alertmanager.rs"]
mod am;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use am::{next, options, start, Server};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::Router;
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use bongsu_alertmanager::config::Config;

/// One request the fake vendor received.
#[derive(Debug)]
struct Seen {
    method: String,
    /// Path and query.
    uri: String,
    headers: BTreeMap<String, String>,
    body: String,
    /// What was answered.
    status: u16,
}

impl Seen {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// Answers with scripted statuses and bodies (then `fallback`) and reports every request.
#[derive(Clone)]
struct Vendor {
    script: Arc<Mutex<VecDeque<(u16, &'static str)>>>,
    fallback: (u16, &'static str),
    tx: mpsc::UnboundedSender<Seen>,
}

async fn answer(State(v): State<Vendor>, req: Request) -> (StatusCode, String) {
    let (status, reply) = v.script.lock().pop_front().unwrap_or(v.fallback);
    let (parts, body) = req.into_parts();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let _ = v.tx.send(Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        status,
    });
    (StatusCode::from_u16(status).unwrap(), reply.to_string())
}

/// Starts a fake vendor API; returns its base URL and the requests it sees.
async fn vendor(
    script: &[(u16, &'static str)],
    fallback: (u16, &'static str),
) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let v = Vendor {
        script: Arc::new(Mutex::new(script.iter().copied().collect())),
        fallback,
        tx,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(answer).with_state(v);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), rx)
}

/// A route sending everything, grouped by alertname, to receiver `chat` made of `configs`.
async fn server(configs: &str) -> Server {
    let yaml = format!(
        "
route:
  receiver: chat
  group_by: [alertname]
  group_wait: 1s
  group_interval: 3s
  repeat_interval: 1h
receivers:
- name: chat
{configs}
"
    );
    let cfg = Config::parse(&yaml, None).expect("valid config");
    start(cfg, options("http://bongsu.example:9090")).await
}

fn disk_alert(name: &str) -> Value {
    json!([{
        "labels": {"alertname": name, "instance": "a&b"},
        "annotations": {"summary": "disk <full>"},
        "startsAt": "2026-01-01T00:00:00Z",
    }])
}

/// Sends `Disk` (answered by the script: 500 then 200) and `Other` (answered 400), checking
/// the retry, the failure without retry, and the counters of `integration`.
async fn retries_then_refusal(s: &Server, rx: &mut mpsc::UnboundedReceiver<Seen>, kind: &str) {
    s.post_alerts(disk_alert("Disk")).await;
    assert_eq!(next(rx).await.status, 500);
    assert_eq!(next(rx).await.status, 200);
    s.wait_for(
        &format!("alertmanager_notifications_total{{integration=\"{kind}\"}} "),
        1.0,
    )
    .await;
    s.post_alerts(disk_alert("Other")).await;
    assert_eq!(next(rx).await.status, 400);
    s.wait_for(
        &format!(
            "alertmanager_notifications_failed_total{{integration=\"{kind}\",reason=\"clientError\"}} "
        ),
        1.0,
    )
    .await;
    assert_eq!(
        s.metric(&format!(
            "alertmanager_notification_requests_failed_total{{integration=\"{kind}\"}} "
        )),
        2.0
    );
    // Not retried.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(rx.try_recv().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msteamsv2_adaptive_card() {
    let (base, mut rx) = vendor(&[], (202, "")).await;
    let s = server(&format!(
        "  msteamsv2_configs:\n  - webhook_url: {base}/workflows/abc?sig=s3cret\n    \
         title: '{{{{ .Status }}}} {{{{ .GroupLabels.alertname }}}}'\n    \
         text: '{{{{ .CommonAnnotations.summary }}}}'"
    ))
    .await;
    s.post_alerts(disk_alert("Disk")).await;
    let got = next(&mut rx).await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.uri, "/workflows/abc?sig=s3cret");
    assert_eq!(got.header("content-type"), "application/json");
    assert_eq!(
        got.body,
        concat!(
            r#"{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","#,
            r#""contentUrl":null,"content":{"$schema":"http://adaptivecards.io/schemas/adaptive-card.json","#,
            r#""type":"AdaptiveCard","version":"1.2","body":[{"type":"TextBlock","text":"firing Disk","#,
            r#""weight":"Bolder","size":"Medium","wrap":true,"style":"heading","color":"Attention"},"#,
            r#"{"type":"TextBlock","text":"disk \u003cfull\u003e","wrap":true}],"msteams":{"width":"full"}}}]}"#,
            "\n"
        )
    );
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msteamsv2_retries_5xx_not_4xx() {
    let (base, mut rx) = vendor(&[(500, "busy"), (200, ""), (400, "bad")], (200, "")).await;
    let s = server(&format!("  msteamsv2_configs:\n  - webhook_url: {base}/w")).await;
    retries_then_refusal(&s, &mut rx, "msteamsv2").await;
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webex_message_with_bot_token() {
    let (base, mut rx) = vendor(&[], (200, "{}")).await;
    let s = server(&format!(
        "  webex_configs:\n  - api_url: {base}/v1/messages\n    \
         room_id: 'room-{{{{ .GroupLabels.alertname }}}}'\n    \
         message: '**{{{{ .Status }}}}** {{{{ .CommonAnnotations.summary }}}}'\n    \
         http_config: {{authorization: {{credentials: bot-token}}}}"
    ))
    .await;
    s.post_alerts(disk_alert("Disk")).await;
    let got = next(&mut rx).await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.uri, "/v1/messages");
    assert_eq!(got.header("content-type"), "application/json");
    assert_eq!(got.header("authorization"), "Bearer bot-token");
    assert_eq!(
        got.body,
        "{\"markdown\":\"**firing** disk \\u003cfull\\u003e\",\"roomId\":\"room-Disk\"}\n"
    );
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webex_retries_5xx_not_4xx() {
    let (base, mut rx) = vendor(&[(500, "busy"), (200, "{}"), (400, "bad")], (200, "{}")).await;
    let s = server(&format!(
        "  webex_configs:\n  - api_url: {base}/v1/messages\n    room_id: r\n    \
         http_config: {{authorization: {{credentials: t}}}}"
    ))
    .await;
    retries_then_refusal(&s, &mut rx, "webex").await;
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mattermost_post_and_failure_naming_the_channel() {
    let (base, mut rx) = vendor(&[], (200, "ok")).await;
    let s = server(&format!(
        "  mattermost_configs:\n  - webhook_url: {base}/hooks/xyz\n    channel: alerts\n    \
         username: bongsu\n    text: '{{{{ .CommonAnnotations.summary }}}}'\n    \
         title: '{{{{ .Status }}}} {{{{ .GroupLabels.alertname }}}}'\n    title_link: ''\n    \
         fallback: fb\n    color: '#ff0000'\n    priority: {{priority: Urgent, requested_ack: true}}"
    ))
    .await;
    s.post_alerts(disk_alert("Disk")).await;
    let got = next(&mut rx).await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.uri, "/hooks/xyz");
    assert_eq!(got.header("content-type"), "application/json");
    assert_eq!(
        got.body,
        concat!(
            r##"{"channel":"alerts","username":"bongsu","attachments":[{"fallback":"fb","color":"#ff0000","##,
            r##""text":"disk \u003cfull\u003e","title":"firing Disk"}],"##,
            r##""priority":{"priority":"urgent","requested_ack":true}}"##,
            "\n"
        )
    );
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mattermost_retries_5xx_not_4xx() {
    let (base, mut rx) = vendor(&[(500, "busy"), (200, "ok"), (400, "bad")], (200, "ok")).await;
    let s = server(&format!(
        "  mattermost_configs:\n  - webhook_url: {base}/hooks/x"
    ))
    .await;
    retries_then_refusal(&s, &mut rx, "mattermost").await;
    s.am.shutdown();
}

const ROCKET_OK: &str = r#"{"success":true,"message":{"msg":""}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rocketchat_post_message_with_token_headers() {
    let (base, mut rx) = vendor(&[], (200, ROCKET_OK)).await;
    let s = server(&format!(
        "  rocketchat_configs:\n  - api_url: {base}/chat/\n    token_id: user-1\n    token: tok-1\n    \
         channel: '#ops'\n    title: '{{{{ .Status }}}} {{{{ .GroupLabels.alertname }}}}'\n    \
         title_link: 'http://am/{{{{ .Receiver }}}}'\n    text: '{{{{ .CommonAnnotations.summary }}}}'\n    \
         fields: [{{title: n, value: '{{{{ len .Alerts }}}}'}}]"
    ))
    .await;
    s.post_alerts(disk_alert("Disk")).await;
    let got = next(&mut rx).await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.uri, "/chat/api/v1/chat.postMessage");
    assert_eq!(got.header("content-type"), "application/json");
    assert_eq!(got.header("x-auth-token"), "tok-1");
    assert_eq!(got.header("x-user-id"), "user-1");
    assert_eq!(
        got.body,
        concat!(
            r##"{"channel":"#ops","attachments":[{"title":"firing Disk","title_link":"http://am/chat","##,
            r##""text":"disk \u003cfull\u003e","color":"red","fields":[{"short":false,"title":"n","value":"1"}]}]}"##,
            "\n"
        )
    );
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rocketchat_retries_5xx_not_4xx() {
    let script = [(500, "busy"), (200, ROCKET_OK), (400, "bad")];
    let (base, mut rx) = vendor(&script, (200, ROCKET_OK)).await;
    let s = server(&format!(
        "  rocketchat_configs:\n  - api_url: {base}\n    token_id: u\n    token: t"
    ))
    .await;
    retries_then_refusal(&s, &mut rx, "rocketchat").await;
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rocketchat_refusal_in_a_2xx_answer_is_not_retried() {
    let refusal = r#"{"success":false,"error":"error-not-allowed"}"#;
    let (base, mut rx) = vendor(&[], (200, refusal)).await;
    let s = server(&format!(
        "  rocketchat_configs:\n  - api_url: {base}\n    token_id: u\n    token: t"
    ))
    .await;
    s.post_alerts(disk_alert("Disk")).await;
    assert_eq!(next(&mut rx).await.status, 200);
    s.wait_for(
        "alertmanager_notifications_failed_total{integration=\"rocketchat\",reason=\"clientError\"} ",
        1.0,
    )
    .await;
    // Not retried (the next try is the group's next flush, 3s later).
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(rx.try_recv().is_err());
    s.am.shutdown();
}

const JIRA_NONE: &str = r#"{"issues":[]}"#;
const JIRA_OPEN: &str = r#"{"issues":[{"key":"OPS-7","fields":{"status":{"name":"In Progress","statusCategory":{"key":"indeterminate"}}}}]}"#;

fn sha256_hex(s: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_creates_then_updates_and_resolves_the_group_issue() {
    let script = [
        (200, JIRA_NONE),
        (201, r#"{"key":"OPS-7"}"#),
        (200, JIRA_OPEN),
        (204, ""),
        (
            200,
            r#"{"transitions":[{"id":"11","name":"Reopen"},{"id":"31","name":"Done"}]}"#,
        ),
        (204, ""),
    ];
    let (base, mut rx) = vendor(&script, (500, "unexpected")).await;
    let s = server(&format!(
        "  jira_configs:\n  - api_url: {base}/rest/api/2\n    project: OPS\n    issue_type: Bug\n    \
         summary: '{{{{ .GroupLabels.alertname }}}} <{{{{ .Status }}}}>'\n    description: '{{{{ .CommonAnnotations.summary }}}}'\n    \
         priority: High\n    labels: [bongsu]\n    resolve_transition: Done\n    \
         http_config: {{basic_auth: {{username: bot, password: pw}}}}"
    ))
    .await;
    let hash = sha256_hex("{}:{alertname=\"Disk\"}");
    let jql = format!(
        "statusCategory != Done and project=\\\"OPS\\\" and labels=\\\"ALERT{{{hash}}}\\\" order by status ASC,resolutiondate DESC"
    );
    s.post_alerts(disk_alert("Disk")).await;
    let search = next(&mut rx).await;
    assert_eq!(
        (search.method.as_str(), search.uri.as_str()),
        ("POST", "/rest/api/2/search")
    );
    assert_eq!(search.header("content-type"), "application/json");
    assert_eq!(search.header("accept-language"), "en");
    assert_eq!(search.header("authorization"), "Basic Ym90OnB3");
    assert_eq!(
        search.body,
        format!("{{\"fields\":[\"status\"],\"jql\":\"{jql}\",\"maxResults\":2}}\n")
    );
    let create = next(&mut rx).await;
    assert_eq!(
        (create.method.as_str(), create.uri.as_str()),
        ("POST", "/rest/api/2/issue")
    );
    assert_eq!(
        create.body,
        format!(
            "{{\"fields\":{{\"description\":\"disk \\u003cfull\\u003e\",\"issuetype\":{{\"name\":\"Bug\"}},\
             \"labels\":[\"ALERT{{{hash}}}\",\"bongsu\"],\"priority\":{{\"name\":\"High\"}},\
             \"project\":{{\"key\":\"OPS\"}},\"summary\":\"Disk \\u003cfiring\\u003e\"}}}}\n"
        )
    );
    s.wait_for(
        "alertmanager_notifications_total{integration=\"jira\"} ",
        1.0,
    )
    .await;

    let mut resolved = disk_alert("Disk");
    resolved[0]["endsAt"] = json!("2026-01-01T00:10:00Z");
    s.post_alerts(resolved).await;
    let search = next(&mut rx).await;
    assert_eq!(search.uri, "/rest/api/2/search");
    let update = next(&mut rx).await;
    assert_eq!(
        (update.method.as_str(), update.uri.as_str()),
        ("PUT", "/rest/api/2/issue/OPS-7")
    );
    assert!(update
        .body
        .contains("\"summary\":\"Disk \\u003cresolved\\u003e\""));
    let list = next(&mut rx).await;
    assert_eq!(
        (list.method.as_str(), list.uri.as_str(), list.body.as_str()),
        ("GET", "/rest/api/2/issue/OPS-7/transitions", "")
    );
    let done = next(&mut rx).await;
    assert_eq!(
        (done.method.as_str(), done.uri.as_str(), done.body.as_str()),
        (
            "POST",
            "/rest/api/2/issue/OPS-7/transitions",
            "{\"transition\":{\"id\":\"31\"}}\n"
        )
    );
    s.wait_for(
        "alertmanager_notifications_total{integration=\"jira\"} ",
        2.0,
    )
    .await;
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_retries_429_and_5xx_not_4xx() {
    let script = [
        (429, "slow down"),
        (503, "busy"),
        (200, JIRA_NONE),
        (201, "{}"),
        (200, JIRA_NONE),
        (400, r#"{"errors":{"project":"valid project is required"}}"#),
    ];
    let (base, mut rx) = vendor(&script, (500, "unexpected")).await;
    let s = server(&format!(
        "  jira_configs:\n  - api_url: {base}/rest/api/2\n    project: OPS\n    issue_type: Bug"
    ))
    .await;
    s.post_alerts(disk_alert("Disk")).await;
    for want in [429, 503, 200, 201] {
        assert_eq!(next(&mut rx).await.status, want);
    }
    s.wait_for(
        "alertmanager_notifications_total{integration=\"jira\"} ",
        1.0,
    )
    .await;
    s.post_alerts(disk_alert("Other")).await;
    assert_eq!(next(&mut rx).await.status, 200);
    assert_eq!(next(&mut rx).await.status, 400);
    s.wait_for(
        "alertmanager_notifications_failed_total{integration=\"jira\",reason=\"clientError\"} ",
        1.0,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(rx.try_recv().is_err());
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidentio_alert_source_payload_with_token() {
    let (base, mut rx) = vendor(&[], (202, r#"{"status":"success"}"#)).await;
    let s = server(&format!(
        "  incidentio_configs:\n  - url: {base}/v2/alert_events/http/01ABC\n    alert_source_token: src-token\n    max_alerts: 1"
    ))
    .await;
    s.post_alerts(disk_alert("Disk")).await;
    let got = next(&mut rx).await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.uri, "/v2/alert_events/http/01ABC");
    assert_eq!(got.header("content-type"), "application/json");
    assert_eq!(got.header("authorization"), "Bearer src-token");
    let labels = [("alertname", "Disk"), ("instance", "a&b")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let fp = bongsu_alertmanager::types::fingerprint(&labels).to_string();
    let want = format!(
        concat!(
            r#"{{"receiver":"chat","status":"firing","alerts":[{{"status":"firing","#,
            r#""labels":{{"alertname":"Disk","instance":"a\u0026b"}},"annotations":{{"summary":"disk \u003cfull\u003e"}},"#,
            r#""startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"{fp}"}}],"#,
            r#""notification_reason":"first notification","groupLabels":{{"alertname":"Disk"}},"commonLabels":{{"alertname":"Disk","instance":"a\u0026b"}},"#,
            r#""commonAnnotations":{{"summary":"disk \u003cfull\u003e"}},"externalURL":"http://bongsu.example:9090","#,
            r#""version":"1","groupKey":"{{}}:{{alertname=\"Disk\"}}","truncatedAlerts":0}}"#,
            "\n"
        ),
        fp = fp
    );
    assert_eq!(got.body, want);
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidentio_retries_429_and_5xx_not_4xx() {
    let script = [
        (429, r#"{"message":"slow down"}"#),
        (500, "busy"),
        (200, "{}"),
        (
            400,
            r#"{"message":"Invalid payload","errors":["title missing"]}"#,
        ),
    ];
    let (base, mut rx) = vendor(&script, (202, "{}")).await;
    let s = server(&format!(
        "  incidentio_configs:\n  - url: {base}/a\n    http_config: {{authorization: {{credentials: c}}}}"
    ))
    .await;
    s.post_alerts(disk_alert("Disk")).await;
    let first = next(&mut rx).await;
    assert_eq!(
        (first.status, first.header("authorization")),
        (429, "Bearer c")
    );
    for want in [500, 200] {
        assert_eq!(next(&mut rx).await.status, want);
    }
    s.wait_for(
        "alertmanager_notifications_total{integration=\"incidentio\"} ",
        1.0,
    )
    .await;
    s.post_alerts(disk_alert("Other")).await;
    assert_eq!(next(&mut rx).await.status, 400);
    s.wait_for(
        "alertmanager_notifications_failed_total{integration=\"incidentio\",reason=\"clientError\"} ",
        1.0,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(rx.try_recv().is_err());
    s.am.shutdown();
}
