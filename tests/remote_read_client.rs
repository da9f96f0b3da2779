//! The `remote_read` client end to end: server B reads server A's `/api/v1/read` through
//! PromQL, merges it with its own samples, drops A's external labels, skips a remote whose
//! `required_matchers` a query lacks, and turns a dead remote into a warning.

mod common;

use std::fmt::Write as _;
use std::fs;

use common::server::{free_port, import_openmetrics, Server};
use serde_json::Value;

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A server over `text` (OpenMetrics samples) with `config`.
fn server(tmp: &tempfile::TempDir, text: &str, config: &str) -> Server {
    let dir = import_openmetrics(tmp.path(), text);
    let path = tmp.path().join("prometheus.yml");
    fs::write(&path, config).unwrap();
    Server::spawn(
        vec![
            "--storage.tsdb.path".into(),
            dir.into_os_string(),
            "--config.file".into(),
            path.into_os_string(),
            "--storage.tsdb.retention.time".into(),
            "0".into(),
        ],
        tmp.path().join("server.log"),
    )
}

fn get(s: &Server, path: &str, params: &[(&str, String)]) -> Value {
    let r = s.http.get(s.url(path)).query(params).send().unwrap();
    let status = r.status();
    let body: Value = r.json().unwrap();
    assert!(status.is_success(), "{status}: {body}");
    body
}

fn samples(series: &Value) -> Vec<(i64, String)> {
    series["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_f64().unwrap() as i64,
                p[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn queries_merge_a_remote_and_warn_about_a_dead_one() {
    let t = now_s();
    let (tmp_a, tmp_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = String::from("# TYPE rr_shared gauge\n");
    for (v, dt) in [(1, 180), (2, 120)] {
        writeln!(a, "rr_shared{{job=\"s\"}} {v} {}", t - dt).unwrap();
    }
    a.push_str("# TYPE rr_only_a gauge\n");
    writeln!(a, "rr_only_a{{job=\"a\"}} 7 {}", t - 60).unwrap();
    a.push_str("# EOF\n");
    let server_a = server(
        &tmp_a,
        &a,
        "global:\n  external_labels:\n    dc: eu\nscrape_configs: []\n",
    );

    let mut b = String::from("# TYPE rr_shared gauge\n");
    for (v, dt) in [(20, 120), (3, 60)] {
        writeln!(b, "rr_shared{{job=\"s\"}} {v} {}", t - dt).unwrap();
    }
    b.push_str("# EOF\n");
    let read_url = server_a.url("/api/v1/read");
    let dead = format!("http://127.0.0.1:{}/api/v1/read", free_port());
    // Rules read through the remotes too, as Prometheus' rule manager reads its fanout.
    fs::write(
        tmp_b.path().join("rules.yml"),
        "groups:\n- name: g\n  interval: 1s\n  rules:\n  - alert: RemoteSeen\n    expr: rr_only_a > 5\n    for: 1h\n",
    )
    .unwrap();
    let config_b = format!(
        "global:\n  external_labels:\n    dc: eu\nrule_files: [rules.yml]\nscrape_configs: []\nremote_read:\n\
         - url: {read_url}\n  name: a\n\
         - url: {read_url}\n  name: needs_job_x\n  required_matchers:\n    job: x\n\
         - url: {dead}\n  name: dead\n  remote_timeout: 5s\n"
    );
    let server_b = server(&tmp_b, &b, &config_b);

    // A range selector returns raw samples: A's and B's merged, B's own sample kept where
    // both have one, A's external label `dc` removed (B has the same one).
    let body = get(
        &server_b,
        "/api/v1/query",
        &[("query", "rr_shared[5m]".into()), ("time", t.to_string())],
    );
    let result = body["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 1, "{body}");
    assert_eq!(
        result[0]["metric"],
        serde_json::json!({"__name__": "rr_shared", "job": "s"})
    );
    assert_eq!(
        samples(&result[0]),
        vec![
            (t - 180, "1".to_string()),
            (t - 120, "20".to_string()),
            (t - 60, "3".to_string())
        ]
    );
    // The dead remote is a warning, not an error.
    let warnings = body["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().starts_with("remote_read: ")),
        "{body}"
    );

    // A range query over a series only A has.
    let body = get(
        &server_b,
        "/api/v1/query_range",
        &[
            ("query", "rr_only_a * 2".into()),
            ("start", (t - 60).to_string()),
            ("end", t.to_string()),
            ("step", "60".into()),
        ],
    );
    let result = &body["data"]["result"][0];
    assert_eq!(result["metric"], serde_json::json!({"job": "a"}), "{body}");
    assert_eq!(
        samples(result),
        vec![(t - 60, "14".to_string()), (t, "14".to_string())]
    );

    // `/api/v1/series` reads the remotes too.
    let body = get(
        &server_b,
        "/api/v1/series",
        &[
            ("match[]", "rr_only_a".into()),
            ("start", (t - 300).to_string()),
            ("end", t.to_string()),
        ],
    );
    assert_eq!(
        body["data"],
        serde_json::json!([{"__name__": "rr_only_a", "job": "a"}])
    );

    // Rules read the remotes too, as Prometheus' rule manager reads its fanout storage.
    let alert = server_b.wait_for("the alerting rule over remote data", || {
        let body = get(&server_b, "/api/v1/alerts", &[]);
        body["data"]["alerts"].as_array()?.first().cloned()
    });
    assert_eq!(alert["labels"]["job"], "a", "{alert}");
    assert_eq!(alert["state"], "pending", "{alert}");

    // Label names come from local storage only, with Prometheus' warning.
    let body = get(&server_b, "/api/v1/labels", &[]);
    assert_eq!(body["data"], serde_json::json!(["__name__", "job"]));
    assert_eq!(body["warnings"], serde_json::json!(["not implemented"]));

    // Queries without `job="x"` never went to `needs_job_x`; one with it did.
    let metrics = |s: &Server| {
        s.http
            .get(s.url("/metrics"))
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let asked = |text: &str, name: &str| {
        text.lines()
            .filter(|l| {
                l.starts_with("prometheus_remote_read_client_queries_total{")
                    && l.contains(&format!("remote_name=\"{name}\""))
            })
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum::<f64>()
    };
    let before = metrics(&server_b);
    assert!(asked(&before, "a") >= 3.0, "{before}");
    assert_eq!(asked(&before, "needs_job_x"), 0.0, "{before}");
    get(
        &server_b,
        "/api/v1/query",
        &[
            ("query", "rr_shared{job=\"x\"}".into()),
            ("time", t.to_string()),
        ],
    );
    assert_eq!(asked(&metrics(&server_b), "needs_job_x"), 1.0);
}
