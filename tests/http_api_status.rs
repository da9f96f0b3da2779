//! `/api/v1/status/*` against Prometheus' shapes: build information, the configuration with
//! secrets masked, flags, runtime information, head statistics and WAL replay status.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::server::{Server, WAIT};
use reqwest::StatusCode;
use serde_json::Value;

fn data(s: &Server, path: &str) -> Value {
    let r = s.http.get(s.url(path)).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    let body: Value = r.json().unwrap();
    assert_eq!(body["status"], "success", "{body}");
    body["data"].clone()
}

#[test]
fn status_endpoints() {
    let tmp = tempfile::tempdir().unwrap();
    // A target that refuses connections: every scrape fails but still writes `up` and the
    // other synthetic series into the head.
    let config = tmp.path().join("prometheus.yml");
    fs::write(
        &config,
        "global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: self\n  basic_auth:\n    username: admin\n    password: hunter2\n  static_configs:\n  - targets: ['127.0.0.1:1']\n",
    )
    .unwrap();
    let args = vec![
        "--storage.tsdb.path".into(),
        tmp.path().join("data").into_os_string(),
        "--config.file".into(),
        config.into_os_string(),
        "--query.timeout=90s".into(),
    ];
    let s = Server::spawn(args, tmp.path().join("server.log"));

    let build = data(&s, "/api/v1/status/buildinfo");
    let version = build["version"].as_str().unwrap();
    assert!(version.starts_with("3."), "{build}");
    assert!(build["revision"].as_str().unwrap().contains("bongsu"));
    for k in ["branch", "buildUser", "buildDate", "goVersion"] {
        assert!(build[k].is_string(), "{k}: {build}");
    }

    let yaml = data(&s, "/api/v1/status/config")["yaml"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(yaml.contains("password: <secret>"), "{yaml}");
    assert!(!yaml.contains("hunter2"), "{yaml}");
    assert!(yaml.contains("job_name: self"), "{yaml}");

    let flags = data(&s, "/api/v1/status/flags");
    assert_eq!(flags["query.timeout"], "90s", "{flags}");
    assert_eq!(flags["query.max-samples"], "50000000", "{flags}");
    assert_eq!(flags["query.max-concurrency"], "20", "{flags}");
    assert_eq!(flags["query.lookback-delta"], "5m", "{flags}");
    assert_eq!(flags["web.enable-admin-api"], "false", "{flags}");
    assert!(flags["storage.tsdb.path"]
        .as_str()
        .unwrap()
        .ends_with("data"));

    let info = data(&s, "/api/v1/status/runtimeinfo");
    assert_eq!(info["reloadConfigSuccess"], true);
    assert_eq!(info["storageRetention"], "15d");
    for k in ["startTime", "serverTime", "lastConfigTime"] {
        let t = info[k].as_str().unwrap();
        assert!(t.ends_with('Z') && t.contains('T'), "{k}: {t}");
    }

    let started = Instant::now();
    let tsdb = loop {
        let tsdb = data(&s, "/api/v1/status/tsdb?limit=2");
        if tsdb["headStats"]["numSeries"].as_u64().unwrap() >= 5 {
            break tsdb;
        }
        assert!(started.elapsed() < WAIT, "no head series: {tsdb}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let head = &tsdb["headStats"];
    assert!(head["chunkCount"].as_u64().unwrap() >= 5, "{tsdb}");
    assert!(head["minTime"].as_i64().unwrap() <= head["maxTime"].as_i64().unwrap());
    let by_pair = tsdb["seriesCountByLabelValuePair"].as_array().unwrap();
    assert_eq!(by_pair.len(), 2, "{tsdb}");
    assert!(
        by_pair[0]["value"].as_u64() >= by_pair[1]["value"].as_u64(),
        "{tsdb}"
    );
    let by_name = tsdb["seriesCountByMetricName"].as_array().unwrap();
    assert_eq!(by_name.len(), 2);
    assert_eq!(
        by_name[0]["value"], 1,
        "one series per synthetic metric: {tsdb}"
    );
    for bad in ["0", "x", "10001"] {
        let r = s
            .http
            .get(s.url("/api/v1/status/tsdb"))
            .query(&[("limit", bad)])
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "limit={bad}");
        let body: Value = r.json().unwrap();
        assert_eq!(body["errorType"], "bad_data");
    }

    let replay = data(&s, "/api/v1/status/walreplay");
    assert_eq!(replay["current"], replay["max"], "{replay}");
}
