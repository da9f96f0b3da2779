//! The Alertmanager pipeline end to end: alerts posted to `/api/v2/alerts` reach webhook
//! servers in this test with exactly Alertmanager's payload; silences and inhibition
//! suppress; failing receivers are retried and counted; the notification log survives a
//! restart.

#[path = "common/alertmanager.rs"]
mod am;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use am::{next, Server};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use bongsu_alertmanager::config::Config;
use bongsu_alertmanager::server::Options;

/// What the webhook answers: a status and a delay per request, then 200 at once.
#[derive(Clone)]
struct Hook {
    script: Arc<Mutex<VecDeque<(u16, Duration)>>>,
    tx: mpsc::UnboundedSender<Value>,
}

async fn receive(State(h): State<Hook>, body: axum::body::Bytes) -> StatusCode {
    let step = h.script.lock().pop_front();
    let (code, delay) = step.unwrap_or((200, Duration::ZERO));
    tokio::time::sleep(delay).await;
    if code == 200 {
        let _ =
            h.tx.send(serde_json::from_slice(&body).unwrap_or(Value::Null));
    }
    StatusCode::from_u16(code).unwrap()
}

/// Starts a webhook server; returns its URL and the payloads it accepted.
async fn webhook(script: &[(u16, Duration)]) -> (String, mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let hook = Hook {
        script: Arc::new(Mutex::new(script.iter().copied().collect())),
        tx,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/hook", post(receive)).with_state(hook);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), rx)
}

async fn start(config: &str, data_dir: Option<PathBuf>) -> Server {
    let cfg = Config::parse(config, None).expect("valid config");
    let opts = Options {
        data_dir,
        ..am::options("http://bongsu.example:9090")
    };
    am::start(cfg, opts).await
}

fn config(url: &str, extra_receiver: &str) -> String {
    format!(
        "
route:
  receiver: team-x
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: team-x
  webhook_configs:
  - url: {url}
    {extra_receiver}
inhibit_rules:
- source_matchers: [severity=critical]
  target_matchers: [severity=warning]
  equal: [alertname]
"
    )
}

fn fingerprint(labels: &[(&str, &str)]) -> String {
    let ls = labels
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    bongsu_alertmanager::types::fingerprint(&ls).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_receives_alertmanager_payload() {
    let (url, mut rx) = webhook(&[]).await;
    let s = start(&config(&url, ""), None).await;
    // Fresh alerts, so the group waits its group_wait for both: a group whose first alert is
    // older than group_wait is flushed at once (as upstream), racing the second alert.
    let now = jiff::Timestamp::now().as_second();
    let at = |offset: &str| {
        let t = jiff::Timestamp::from_second(now).expect("now is a valid time");
        format!("{}{offset}Z", t.strftime("%Y-%m-%dT%H:%M:%S"))
    };
    let (t_b, t_a) = (at(""), at(".5"));
    let (code, _) = s
        .post(
            "/api/v2/alerts",
            json!([
                {"labels": {"alertname": "Disk", "instance": "b", "job": "node"},
                 "annotations": {"summary": "full", "runbook": "r1"},
                 "startsAt": t_b,
                 "generatorURL": "http://prom/graph"},
                {"labels": {"alertname": "Disk", "instance": "a", "job": "node"},
                 "annotations": {"summary": "full", "runbook": "r2"},
                 "startsAt": t_a}
            ]),
        )
        .await;
    assert_eq!(code, 200);
    let got = next(&mut rx).await;
    let expected = json!({
        "receiver": "team-x",
        "status": "firing",
        "alerts": [
            {"status": "firing",
             "labels": {"alertname": "Disk", "instance": "a", "job": "node"},
             "annotations": {"summary": "full", "runbook": "r2"},
             "startsAt": t_a,
             "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "",
             "fingerprint": fingerprint(&[("alertname", "Disk"), ("instance", "a"), ("job", "node")])},
            {"status": "firing",
             "labels": {"alertname": "Disk", "instance": "b", "job": "node"},
             "annotations": {"summary": "full", "runbook": "r1"},
             "startsAt": t_b,
             "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "http://prom/graph",
             "fingerprint": fingerprint(&[("alertname", "Disk"), ("instance", "b"), ("job", "node")])}
        ],
        "notification_reason": "first notification",
        "groupLabels": {"alertname": "Disk"},
        "commonLabels": {"alertname": "Disk", "job": "node"},
        "commonAnnotations": {"summary": "full"},
        "externalURL": "http://bongsu.example:9090",
        "version": "4",
        "groupKey": "{}:{alertname=\"Disk\"}",
        "truncatedAlerts": 0
    });
    assert_eq!(got, expected);

    // Resolving one sends a resolved notification at the next group interval. It ended before
    // now: the first notification came a group_wait (1 s) after both started.
    let ended = at(".9");
    let (code, _) = s
        .post(
            "/api/v2/alerts",
            json!([{"labels": {"alertname": "Disk", "instance": "a", "job": "node"},
                    "startsAt": t_a,
                    "endsAt": ended}]),
        )
        .await;
    assert_eq!(code, 200);
    let got = next(&mut rx).await;
    assert_eq!(got["status"], "firing");
    assert_eq!(got["alerts"][0]["status"], "resolved");
    assert_eq!(got["alerts"][0]["endsAt"], ended);
    assert_eq!(got["alerts"][1]["status"], "firing");
    assert_eq!(got["notification_reason"], "some alerts resolved");
    let sent = "alertmanager_notifications_total{integration=\"webhook\"} ";
    s.wait_for(sent, 2.0).await;
    let alerts = s.get("/api/v2/alerts").await;
    assert_eq!(
        alerts.as_array().unwrap().len(),
        1,
        "resolved alerts are not listed"
    );
    assert_eq!(alerts[0]["receivers"], json!([{"name": "team-x"}]));
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silences_and_inhibition_suppress() {
    let (url, mut rx) = webhook(&[]).await;
    let s = start(&config(&url, ""), None).await;
    let (code, body) = s
        .post(
            "/api/v2/silences",
            json!({"matchers": [{"name": "instance", "value": "quiet.*", "isRegex": true}],
                   "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
                   "createdBy": "test", "comment": "maintenance"}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let id = body["silenceID"].as_str().unwrap().to_string();
    s.post(
        "/api/v2/alerts",
        json!([
            {"labels": {"alertname": "A", "instance": "quiet1"}},
            {"labels": {"alertname": "A", "instance": "loud"}},
            {"labels": {"alertname": "B", "instance": "w", "severity": "warning"}},
            {"labels": {"alertname": "B", "instance": "c", "severity": "critical"}}
        ]),
    )
    .await;
    let mut got = [next(&mut rx).await, next(&mut rx).await];
    got.sort_by_key(|v| v["groupKey"].as_str().unwrap_or_default().to_string());
    let instances = |v: &Value| -> Vec<String> {
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["labels"]["instance"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(instances(&got[0]), ["loud"]);
    assert_eq!(instances(&got[1]), ["c"]);

    let all = s.get("/api/v2/alerts?silenced=false&inhibited=false").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let quiet = s.get("/api/v2/alerts?filter=instance%3D%22quiet1%22").await;
    assert_eq!(quiet[0]["status"]["state"], "suppressed");
    assert_eq!(quiet[0]["status"]["silencedBy"], json!([id]));
    let w = s.get("/api/v2/alerts?filter=severity%3Dwarning").await;
    assert_eq!(
        w[0]["status"]["inhibitedBy"],
        json!([fingerprint(&[
            ("alertname", "B"),
            ("instance", "c"),
            ("severity", "critical")
        ])])
    );
    let groups = s.get("/api/v2/alerts/groups").await;
    assert_eq!(groups.as_array().unwrap().len(), 2);

    // Expiring the silence lets the alert through at the next flush.
    let r = s
        .http
        .delete(format!("{}/api/v2/silence/{id}", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let got = next(&mut rx).await;
    assert_eq!(instances(&got), ["loud", "quiet1"]);
    let sil = s.get(&format!("/api/v2/silence/{id}")).await;
    assert_eq!(sil["status"]["state"], "expired");
    s.am.shutdown();
}

/// What this test binary logs at `warn` and above (a global subscriber, installed once).
fn warnings() -> &'static Mutex<Vec<u8>> {
    static LOG: std::sync::OnceLock<&'static Mutex<Vec<u8>>> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let log: &'static Mutex<Vec<u8>> = Box::leak(Box::default());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || CaptureWriter(log))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        log
    })
}

struct CaptureWriter(&'static Mutex<Vec<u8>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_slow_receivers_are_retried() {
    let log = warnings();
    let (url, mut rx) = webhook(&[
        (500, Duration::ZERO),
        (503, Duration::ZERO),
        (200, Duration::from_secs(3)),
    ])
    .await;
    let s = start(&config(&url, "timeout: 1s"), None).await;
    s.post("/api/v2/alerts", json!([{"labels": {"alertname": "A"}}]))
        .await;
    let got = next(&mut rx).await;
    assert_eq!(got["alerts"][0]["labels"]["alertname"], "A");
    let w = "{integration=\"webhook\"} ";
    s.wait_for(&format!("alertmanager_notifications_total{w}"), 1.0)
        .await;
    assert_eq!(
        s.metric(&format!("alertmanager_notification_requests_total{w}")),
        4.0
    );
    assert_eq!(
        s.metric(&format!(
            "alertmanager_notification_requests_failed_total{w}"
        )),
        3.0
    );
    assert_eq!(
        s.metric(&format!("alertmanager_notifications_total{w}")),
        1.0
    );
    assert_eq!(
        s.metric(
            "alertmanager_notifications_failed_total{integration=\"webhook\",reason=\"other\"} "
        ),
        0.0
    );
    // Each failed attempt was logged at once, with its cause, as Alertmanager does.
    let log = String::from_utf8_lossy(&log.lock()).into_owned();
    for cause in [
        "status code 500",
        "status code 503",
        "error sending request",
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains("notify attempt failed, will retry later") && l.contains(cause)),
            "{cause}: {log}"
        );
    }
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_and_refused_connections_fail() {
    let (url, _rx) = webhook(&[(400, Duration::ZERO)]).await;
    let s = start(&config(&url, ""), None).await;
    s.post("/api/v2/alerts", json!([{"labels": {"alertname": "A"}}]))
        .await;
    s.wait_for(
        "alertmanager_notifications_failed_total{integration=\"webhook\",reason=\"clientError\"} ",
        1.0,
    )
    .await;
    assert_eq!(
        s.metric("alertmanager_notification_requests_total{integration=\"webhook\"} "),
        1.0,
        "a client error is not retried"
    );
    s.am.shutdown();

    // Nothing listens on a port just freed: every attempt is refused until the deadline.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let s = start(&config(&format!("http://{closed}/hook"), ""), None).await;
    s.post("/api/v2/alerts", json!([{"labels": {"alertname": "A"}}]))
        .await;
    s.wait_for(
        "alertmanager_notifications_failed_total{integration=\"webhook\",reason=\"other\"} ",
        1.0,
    )
    .await;
    assert!(
        s.metric("alertmanager_notification_requests_failed_total{integration=\"webhook\"} ") > 3.0,
        "refused connections are retried"
    );
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_alerts_truncates() {
    let (url, mut rx) = webhook(&[]).await;
    let s = start(&config(&url, "max_alerts: 1"), None).await;
    s.post(
        "/api/v2/alerts",
        json!([{"labels": {"alertname": "A", "i": "1"}},
               {"labels": {"alertname": "A", "i": "2"}},
               {"labels": {"alertname": "A", "i": "3"}}]),
    )
    .await;
    let got = next(&mut rx).await;
    assert_eq!(got["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(got["truncatedAlerts"], 2);
    s.am.shutdown();
}

/// A templated URL is rendered per notification; one that fails to render fails the
/// notification without retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_urls_are_templates() {
    let (url, mut rx) = webhook(&[]).await;
    let base = url.trim_end_matches("/hook");
    let templated = format!(
        "'{base}/{{{{ if eq .GroupLabels.alertname \"A\" }}}}hook{{{{ else }}}}wrong{{{{ end }}}}'"
    );
    let broken = format!("'{base}/{{{{ .NoSuchField }}}}'");
    let s = start(&config(&templated, &format!("\n  - url: {broken}")), None).await;
    s.post("/api/v2/alerts", json!([{"labels": {"alertname": "A"}}]))
        .await;
    let got = next(&mut rx).await;
    assert_eq!(got["groupLabels"], json!({"alertname": "A"}));
    s.wait_for(
        "alertmanager_notifications_failed_total{integration=\"webhook\",reason=\"other\"} ",
        1.0,
    )
    .await;
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_alerts_are_rejected_as_upstream() {
    let (url, _rx) = webhook(&[]).await;
    let s = start(&config(&url, ""), None).await;
    let (code, body) = s
        .post(
            "/api/v2/alerts",
            json!([{"labels": {}},
                   {"labels": {"a": "b"}, "startsAt": "2026-01-02T00:00:00Z", "endsAt": "2026-01-01T00:00:00Z"},
                   {"labels": {"alertname": "ok"}}]),
        )
        .await;
    assert_eq!(code, 400);
    assert_eq!(
        body,
        json!("at least one label pair required; start time must be before end time")
    );
    assert_eq!(
        s.get("/api/v2/alerts").await.as_array().unwrap().len(),
        1,
        "valid ones are kept"
    );
    let (code, body) = s
        .post(
            "/api/v2/silences",
            json!({"matchers": [{"name": "a", "value": "b", "isRegex": false}],
                   "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2026-01-01T01:00:00Z",
                   "createdBy": "t", "comment": "c"}),
        )
        .await;
    assert_eq!(
        (code, body),
        (
            400,
            json!("Failed to create silence: end time can't be in the past")
        )
    );
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_sends_no_duplicate_and_keeps_silences() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("am");
    let (url, mut rx) = webhook(&[]).await;
    let alert = json!([{"labels": {"alertname": "A"}, "startsAt": "2026-01-01T00:00:00Z"}]);
    let s = start(&config(&url, ""), Some(data.clone())).await;
    let (_, body) = s
        .post(
            "/api/v2/silences",
            json!({"matchers": [{"name": "x", "value": "y", "isRegex": false}],
                   "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
                   "createdBy": "t", "comment": "c"}),
        )
        .await;
    s.post("/api/v2/alerts", alert.clone()).await;
    next(&mut rx).await;
    s.wait_for(
        "alertmanager_notifications_total{integration=\"webhook\"} ",
        1.0,
    )
    .await;
    s.am.shutdown();

    let s = start(&config(&url, ""), Some(data)).await;
    let sil = s
        .get(&format!(
            "/api/v2/silence/{}",
            body["silenceID"].as_str().unwrap()
        ))
        .await;
    assert_eq!(sil["status"]["state"], "active");
    s.post("/api/v2/alerts", alert).await;
    let more = tokio::time::timeout(Duration::from_millis(2500), rx.recv()).await;
    assert!(more.is_err(), "no duplicate after a restart: {more:?}");
    s.am.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_unprocessed_until_listed_or_flushed() {
    let (url, mut rx) = webhook(&[]).await;
    let cfg = format!(
        "route: {{receiver: r, group_by: [alertname], group_wait: 1h, routes: [{{matchers: [fast=yes], receiver: r, group_wait: 100ms}}]}}\n\
         receivers: [{{name: r, webhook_configs: [{{url: '{url}'}}]}}]\n"
    );
    let s = start(&cfg, None).await;
    s.post(
        "/api/v2/alerts",
        json!([{"labels": {"alertname": "Slow"}}, {"labels": {"alertname": "Fast", "fast": "yes"}}]),
    )
    .await;
    // The flush of the fast group processes its alert; the slow group waits an hour.
    next(&mut rx).await;
    let state = |st: &str| format!("alertmanager_alerts{{state=\"{st}\"}} ");
    s.wait_for(&state("active"), 1.0).await;
    assert_eq!(s.metric(&state("unprocessed")), 1.0);
    // Listing checks every alert's muting, even one its label filter leaves out.
    let listed = s.get("/api/v2/alerts?filter=alertname%3D%22Fast%22").await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["status"]["state"], "active");
    assert_eq!(s.metric(&state("unprocessed")), 0.0);
    assert_eq!(s.metric(&state("active")), 2.0);
    s.am.shutdown();
}
