//! Grafana's requests, replayed: what Grafana 11–12 sends to a Prometheus data source (the
//! backend in `pkg/promlib`: the health check, `status/buildinfo` for its heuristics, form-POST
//! queries; the frontend's `@grafana/prometheus` language provider: label names and values,
//! series, metadata; variable queries; rules and alerts for its alerting view) and to a Loki data
//! source (`pkg/tsdb/loki`: the health check, range and instant queries with nanosecond times
//! and millisecond steps, the logs-volume query, metadata), each sent as Grafana sends it
//! (method, encoding, parameters), the answer's status and shape checked the way Grafana reads
//! it. One server: it scrapes itself every second, runs one alerting rule, and holds pushed lines.

mod common;
#[path = "common/loki.rs"]
mod loki;

use std::ffi::OsString;
use std::fs;
use std::time::{SystemTime, UNIX_EPOCH};

use common::server::Server;
use serde_json::{json, Value};

const NS: i64 = 1_000_000_000;

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A server scraping itself every second, with one always-firing alerting rule.
fn start(tmp: &std::path::Path) -> Server {
    let port = common::server::free_port();
    fs::write(
        tmp.join("rules.yml"),
        "groups:\n- name: replay\n  interval: 1s\n  rules:\n  - alert: Always\n    expr: vector(1)\n    labels: {severity: none}\n    annotations: {summary: always firing}\n",
    )
    .unwrap();
    fs::write(
        tmp.join("bongsu.yml"),
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: [{}]\nscrape_configs:\n- job_name: bongsu\n  static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n",
            tmp.join("rules.yml").display()
        ),
    )
    .unwrap();
    let args: Vec<OsString> = vec![
        "--config.file".into(),
        tmp.join("bongsu.yml").into(),
        "--storage.tsdb.path".into(),
        tmp.join("data").into(),
        "--logs.ingestion-rate-mb=0".into(),
    ];
    Server::spawn_on(port, args, tmp.join("bongsu.log"))
}

/// Grafana's `formatTime`: seconds with the fraction Go's `FormatFloat(…, 'f', -1, 64)` prints.
fn grafana_time(t: f64) -> String {
    let ms = (t * 1000.0).round() / 1000.0;
    format!("{ms}")
}

/// A form POST as `pkg/promlib/client` sends it (`application/x-www-form-urlencoded`).
fn post_form(s: &Server, path: &str, form: &[(&str, String)]) -> (u16, Value) {
    let r = s.http.post(s.url(path)).form(form).send().unwrap();
    let code = r.status().as_u16();
    let text = r.text().unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    (code, body)
}

fn get_json(s: &Server, path: &str, params: &[(&str, String)]) -> (u16, Value) {
    let (code, text) = loki::get(s, path, params);
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    (code, body)
}

/// The `data` of a 200 `{"status":"success"}` answer.
fn data(what: &str, (code, body): (u16, Value)) -> Value {
    assert_eq!(code, 200, "{what}: {body}");
    assert_eq!(body["status"], "success", "{what}: {body}");
    body["data"].clone()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn grafana_prometheus_data_source_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let s = start(tmp.path());
    s.wait_for("five scrapes of up", || {
        let d = data(
            "up",
            post_form(
                &s,
                "/api/v1/query",
                &[("query", "count_over_time(up[1m])".into())],
            ),
        );
        let n = d["result"][0]["value"][1].as_str()?.parse::<f64>().ok()?;
        (n >= 5.0).then_some(())
    });
    s.wait_for("the rule's alert", || {
        let d = data("alerts", get_json(&s, "/api/v1/alerts", &[]));
        (!d["alerts"].as_array()?.is_empty()).then_some(())
    });
    let now = now_s();
    let (start, end) = (grafana_time(now - 300.0), grafana_time(now));

    // The health check: `1+1` as an instant query at the end of a 1 s – 4 s range.
    let d = data(
        "health check",
        post_form(
            &s,
            "/api/v1/query",
            &[("query", "1+1".into()), ("time", "4".into())],
        ),
    );
    assert_eq!(d, json!({"resultType": "scalar", "result": [4, "2"]}));

    // Heuristics: a build info without `features` is a Prometheus, not a Mimir.
    let d = data("buildinfo", get_json(&s, "/api/v1/status/buildinfo", &[]));
    assert!(d["version"].as_str().is_some_and(|v| !v.is_empty()), "{d}");
    assert!(
        d.get("features")
            .is_none_or(|f| f.as_object().is_some_and(|o| o.is_empty())),
        "a non-empty features map makes Grafana treat bongsu as Mimir: {d}"
    );

    // A panel's range query: start and end aligned to the step (the data source's scrape
    // interval, 1 s here), the step in float seconds, and the data source's query timeout.
    let step = 1.0;
    let aligned_end = (now / step).floor() * step;
    let d = data(
        "query_range",
        post_form(
            &s,
            "/api/v1/query_range",
            &[
                (
                    "query",
                    "rate(prometheus_http_requests_total[1m]) or up".into(),
                ),
                ("start", grafana_time(aligned_end - 3600.0)),
                ("end", grafana_time(aligned_end)),
                ("step", "1".into()),
                ("timeout", "30s".into()),
            ],
        ),
    );
    assert_eq!(d["resultType"], "matrix");
    let up = d["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"]["__name__"] == "up")
        .unwrap_or_else(|| panic!("no up series: {d}"));
    assert_eq!(up["metric"]["job"], "bongsu");
    for point in up["values"].as_array().unwrap() {
        let t = point[0].as_f64().unwrap();
        assert_eq!(t % step, 0.0, "points on the step grid: {point}");
        assert!(point[1].is_string(), "values are strings: {point}");
    }

    // The language provider: metric names (GET only), label names with match[] (POST),
    // series with a limit, metadata.
    let names = strings(&data(
        "metric names",
        get_json(
            &s,
            "/api/v1/label/__name__/values",
            &[
                ("start", start.clone()),
                ("end", end.clone()),
                ("limit", "40000".into()),
            ],
        ),
    ));
    assert!(names.contains(&"up".to_string()), "{names:?}");
    let labels = strings(&data(
        "label names",
        post_form(
            &s,
            "/api/v1/labels",
            &[
                ("start", start.clone()),
                ("end", end.clone()),
                ("match[]", "up".into()),
            ],
        ),
    ));
    for l in ["__name__", "instance", "job"] {
        assert!(labels.contains(&l.to_string()), "{labels:?}");
    }
    let series = data(
        "series",
        post_form(
            &s,
            "/api/v1/series",
            &[
                ("start", start.clone()),
                ("end", end.clone()),
                ("match[]", "{__name__=\"up\"}".into()),
                ("limit", "40000".into()),
            ],
        ),
    );
    assert_eq!(series[0]["__name__"], "up", "{series}");
    let meta = data(
        "metadata",
        get_json(&s, "/api/v1/metadata", &[("limit", "40000".into())]),
    );
    // Scraped families only: `up` is synthetic and has none, as in Prometheus.
    assert!(meta.get("up").is_none(), "{meta}");
    let requests = &meta["prometheus_http_requests_total"][0];
    assert_eq!(requests["type"], "counter", "{meta}");
    assert!(requests["help"].is_string() && requests["unit"].is_string());

    // Variable queries: label_values(up, job), metrics(^up$), query_result(up).
    let jobs = strings(&data(
        "label_values(up, job)",
        get_json(
            &s,
            "/api/v1/label/job/values",
            &[
                ("match[]", "up".into()),
                ("start", start.clone()),
                ("end", end.clone()),
            ],
        ),
    ));
    assert_eq!(jobs, ["bongsu"]);
    let d = data(
        "query_result(up)",
        post_form(
            &s,
            "/api/v1/query",
            &[("query", "up".into()), ("time", end.clone())],
        ),
    );
    assert_eq!(d["resultType"], "vector");
    assert_eq!(d["result"][0]["value"][1], "1");

    // Exemplars: a form POST with millisecond times; none stored, an empty list.
    let d = data(
        "query_exemplars",
        post_form(
            &s,
            "/api/v1/query_exemplars",
            &[
                ("query", "up".into()),
                ("start", start.clone()),
                ("end", end.clone()),
            ],
        ),
    );
    assert!(d.as_array().is_some(), "{d}");

    // The alerting view of a data-source-managed ruler: rules and alerts.
    let d = data("rules", get_json(&s, "/api/v1/rules", &[]));
    let rule = &d["groups"][0]["rules"][0];
    assert_eq!(rule["name"], "Always", "{d}");
    assert_eq!(rule["type"], "alerting");
    assert_eq!(rule["state"], "firing");
    assert_eq!(rule["health"], "ok");
    let d = data(
        "rules by type",
        get_json(&s, "/api/v1/rules", &[("type", "alert".into())]),
    );
    assert_eq!(d["groups"][0]["rules"][0]["name"], "Always");
    let d = data("alerts", get_json(&s, "/api/v1/alerts", &[]));
    assert_eq!(d["alerts"][0]["labels"]["alertname"], "Always");
    assert_eq!(d["alerts"][0]["state"], "firing");
}

#[test]
fn grafana_loki_data_source_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let s = start(tmp.path());
    let now_ns = (now_s() * 1e9) as i64;
    let first = now_ns - 120 * NS;
    let mut values = Vec::new();
    for i in 0..60 {
        let level = if i % 10 == 0 { "error" } else { "info" };
        values.push(json!([
            (first + i * NS).to_string(),
            format!("level={level} msg=\"request {i}\" duration={i}ms")
        ]));
    }
    let push = json!({"streams": [{"stream": {"job": "replay", "env": "test"}, "values": values}]});
    let (code, text) = loki::push_json(&s, push.to_string().as_bytes());
    assert_eq!(code, 204, "{text}");
    let (start, end) = ((now_ns - 3600 * NS).to_string(), now_ns.to_string());

    // The health check: `vector(1)+vector(1)` as an instant query at 4 s, in nanoseconds.
    let d = data(
        "health check",
        get_json(
            &s,
            "/loki/api/v1/query",
            &[
                ("direction", "backward".into()),
                ("query", "vector(1)+vector(1)".into()),
                ("time", (4 * NS).to_string()),
            ],
        ),
    );
    assert_eq!(d["resultType"], "vector");
    assert_eq!(d["result"].as_array().unwrap().len(), 1, "{d}");
    assert_eq!(d["result"][0]["value"][1], "2");

    // A logs panel: lines, newest first, the step in milliseconds (sent even for log queries).
    let d = data(
        "log lines",
        get_json(
            &s,
            "/loki/api/v1/query_range",
            &[
                ("direction", "backward".into()),
                ("limit", "1000".into()),
                ("query", "{job=\"replay\"} |= \"request\"".into()),
                ("start", start.clone()),
                ("end", end.clone()),
                ("step", "2000ms".into()),
            ],
        ),
    );
    assert_eq!(d["resultType"], "streams");
    // Streams split by the `detected_level` each line was given, as Loki answers them.
    let mut lines: Vec<(String, String)> = d["result"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|stream| stream["values"].as_array().unwrap().iter())
        .map(|v| (v[0].as_str().unwrap().into(), v[1].as_str().unwrap().into()))
        .collect();
    assert_eq!(lines.len(), 60);
    lines.sort();
    assert!(lines[59].1.contains("request 59"), "{lines:?}");
    assert!(d["stats"].is_object(), "Grafana reads the stats: {d}");

    // The logs volume Explore runs beside it, tagged as Grafana tags it.
    let r = s
        .http
        .get(s.url("/loki/api/v1/query_range"))
        .header("X-Query-Tags", "Source=logvolhist")
        .query(&[
            (
                "query",
                "sum by (level) (count_over_time({job=\"replay\"} | drop __error__[1m]))",
            ),
            ("start", &start),
            ("end", &end),
            ("step", "60000ms"),
            ("direction", "backward"),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().unwrap();
    assert_eq!(body["data"]["resultType"], "matrix");
    let total: f64 = body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|series| series["values"].as_array().unwrap().iter())
        .map(|p| p[1].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    assert!(total >= 60.0, "every line counted at least once: {body}");

    // The query editor's label browser and the data source's variable queries.
    let names = strings(&data(
        "labels",
        get_json(
            &s,
            "/loki/api/v1/labels",
            &[("start", start.clone()), ("end", end.clone())],
        ),
    ));
    for l in ["env", "job"] {
        assert!(names.contains(&l.to_string()), "{names:?}");
    }
    let jobs = strings(&data(
        "label values",
        get_json(
            &s,
            "/loki/api/v1/label/job/values",
            &[
                ("start", start.clone()),
                ("end", end.clone()),
                ("query", "{env=\"test\"}".into()),
            ],
        ),
    ));
    assert_eq!(jobs, ["replay"]);
    let series = data(
        "series",
        get_json(
            &s,
            "/loki/api/v1/series",
            &[
                ("match[]", "{job=\"replay\"}".into()),
                ("start", start.clone()),
                ("end", end.clone()),
            ],
        ),
    );
    // `service_name` as Loki discovers it (from `job` here).
    assert_eq!(
        series,
        json!([{"env": "test", "job": "replay", "service_name": "replay"}])
    );

    // The query inspector's and the query-size estimate's statistics.
    let (code, stats) = get_json(
        &s,
        "/loki/api/v1/index/stats",
        &[
            ("query", "{job=\"replay\"}".into()),
            ("start", start.clone()),
            ("end", end.clone()),
        ],
    );
    assert_eq!(code, 200, "{stats}");
    assert_eq!(stats["streams"], 1);
    assert_eq!(stats["entries"], 60);

    // A bad query: 400 with the message Grafana shows (`readLokiError` reads `message` or the text).
    let (code, text) = loki::get(
        &s,
        "/loki/api/v1/query_range",
        &[
            ("query", "{job=\"replay\"".into()),
            ("start", start.clone()),
            ("end", end.clone()),
        ],
    );
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("parse error"), "{text}");
}
