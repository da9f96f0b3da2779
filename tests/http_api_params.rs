//! Prometheus' HTTP API beyond the basic answers: the parameters of the query endpoints
//! (`time`/`start`/`end` forms, `step`, `timeout`, `limit`, `stats`, `lookback_delta`), the
//! metadata endpoints' `limit` and `match[]` rules, the parser endpoints, the query limits
//! (`--query.max-samples`, `--query.timeout`) and gzip, each against Prometheus' documented
//! answers, error types and status codes.

mod common;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::server::{import_openmetrics, quiet_config, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// First sample (ms), a multiple of the 2 h block range.
const T0: i64 = 1_699_999_200_000;
/// Samples per series, one a minute.
const N: i64 = 100;
/// Series `m{i="0"}` … `m{i="9"}`.
const SERIES: i64 = 10;
const TLAST: i64 = T0 + (N - 1) * 60_000;

/// A data directory with the test series imported.
fn data() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::from("# TYPE m gauge\n");
    for i in 0..SERIES {
        for j in 0..N {
            writeln!(
                text,
                "m{{i=\"{i}\"}} {} {}",
                i * 1000 + j,
                T0 / 1000 + j * 60
            )
            .unwrap();
        }
    }
    text.push_str("# EOF\n");
    let dir = import_openmetrics(tmp.path(), &text);
    (tmp, dir)
}

fn start(dir: &Path, log: PathBuf, extra: &[&str]) -> Server {
    let mut args: Vec<std::ffi::OsString> = vec![
        "--storage.tsdb.path".into(),
        dir.into(),
        "--storage.tsdb.retention.time".into(),
        "0".into(),
    ];
    args.extend(extra.iter().map(Into::into));
    Server::spawn(args, log)
}

fn get(s: &Server, path: &str, params: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = s.http.get(s.url(path)).query(params).send().unwrap();
    let status = r.status();
    let text = r.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn post(s: &Server, path: &str, params: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = s.http.post(s.url(path)).form(params).send().unwrap();
    let status = r.status();
    (status, r.json().unwrap())
}

/// Asserts an error answer: status, `errorType` and the exact message.
fn error(got: (StatusCode, Value), status: u16, kind: &str, msg: &str) {
    let (code, body) = got;
    assert_eq!(code.as_u16(), status, "{body}");
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["errorType"], kind, "{body}");
    assert_eq!(body["error"], msg, "{body}");
}

fn ok(got: (StatusCode, Value)) -> Value {
    let (code, body) = got;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "success", "{body}");
    body
}

fn secs(ms: i64) -> String {
    format!("{}", ms as f64 / 1000.0)
}

#[test]
fn query_parameters_as_prometheus() {
    let (tmp, dir) = data();
    let s = start(&dir, tmp.path().join("server.log"), &[]);
    let t = secs(TLAST);

    // RFC 3339 and Unix times are the same instant; GET and form POST answer alike.
    let unix = ok(get(&s, "/api/v1/query", &[("query", "m"), ("time", &t)]));
    let rfc = ok(get(
        &s,
        "/api/v1/query",
        &[("query", "m"), ("time", "2023-11-14T23:39:00Z")],
    ));
    assert_eq!(unix, rfc);
    assert_eq!(
        unix["data"]["result"].as_array().unwrap().len(),
        SERIES as usize
    );
    assert_eq!(
        post(&s, "/api/v1/query", &[("query", "m"), ("time", &t)]).1,
        unix
    );

    // `limit` cuts the result and says so.
    let cut = ok(get(
        &s,
        "/api/v1/query",
        &[("query", "m"), ("time", &t), ("limit", "3")],
    ));
    assert_eq!(cut["data"]["result"].as_array().unwrap().len(), 3);
    assert_eq!(cut["warnings"], json!(["results truncated due to limit"]));
    let uncut = ok(get(
        &s,
        "/api/v1/query",
        &[("query", "m"), ("time", &t), ("limit", "10")],
    ));
    assert!(uncut.get("warnings").is_none(), "{uncut}");
    error(
        get(&s, "/api/v1/query", &[("query", "m"), ("limit", "-1")]),
        400,
        "bad_data",
        "invalid parameter \"limit\": limit must be non-negative",
    );
    error(
        get(&s, "/api/v1/query", &[("query", "m"), ("limit", "x")]),
        400,
        "bad_data",
        "invalid parameter \"limit\": strconv.Atoi: parsing \"x\": invalid syntax",
    );

    // `stats`: timings and sample counts in Prometheus' shape.
    let with = ok(get(
        &s,
        "/api/v1/query_range",
        &[
            ("query", "sum(m)"),
            ("start", &secs(T0)),
            ("end", &t),
            ("step", "1m"),
            ("stats", "all"),
        ],
    ));
    let stats = &with["data"]["stats"];
    for k in [
        "evalTotalTime",
        "resultSortTime",
        "queryPreparationTime",
        "innerEvalTime",
        "execQueueTime",
        "execTotalTime",
    ] {
        assert!(stats["timings"][k].is_f64(), "{k}: {stats}");
    }
    let read = stats["samples"]["totalQueryableSamples"].as_u64().unwrap();
    assert!(read >= (SERIES * N) as u64, "{stats}");
    assert!(stats["samples"]["peakSamples"].as_u64().unwrap() >= read);
    let plain = ok(get(&s, "/api/v1/query", &[("query", "m"), ("time", &t)]));
    assert!(plain["data"].get("stats").is_none());
    let odd = ok(get(
        &s,
        "/api/v1/query",
        &[("query", "m"), ("time", &t), ("stats", "yes")],
    ));
    assert!(odd["data"]["stats"].is_object());
    assert_eq!(
        odd["warnings"][0],
        "value \"yes\" for parameter \"stats\" is deprecated and will be rejected in the next major release, use \"true\" or \"all\""
    );

    // Steps as durations or seconds; 11,000 intervals is the most.
    let range = |start: &str, end: &str, step: &str| {
        get(
            &s,
            "/api/v1/query_range",
            &[
                ("query", "m"),
                ("start", start),
                ("end", end),
                ("step", step),
            ],
        )
    };
    assert_eq!(
        ok(range(&secs(T0), &t, "60")),
        ok(range(&secs(T0), &t, "1m"))
    );
    ok(range("0", "11000", "1"));
    // Extreme times neither overflow nor pass the resolution check.
    error(
        range("-1e300", "1e300", "9e9"),
        400,
        "bad_data",
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
    );
    error(
        range("0", "1", "1e14"),
        400,
        "bad_data",
        "invalid parameter \"step\": cannot parse \"1e14\" to a valid duration. It overflows int64",
    );
    ok(get(
        &s,
        "/api/v1/query",
        &[("query", "m offset 1h"), ("time", "-1e300")],
    ));
    error(
        range("0", "11001", "1"),
        400,
        "bad_data",
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
    );
    let non_positive = "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer";
    error(range("0", "10", "0"), 400, "bad_data", non_positive);
    error(range("0", "10", "-5"), 400, "bad_data", non_positive);
    error(
        range("0", "10", "fast"),
        400,
        "bad_data",
        "invalid parameter \"step\": cannot parse \"fast\" to a valid duration",
    );
    error(
        range("10", "0", "1"),
        400,
        "bad_data",
        "invalid parameter \"end\": end timestamp must not be before start time",
    );
    error(
        range("", "10", "1"),
        400,
        "bad_data",
        "invalid parameter \"start\": cannot parse \"\" to a valid timestamp",
    );

    // Other parameters.
    error(
        get(&s, "/api/v1/query", &[("query", "m"), ("time", "noon")]),
        400,
        "bad_data",
        "invalid parameter \"time\": invalid time value for 'time': cannot parse \"noon\" to a valid timestamp",
    );
    error(
        get(&s, "/api/v1/query", &[("query", "m"), ("timeout", "soon")]),
        400,
        "bad_data",
        "invalid parameter \"timeout\": cannot parse \"soon\" to a valid duration",
    );
    error(
        get(
            &s,
            "/api/v1/query",
            &[("query", "m"), ("lookback_delta", "x")],
        ),
        400,
        "bad_data",
        "error parsing lookback delta duration: cannot parse \"x\" to a valid duration",
    );
    // A lookback of 30 s finds nothing 2 minutes after the last sample; the default does.
    let later = secs(TLAST + 120_000);
    let short = ok(get(
        &s,
        "/api/v1/query",
        &[("query", "m"), ("time", &later), ("lookback_delta", "30s")],
    ));
    assert_eq!(short["data"]["result"], json!([]));
    let default = ok(get(
        &s,
        "/api/v1/query",
        &[("query", "m"), ("time", &later)],
    ));
    assert_eq!(default["data"]["result"].as_array().unwrap().len(), 10);
    let (code, body) = get(&s, "/api/v1/query", &[("query", "sum(m")]);
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid parameter \"query\": "),
        "{body}"
    );
    error(
        get(&s, "/api/v1/query", &[("query", "m"), ("timeout", "0s")]),
        503,
        "timeout",
        "query timed out in query queue",
    );
}

#[test]
fn metadata_limits_and_parser_endpoints() {
    let (tmp, dir) = data();
    // Without a configuration bongsu scrapes itself: its own label names would race into the
    // limits checked here.
    let config = quiet_config(tmp.path());
    let config = format!("--config.file={}", config.display());
    let s = start(&dir, tmp.path().join("server.log"), &[&config]);

    let cut = ok(get(&s, "/api/v1/label/i/values", &[("limit", "4")]));
    assert_eq!(cut["data"], json!(["0", "1", "2", "3"]));
    assert_eq!(cut["warnings"], json!(["results truncated due to limit"]));
    let cut = ok(get(&s, "/api/v1/labels", &[("limit", "1")]));
    assert_eq!(cut["data"], json!(["__name__"]));
    assert_eq!(cut["warnings"], json!(["results truncated due to limit"]));
    let all = ok(get(&s, "/api/v1/labels", &[("limit", "2")]));
    assert!(all.get("warnings").is_none(), "{all}");
    let cut = ok(get(
        &s,
        "/api/v1/series",
        &[("match[]", "m"), ("limit", "2")],
    ));
    assert_eq!(cut["data"].as_array().unwrap().len(), 2);
    assert_eq!(cut["warnings"], json!(["results truncated due to limit"]));
    // Selectors that match every series are refused.
    for path in ["/api/v1/series", "/api/v1/labels", "/api/v1/label/i/values"] {
        let (code, body) = get(&s, path, &[("match[]", "{i=~\".*\"}")]);
        assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["errorType"], "bad_data");
        let msg = body["error"].as_str().unwrap();
        assert!(msg.contains("at least one non-empty matcher"), "{msg}");
    }
    error(
        get(&s, "/api/v1/series", &[("match[]", "m"), ("limit", "-2")]),
        400,
        "bad_data",
        "invalid parameter \"limit\": limit must be non-negative",
    );
    // Escaped label names in the path.
    let v = ok(get(
        &s,
        "/api/v1/label/U__i/values",
        &[("match[]", "m{i=\"7\"}")],
    ));
    assert_eq!(v["data"], json!(["7"]));

    // format_query pretty-prints; parse_query returns the tree.
    let f = ok(get(
        &s,
        "/api/v1/format_query",
        &[("query", "sum(rate(m[5m]))by(i)")],
    ));
    assert_eq!(f["data"], "sum by (i) (rate(m[5m]))");
    let p = ok(post(&s, "/api/v1/parse_query", &[("query", "m offset 5m")]));
    assert_eq!(p["data"]["type"], "vectorSelector");
    assert_eq!(p["data"]["offset"], 300_000);
    let (code, body) = get(&s, "/api/v1/format_query", &[("query", "sum(")]);
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errorType"], "bad_data");

    // query_exemplars: validated; no exemplars are stored.
    let e = ok(get(&s, "/api/v1/query_exemplars", &[("query", "m")]));
    assert_eq!(e["data"], json!([]));
    let r = s
        .http
        .get(s.url("/api/v1/query_exemplars"))
        .query(&[("query", "1")])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    error(
        get(
            &s,
            "/api/v1/query_exemplars",
            &[("query", "m"), ("start", "10"), ("end", "5")],
        ),
        400,
        "bad_data",
        "end timestamp must not be before start timestamp",
    );
}

/// A huge query fails with Prometheus' errors, and the server keeps answering.
#[test]
fn query_limits() {
    let (tmp, dir) = data();
    let s = start(
        &dir,
        tmp.path().join("server.log"),
        &["--query.max-samples=500", "--query.max-concurrency=2"],
    );
    let t = secs(TLAST);
    let too_many = "query processing would load too many samples into memory in query execution";
    error(
        get(
            &s,
            "/api/v1/query",
            &[("query", "count_over_time(m[2h])"), ("time", &t)],
        ),
        422,
        "execution",
        too_many,
    );
    // A subquery with millions of steps is refused before they are computed.
    error(
        get(
            &s,
            "/api/v1/query",
            &[("query", "count_over_time(vector(1)[1000d:1s])")],
        ),
        422,
        "execution",
        too_many,
    );
    let small = ok(get(
        &s,
        "/api/v1/query",
        &[("query", "count(m)"), ("time", &t)],
    ));
    assert_eq!(small["data"]["result"][0]["value"][1], "10");
    // Concurrent queries beyond the limit wait for a slot instead of failing.
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let url = s.url("/api/v1/query");
            let t = t.clone();
            std::thread::spawn(move || {
                reqwest::blocking::Client::new()
                    .get(url)
                    .query(&[("query", "sum(m)"), ("time", &t)])
                    .send()
                    .unwrap()
                    .status()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), StatusCode::OK);
    }
    drop(s);

    // The budget all running queries share: a query that would pass it gets 503 and the
    // server stays up; what a finished query held is given back.
    let s = start(
        &dir,
        tmp.path().join("server2.log"),
        &[
            "--query.max-samples=100000",
            "--query.max-samples-total=500",
        ],
    );
    error(
        get(
            &s,
            "/api/v1/query",
            &[("query", "count_over_time(m[2h])"), ("time", &t)],
        ),
        503,
        "unavailable",
        "query processing would pass the samples all running queries may hold (--query.max-samples-total); try again when fewer queries run",
    );
    for _ in 0..3 {
        let r = ok(get(
            &s,
            "/api/v1/query",
            &[("query", "sum(count_over_time(m[20m]))"), ("time", &t)],
        ));
        assert_eq!(r["data"]["result"][0]["value"][1], "200");
    }
}

#[test]
fn responses_are_compressed_when_accepted() {
    let (tmp, dir) = data();
    let s = start(&dir, tmp.path().join("server.log"), &[]);
    let addr = s.base.trim_start_matches("http://");
    for encoding in ["gzip", "deflate"] {
        let mut conn = TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(common::server::WAIT)).unwrap();
        write!(
            conn,
            "GET /api/v1/series?match[]=m HTTP/1.1\r\nHost: {addr}\r\nAccept-Encoding: {encoding}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw).unwrap();
        let text = String::from_utf8_lossy(&raw).to_lowercase();
        let head = text.split("\r\n\r\n").next().unwrap();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(
            head.contains(&format!("content-encoding: {encoding}")),
            "{head}"
        );
    }
}

/// CORS as `--web.cors.origin`, the admin API answering as when Prometheus has it off, and
/// routing errors.
#[test]
fn cors_admin_and_routing() {
    let (tmp, dir) = data();
    let s = start(
        &dir,
        tmp.path().join("server.log"),
        &["--web.cors.origin=https://grafana\\.example"],
    );
    let r = s
        .http
        .get(s.url("/api/v1/labels"))
        .header("Origin", "https://grafana.example")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://grafana.example"
    );
    assert_eq!(
        r.headers()["access-control-allow-methods"],
        "GET, POST, OPTIONS"
    );
    let r = s
        .http
        .get(s.url("/api/v1/labels"))
        .header("Origin", "https://evil.example")
        .send()
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    assert_eq!(r.headers()["vary"], "Origin");
    let r = s
        .http
        .request(reqwest::Method::OPTIONS, s.url("/api/v1/query"))
        .header("Origin", "https://grafana.example")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://grafana.example"
    );

    for action in ["delete_series", "clean_tombstones", "snapshot"] {
        error(
            post(
                &s,
                &format!("/api/v1/admin/tsdb/{action}"),
                &[("match[]", "m")],
            ),
            500,
            "unavailable",
            "admin APIs disabled",
        );
    }
    let blocks = ok(get(&s, "/api/v1/status/tsdb/blocks", &[]));
    let blocks = blocks["data"]["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 1, "{blocks:?}");
    assert_eq!(blocks[0]["minTime"], T0);
    assert_eq!(blocks[0]["stats"]["numSamples"], SERIES * N);
    assert_eq!(blocks[0]["stats"]["numSeries"], SERIES);
    assert!(blocks[0]["ulid"].is_string() && blocks[0]["compaction"]["level"] == 1);
    let pools = ok(get(&s, "/api/v1/scrape_pools", &[]));
    assert_eq!(pools["data"], json!({"scrapePools": ["bongsu"]}));

    let r = s.http.delete(s.url("/api/v1/query")).send().unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let r = s.http.get(s.url("/api/v1/nothing")).send().unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// `--web.max-connections` caps open connections as Prometheus' does: at the cap a new client
/// waits (unanswered) until one closes, then is served. The soft open-files limit is raised to
/// the hard one at start-up.
#[test]
fn connections_are_capped_and_the_fd_limit_raised() {
    let (tmp, dir) = data();
    let s = start(
        &dir,
        tmp.path().join("server.log"),
        // The test's HTTP client keeps the connection it awaited readiness on: one slot.
        &["--web.max-connections=4"],
    );
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", s.child.id())).unwrap();
    let open_files: Vec<&str> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(open_files[3], open_files[4], "soft = hard: {limits}");

    let addr = s.base.trim_start_matches("http://").to_string();
    let ask = |conn: &mut TcpStream| -> Option<String> {
        conn.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            .ok()?;
        let mut buf = [0u8; 256];
        let n = conn.read(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    };
    let mut idle: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut c = TcpStream::connect(&addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            // Served: the connection holds a slot and stays open (keep-alive).
            assert!(ask(&mut c).unwrap().starts_with("HTTP/1.1 200"));
            c
        })
        .collect();
    let mut fourth = TcpStream::connect(&addr).unwrap();
    fourth
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    assert_eq!(ask(&mut fourth), None, "a fourth connection is not served");
    drop(idle.pop());
    fourth
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 256];
    let n = fourth.read(&mut buf).unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "served once a slot frees"
    );
}
