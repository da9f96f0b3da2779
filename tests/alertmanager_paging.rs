//! The paging receivers end to end: alerts posted to an in-process Alertmanager reach a
//! server in this test playing PagerDuty (Events API v2) / Opsgenie / VictorOps, with exactly
//! upstream's request bodies, headers and URL paths; resolved groups send the resolve
//! requests; 5xx answers are retried, 4xx fail and are counted by reason. (Pushover and
//! PagerDuty's v1 API have fixed endpoints: their requests are checked by unit tests.)

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::Router;
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use bongsu_alertmanager::config::Config;
use bongsu_alertmanager::server::{Alertmanager, Options};
use bongsu_alertmanager::types::Clock;

/// Every wait is bounded by this.
const LIMIT: Duration = Duration::from_secs(30);

/// One request the fake vendor received.
#[derive(Debug)]
struct Seen {
    method: String,
    /// Path and query.
    uri: String,
    content_type: String,
    authorization: String,
    body: String,
    /// What was answered.
    status: u16,
}

/// Answers with scripted statuses (then 202) and reports every request.
#[derive(Clone)]
struct Vendor {
    script: Arc<Mutex<VecDeque<(u16, &'static str)>>>,
    tx: mpsc::UnboundedSender<Seen>,
}

async fn answer(State(v): State<Vendor>, req: Request) -> (StatusCode, String) {
    let (status, reply) = v.script.lock().pop_front().unwrap_or((202, "{}"));
    let (parts, body) = req.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let seen = Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        content_type: header("content-type"),
        authorization: header("authorization"),
        body: String::new(),
        status,
    };
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let _ = v.tx.send(Seen {
        body: String::from_utf8_lossy(&body).into_owned(),
        ..seen
    });
    (StatusCode::from_u16(status).unwrap(), reply.to_string())
}

/// Starts a fake vendor API; returns its base URL and the requests it sees.
async fn vendor(script: &[(u16, &'static str)]) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let v = Vendor {
        script: Arc::new(Mutex::new(script.iter().copied().collect())),
        tx,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(answer).with_state(v);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(LIMIT, rx.recv())
        .await
        .expect("a request in time")
        .expect("vendor running")
}

struct Server {
    am: Arc<Alertmanager>,
    url: String,
    http: reqwest::Client,
}

async fn start(config: &str) -> Server {
    let cfg = Config::parse(config, None).expect("valid config");
    let opts = Options {
        external_url: "http://bongsu.example:9090".into(),
        ..Options::default()
    };
    let am = Alertmanager::start(opts, Some(cfg), Clock::new()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = bongsu_alertmanager::api::router(am.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        am,
        url: format!("http://{addr}"),
        http: reqwest::Client::new(),
    }
}

impl Server {
    async fn alerts(&self, body: Value) {
        let r = self
            .http
            .post(format!("{}/api/v2/alerts", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }

    async fn wait_for(&self, line_prefix: &str, at_least: f64) {
        tokio::time::timeout(LIMIT, async {
            while self.metric(line_prefix) < at_least {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{line_prefix} did not reach {at_least}"));
    }

    fn metric(&self, line_prefix: &str) -> f64 {
        let mut out = String::new();
        self.am
            .write_metrics(&mut bongsu_telemetry::Encoder::new(&mut out));
        out.lines()
            .find_map(|l| l.strip_prefix(line_prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no metric {line_prefix} in\n{out}"))
    }
}

/// A route sending everything, grouped by alertname, to receiver `pager` made of `configs`.
fn config(configs: &str) -> String {
    format!(
        "
route:
  receiver: pager
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: pager
{configs}
"
    )
}

fn sha256_hex(s: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn fingerprint(labels: &[(&str, &str)]) -> String {
    let ls = labels
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    bongsu_alertmanager::types::fingerprint(&ls).to_string()
}

const GROUP_KEY: &str = "{}:{alertname=\"Disk\"}";

fn disk_alert(ends_at: Option<&str>) -> Value {
    let mut a = json!({
        "labels": {"alertname": "Disk", "instance": "a&b"},
        "annotations": {"summary": "disk <full>"},
        "startsAt": "2026-01-01T00:00:00Z",
        "generatorURL": "http://prom/graph?g0.expr=up&g0.tab=1"
    });
    if let Some(e) = ends_at {
        a["endsAt"] = json!(e);
    }
    json!([a])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_trigger_and_resolve_events() {
    let (base, mut rx) = vendor(&[]).await;
    let s = start(&config(&format!(
        "  pagerduty_configs:
  - routing_key: 'rk-{{{{ .GroupLabels.alertname }}}}'
    url: {base}/v2/enqueue
    severity: critical
    class: disk
    links: [{{href: 'http://runbook/{{{{ .GroupLabels.alertname }}}}', text: runbook}}]"
    )))
    .await;
    s.alerts(disk_alert(None)).await;
    let got = next(&mut rx).await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.uri, "/v2/enqueue");
    assert_eq!(got.content_type, "application/json");
    assert_eq!(got.authorization, "", "the key travels in the body");
    let fp = fingerprint(&[("alertname", "Disk"), ("instance", "a&b")]);
    let firing = format!(
        r#"[{{"annotations":{{"summary":"disk \u003cfull\u003e"}},"endsAt":"0001-01-01T00:00:00Z","fingerprint":"{fp}","generatorURL":"http://prom/graph?g0.expr=up\u0026g0.tab=1","labels":{{"alertname":"Disk","instance":"a\u0026b"}},"startsAt":"2026-01-01T00:00:00Z","status":"firing"}}]"#
    );
    let key = sha256_hex(GROUP_KEY);
    let want = format!(
        concat!(
            r#"{{"routing_key":"rk-Disk","dedup_key":"{key}","event_action":"trigger","#,
            r#""payload":{{"summary":"[FIRING:1] Disk (a\u0026b)","source":"Alertmanager","#,
            r#""severity":"critical","class":"disk","custom_details":{{"firing":{firing},"#,
            r#""num_firing":1,"num_resolved":0,"resolved":[]}}}},"client":"Alertmanager","#,
            r#""client_url":"http://bongsu.example:9090/#/alerts?receiver=pager","#,
            r#""links":[{{"href":"http://runbook/Disk","text":"runbook"}}]}}"#,
            "\n"
        ),
        key = key,
        firing = firing
    );
    assert_eq!(got.body, want);

    s.alerts(disk_alert(Some("2026-01-01T00:10:00Z"))).await;
    let got = next(&mut rx).await;
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(body["event_action"], "resolve");
    assert_eq!(body["dedup_key"], key);
    assert_eq!(body["payload"]["summary"], "[RESOLVED] Disk (a\u{26}b)");
    assert_eq!(body["payload"]["custom_details"]["num_resolved"], 1);
    assert_eq!(body["payload"]["custom_details"]["firing"], json!([]));
    assert_eq!(
        body["payload"]["custom_details"]["resolved"][0]["endsAt"],
        "2026-01-01T00:10:00Z"
    );
    s.wait_for(
        "alertmanager_notifications_total{integration=\"pagerduty\"} ",
        2.0,
    )
    .await;
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_retries_5xx_and_429_then_fails_on_400() {
    let refusal =
        r#"{"status":"invalid event","message":"Event object is invalid","errors":["bad"]}"#;
    let (base, mut rx) = vendor(&[(500, "oops"), (429, ""), (202, "{}"), (400, refusal)]).await;
    let s = start(&config(&format!(
        "  pagerduty_configs:\n  - routing_key: k\n    url: {base}/v2/enqueue"
    )))
    .await;
    s.alerts(disk_alert(None)).await;
    for want in [500, 429, 202] {
        assert_eq!(next(&mut rx).await.status, want);
    }
    s.wait_for(
        "alertmanager_notifications_total{integration=\"pagerduty\"} ",
        1.0,
    )
    .await;
    assert_eq!(
        s.metric("alertmanager_notification_requests_failed_total{integration=\"pagerduty\"} "),
        2.0
    );

    s.alerts(json!([{"labels": {"alertname": "Other"}}])).await;
    assert_eq!(next(&mut rx).await.status, 400);
    s.wait_for(
        "alertmanager_notifications_failed_total{integration=\"pagerduty\",reason=\"clientError\"} ",
        1.0,
    )
    .await;
    // Not retried.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(rx.try_recv().is_err());
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opsgenie_create_update_and_close_by_alias() {
    let (base, mut rx) = vendor(&[]).await;
    let s = start(&config(&format!(
        "  opsgenie_configs:
  - api_key: og-key
    api_url: {base}/og
    responders: [{{name: 'sre,dba', type: teams}}, {{username: ann, type: user}}]
    tags: 'disk,{{{{ .GroupLabels.alertname }}}}'
    priority: P2
    details: {{team: storage}}
    update_alerts: true"
    )))
    .await;
    s.alerts(disk_alert(None)).await;
    let alias = sha256_hex(GROUP_KEY);
    let create = next(&mut rx).await;
    assert_eq!(
        (create.method.as_str(), create.uri.as_str()),
        ("POST", "/og/v2/alerts")
    );
    assert_eq!(create.authorization, "GenieKey og-key");
    assert_eq!(create.content_type, "application/json");
    // The common annotations, then the alerts (upstream's default template), JSON-escaped.
    let description = concat!(
        r"disk \u003cfull\u003e\nAlerts Firing:\nLabels:\n - alertname = Disk\n",
        r" - instance = a\u0026b\nAnnotations:\n - summary = disk \u003cfull\u003e\n",
        r"Source: http://prom/graph?g0.expr=up\u0026g0.tab=1\n\n"
    );
    let want = format!(
        concat!(
            r#"{{"alias":"{alias}","message":"[FIRING:1] Disk (a\u0026b)","description":"{description}","#,
            r#""details":{{"alertname":"Disk","instance":"a\u0026b","team":"storage"}},"#,
            r#""source":"http://bongsu.example:9090/#/alerts?receiver=pager","#,
            r#""responders":[{{"name":"sre","type":"team"}},{{"name":"dba","type":"team"}},"#,
            r#"{{"username":"ann","type":"user"}}],"tags":["disk","Disk"],"priority":"P2"}}"#,
            "\n"
        ),
        alias = alias,
        description = description
    );
    assert_eq!(create.body, want);
    let update = next(&mut rx).await;
    assert_eq!(update.method, "PUT");
    assert_eq!(
        update.uri,
        format!("/og/v2/alerts/{alias}/message?identifierType=alias")
    );
    assert_eq!(
        update.body,
        "{\"message\":\"[FIRING:1] Disk (a\\u0026b)\"}\n"
    );
    let update = next(&mut rx).await;
    assert_eq!(update.method, "PUT");
    assert_eq!(
        update.uri,
        format!("/og/v2/alerts/{alias}/description?identifierType=alias")
    );
    assert_eq!(
        update.body,
        format!("{{\"description\":\"{description}\"}}\n")
    );

    s.alerts(disk_alert(Some("2026-01-01T00:10:00Z"))).await;
    let close = next(&mut rx).await;
    assert_eq!(close.method, "POST");
    assert_eq!(
        close.uri,
        format!("/og/v2/alerts/{alias}/close?identifierType=alias")
    );
    assert_eq!(close.authorization, "GenieKey og-key");
    assert_eq!(
        close.body,
        "{\"source\":\"http://bongsu.example:9090/#/alerts?receiver=pager\"}\n"
    );
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opsgenie_failures_counted_by_reason() {
    let (base, mut rx) = vendor(&[(503, "down"), (202, "{}"), (401, "bad key")]).await;
    let s = start(&config(&format!(
        "  opsgenie_configs:\n  - api_key: k\n    api_url: {base}/"
    )))
    .await;
    s.alerts(disk_alert(None)).await;
    assert_eq!(next(&mut rx).await.status, 503);
    assert_eq!(next(&mut rx).await.status, 202);
    s.wait_for(
        "alertmanager_notifications_total{integration=\"opsgenie\"} ",
        1.0,
    )
    .await;
    s.alerts(json!([{"labels": {"alertname": "Other"}}])).await;
    assert_eq!(next(&mut rx).await.status, 401);
    s.wait_for(
        "alertmanager_notifications_failed_total{integration=\"opsgenie\",reason=\"authError\"} ",
        1.0,
    )
    .await;
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victorops_critical_then_recovery() {
    let (base, mut rx) = vendor(&[(500, "later"), (202, "{}")]).await;
    let s = start(&format!(
        "global:\n  victorops_api_key: vo-key\n  victorops_api_url: {base}/integrations/alert\n{}",
        config(
            "  victorops_configs:
  - routing_key: 'team-{{ .GroupLabels.alertname }}'
    custom_fields: {runbook: 'http://rb/{{ .GroupLabels.alertname }}'}"
        )
    ))
    .await;
    s.alerts(disk_alert(None)).await;
    let entity = sha256_hex(GROUP_KEY);
    let failed = next(&mut rx).await;
    assert_eq!(failed.status, 500);
    let got = next(&mut rx).await;
    assert_eq!(got.body, failed.body, "the retry sends the same event");
    assert_eq!(got.method, "POST");
    assert_eq!(got.uri, "/integrations/alert/vo-key/team-Disk");
    assert_eq!(got.content_type, "application/json");
    let state = concat!(
        r"disk \u003cfull\u003e\nAlerts Firing:\nLabels:\n - alertname = Disk\n",
        r" - instance = a\u0026b\nAnnotations:\n - summary = disk \u003cfull\u003e\n",
        r"Source: http://prom/graph?g0.expr=up\u0026g0.tab=1\n\n"
    );
    assert_eq!(
        got.body,
        format!(
            concat!(
                r#"{{"entity_display_name":"[FIRING:1] Disk (a\u0026b)","entity_id":"{entity}","#,
                r#""message_type":"CRITICAL","monitoring_tool":"Alertmanager","#,
                r#""runbook":"http://rb/Disk","state_message":"{state}"}}"#,
                "\n"
            ),
            entity = entity,
            state = state
        )
    );
    s.alerts(disk_alert(Some("2026-01-01T00:10:00Z"))).await;
    let got = next(&mut rx).await;
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(body["message_type"], "RECOVERY");
    assert_eq!(body["entity_id"], entity);
    assert_eq!(body["entity_display_name"], "[RESOLVED] Disk (a&b)");
    s.wait_for(
        "alertmanager_notifications_total{integration=\"victorops\"} ",
        2.0,
    )
    .await;
    assert_eq!(
        s.metric("alertmanager_notification_requests_failed_total{integration=\"victorops\"} "),
        1.0
    );
    s.am.shutdown();
}
