//! Alert delivery end to end: a live bongsu whose alerting rules fire posts them to fake
//! Alertmanagers (tiny axum servers inside the test), as Alertmanager v2 JSON with external
//! labels and alert relabeling applied; failing Alertmanagers are counted as errors while rule
//! evaluation goes on.
//!
//! Every wait polls with a bound, so a slow machine makes the test slower, not flaky.

mod common;

use std::ffi::OsString;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use common::server::Server;
use serde_json::{json, Value};

/// A request the fake Alertmanager received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    content_type: String,
    alerts: Value,
}

/// An HTTP server answering every POST with `status` (or never, when `hang`) and keeping
/// what it got. It runs until the test process ends.
struct FakeAm {
    addr: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl FakeAm {
    fn start(status: StatusCode, hang: bool) -> FakeAm {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let kept = got.clone();
        thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let app = axum::Router::new().fallback(
                    move |uri: Uri, headers: HeaderMap, body: Bytes| {
                        let kept = kept.clone();
                        async move {
                            if hang {
                                tokio::time::sleep(Duration::from_secs(3600)).await;
                            }
                            kept.lock().unwrap().push(Received {
                                path: uri.path().to_string(),
                                content_type: headers
                                    .get("content-type")
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or("")
                                    .to_string(),
                                alerts: serde_json::from_slice(&body).unwrap_or(Value::Null),
                            });
                            status
                        }
                    },
                );
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let _ = axum::serve(listener, app).await;
            });
        });
        FakeAm { addr, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn start(dir: &Path, config: &str, rules: &str, extra: &[&str]) -> Server {
    fs::write(dir.join("rules.yml"), rules).unwrap();
    let path: PathBuf = dir.join("prometheus.yml");
    fs::write(&path, config).unwrap();
    let mut args: Vec<OsString> = vec![
        "--storage.tsdb.path".into(),
        dir.join("data").into(),
        "--config.file".into(),
        path.into(),
    ];
    args.extend(extra.iter().map(OsString::from));
    Server::spawn(args, dir.join("server.log"))
}

fn api(s: &Server, path: &str) -> Value {
    let body: Value = s.http.get(s.url(path)).send().unwrap().json().unwrap();
    assert_eq!(body["status"], "success", "{body}");
    body["data"].clone()
}

/// The value of a `/metrics` line starting with `series` (name and labels).
fn metric(s: &Server, series: &str) -> Option<f64> {
    let text = s
        .http
        .get(s.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn time(v: &Value) -> std::time::SystemTime {
    humantime::parse_rfc3339(v.as_str().unwrap()).unwrap()
}

#[test]
fn firing_alert_reaches_alertmanager_as_v2_json() {
    let dir = tempfile::tempdir().unwrap();
    let am = FakeAm::start(StatusCode::OK, false);
    let config = format!(
        r#"global:
  evaluation_interval: 1s
  external_labels: {{cluster: c1, severity: ignored}}
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - path_prefix: /am
      static_configs: [{{targets: ['{}']}}]
"#,
        am.addr
    );
    let rules = r#"groups:
- name: g
  rules:
  - alert: AlwaysOn
    expr: vector(1)
    labels: {severity: page}
    annotations: {summary: always on}
"#;
    let s = start(dir.path(), &config, rules, &[]);
    let got = s.wait_for("a POST", || am.received().into_iter().next());
    assert_eq!(got.path, "/am/api/v2/alerts");
    assert_eq!(got.content_type, "application/json");
    let alerts = got.alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    // External labels are added, but never override the alert's own.
    assert_eq!(
        a["labels"],
        json!({"alertname": "AlwaysOn", "severity": "page", "cluster": "c1"})
    );
    assert_eq!(a["annotations"], json!({"summary": "always on"}));
    assert_eq!(a["generatorURL"], "/graph?g0.expr=vector%281%29&g0.tab=1");
    // Firing alerts are valid for 4 × max(resend delay 1m, interval 1s).
    let valid = time(&a["endsAt"])
        .duration_since(time(&a["startsAt"]))
        .unwrap();
    assert_eq!(valid, Duration::from_secs(240));

    let url = format!("http://{}/am/api/v2/alerts", am.addr);
    assert_eq!(
        api(&s, "/api/v1/alertmanagers"),
        json!({"activeAlertmanagers": [{"url": url}], "droppedAlertmanagers": []})
    );
    let sent = format!("prometheus_notifications_sent_total{{alertmanager=\"{url}\"}}");
    assert_eq!(metric(&s, &sent), Some(1.0));
    assert_eq!(
        metric(&s, "prometheus_notifications_alertmanagers_discovered"),
        Some(1.0)
    );
    assert_eq!(
        metric(&s, "prometheus_notifications_queue_capacity"),
        Some(10000.0)
    );
}

#[test]
fn alert_relabeling_drops_and_changes_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let am = FakeAm::start(StatusCode::OK, false);
    let config = format!(
        r#"global:
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alert_relabel_configs:
    - {{source_labels: [alertname], regex: Dropped, action: drop}}
    - {{target_label: team, replacement: core}}
  alertmanagers:
    - path_prefix: /a
      static_configs: [{{targets: ['{addr}']}}]
    - path_prefix: /b
      static_configs: [{{targets: ['{addr}', 'gone:9093']}}]
      relabel_configs:
        - {{source_labels: [__address__], regex: 'gone:.*', action: drop}}
      alert_relabel_configs:
        - {{target_label: severity, replacement: b}}
"#,
        addr = am.addr
    );
    let rules = r#"groups:
- name: g
  rules:
  - alert: Kept
    expr: vector(1)
    labels: {severity: page}
  - alert: Dropped
    expr: vector(1)
"#;
    let s = start(dir.path(), &config, rules, &[]);
    let both = s.wait_for("POSTs to /a and /b", || {
        let got = am.received();
        let find = |p: &str| got.iter().find(|r| r.path == p).cloned();
        Some((find("/a/api/v2/alerts")?, find("/b/api/v2/alerts")?))
    });
    let labels = |r: &Received| -> Vec<Value> {
        r.alerts
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["labels"].clone())
            .collect()
    };
    assert_eq!(
        labels(&both.0),
        [json!({"alertname": "Kept", "severity": "page", "team": "core"})]
    );
    assert_eq!(
        labels(&both.1),
        [json!({"alertname": "Kept", "severity": "b", "team": "core"})]
    );
    assert!(am
        .received()
        .iter()
        .flat_map(labels)
        .all(|l| l["alertname"] != "Dropped"));
    assert_eq!(
        api(&s, "/api/v1/alertmanagers")["droppedAlertmanagers"],
        json!([{"url": "http://gone:9093/b/api/v2/alerts"}])
    );
}

#[test]
fn failing_alertmanagers_count_errors_and_rules_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let broken = FakeAm::start(StatusCode::INTERNAL_SERVER_ERROR, false);
    let hanging = FakeAm::start(StatusCode::OK, true);
    let refused = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let config = format!(
        r#"global:
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - timeout: 1s
      static_configs: [{{targets: ['{}', '{}', '{}']}}]
"#,
        broken.addr, hanging.addr, refused
    );
    let rules = r#"groups:
- name: g
  rules:
  - record: evaluations
    expr: vector(1)
  - alert: AlwaysOn
    expr: vector(1)
"#;
    let s = start(
        dir.path(),
        &config,
        rules,
        &["--rules.alert.resend-delay", "1s"],
    );
    for addr in [&broken.addr, &hanging.addr, &refused] {
        let errors = format!(
            "prometheus_notifications_errors_total{{alertmanager=\"http://{addr}/api/v2/alerts\"}}"
        );
        s.wait_for(&errors, || metric(&s, &errors).filter(|v| *v >= 1.0));
    }
    // Every send failed everywhere: the alerts count as dropped.
    s.wait_for("dropped", || {
        metric(&s, "prometheus_notifications_dropped_total").filter(|v| *v >= 1.0)
    });
    // Evaluation is not held up by the hanging Alertmanager.
    let last_eval = || {
        let groups = api(&s, "/api/v1/rules")["groups"].clone();
        time(&groups[0]["rules"][0]["lastEvaluation"])
    };
    let before = last_eval();
    s.wait_for("a later evaluation", || {
        (last_eval() > before).then_some(())
    });
    assert!(!broken.received().is_empty());
}
