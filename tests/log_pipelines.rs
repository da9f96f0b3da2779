//! A `promtail.yml` with what runs beside plain tailing, through the binary: a file job whose
//! `pipeline_stages` derive a label and count lines in a `metrics` stage (the counter then
//! queried through PromQL), and a `syslog` job whose `__syslog_*` labels are relabeled (lines
//! sent as RFC 5424 over TCP by the test, and by util-linux's `logger` when it is installed).

mod common;
#[path = "common/loki.rs"]
mod loki;

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use common::server::{free_port, Server};
use serde_json::Value;

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

const ACCESS_LINES: [&str; 5] = [
    r#"10.0.0.1 - - [07/Dec/2026:10:00:00 +0000] "GET /api/users HTTP/1.1" 200 512"#,
    r#"10.0.0.2 - - [07/Dec/2026:10:00:01 +0000] "GET /api/users HTTP/1.1" 500 12"#,
    r#"10.0.0.3 - - [07/Dec/2026:10:00:02 +0000] "POST /api/orders HTTP/1.1" 200 88"#,
    r#"10.0.0.4 - - [07/Dec/2026:10:00:03 +0000] "GET /health HTTP/1.1" 200 2"#,
    r#"10.0.0.5 - - [07/Dec/2026:10:00:04 +0000] "GET /api/orders HTTP/1.1" 503 0"#,
];

fn promtail_yml(tmp: &Path, syslog_port: u16) -> String {
    format!(
        r#"positions:
  filename: {dir}/positions.yaml
scrape_configs:
  - job_name: access
    static_configs:
      - targets: [localhost]
        labels:
          job: access
          __path__: {dir}/access.log
    pipeline_stages:
      - regex:
          expression: '^(?P<ip>\S+) \S+ \S+ \[[^\]]+\] "(?P<method>\S+) (?P<path>\S+) [^"]*" (?P<status>\d+) (?P<bytes>\d+)$'
      - labels:
          method:
          status:
      - metrics:
          http_requests_total:
            type: Counter
            description: Requests by status, from the access log.
            source: status
            config:
              action: inc
      - match:
          selector: '{{job="access"}} |= "/health"'
          action: drop
  - job_name: syslog
    syslog:
      listen_address: 127.0.0.1:{syslog_port}
      listen_protocol: tcp
      labels:
        job: syslog
    relabel_configs:
      - source_labels: [__syslog_message_app_name]
        target_label: app
      - source_labels: [__syslog_message_severity]
        target_label: level
"#,
        dir = tmp.display()
    )
}

fn start(tmp: &Path, syslog_port: u16) -> Server {
    fs::write(
        tmp.join("bongsu.yml"),
        "global: {scrape_interval: 1s}\nscrape_configs: []\n",
    )
    .unwrap();
    fs::write(tmp.join("promtail.yml"), promtail_yml(tmp, syslog_port)).unwrap();
    fs::write(tmp.join("access.log"), "").unwrap();
    let args: Vec<OsString> = vec![
        "--storage.tsdb.path".into(),
        tmp.join("data").into(),
        "--config.file".into(),
        tmp.join("bongsu.yml").into(),
        "--logs.config.file".into(),
        tmp.join("promtail.yml").into(),
        "--logs.ingestion-rate-mb=0".into(),
    ];
    Server::spawn(args, tmp.join("bongsu.log"))
}

/// The streams `query` selects over the last hour: (labels, lines).
fn streams(s: &Server, query: &str) -> Vec<(Value, Vec<String>)> {
    let (code, body) = loki::get(
        s,
        "/loki/api/v1/query_range",
        &[
            ("query", query.to_string()),
            ("start", (now_ns() - 3_600_000_000_000).to_string()),
            ("end", (now_ns() + 60_000_000_000).to_string()),
            ("direction", "forward".into()),
        ],
    );
    assert_eq!(code, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let lines = r["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v[1].as_str().unwrap().to_string())
                .collect();
            (r["stream"].clone(), lines)
        })
        .collect()
}

/// An RFC 5424 message, octet-counted as RFC 6587 frames it.
fn octet_counted(app: &str, msg: &str) -> Vec<u8> {
    let m = format!("<11>1 2026-12-07T10:00:00.000Z host-a {app} 42 ID1 - {msg}");
    format!("{} {m}", m.len()).into_bytes()
}

#[test]
fn stages_label_count_and_drop_tailed_lines_and_syslog_lines_are_relabeled() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let s = start(tmp.path(), port);

    let mut f = OpenOptions::new()
        .append(true)
        .open(tmp.path().join("access.log"))
        .unwrap();
    for l in ACCESS_LINES {
        writeln!(f, "{l}").unwrap();
    }
    drop(f);
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.write_all(&octet_counted("billing", "charge failed for order 7"))
        .unwrap();
    tcp.write_all(&octet_counted("billing", "charge retried for order 7"))
        .unwrap();
    drop(tcp);

    // The `labels` stage made `method` and `status` stream labels; `match … action: drop`
    // removed /health.
    let access = s.wait_for("the access lines", || {
        let got = streams(&s, r#"{job="access"}"#);
        (got.iter().map(|(_, l)| l.len()).sum::<usize>() == 4).then_some(got)
    });
    for (labels, lines) in &access {
        let method = labels["method"].as_str().unwrap();
        assert!(lines.iter().all(|l| l.contains(&format!("\"{method} "))));
        assert!(lines.iter().all(|l| !l.contains("/health")));
    }
    assert_eq!(access.len(), 4, "streams by method and status: {access:?}");

    // Relabeled syslog labels: the app name and severity (facility 1, severity 3: err).
    let syslog = s.wait_for("the syslog lines", || {
        let got = streams(&s, r#"{job="syslog", app="billing", level="error"}"#);
        (got.iter().map(|(_, l)| l.len()).sum::<usize>() == 2).then_some(got)
    });
    let lines: Vec<&String> = syslog.iter().flat_map(|(_, l)| l).collect();
    assert_eq!(
        lines,
        ["charge failed for order 7", "charge retried for order 7"]
    );
    assert!(
        syslog
            .iter()
            .all(|(l, _)| l.get("__syslog_message_app_name").is_none()),
        "__ labels are dropped after relabeling: {syslog:?}"
    );

    // The `metrics` stage's counter (its series carry the entry's labels, `status` among
    // them), written to the TSDB at the scrape interval. The line the `match` stage dropped
    // came after the counter, so it is counted too, as in Promtail.
    let by_status = s.wait_for("the counter series", || {
        let (code, body) = loki::get(
            &s,
            "/api/v1/query",
            &[(
                "query",
                "sum by (status) (promtail_custom_http_requests_total)".into(),
            )],
        );
        assert_eq!(code, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        let result = body["data"]["result"].as_array()?.clone();
        let mut got: Vec<(String, String)> = result
            .iter()
            .map(|r| {
                (
                    r["metric"]["status"].as_str().unwrap_or("").to_string(),
                    r["value"][1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        got.sort();
        (got.len() == 3).then_some(got)
    });
    assert_eq!(
        by_status,
        [
            ("200".to_string(), "3".to_string()),
            ("500".to_string(), "1".to_string()),
            ("503".to_string(), "1".to_string())
        ]
    );

    // util-linux's logger, as a host would send: newline-framed RFC 5424 over TCP.
    let logger = Command::new("logger")
        .args(["--rfc5424", "--tcp", "-n", "127.0.0.1", "-P"])
        .arg(port.to_string())
        .args(["-t", "cronjob", "-p", "user.warning", "backup finished"])
        .status();
    match logger {
        Ok(status) if status.success() => {
            let got = s.wait_for("logger's line", || {
                let got = streams(&s, r#"{job="syslog", app="cronjob"}"#);
                (!got.is_empty()).then_some(got)
            });
            assert_eq!(got[0].0["level"], "warning");
            assert_eq!(got[0].1, ["backup finished"]);
        }
        _ => eprintln!("logger not available: its part skipped"),
    }
}

#[test]
fn check_log_config_reports_stage_and_syslog_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let bad_stage = tmp.path().join("bad_stage.yml");
    fs::write(
        &bad_stage,
        "scrape_configs:\n  - job_name: a\n    pipeline_stages:\n      - json: {}\n    static_configs: [{targets: [localhost], labels: {__path__: /tmp/x}}]\n",
    )
    .unwrap();
    let bad_syslog = tmp.path().join("bad_syslog.yml");
    fs::write(
        &bad_syslog,
        "scrape_configs:\n  - job_name: s\n    syslog: {listen_protocol: tcp}\n",
    )
    .unwrap();
    for (file, want) in [
        (&bad_stage, "JMES expression is required"),
        (&bad_syslog, "listen_address"),
    ] {
        let out = Command::new(common::server::BIN)
            .args(["check", "log-config"])
            .arg(file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains(want), "{stderr}");
    }
}

/// Agent mode: a `clients` entry sends the tailed lines (with `external_labels`) to another
/// bongsu's Loki push endpoint, nothing into the local store.
#[test]
fn clients_ship_tailed_lines_to_a_remote_push_endpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let receiver_dir = tmp.path().join("receiver");
    let agent_dir = tmp.path().join("agent");
    fs::create_dir_all(&receiver_dir).unwrap();
    fs::create_dir_all(&agent_dir).unwrap();
    let receiver = loki::server(&receiver_dir);
    fs::write(agent_dir.join("app.log"), "").unwrap();
    fs::write(
        agent_dir.join("promtail.yml"),
        format!(
            "positions: {{filename: {d}/positions.yaml}}\nclients:\n  - url: {url}\n    batchwait: 100ms\n    external_labels: {{agent: edge-1}}\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [localhost]\n        labels: {{job: app, __path__: {d}/app.log}}\n",
            d = agent_dir.display(),
            url = receiver.url("/loki/api/v1/push")
        ),
    )
    .unwrap();
    let args: Vec<OsString> = vec![
        "--storage.tsdb.path".into(),
        agent_dir.join("data").into(),
        "--config.file".into(),
        common::server::quiet_config(&agent_dir).into(),
        "--logs.config.file".into(),
        agent_dir.join("promtail.yml").into(),
    ];
    let agent = Server::spawn(args, agent_dir.join("bongsu.log"));
    let mut f = OpenOptions::new()
        .append(true)
        .open(agent_dir.join("app.log"))
        .unwrap();
    for i in 0..20 {
        writeln!(f, "request {i} done").unwrap();
    }
    drop(f);
    let got = receiver.wait_for("the shipped lines", || {
        let got = streams(&receiver, r#"{job="app", agent="edge-1"}"#);
        (got.iter().map(|(_, l)| l.len()).sum::<usize>() == 20).then_some(got)
    });
    assert_eq!(got[0].1[0], "request 0 done");
    assert!(
        streams(&agent, r#"{job="app"}"#).is_empty(),
        "an agent keeps nothing locally"
    );
}
