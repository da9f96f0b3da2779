//! Promtail pipelines over the shared realistic log data set (`gen_logs.py`): an nginx
//! access log counted by status into the TSDB and queried with PromQL; JSON application
//! logs parsed into labels, time and structured metadata. Expected values are computed
//! from the lines by the test itself, independently of the stages.

mod gen_logs;

use std::collections::BTreeMap;

use bongsu_logcollect::stages::{Pipeline, PipelineMetrics};
use bongsu_promql::{Engine, QueryValue};
use bongsu_storage::memory::MemStorage;

const LINES: usize = 20_000;

const NGINX: &str = r#"
- match:
    selector: '{job="nginx", filename=~".*access.log"}'
    stages:
      - regex:
          expression: '^(?P<remote_addr>\S+) - (?P<remote_user>\S+) \[(?P<time_local>[^\]]+)\] "(?P<method>\S+) (?P<path>\S+) (?P<protocol>[^"]+)" (?P<status>\d{3}) (?P<bytes>\d+) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)" (?P<request_time>\S+)'
      - labels: {status: , method: }
      - timestamp: {source: time_local, format: '02/Jan/2006:15:04:05 -0700'}
      - metrics:
          http_requests_total:
            type: counter
            source: status
            config: {action: inc}
          http_request_duration_seconds:
            type: histogram
            source: request_time
            config: {buckets: [0.05, 0.1, 0.5, 1, 5]}
- match:
    selector: '{filename!~".*access.log"}'
    action: drop
"#;

#[test]
fn nginx_access_log_becomes_prometheus_series() {
    let Some(entries) = gen_logs::entries(LINES) else {
        eprintln!("skipped: gen_logs.py is absent");
        return;
    };
    let metrics = PipelineMetrics::default();
    let stages: serde_yaml_ng::Value = serde_yaml_ng::from_str(NGINX).unwrap();
    let mut p = Pipeline::new(&stages, "nginx", &metrics).unwrap();

    // What the test expects, read from the lines without the stages: the status is the
    // first 3-digit field after the quoted request.
    let mut want: BTreeMap<String, f64> = BTreeMap::new();
    let mut kept = 0;
    for e in entries {
        let access = e.labels.get("job") == Some("nginx")
            && e.labels
                .get("filename")
                .is_some_and(|f| f.ends_with("access.log"));
        if access {
            let status = e
                .line
                .split('"')
                .nth(2)
                .and_then(|s| s.split_whitespace().next());
            *want.entry(status.unwrap().to_string()).or_default() += 1.0;
        }
        let out = p.process(e);
        kept += out.len();
        for o in &out {
            assert!(o.labels.get("status").is_some(), "{o:?}");
            // The line's own time, not the read time: within the day gen_logs covers.
            assert!(o.ts >= 1_699_920_000_000_000_000 && o.ts < 1_700_100_000_000_000_000);
        }
    }
    assert!(!want.is_empty(), "no nginx access lines in the data set");
    assert_eq!(kept as f64, want.values().sum::<f64>());
    assert_eq!(metrics.dropped("match_stage") as usize, LINES - kept);

    let db = MemStorage::new();
    let t = 1_000_000;
    let stats = metrics.append_to(&db, t).unwrap();
    assert_eq!(stats.rejected, 0);
    let engine = Engine::default();
    let q = "sum by (status) (promtail_custom_http_requests_total)";
    let QueryValue::Vector(v) = engine.instant_query(&db, q, t).unwrap().value else {
        panic!("{q}: not a vector");
    };
    let got: BTreeMap<String, f64> = v
        .iter()
        .map(|s| (s.labels.get("status").unwrap().to_string(), s.v))
        .collect();
    assert_eq!(got, want);

    let q = "sum(promtail_custom_http_request_duration_seconds_count)";
    let QueryValue::Vector(v) = engine.instant_query(&db, q, t).unwrap().value else {
        panic!("{q}: not a vector");
    };
    assert_eq!(v[0].v, kept as f64);
    let q = "histogram_quantile(0.5, sum by (le) (promtail_custom_http_request_duration_seconds_bucket))";
    let QueryValue::Vector(v) = engine.instant_query(&db, q, t).unwrap().value else {
        panic!("{q}: not a vector");
    };
    assert!(v[0].v > 0.0 && v[0].v <= 5.0, "median {}", v[0].v);
}

const APP: &str = r#"
- match:
    selector: '{job="app"}'
    stages:
      - json:
          expressions: {ts: , level: , msg: , trace_id: , duration_ms: }
      - timestamp: {source: ts, format: RFC3339Nano}
      - labels: {level: }
      - structured_metadata: {trace_id: }
      - template: {source: msg, template: '{{ .msg | ToUpper }}'}
      - output: {source: msg}
"#;

#[test]
fn json_app_logs_get_labels_time_and_metadata() {
    let Some(entries) = gen_logs::entries(LINES) else {
        eprintln!("skipped: gen_logs.py is absent");
        return;
    };
    let stages: serde_yaml_ng::Value = serde_yaml_ng::from_str(APP).unwrap();
    let mut p = Pipeline::new(&stages, "app", &PipelineMetrics::default()).unwrap();
    let mut apps = 0;
    for e in entries {
        let is_app = e.labels.get("job") == Some("app");
        let before = e.clone();
        let out = p.process(e);
        assert_eq!(out.len(), 1);
        let o = &out[0];
        if !is_app {
            assert_eq!(o, &before, "non-app entries pass unchanged");
            continue;
        }
        apps += 1;
        let doc: serde_json::Value = serde_json::from_str(&before.line).unwrap();
        let ts: jiff::Timestamp = doc["ts"].as_str().unwrap().parse().unwrap();
        assert_eq!(o.ts, ts.as_nanosecond() as i64, "{}", before.line);
        assert_eq!(o.labels.get("level"), doc["level"].as_str());
        assert_eq!(o.line, doc["msg"].as_str().unwrap().to_uppercase());
        let trace = doc["trace_id"]
            .as_str()
            .map(|t| ("trace_id".to_string(), t.to_string()));
        assert_eq!(o.metadata, trace.into_iter().collect::<Vec<_>>());
    }
    assert!(apps > 0, "no app lines in the data set");
}
