//! Rules in the real binary, end to end: bongsu scrapes a tiny target inside the test every
//! second, a recording rule writes its result back, an alerting rule goes pending, fires and
//! resolves as the scraped value changes, and everything is checked through the HTTP API
//! (`/api/v1/query`, `/api/v1/rules`, `/api/v1/alerts`). A reload with a broken rule file
//! fails and keeps the running rules.
//!
//! Every wait polls with a bound, so a slow machine makes the test slower, not flaky.

mod common;

use std::ffi::OsString;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::server::Server;
use reqwest::StatusCode;
use serde_json::Value;

/// A metrics endpoint serving a body the test sets.
struct Target {
    addr: String,
    body: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
}

impl Target {
    fn start(body: &str) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let t = Target {
            addr: listener.local_addr().unwrap().to_string(),
            body: Arc::new(Mutex::new(body.to_string())),
            stop: Arc::default(),
        };
        let (body, stop) = (t.body.clone(), t.stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let text = body.lock().unwrap().clone();
                    let _ = respond(conn, &text);
                }
            }
        });
        t
    }

    fn set_body(&self, body: &str) {
        *self.body.lock().unwrap() = body.to_string();
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
    }
}

fn respond(mut conn: TcpStream, body: &str) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65_536 {
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn api(s: &Server, path: &str, params: &[(&str, &str)]) -> Value {
    let r = s.http.get(s.url(path)).query(params).send().unwrap();
    let status = r.status();
    let body: Value = r.json().expect("JSON body");
    assert_eq!(status, StatusCode::OK, "{path} {params:?}: {body}");
    assert_eq!(body["status"], "success", "{body}");
    body["data"].clone()
}

/// The values of `query`'s instant vector, by series.
fn values(s: &Server, query: &str) -> Vec<(Value, f64)> {
    api(s, "/api/v1/query", &[("query", query)])["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let v = r["value"][1].as_str().unwrap().parse().unwrap();
            (r["metric"].clone(), v)
        })
        .collect()
}

fn alerts(s: &Server) -> Vec<Value> {
    api(s, "/api/v1/alerts", &[])["alerts"]
        .as_array()
        .unwrap()
        .clone()
}

const RULES: &str = r#"groups:
- name: load
  labels: {team: core}
  rules:
  - record: host:load:double
    expr: load * 2
  - alert: HighLoad
    expr: load > 3
    for: 2s
    labels: {severity: page}
    annotations: {summary: load is high}
  - alert: NeverFires
    expr: load > 1000
"#;

fn write_config(dir: &Path, target: &str) -> std::path::PathBuf {
    fs::create_dir_all(dir.join("rules")).unwrap();
    fs::write(dir.join("rules/load.yml"), RULES).unwrap();
    let config = dir.join("prometheus.yml");
    fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [rules/*.yml]\nscrape_configs:\n  - job_name: host\n    static_configs: [{{targets: ['{target}']}}]\n"
        ),
    )
    .unwrap();
    config
}

#[test]
fn recording_and_alerting_rules_from_scraped_data() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::start("load{host=\"a\"} 5\n");
    let config = write_config(dir.path(), &target.addr);
    let args: Vec<OsString> = vec![
        "--storage.tsdb.path".into(),
        dir.path().join("data").into(),
        "--config.file".into(),
        config.into(),
        "--web.enable-lifecycle".into(),
    ];
    let s = Server::spawn(args, dir.path().join("server.log"));

    // The recording rule writes its result, with the group's labels.
    let recorded = s.wait_for("host:load:double", || {
        values(&s, "host:load:double").into_iter().next()
    });
    assert_eq!(recorded.1, 10.0);
    assert_eq!(recorded.0["team"], "core");
    assert_eq!(recorded.0["host"], "a");

    // The alert fires after `for`, and ALERTS says so.
    let firing = s.wait_for("HighLoad to fire", || {
        alerts(&s).into_iter().find(|a| a["state"] == "firing")
    });
    assert_eq!(firing["labels"]["alertname"], "HighLoad");
    assert_eq!(firing["labels"]["severity"], "page");
    assert_eq!(firing["labels"]["team"], "core");
    assert_eq!(firing["labels"]["host"], "a");
    assert_eq!(firing["annotations"]["summary"], "load is high");
    assert_eq!(firing["value"], "5e+00");
    s.wait_for("ALERTS firing", || {
        let v = values(&s, "ALERTS{alertname=\"HighLoad\",alertstate=\"firing\"}");
        (v.len() == 1).then_some(())
    });
    assert_eq!(
        values(&s, "ALERTS_FOR_STATE{alertname=\"HighLoad\"}").len(),
        1
    );

    // /api/v1/rules in Prometheus' shape, with its filters.
    let groups = api(&s, "/api/v1/rules", &[])["groups"].clone();
    let g = &groups[0];
    assert_eq!(g["name"], "load");
    assert!(g["file"].as_str().unwrap().ends_with("rules/load.yml"));
    assert_eq!(g["interval"], 1.0);
    assert_eq!(g["limit"], 0);
    let rules = g["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 3);
    assert_eq!(rules[0]["type"], "recording");
    assert_eq!(rules[0]["health"], "ok");
    assert_eq!(rules[1]["type"], "alerting");
    assert_eq!(rules[1]["state"], "firing");
    assert_eq!(rules[1]["duration"], 2.0);
    assert_eq!(rules[1]["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(rules[2]["state"], "inactive");
    assert_eq!(rules[2]["alerts"], Value::Array(Vec::new()));
    let only = |params: &[(&str, &str)]| -> Vec<String> {
        api(&s, "/api/v1/rules", params)["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap().clone())
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(only(&[("type", "record")]), ["host:load:double"]);
    assert_eq!(only(&[("type", "alert")]), ["HighLoad", "NeverFires"]);
    assert_eq!(only(&[("rule_name[]", "NeverFires")]), ["NeverFires"]);
    assert!(only(&[("rule_group[]", "other")]).is_empty());
    assert_eq!(only(&[("match[]", "{severity=\"page\"}")]), ["HighLoad"]);
    let r = s
        .http
        .get(s.url("/api/v1/rules"))
        .query(&[("type", "x")])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // The value drops: the alert resolves and its ALERTS series goes stale.
    target.set_body("load{host=\"a\"} 1\n");
    s.wait_for("HighLoad to resolve", || {
        alerts(&s).is_empty().then_some(())
    });
    s.wait_for("ALERTS to go stale", || {
        values(&s, "ALERTS").is_empty().then_some(())
    });
    assert_eq!(
        values(&s, "host:load:double")[0].1,
        2.0,
        "recording follows the data"
    );

    // A broken rule file fails the reload and the running rules stay.
    fs::write(
        dir.path().join("rules/bad.yml"),
        "groups:\n- name: x\n  rules:\n  - record: a\n    expr: rate(x)\n",
    )
    .unwrap();
    let r = s.http.post(s.url("/-/reload")).send().unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = r.text().unwrap();
    assert!(
        text.contains("error loading rules, previous rule set restored"),
        "{text}"
    );
    assert_eq!(only(&[("type", "record")]), ["host:load:double"]);

    // A good reload that removes a rule keeps the others running.
    fs::remove_file(dir.path().join("rules/bad.yml")).unwrap();
    fs::write(
        dir.path().join("rules/load.yml"),
        RULES.replace("  - alert: NeverFires\n    expr: load > 1000\n", ""),
    )
    .unwrap();
    let r = s.http.post(s.url("/-/reload")).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(only(&[]), ["host:load:double", "HighLoad"]);
}

fn active_at(alert: &Value) -> std::time::SystemTime {
    humantime::parse_rfc3339(alert["activeAt"].as_str().unwrap()).unwrap()
}

/// An alert pending when the server stops keeps its progress after a restart: `activeAt`
/// is restored from `ALERTS_FOR_STATE` and shifted by the downtime, instead of starting over.
#[test]
fn for_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::start("load{host=\"a\"} 5\n");
    let config = write_config(dir.path(), &target.addr);
    fs::write(
        dir.path().join("rules/load.yml"),
        "groups:\n- name: slow\n  rules:\n  - alert: Slow\n    expr: load > 3\n    for: 1h\n",
    )
    .unwrap();
    let args: Vec<OsString> = vec![
        "--storage.tsdb.path".into(),
        dir.path().join("data").into(),
        "--config.file".into(),
        config.into(),
    ];
    let first = Server::spawn(args.clone(), dir.path().join("first.log"));
    let pending = first.wait_for("Slow pending", || alerts(&first).into_iter().next());
    assert_eq!(pending["state"], "pending");
    let first_active = active_at(&pending);
    // The for-state series is written once the (empty) restore at start is done.
    first.wait_for("ALERTS_FOR_STATE", || {
        (!values(&first, "ALERTS_FOR_STATE").is_empty()).then_some(())
    });
    thread::sleep(Duration::from_secs(4));
    drop(first);

    thread::sleep(Duration::from_secs(1));
    let restarted_at = std::time::SystemTime::now();
    let second = Server::spawn(args, dir.path().join("second.log"));
    let restored = second.wait_for("restored activeAt", || {
        let a = alerts(&second).into_iter().next()?;
        // Before the restore (after the second evaluation) activeAt is the first
        // evaluation after the restart.
        (active_at(&a) < restarted_at).then_some(a)
    });
    assert_eq!(restored["state"], "pending");
    assert!(
        active_at(&restored) > first_active,
        "shifted by the downtime: {restored}"
    );
}
