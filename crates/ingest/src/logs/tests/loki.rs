//! Loki's push API: each format stores the same streams; each refusal answers Loki's status
//! and text.

use prost::Message;

use super::super::loki::proto::{
    EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter, Timestamp,
};
use super::*;
use bongsu_model::log::LogEntry;

pub(super) const JSON: (&str, &str) = ("content-type", "application/json");
pub(super) const PROTO: (&str, &str) = ("content-type", "application/x-protobuf");

/// One push in every encoding: two streams, metadata, escapes, a non-ASCII line.
pub(super) const PUSH_JSON: &str = r#"{"streams":[
  {"stream":{"job":"app","app":"cart","env":"prod"},
   "values":[["1700000000000000001","{\"level\":\"error\",\"msg\":\"x\"}",{"trace_id":"abc","user.id":"7"}],
             ["1700000000000000002","line two \"quoted\"\n850µs"]]},
  {"stream":{"job":"syslog","host":"db-01","empty":""},
   "values":[["1700000000000000003","kernel: oom-kill"]]}]}"#;

fn push_proto() -> Vec<u8> {
    let ts = |ns: i64| {
        Some(Timestamp {
            seconds: ns / 1_000_000_000,
            nanos: (ns % 1_000_000_000) as i32,
        })
    };
    let pair = |n: &str, v: &str| LabelPairAdapter {
        name: n.into(),
        value: v.into(),
    };
    let req = PushRequest {
        streams: vec![
            StreamAdapter {
                labels: br#"{job="app", app="cart", env="prod"}"#.to_vec(),
                entries: vec![
                    EntryAdapter {
                        timestamp: ts(T0 + 1),
                        line: br#"{"level":"error","msg":"x"}"#.to_vec(),
                        structured_metadata: vec![pair("trace_id", "abc"), pair("user.id", "7")],
                        parsed: vec![],
                    },
                    EntryAdapter {
                        timestamp: ts(T0 + 2),
                        line: "line two \"quoted\"\n850µs".into(),
                        ..Default::default()
                    },
                ],
                hash: 0,
            },
            StreamAdapter {
                labels: br#"{job="syslog",host="db-01",empty=""}"#.to_vec(),
                entries: vec![EntryAdapter {
                    timestamp: ts(T0 + 3),
                    line: b"kernel: oom-kill".to_vec(),
                    ..Default::default()
                }],
                hash: 0,
            },
        ],
        format: vec![],
    };
    snappy(&req.encode_to_vec())
}

/// What every encoding of the push stores: `service_name` discovered, empty labels dropped,
/// metadata names normalized (sorted once one changes), `detected_level` added.
fn expected() -> Vec<(Vec<(String, String)>, Vec<LogEntry>)> {
    vec![
        (
            pairs(&[
                ("app", "cart"),
                ("env", "prod"),
                ("job", "app"),
                ("service_name", "cart"),
            ]),
            vec![
                entry(
                    T0 + 1,
                    r#"{"level":"error","msg":"x"}"#,
                    &[
                        ("trace_id", "abc"),
                        ("user_id", "7"),
                        ("detected_level", "error"),
                    ],
                ),
                entry(
                    T0 + 2,
                    "line two \"quoted\"\n850µs",
                    &[("detected_level", "unknown")],
                ),
            ],
        ),
        (
            pairs(&[
                ("host", "db-01"),
                ("job", "syslog"),
                ("service_name", "syslog"),
            ]),
            vec![entry(
                T0 + 3,
                "kernel: oom-kill",
                &[("detected_level", "unknown")],
            )],
        ),
    ]
}

#[tokio::test]
async fn every_format_stores_the_same_streams() {
    let cases: Vec<(&str, Route, Vec<(&str, &str)>, Vec<u8>)> = vec![
        ("json", Route::LokiV1, vec![JSON], PUSH_JSON.into()),
        (
            "gzip json",
            Route::LokiV1,
            vec![JSON, ("content-encoding", "gzip")],
            gzip(PUSH_JSON.as_bytes()),
        ),
        ("protobuf", Route::LokiV1, vec![PROTO], push_proto()),
        (
            "protobuf, snappy declared",
            Route::LokiV1,
            vec![PROTO, ("content-encoding", "snappy")],
            push_proto(),
        ),
        (
            "gzip protobuf",
            Route::LokiV1,
            vec![PROTO, ("content-encoding", "gzip")],
            gzip(&push_proto()),
        ),
        (
            "legacy protobuf",
            Route::LokiLegacy,
            vec![PROTO],
            push_proto(),
        ),
    ];
    for (name, route, headers, body) in cases {
        let (answer, store) = send(route, &headers, body).await;
        assert_eq!(
            answer.status,
            StatusCode::NO_CONTENT,
            "{name}: {}",
            answer.text()
        );
        assert!(answer.body.is_empty(), "{name}");
        assert_eq!(store.streams(), expected(), "{name}");
    }
}

#[tokio::test]
async fn legacy_json_has_its_own_shape() {
    let body = r#"{"streams":[{"labels":"{job=\"app\"}","entries":[
        {"ts":"2023-11-14T22:13:20.000000001Z","line":"hello"}]}]}"#;
    let (answer, store) = send(Route::LokiLegacy, &[JSON], body.into()).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text());
    assert_eq!(
        store.streams(),
        vec![(
            pairs(&[("job", "app"), ("service_name", "app")]),
            vec![entry(T0 + 1, "hello", &[("detected_level", "unknown")])]
        )]
    );
}

/// `gen_logs.py --format loki-json --lines 200 --batch 100`: every line is stored under its
/// stream's labels plus the discovered `service_name`.
#[tokio::test]
async fn gen_logs_bodies_are_stored_whole() {
    let data = include_str!("../../../tests/data/loki-push-200.jsonl");
    let receiver = LogReceiver::new(limits());
    let store = Arc::new(FakeStore::default());
    let mut want = 0;
    for body in data.lines() {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        for s in v["streams"].as_array().unwrap() {
            want += s["values"].as_array().unwrap().len();
        }
        let answer = send_with(&receiver, &store, Route::LokiV1, &[JSON], body.into()).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text());
    }
    let stored = store.streams();
    let lines: usize = stored.iter().map(|(_, e)| e.len()).sum();
    assert_eq!((want, lines), (200, 200));
    for (labels, entries) in &stored {
        let get = |n: &str| labels.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("service_name"), get("app").or(get("job")), "{labels:?}");
        for e in entries {
            let level = e.metadata.iter().find(|(n, _)| n == "detected_level");
            assert!(level.is_some(), "{e:?}");
            if let Some(l) = get("level") {
                assert_eq!(level.unwrap().1, l);
            }
        }
    }
}

/// A stream label string of `n` labels `l0="v"`, … (plus `app` so `service_name` is `x`).
pub(super) fn many_labels(n: usize) -> String {
    let mut s = String::from("{app=\"x\"");
    for i in 1..n {
        s.push_str(&format!(", l{i:02}=\"v\""));
    }
    s.push('}');
    s
}

pub(super) fn proto_stream(
    labels: &str,
    entries: Vec<(i64, String, Vec<(&str, &str)>)>,
) -> StreamAdapter {
    StreamAdapter {
        labels: labels.as_bytes().to_vec(),
        entries: entries
            .into_iter()
            .map(|(ns, line, md)| EntryAdapter {
                timestamp: Some(Timestamp {
                    seconds: ns.div_euclid(1_000_000_000),
                    nanos: ns.rem_euclid(1_000_000_000) as i32,
                }),
                line: line.into_bytes(),
                structured_metadata: md
                    .into_iter()
                    .map(|(n, v)| LabelPairAdapter {
                        name: n.into(),
                        value: v.into(),
                    })
                    .collect(),
                parsed: vec![],
            })
            .collect(),
        hash: 0,
    }
}

pub(super) fn proto_body(streams: Vec<StreamAdapter>) -> Vec<u8> {
    snappy(
        &PushRequest {
            streams,
            format: vec![],
        }
        .encode_to_vec(),
    )
}

pub(super) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

#[tokio::test]
async fn long_lines_are_truncated_when_configured() {
    let mut l = limits();
    l.max_line_size = 8;
    l.max_line_size_truncate = true;
    l.max_line_size_truncate_identifier = "...".into();
    let store = Arc::new(FakeStore::default());
    let body = proto_body(vec![proto_stream(
        r#"{app="x"}"#,
        vec![(T0, "0123456789".into(), vec![])],
    )]);
    let answer = send_with(&LogReceiver::new(l), &store, Route::LokiV1, &[PROTO], body).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text());
    assert_eq!(store.streams()[0].1[0].line, "01234...");
}

#[tokio::test]
async fn streams_without_entries_are_skipped() {
    let body = br#"{"streams":[{"stream":{"a":"b"},"values":[]},{"stream":{"a":"c"}}]}"#;
    let (answer, store) = send(Route::LokiV1, &[JSON], body.to_vec()).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert!(store.streams().is_empty());
}

#[tokio::test]
async fn store_refusals_answer_as_loki_ingester() {
    use bongsu_storage::logs::LogRejection;
    let behind = LogRejection::TooFarBehind {
        entry: "2023-11-14T22:13:20Z".into(),
        oldest_acceptable: "2023-11-14T23:13:20Z".into(),
    };
    let body = || {
        proto_body(vec![proto_stream(
            r#"{app="x"}"#,
            vec![(T0, "a".into(), vec![]), (T0 + 5, "b".into(), vec![])],
        )])
    };
    let store = Arc::new(FakeStore {
        behaviour: Behaviour::Refuse(vec![(0, 1, behind.clone())]),
        ..FakeStore::default()
    });
    let answer = send_with(
        &LogReceiver::new(limits()),
        &store,
        Route::LokiV1,
        &[PROTO],
        body(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.text(),
        format!(
            "entry with timestamp 2023-11-14 22:13:20.000000005 +0000 UTC ignored, reason: \
             '{behind}',\nuser 'fake', total ignored: 1 out of 2 for stream: {{app=\"x\", \
             service_name=\"x\"}}\n"
        )
    );
    assert_eq!(store.streams()[0].1.len(), 1);

    let limit = LogRejection::StreamLimit {
        stream: r#"{app="x", service_name="x"}"#.into(),
    };
    let store = Arc::new(FakeStore {
        behaviour: Behaviour::Refuse(vec![(0, 0, limit.clone()), (0, 1, limit.clone())]),
        ..FakeStore::default()
    });
    let answer = send_with(
        &LogReceiver::new(limits()),
        &store,
        Route::LokiV1,
        &[PROTO],
        body(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.text(), format!("{limit}\n"));

    let store = Arc::new(FakeStore {
        behaviour: Behaviour::Fail,
        ..FakeStore::default()
    });
    let answer = send_with(
        &LogReceiver::new(limits()),
        &store,
        Route::LokiV1,
        &[PROTO],
        body(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer.text(), "disk on fire\n");
}

#[tokio::test]
async fn malformed_bodies_are_bad_requests() {
    let cases: Vec<(Vec<(&str, &str)>, Vec<u8>, &str)> = vec![
        (
            vec![JSON],
            b"{".to_vec(),
            "decoding the JSON push request: ",
        ),
        (
            vec![JSON],
            br#"{"streams":[{"values":[[1,"x"]]}]}"#.to_vec(),
            "decoding the JSON push request: ",
        ),
        (
            vec![JSON],
            br#"{"streams":[{"values":[["1.5","x"]]}]}"#.to_vec(),
            "decoding the JSON push request: Value is not a number",
        ),
        (vec![PROTO], b"not snappy".to_vec(), "snappy: "),
        (
            vec![PROTO],
            snappy(b"\xff\xff\xff"),
            "decoding logproto.PushRequest: ",
        ),
        (
            vec![JSON, ("content-encoding", "gzip")],
            b"not gzip".to_vec(),
            "gzip: ",
        ),
    ];
    for (headers, body, prefix) in cases {
        let (answer, _) = send(Route::LokiV1, &headers, body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text());
        assert!(
            answer.text().starts_with(prefix),
            "{prefix}: {}",
            answer.text()
        );
    }
}

#[tokio::test]
async fn rate_limit_refills() {
    let mut l = limits();
    l.ingestion_rate_bytes = 1000;
    l.ingestion_burst_bytes = 100;
    let receiver = LogReceiver::new(l);
    let store = Arc::new(FakeStore::default());
    let body = || {
        proto_body(vec![proto_stream(
            r#"{app="x"}"#,
            vec![(T0, "x".repeat(60), vec![])],
        )])
    };
    let first = send_with(&receiver, &store, Route::LokiV1, &[PROTO], body()).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT, "{}", first.text());
    let second = send_with(&receiver, &store, Route::LokiV1, &[PROTO], body()).await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let third = send_with(&receiver, &store, Route::LokiV1, &[PROTO], body()).await;
    assert_eq!(third.status, StatusCode::NO_CONTENT);
}
