//! LogQL queries over a small store, answers checked by hand: log queries (filters, parsers,
//! limit, direction), range and vector aggregations, operators, the count shortcut.

use std::time::Duration;

use bongsu_logengine::{evaluate, LogqlValue, QueryError, QueryRange};
use bongsu_logstore::{Direction, LogStore, LogStoreOptions};
use bongsu_model::log::{LogEntry, LogStream};
use bongsu_model::Labels;
use bongsu_promql::QueryValue;

const S: i64 = 1_000_000_000;
/// 2023-11-14T22:13:20Z, where gen_logs.py's data starts.
const T0: i64 = 1_700_000_000 * S;

fn store(dir: &tempfile::TempDir) -> LogStore {
    let opts = LogStoreOptions {
        retention: Duration::from_secs(100 * 365 * 86_400),
        ..LogStoreOptions::default()
    };
    let store = LogStore::open(dir.path(), opts).unwrap();
    let stream = |pairs: &[(&str, &str)], lines: Vec<(i64, String)>| LogStream {
        labels: Labels::from_pairs(pairs).unwrap(),
        entries: lines
            .into_iter()
            .map(|(ts, line)| LogEntry {
                ts,
                line,
                metadata: Vec::new(),
            })
            .collect(),
    };
    // One app line every 10 s for 10 minutes, in two apps; nginx lines every 30 s.
    let app = |name: &str, base: f64| {
        stream(
            &[("job", "app"), ("app", name)],
            (0..60)
                .map(|i| {
                    let level = if i % 10 == 0 { "error" } else { "info" };
                    (
                        T0 + i * 10 * S + 1,
                        format!(
                            r#"{{"level":"{level}","duration_ms":{},"msg":"request {i}"}}"#,
                            base + i as f64
                        ),
                    )
                })
                .collect(),
        )
    };
    let nginx = stream(
        &[("job", "nginx")],
        (0..20)
            .map(|i| {
                let status = if i % 5 == 0 { 502 } else { 200 };
                (
                    T0 + i * 30 * S + 2,
                    format!(r#"1.2.3.4 - - [x] "GET /p{} HTTP/1.1" {status} 10"#, i % 3),
                )
            })
            .collect(),
    );
    let r = store
        .append(&[app("cart", 0.0), app("users", 100.0), nginx])
        .unwrap();
    assert!(r.rejected.is_empty());
    store
}

fn range(start: i64, end: i64, step: i64) -> QueryRange {
    QueryRange {
        start,
        end,
        step,
        interval: 0,
        direction: Direction::Backward,
        limit: 1000,
    }
}

fn run(store: &LogStore, q: &str, r: &QueryRange) -> Result<LogqlValue, QueryError> {
    evaluate(store, &bongsu_logql::parse(q).unwrap(), r)
}

fn vector(store: &LogStore, q: &str, at: i64) -> Vec<(String, f64)> {
    match run(store, q, &range(at, at, S)).unwrap() {
        LogqlValue::Metric(QueryValue::Vector(v)) => {
            v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect()
        }
        other => panic!("{q}: {other:?}"),
    }
}

#[test]
fn log_queries_filter_parse_limit_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let all = range(T0, T0 + 3600 * S, S);
    let LogqlValue::Streams(s) = run(&store, r#"{job="app"} |= "error""#, &all).unwrap() else {
        panic!()
    };
    assert_eq!(s.iter().map(|s| s.entries.len()).sum::<usize>(), 12);
    // Backward: newest first within a stream.
    assert!(s[0].entries[0].0 > s[0].entries[1].0);
    let mut r = range(T0, T0 + 3600 * S, S);
    r.limit = 3;
    r.direction = Direction::Forward;
    let LogqlValue::Streams(s) = run(
        &store,
        r#"{job="app"} | json | level="error" | app="users""#,
        &r,
    )
    .unwrap() else {
        panic!()
    };
    // Every line's parsed labels differ (msg, duration_ms): one stream each, as in Loki.
    assert_eq!(s.len(), 3);
    let labels: Vec<&str> = s[0].labels.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(labels, ["app", "duration_ms", "job", "level", "msg"]);
    let ts: Vec<i64> = s.iter().map(|s| s.entries[0].0).collect();
    assert_eq!(ts, [T0 + 1, T0 + 100 * S + 1, T0 + 200 * S + 1]);
    let LogqlValue::Streams(s) = run(
        &store,
        r#"{job="nginx"} | pattern `<_> - - [<_>] "<method> <path> <_>" <status> <_>` | status >= 500 | line_format "{{.path}}""#,
        &all,
    )
    .unwrap() else {
        panic!()
    };
    let lines: Vec<&str> = s
        .iter()
        .flat_map(|s| s.entries.iter().map(|e| e.1.as_str()))
        .collect();
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|l| l.starts_with("/p")), "{lines:?}");
}

/// Log queries read the streams on several threads: whatever the limit, direction and
/// filter, the answer is the one a single merge of every stream in time order gives (ties at
/// one timestamp across streams included), grouped by label set in the order first met.
#[test]
fn log_queries_over_many_streams_agree_with_one_merge() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(
        dir.path(),
        LogStoreOptions {
            retention: Duration::from_secs(100 * 365 * 86_400),
            ..LogStoreOptions::default()
        },
    )
    .unwrap();
    // Nine streams of unequal length; every third timestamp is shared by several streams.
    let streams: Vec<LogStream> = (0..9i64)
        .map(|k| LogStream {
            labels: Labels::from_pairs(&[("job", "svc"), ("k", &k.to_string())]).unwrap(),
            entries: (0..20 + 7 * k)
                .map(|i| LogEntry {
                    ts: T0 + if i % 3 == 0 { i * S } else { i * S + k },
                    line: format!(
                        "k={k} i={i} {}",
                        if (i + k) % 4 == 0 { "hit" } else { "miss" }
                    ),
                    metadata: Vec::new(),
                })
                .collect(),
        })
        .collect();
    assert!(store.append(&streams).unwrap().rejected.is_empty());
    for (query, needle) in [(r#"{job="svc"}"#, ""), (r#"{job="svc"} |= "hit""#, "hit")] {
        for direction in [Direction::Forward, Direction::Backward] {
            for limit in [1, 5, 17, 40, 1000] {
                let mut r = range(T0, T0 + 3600 * S, S);
                r.direction = direction;
                r.limit = limit;
                let LogqlValue::Streams(got) = run(&store, query, &r).unwrap() else {
                    panic!()
                };
                let sel = store
                    .select(
                        &[bongsu_model::Matcher::equal("job", "svc")],
                        r.start,
                        r.end - 1,
                    )
                    .unwrap();
                let opts = bongsu_logstore::ScanOptions {
                    direction,
                    limit: Some(limit),
                    needles: if needle.is_empty() {
                        Vec::new()
                    } else {
                        vec![bongsu_logstore::Needle::new(needle)]
                    },
                };
                let mut want: Vec<(String, Vec<(i64, String)>)> = Vec::new();
                sel.scan(&opts, |s, e| {
                    let labels = s.labels.to_string();
                    match want.iter_mut().find(|(l, _)| *l == labels) {
                        Some((_, entries)) => entries.push((e.ts, e.line.to_string())),
                        None => want.push((labels, vec![(e.ts, e.line.to_string())])),
                    }
                    std::ops::ControlFlow::Continue(())
                })
                .unwrap();
                let got: Vec<(String, Vec<(i64, String)>)> = got
                    .into_iter()
                    .map(|s| {
                        let pairs: Vec<(&str, &str)> = s
                            .labels
                            .iter()
                            .map(|(n, v)| (n.as_str(), v.as_str()))
                            .collect();
                        (Labels::from_pairs(&pairs).unwrap().to_string(), s.entries)
                    })
                    .collect();
                assert_eq!(got, want, "{query} {direction:?} limit {limit}");
            }
        }
    }
}

#[test]
fn range_and_vector_aggregations() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let end = T0 + 600 * S;
    assert_eq!(
        vector(&store, r#"sum(count_over_time({job=~".+"}[10m]))"#, end),
        [("{}".to_string(), 140.0)]
    );
    // The same without the count shortcut.
    assert_eq!(
        vector(
            &store,
            r#"sum(count_over_time({job=~".+"} |= "" [10m]))"#,
            end
        ),
        [("{}".to_string(), 140.0)]
    );
    assert_eq!(
        vector(
            &store,
            r#"sum by (app) (count_over_time({job="app"} |= "error" [10m]))"#,
            end
        ),
        [
            (r#"{app="cart"}"#.to_string(), 6.0),
            (r#"{app="users"}"#.to_string(), 6.0)
        ]
    );
    // Every line a series of its own after `| json`, summed by level.
    assert_eq!(
        vector(
            &store,
            r#"sum by (level) (count_over_time({job="app"} | json [10m]))"#,
            end
        ),
        [
            (r#"{level="error"}"#.to_string(), 12.0),
            (r#"{level="info"}"#.to_string(), 108.0)
        ]
    );
    assert_eq!(
        vector(&store, r#"rate({job="nginx"}[10m])"#, end),
        [(r#"{job="nginx"}"#.to_string(), 20.0 / 600.0)]
    );
    // quantile over both apps' samples per app (grouped before the window function).
    let q = vector(
        &store,
        r#"quantile_over_time(0.5, {job="app"} | json | unwrap duration_ms | __error__="" [10m]) by (job)"#,
        end,
    );
    assert_eq!(q, [(r#"{job="app"}"#.to_string(), 79.5)]);
    let top = vector(
        &store,
        r#"topk(1, max_over_time({job="app"} | json duration_ms | unwrap duration_ms [10m]) by (app))"#,
        end,
    );
    assert_eq!(top, [(r#"{app="users"}"#.to_string(), 159.0)]);
    let ratio = vector(
        &store,
        r#"sum(count_over_time({job="nginx"} |= " 502 " [10m])) / sum(count_over_time({job="nginx"}[10m]))"#,
        end,
    );
    assert_eq!(ratio, [("{}".to_string(), 0.2)]);
    assert_eq!(
        vector(&store, r#"count_over_time({job="nginx"}[10m]) > 100"#, end),
        []
    );
    assert_eq!(
        vector(&store, r#"absent_over_time({job="nothing"}[10m])"#, end),
        [(r#"{job="nothing"}"#.to_string(), 1.0)]
    );
}

#[test]
fn range_queries_step_through_windows() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let r = range(T0 + 100 * S, T0 + 600 * S, 100 * S);
    let LogqlValue::Metric(QueryValue::Matrix(m)) =
        run(&store, r#"sum(count_over_time({job="app"}[100s]))"#, &r).unwrap()
    else {
        panic!()
    };
    assert_eq!(m.len(), 1);
    // Windows (t-100s, t]: lines at +1ns of every 10 s, 10 per app per window.
    let values: Vec<f64> = m[0].points.iter().map(|p| p.v).collect();
    assert_eq!(values, [20.0, 20.0, 20.0, 20.0, 20.0, 20.0]);
    assert_eq!(m[0].points[0].t, (T0 + 100 * S) / 1_000_000);
}

#[test]
fn errors_in_metric_queries_are_loki_pipeline_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let err = run(
        &store,
        r#"sum(count_over_time({job="nginx"} | json [10m]))"#,
        &range(T0 + 600 * S, T0 + 600 * S, S),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("pipeline error: 'JSONParserErr' for series: '{"),
        "{msg}"
    );
    assert!(
        msg.ends_with("Use a label filter to intercept this error."),
        "{msg}"
    );
}
