//! The Loki endpoints Grafana Logs Drilldown, Explore and `logcli` use beyond queries, against
//! a real server with pushed lines: `index/volume` and `index/volume_range`,
//! `detected_labels`, `detected_fields` and `detected_field/<name>/values`, `patterns`,
//! `tail` (WebSocket) and `/ready`. Answers are compared as whole JSON documents where they
//! are deterministic; expected volumes are computed from the pushed lines.

mod common;
#[path = "common/loki.rs"]
mod loki;

use common::server::Server;
use loki::{get, push_json, server};
use serde_json::{json, Value};

/// An aligned start (a multiple of 300 s), so 5-minute buckets begin at it.
const T: i64 = 1_700_000_100;
const NS: i64 = 1_000_000_000;

/// One pushed line: stream labels, Unix ns, line, structured metadata.
struct Line {
    labels: StreamLabels,
    ts: i64,
    line: String,
    meta: Vec<(&'static str, String)>,
}

impl Line {
    /// What the store counts as the line's bytes: the line and its metadata.
    fn size(&self) -> u64 {
        (self.line.len()
            + self
                .meta
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()) as u64
    }
}

const API_PROD: [(&str, &str); 3] = [("env", "prod"), ("job", "api"), ("pod", "api-1")];
const API_DEV: [(&str, &str); 3] = [("env", "dev"), ("job", "api"), ("pod", "api-2")];
const WEB: [(&str, &str); 3] = [("env", "prod"), ("job", "web"), ("run_id", "17")];

/// Three streams over 15 minutes: JSON lines (with a trace id as metadata), logfmt lines and
/// access-log lines. Every line carries `detected_level`, so the push adds no metadata.
fn lines() -> Vec<Line> {
    let mut out = Vec::new();
    for i in 0..60i64 {
        let level = if i % 10 == 9 { "error" } else { "info" };
        out.push(Line {
            labels: API_PROD.to_vec(),
            ts: (T + i * 10) * NS,
            line: format!(
                r#"{{"level":"{level}","msg":"request done","status":{},"latency_ms":{}.5,"ok":{},"took":"{}ms","size":"{}KB","user":{{"id":"u{}"}}}}"#,
                if level == "error" { 500 } else { 200 },
                i % 7,
                i % 2 == 0,
                10 + i % 4,
                1 + i % 3,
                i % 5
            ),
            meta: vec![
                ("detected_level", level.to_string()),
                ("trace_id", format!("{:032x}", i % 4)),
            ],
        });
    }
    for i in 0..30i64 {
        out.push(Line {
            labels: API_DEV.to_vec(),
            ts: (T + 5 + i * 29) * NS,
            line: format!(
                r#"level=warn msg="cache miss" key=user:{} took=1.5s"#,
                i % 3
            ),
            meta: vec![("detected_level", "warn".into())],
        });
    }
    for i in 0..45i64 {
        out.push(Line {
            labels: WEB.to_vec(),
            ts: (T + 2 + i * 20) * NS,
            line: format!(
                r#"10.0.0.{} - - "GET /items/{} HTTP/1.1" 200 {}"#,
                i % 7,
                100 + i,
                512 + i
            ),
            meta: vec![("detected_level", "info".into())],
        });
    }
    out
}

type StreamLabels = Vec<(&'static str, &'static str)>;

/// Pushes `lines` in one Loki JSON request.
fn push(s: &Server, lines: &[Line]) {
    let mut streams: Vec<(StreamLabels, Vec<Value>)> = Vec::new();
    for l in lines {
        let entry = json!([
            l.ts.to_string(),
            l.line,
            l.meta
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect::<serde_json::Map<String, Value>>()
        ]);
        match streams.iter_mut().find(|(k, _)| *k == l.labels) {
            Some((_, v)) => v.push(entry),
            None => streams.push((l.labels.clone(), vec![entry])),
        }
    }
    let body = json!({"streams": streams.iter().map(|(labels, values)| json!({
        "stream": labels.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<String, Value>>(),
        "values": values,
    })).collect::<Vec<_>>()});
    let (code, text) = push_json(s, body.to_string().as_bytes());
    assert_eq!(code, 204, "{text}");
}

fn ok_json(s: &Server, path: &str, params: &[(&str, String)]) -> Value {
    let (code, body) = get(s, path, params);
    assert_eq!(code, 200, "{path} {params:?}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn range(start: i64, end: i64) -> Vec<(&'static str, String)> {
    vec![("start", start.to_string()), ("end", end.to_string())]
}

#[test]
fn volumes_detected_labels_and_readiness() {
    let tmp = tempfile::tempdir().unwrap();
    let s = server(tmp.path());
    let (code, body) = get(&s, "/ready", &[]);
    assert_eq!((code, body.as_str()), (200, "ready\n"));
    let all = lines();
    push(&s, &all);

    // volume_range by env over three 5-minute buckets, computed from the lines.
    let bucket_of = |ts: i64| ((ts / NS - T) / 300).min(2) as usize;
    let mut by_env = [("dev", [0u64; 3]), ("prod", [0u64; 3])];
    for l in all.iter().filter(|l| l.labels.contains(&("job", "api"))) {
        let env = l.labels.iter().find(|p| p.0 == "env").unwrap().1;
        by_env.iter_mut().find(|e| e.0 == env).unwrap().1[bucket_of(l.ts)] += l.size();
    }
    by_env.sort_by(|a, b| b.1[0].cmp(&a.1[0]));
    let stamp = |s: String| serde_json::from_str::<Value>(&s).unwrap();
    let stamps = [
        stamp(format!("{}.999", T + 299)),
        stamp(format!("{}.999", T + 599)),
        json!(T + 900),
    ];
    let expected = json!({"status": "success", "data": {"resultType": "matrix", "result":
        by_env.iter().map(|(env, b)| json!({"metric": {"env": env}, "values":
            (0..3).filter(|&i| b[i] > 0).map(|i| json!([stamps[i], b[i].to_string()])).collect::<Vec<_>>()})).collect::<Vec<_>>()}});
    let mut params = range(T, T + 900);
    params.extend([
        ("query", r#"{job="api"}"#.to_string()),
        ("step", "300".into()),
        ("targetLabels", "env".into()),
    ]);
    assert_eq!(
        ok_json(&s, "/loki/api/v1/index/volume_range", &params),
        expected
    );

    // The same without targetLabels groups by the matchers' names; the instant volume is one
    // vector point at `end`, its bytes the sum of the buckets'.
    let api_total: u64 = by_env.iter().flat_map(|e| e.1).sum();
    let mut params = range(T, T + 900);
    params.push(("query", r#"{job="api", env=~".+"}"#.into()));
    let v = ok_json(&s, "/loki/api/v1/index/volume", &params);
    assert_eq!(v["data"]["resultType"], "vector");
    assert_eq!(v["data"]["result"].as_array().unwrap().len(), 2, "{v}");
    params.push(("targetLabels", "job".into()));
    assert_eq!(
        ok_json(&s, "/loki/api/v1/index/volume", &params),
        json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"job": "api"}, "value": [T + 900, api_total.to_string()]}]}})
    );
    // aggregateBy=labels: one series per label name, `{name=""}`; limit keeps the largest.
    let mut params = range(T, T + 900);
    params.extend([
        ("query", r#"{env="prod"}"#.to_string()),
        ("aggregateBy", "labels".into()),
        ("limit", "2".into()),
    ]);
    let v = ok_json(&s, "/loki/api/v1/index/volume", &params);
    let names: Vec<&str> = v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["metric"]
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap()
                .as_str()
        })
        .collect();
    assert_eq!(names, ["env", "job"], "{v}");
    assert_eq!(v["data"]["result"][0]["metric"]["env"], "");

    // Bad parameters get Loki's texts.
    for (k, v, text) in [
        ("aggregateBy", "pods", "invalid aggregation option\n"),
        ("limit", "-1", "limit must be a positive value\n"),
        ("limit", "x", "strconv.Atoi: parsing \"x\": invalid syntax\n"),
        (
            "step",
            "0.01",
            "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter\n",
        ),
    ] {
        let mut params = range(T, T + 900);
        params.extend([("query", r#"{job="api"}"#.to_string()), (k, v.into())]);
        let (code, body) = get(&s, "/loki/api/v1/index/volume_range", &params);
        assert_eq!((code, body.as_str()), (400, text));
    }

    // detected_labels: `run_id` (only numbers) is left out, `pod` kept.
    let mut params = range(T, T + 900);
    params.push(("query", String::new()));
    assert_eq!(
        ok_json(&s, "/loki/api/v1/detected_labels", &params),
        json!({"detectedLabels": [
            {"label": "env", "cardinality": 2},
            {"label": "job", "cardinality": 2},
            {"label": "pod", "cardinality": 2},
            {"label": "service_name", "cardinality": 2},
        ]})
    );
    let mut params = range(T, T + 900);
    params.push(("query", r#"{job="nothing"}"#.into()));
    assert_eq!(
        ok_json(&s, "/loki/api/v1/detected_labels", &params),
        json!({})
    );
    let mut params = range(T, T + 900);
    params.push(("query", r#"{job="api"} |= "x""#.into()));
    let (code, body) = get(&s, "/loki/api/v1/detected_labels", &params);
    assert_eq!(
        (code, body.as_str()),
        (400, "only label matchers are supported\n")
    );
}

#[test]
fn detected_fields_and_their_values() {
    let tmp = tempfile::tempdir().unwrap();
    let s = server(tmp.path());
    push(&s, &lines());
    let req = |path: &str, extra: &[(&'static str, &str)]| {
        let mut params = range(T, T + 900);
        params.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        ok_json(&s, path, &params)
    };
    let field = |label: &str, ty: &str, card: u64, parsers: Value, path: Option<Value>| {
        let mut f = json!({"label": label, "type": ty, "cardinality": card, "parsers": parsers});
        if let Some(p) = path {
            f["jsonPath"] = p;
        }
        f
    };
    let both = json!(["logfmt", "json"]);
    // Streams are walked in label order (dev, then prod), lines newest first: a field's type
    // is the one of its value in the last line walked (the oldest prod line).
    assert_eq!(
        req(
            "/loki/api/v1/detected_fields",
            &[("query", r#"{job="api"}"#)]
        ),
        json!({"fields": [
            field("detected_level", "string", 3, Value::Null, None),
            field("key", "string", 3, json!(["logfmt"]), None),
            field("latency_ms", "float", 7, json!(["json"]), Some(json!(["latency_ms"]))),
            field("level", "string", 3, both.clone(), Some(json!(["level"]))),
            field("msg", "string", 2, both.clone(), Some(json!(["msg"]))),
            field("ok", "boolean", 2, json!(["json"]), Some(json!(["ok"]))),
            field("size", "bytes", 3, json!(["json"]), Some(json!(["size"]))),
            field("status", "int", 2, json!(["json"]), Some(json!(["status"]))),
            field("took", "duration", 5, both.clone(), Some(json!(["took"]))),
            field("trace_id", "int", 4, Value::Null, None),
            field("user_id", "string", 5, json!(["json"]), Some(json!(["user", "id"]))),
        ], "limit": 1000})
    );
    // line_limit samples the newest lines: here one logfmt line.
    assert_eq!(
        req(
            "/loki/api/v1/detected_fields",
            &[
                ("query", r#"{job="api"}"#),
                ("line_limit", "1"),
                ("limit", "3")
            ]
        ),
        json!({"fields": [
            field("detected_level", "string", 1, Value::Null, None),
            field("key", "string", 1, json!(["logfmt"]), None),
            field("level", "string", 1, json!(["logfmt"]), None),
        ], "limit": 3})
    );
    // The query's pipeline runs first; its parsed labels are fields too.
    let v = req(
        "/loki/api/v1/detected_fields",
        &[("query", r#"{job="api"} | json | status >= 500"#)],
    );
    let card = |v: &Value, name: &str| {
        v["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["label"] == name)
            .map(|f| f["cardinality"].clone())
    };
    assert_eq!(card(&v, "latency_ms"), Some(json!(6)), "{v}");
    assert_eq!(card(&v, "status"), Some(json!(1)), "{v}");
    assert_eq!(card(&v, "key"), None, "{v}");
    assert_eq!(
        req(
            "/loki/api/v1/detected_fields",
            &[("query", r#"{job="api"} |= "no such text""#)]
        ),
        json!({})
    );

    // Values: byte sizes printed as go-humanize does, so they can go into a query.
    let values = |name: &str, extra: &[(&'static str, &str)]| {
        let mut p = vec![("query", r#"{job="api"}"#)];
        p.extend_from_slice(extra);
        req(&format!("/loki/api/v1/detected_field/{name}/values"), &p)
    };
    assert_eq!(
        values("size", &[]),
        json!({"values": ["1.0kB", "2.0kB", "3.0kB"], "limit": 1000})
    );
    assert_eq!(
        values("took", &[]),
        json!({"values": ["1.5s", "10ms", "11ms", "12ms", "13ms"], "limit": 1000})
    );
    // The limit stops the walk: the dev stream's line, then the newest prod line (an error).
    assert_eq!(
        values("detected_level", &[("limit", "2")]),
        json!({"values": ["error", "warn"], "limit": 2})
    );
    assert_eq!(values("nope", &[]), json!({}));

    for (k, v, text) in [
        ("line_limit", "0", "limit must be a positive value\n"),
        (
            "line_limit",
            "6000",
            "max entries limit per query exceeded, limit > max_entries_limit_per_query (6000 > 5000)\n",
        ),
        ("field_limit", "-2", "limit must be a positive value\n"),
    ] {
        let mut params = range(T, T + 900);
        params.extend([("query", r#"{job="api"}"#.to_string()), (k, v.into())]);
        let (code, body) = get(&s, "/loki/api/v1/detected_fields", &params);
        assert_eq!((code, body.as_str()), (400, text));
    }
    let mut params = range(T, T + 900);
    params.push(("query", r#"rate({job="api"}[1m])"#.into()));
    let (code, body) = get(&s, "/loki/api/v1/detected_fields", &params);
    assert_eq!(
        (code, body.as_str()),
        (400, "only log selector is supported\n")
    );
}

#[test]
fn patterns_of_the_selected_streams() {
    let tmp = tempfile::tempdir().unwrap();
    let s = server(tmp.path());
    push(&s, &lines());
    let mut params = range(T, T + 900);
    params.extend([
        ("query", r#"{env=~".+"}"#.to_string()),
        ("step", "5m".into()),
    ]);
    let (code, body) = get(&s, "/loki/api/v1/patterns", &params);
    assert_eq!(code, 200, "{body}");
    // Loki writes `<`, `>` and `&` of patterns as \u escapes.
    assert!(body.contains(r#"\u003c_\u003e - - \"GET"#), "{body}");
    // The JSON lines' messages have too few tokens to be mined; patterns under 30 lines are
    // dropped; the largest comes first.
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"status": "success", "data": [
            {"pattern": r#"<_> - - "GET <_> HTTP/1.1" 200 <_>"#, "level": "info",
             "samples": [[T, 15], [T + 300, 15], [T + 600, 15]]},
            {"pattern": r#"level=warn msg="cache miss" key=<_> took=1.5s"#, "level": "warn",
             "samples": [[T, 11], [T + 300, 10], [T + 600, 9]]},
        ]})
    );
    let mut params = range(T, T + 900);
    params.push(("query", r#"{job="api"} |= "x""#.into()));
    let (code, body) = get(&s, "/loki/api/v1/patterns", &params);
    assert_eq!(
        (code, body.as_str()),
        (400, "only label matchers are supported\n")
    );
    let mut params = range(T, T + 900);
    params.extend([
        ("query", r#"{job="api"}"#.to_string()),
        ("step", "0".into()),
    ]);
    let (code, body) = get(&s, "/loki/api/v1/patterns", &params);
    assert_eq!(
        (code, body.as_str()),
        (
            400,
            "zero or negative query resolution step widths are not accepted. Try a positive integer\n"
        )
    );
}

/// A WebSocket client of `/loki/api/v1/tail` with a read timeout.
type Tail = tungstenite::WebSocket<std::net::TcpStream>;

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

fn tail(s: &Server, query: &str, extra: &str) -> Tail {
    let addr = s.base.trim_start_matches("http://");
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    let q: String = url_encode(query);
    let url = format!("ws://{addr}/loki/api/v1/tail?query={q}{extra}");
    tungstenite::client(url.as_str(), stream).unwrap().0
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The next text message (pings are answered by the client as it reads), or the close frame's
/// code and reason. The server pings every second, so the socket's read timeout alone would
/// never end the wait: the deadline does.
fn next(ws: &mut Tail) -> Result<Value, (u16, String)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no tail message within 15 s"
        );
        match ws.read().expect("a tail message within the read timeout") {
            tungstenite::Message::Text(t) => return Ok(serde_json::from_str(&t).unwrap()),
            tungstenite::Message::Close(f) => {
                return Err(f.map_or((0, String::new()), |f| {
                    (f.code.into(), f.reason.to_string())
                }))
            }
            _ => continue,
        }
    }
}

/// `(ts, line)` of each entry of a tail message.
fn entries(v: &Value) -> Vec<(String, String)> {
    v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["values"].as_array().unwrap().iter())
        .map(|e| (e[0].as_str().unwrap().into(), e[1].as_str().unwrap().into()))
        .collect()
}

fn push_now(s: &Server, lines: &[(i64, &str)]) {
    let values: Vec<Value> = lines
        .iter()
        .map(|(ts, l)| json!([ts.to_string(), l, {"detected_level": "info"}]))
        .collect();
    let body = json!({"streams": [{"stream": {"job": "tail"}, "values": values}]});
    let (code, text) = push_json(s, body.to_string().as_bytes());
    assert_eq!(code, 204, "{text}");
}

#[test]
fn tail_sends_the_newest_lines_then_new_ones_once() {
    let tmp = tempfile::tempdir().unwrap();
    let s = server(tmp.path());
    let t0 = now_ns();
    push_now(
        &s,
        &[
            (t0 - 20 * NS, "old 1"),
            (t0 - 10 * NS, "old 2"),
            (t0 - 5 * NS, "old 3"),
        ],
    );
    let start = format!("&limit=2&start={}", t0 - 60 * NS);
    let mut ws = tail(&s, r#"{job="tail"} != "skip""#, &start);
    // The first batch: the newest `limit` lines, oldest first, one stream object each.
    let first = next(&mut ws).unwrap();
    assert_eq!(
        entries(&first),
        [
            ((t0 - 10 * NS).to_string(), "old 2".to_string()),
            ((t0 - 5 * NS).to_string(), "old 3".to_string())
        ]
    );
    assert_eq!(first["streams"][0]["stream"]["job"], "tail");
    assert!(first.get("dropped_entries").is_none());
    // New lines, one pushed a little after its own time, one filtered out: each sent once.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let t1 = now_ns();
    push_now(
        &s,
        &[(t1 - 2 * NS, "late"), (t1, "new"), (t1 + 1, "skip me")],
    );
    let mut got = Vec::new();
    while got.len() < 2 {
        got.extend(entries(&next(&mut ws).unwrap()).into_iter().map(|e| e.1));
    }
    assert_eq!(got, ["late", "new"]);
    // Nothing is sent twice while the same window is read again.
    push_now(&s, &[(now_ns(), "later")]);
    let more = entries(&next(&mut ws).unwrap());
    assert_eq!(
        more.iter().map(|e| e.1.as_str()).collect::<Vec<_>>(),
        ["later"]
    );
    ws.close(None).unwrap();
    while ws.read().is_ok() {}
}

#[test]
fn tail_connections_are_bounded_and_freed_on_close() {
    let tmp = tempfile::tempdir().unwrap();
    let s = server(tmp.path());
    // A line to tail, so that each connection's first batch (sent once the server holds its
    // slot) shows the connection is counted; like Loki, an empty batch is not sent.
    push_now(&s, &[(now_ns() - NS, "one")]);
    let mut open: Vec<Tail> = (0..10)
        .map(|_| {
            let mut ws = tail(&s, r#"{job="tail"}"#, "");
            next(&mut ws).unwrap();
            ws
        })
        .collect();
    let mut extra = tail(&s, r#"{job="tail"}"#, "");
    assert_eq!(
        next(&mut extra).unwrap_err(),
        (
            1011,
            "max concurrent tail requests limit exceeded, count > limit (11 > 10)".to_string()
        )
    );
    let mut first = open.remove(0);
    first.close(None).unwrap();
    while first.read().is_ok() {}
    // The slot is free once the server has seen the close.
    let mut again = s.wait_for("a free tail slot", || {
        let mut ws = tail(&s, r#"{job="tail"}"#, "");
        next(&mut ws).ok().map(|_| ws)
    });
    again.close(None).unwrap();

    // Bad parameters are refused before the upgrade, with Loki's texts.
    for (extra, text) in [
        ("&delay_for=6", "delay_for can't be greater than 5\n"),
        ("&limit=0", "limit must be a positive value\n"),
    ] {
        let url = format!(
            "{}/loki/api/v1/tail?query={}{extra}",
            s.base,
            url_encode(r#"{job="tail"}"#)
        );
        let r = s.http.get(url).send().unwrap();
        assert_eq!(r.status().as_u16(), 400);
        assert_eq!(r.text().unwrap(), text);
    }
}
