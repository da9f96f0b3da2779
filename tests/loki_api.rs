//! The logs side end to end through the HTTP API: `gen_logs.py` data pushed as Loki JSON,
//! Loki protobuf and OTLP JSON into a real server, read back with LogQL: exact counts, the
//! rare trace id, the three incident windows the generator documents found as error-rate
//! spikes, Loki's error answers. Skips (saying so) without `../shared/bench/gen_logs.py`.

mod common;
#[path = "common/loki.rs"]
mod loki;

use std::process::Command;

use common::server::Server;
use loki::{get, push_json, server};
use prost::Message;
use serde_json::Value;

const START: i64 = 1_700_000_000;
const END: i64 = START + 86_400;
const RARE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// `gen_logs.py` output for `lines` lines in `format`, or `None` (skip) without the script.
fn generate(lines: u32, format: &str) -> Option<Vec<u8>> {
    let Some(script) = common::gen_logs_script() else {
        eprintln!("skipped: ../shared/bench/gen_logs.py is absent");
        return None;
    };
    let out = Command::new("python3")
        .arg(script)
        .args(["--lines", &lines.to_string(), "--format", format])
        .args(["--batch", "500"])
        .output()
        .expect("run gen_logs.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}

fn instant(s: &Server, q: &str, at: i64) -> Value {
    let (code, body) = get(
        s,
        "/loki/api/v1/query",
        &[("query", q.into()), ("time", at.to_string())],
    );
    assert_eq!(code, 200, "{q}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn scalar_of(v: &Value) -> f64 {
    v["data"]["result"][0]["value"][1]
        .as_str()
        .map_or(0.0, |s| s.parse().unwrap())
}

#[test]
fn pushed_logs_answer_logql_through_the_api() {
    let Some(bodies) = generate(100_000, "loki-json") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let s = server(tmp.path());
    let mut pushed = 0u64;
    let mut rare = 0u64;
    for body in bodies.split(|&b| b == b'\n').filter(|b| !b.is_empty()) {
        let v: Value = serde_json::from_slice(body).unwrap();
        for st in v["streams"].as_array().unwrap() {
            for e in st["values"].as_array().unwrap() {
                pushed += 1;
                rare += u64::from(e[1].as_str().unwrap().contains(RARE));
            }
        }
        let (code, text) = push_json(&s, body);
        assert_eq!(code, 204, "{text}");
    }
    assert_eq!(pushed, 100_000);

    let all = instant(&s, r#"sum(count_over_time({job=~".+"}[1d]))"#, END);
    assert_eq!(scalar_of(&all), 100_000.0);
    // The same count without the store's shortcut.
    let slow = instant(&s, r#"sum(count_over_time({job=~".+"} |= "" [1d]))"#, END);
    assert_eq!(scalar_of(&slow), 100_000.0);

    let (code, body) = get(
        &s,
        "/loki/api/v1/query_range",
        &[
            ("query", format!(r#"{{job=~".+"}} |= "{RARE}""#)),
            ("start", START.to_string()),
            ("end", END.to_string()),
            ("limit", "1000".into()),
        ],
    );
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"]["resultType"], "streams");
    let found: usize = v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["values"].as_array().unwrap().len())
        .sum();
    assert_eq!(found as u64, rare);

    // nginx 5xx per 5 minutes: the three incident windows stand out.
    let (code, body) = get(
        &s,
        "/loki/api/v1/query_range",
        &[
            (
                "query",
                r#"sum(count_over_time({job="nginx", filename="/var/log/nginx/access.log"} | pattern `<_> - <_> [<_>] "<_> <_> <_>" <status> <_>` | status >= 500 [5m]))"#.into(),
            ),
            ("start", (START + 300).to_string()),
            ("end", END.to_string()),
            ("step", "300".into()),
        ],
    );
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let points: Vec<(i64, f64)> = v["data"]["result"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_f64().unwrap() as i64,
                p[1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    let windows = [
        (1_700_025_920, 1_700_027_648),
        (1_700_053_136, 1_700_054_000),
        (1_700_073_440, 1_700_074_131),
    ];
    let inside = |t: i64| windows.iter().any(|&(a, b)| t > a && t - 300 < b);
    let outside_max = points
        .iter()
        .filter(|p| !inside(p.0))
        .map(|p| p.1)
        .fold(0.0, f64::max);
    for (a, b) in windows {
        let peak = points
            .iter()
            .filter(|p| p.0 > a && p.0 - 300 < b)
            .map(|p| p.1)
            .fold(0.0, f64::max);
        assert!(
            peak > 2.0 * outside_max && peak >= 3.0,
            "window [{a}, {b}): peak {peak}, outside max {outside_max}"
        );
    }

    // Labels and Loki's errors.
    let (code, body) = get(
        &s,
        "/loki/api/v1/labels",
        &[("start", START.to_string()), ("end", END.to_string())],
    );
    assert_eq!(code, 200);
    let labels: Value = serde_json::from_str(&body).unwrap();
    for l in ["app", "env", "filename", "host", "job", "level"] {
        assert!(
            labels["data"].as_array().unwrap().iter().any(|x| x == l),
            "{body}"
        );
    }
    let (code, body) = get(
        &s,
        "/loki/api/v1/query_range",
        &[("query", "{job=}".into())],
    );
    assert_eq!(code, 400);
    assert!(body.starts_with("parse error at line 1, col 6"), "{body}");
    let (code, body) = get(
        &s,
        "/loki/api/v1/query",
        &[("query", r#"{job="nginx"}"#.into())],
    );
    assert_eq!(code, 400);
    assert!(body.contains("instant query type"), "{body}");
}

/// Loki's protobuf push message, derived from its `push.proto` field numbers.
mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct PushRequest {
        #[prost(message, repeated, tag = "1")]
        pub streams: Vec<Stream>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Stream {
        #[prost(string, tag = "1")]
        pub labels: String,
        #[prost(message, repeated, tag = "2")]
        pub entries: Vec<Entry>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Entry {
        #[prost(message, optional, tag = "1")]
        pub timestamp: Option<Timestamp>,
        #[prost(string, tag = "2")]
        pub line: String,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Timestamp {
        #[prost(int64, tag = "1")]
        pub seconds: i64,
        #[prost(int32, tag = "2")]
        pub nanos: i32,
    }
}

#[test]
fn protobuf_and_otlp_pushes_are_queryable() {
    let tmp = tempfile::tempdir().unwrap();
    let s = server(tmp.path());
    let req = proto::PushRequest {
        streams: vec![proto::Stream {
            labels: r#"{job="proto", host="h1"}"#.into(),
            entries: (0..50)
                .map(|i| proto::Entry {
                    timestamp: Some(proto::Timestamp {
                        seconds: START + i,
                        nanos: 5,
                    }),
                    line: format!("protobuf line {i}"),
                })
                .collect(),
        }],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap();
    let r = s
        .http
        .post(format!("{}/loki/api/v1/push", s.base))
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let otlp = serde_json::json!({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "scopeLogs": [{"logRecords": (0..30).map(|i| serde_json::json!({
            "timeUnixNano": ((START + 100 + i) * 1_000_000_000).to_string(),
            "severityText": "ERROR",
            "body": {"stringValue": format!("otlp line {i}")}
        })).collect::<Vec<_>>()}]
    }]});
    let r = s
        .http
        .post(format!("{}/otlp/v1/logs", s.base))
        .header("content-type", "application/json")
        .body(otlp.to_string())
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204, "{}", r.text().unwrap());
    let at = START + 3600;
    assert_eq!(
        scalar_of(&instant(
            &s,
            r#"sum(count_over_time({job="proto"}[1h]))"#,
            at
        )),
        50.0
    );
    assert_eq!(
        scalar_of(&instant(
            &s,
            r#"sum(count_over_time({service_name="checkout"} |= "otlp" [1h]))"#,
            at
        )),
        30.0
    );
}

/// kill -9 while pushes run: every line of every push answered 204 comes back after a
/// restart, and nothing beyond the push that was in flight.
#[test]
fn kill9_during_pushes_loses_no_acknowledged_line() {
    let Some(bodies) = generate(20_000, "loki-json") else {
        return;
    };
    let bodies: Vec<Vec<u8>> = bodies
        .split(|&b| b == b'\n')
        .filter(|b| !b.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let lines_of = |b: &[u8]| -> u64 {
        let v: Value = serde_json::from_slice(b).unwrap();
        v["streams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["values"].as_array().unwrap().len() as u64)
            .sum()
    };
    for (trial, kill_after_ms) in [150u64, 400, 900].into_iter().enumerate() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = server(tmp.path());
        let base = s.base.clone();
        let http = s.http.clone();
        let sent = bodies.clone();
        let acked = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let in_flight = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (acked2, in_flight2) = (acked.clone(), in_flight.clone());
        let pusher = std::thread::spawn(move || {
            for body in &sent {
                let n = lines_of(body);
                in_flight2.store(n, std::sync::atomic::Ordering::SeqCst);
                let ok = http
                    .post(format!("{base}/loki/api/v1/push"))
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .is_ok_and(|r| r.status().as_u16() == 204);
                if !ok {
                    return;
                }
                acked2.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
                in_flight2.store(0, std::sync::atomic::Ordering::SeqCst);
            }
        });
        std::thread::sleep(std::time::Duration::from_millis(kill_after_ms));
        s.child.kill().unwrap();
        s.child.wait().unwrap();
        pusher.join().unwrap();
        let acked = acked.load(std::sync::atomic::Ordering::SeqCst);
        let maybe = in_flight.load(std::sync::atomic::Ordering::SeqCst);
        drop(s);
        let s = server(tmp.path());
        let got = scalar_of(&instant(
            &s,
            r#"sum(count_over_time({job=~".+"}[1d]))"#,
            END,
        )) as u64;
        eprintln!("trial {trial}: {got} back, {acked} acknowledged, {maybe} in flight");
        assert!(
            got >= acked && got <= acked + maybe,
            "trial {trial}: {got} lines back, {acked} acknowledged, {maybe} in flight"
        );
    }
}
