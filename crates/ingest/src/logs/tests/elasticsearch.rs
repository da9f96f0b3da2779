//! Elasticsearch `_bulk`: documents mapped to lines, per-item results in order, whole bodies
//! refused with Elasticsearch's error object, gzip and the size limits.

use serde_json::{json, Value};

use super::*;
use crate::logs::elasticsearch::{BulkOptions, DEFAULT_LABEL_FIELDS};

/// 2023-11-14T22:13:20.5Z.
const TS: &str = "2023-11-14T22:13:20.5Z";

fn options() -> BulkOptions {
    let fields: Vec<String> = DEFAULT_LABEL_FIELDS.iter().map(|s| s.to_string()).collect();
    BulkOptions::new(&fields)
}

/// A body of NDJSON lines, newline-terminated.
fn ndjson(lines: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

async fn bulk_with(
    receiver: &LogReceiver,
    store: &Arc<FakeStore>,
    opts: BulkOptions,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut h = HeaderMap::new();
    for (n, v) in headers {
        h.insert(
            header::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let target: Arc<dyn LogAppendable> = store.clone();
    let response = receiver
        .handle_es_bulk(target, &h, opts, Body::from(body))
        .await;
    let status = response.status();
    assert_eq!(
        response.headers().get("x-elastic-product").unwrap(),
        "Elasticsearch"
    );
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn bulk(body: Vec<u8>) -> (StatusCode, Value, Arc<FakeStore>) {
    let store = Arc::new(FakeStore::default());
    let receiver = LogReceiver::new(limits());
    let (status, answer) = bulk_with(&receiver, &store, options(), &[], body).await;
    (status, answer, store)
}

/// Each item's (action, status, error type or "").
fn results(answer: &Value) -> Vec<(String, u64, String)> {
    answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let (action, r) = item.as_object().unwrap().iter().next().unwrap();
            let kind = r["error"]["type"].as_str().unwrap_or("").to_string();
            (action.clone(), r["status"].as_u64().unwrap(), kind)
        })
        .collect()
}

fn ok(action: &str) -> (String, u64, String) {
    (action.into(), 201, String::new())
}

fn refused(action: &str, kind: &str) -> (String, u64, String) {
    (action.into(), 400, kind.into())
}

#[tokio::test]
async fn index_and_create_write_lines_with_labels_and_metadata() {
    let body = ndjson(&[
        json!({"create": {"_index": "logs-a", "_id": "id-1"}}),
        json!({"@timestamp": TS, "message": "GET / 200", "host": {"name": "web-1"},
               "service.name": "shop", "log": {"file": {"path": "/var/log/a"}, "offset": 42},
               "tags": ["a", "b"], "ok": true, "gone": null}),
        json!({"index": {}}),
        json!({"@timestamp": 1_700_000_000_500i64, "message": "second", "host.name": "web-1",
               "service": {"name": "shop"}}),
    ]);
    let store = Arc::new(FakeStore::default());
    let receiver = LogReceiver::new(limits());
    let opts = BulkOptions {
        index: Some("from-path".into()),
        ..options()
    };
    let (status, answer) = bulk_with(&receiver, &store, opts, &[], body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["errors"], false);
    assert_eq!(results(&answer), vec![ok("create"), ok("index")]);
    let first = &answer["items"][0]["create"];
    assert_eq!(first["_index"], "logs-a");
    assert_eq!(first["_id"], "id-1");
    assert_eq!(first["result"], "created");
    assert_eq!(answer["items"][1]["index"]["_index"], "from-path");
    assert_eq!(
        answer["items"][1]["index"]["_id"].as_str().unwrap().len(),
        20
    );

    let ts = T0 + 500_000_000;
    let level = ("detected_level", "unknown");
    assert_eq!(
        store.streams(),
        vec![
            (
                pairs(&[
                    ("host_name", "web-1"),
                    ("index", "logs-a"),
                    ("service_name", "shop")
                ]),
                vec![entry(
                    ts,
                    "GET / 200",
                    &[
                        ("log_file_path", "/var/log/a"),
                        ("log_offset", "42"),
                        ("ok", "true"),
                        ("tags", r#"["a","b"]"#),
                        level,
                    ]
                )]
            ),
            (
                pairs(&[
                    ("host_name", "web-1"),
                    ("index", "from-path"),
                    ("service_name", "shop")
                ]),
                vec![entry(ts, "second", &[level])]
            ),
        ]
    );
}

#[tokio::test]
async fn a_document_without_message_is_its_own_line() {
    let doc = r#"{"@timestamp":"2023-11-14T22:13:20.5Z","event":{"kind":"x"},"n":1}"#;
    let body = format!("{{\"create\":{{\"_index\":\"i\"}}}}\n{doc}\n");
    let (status, answer, store) = bulk(body.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["errors"], false);
    let streams = store.streams();
    assert_eq!(
        streams[0].0,
        pairs(&[("index", "i"), ("service_name", "unknown_service")])
    );
    assert_eq!(streams[0].1[0].line, doc);
    assert_eq!(streams[0].1[0].ts, T0 + 500_000_000);
}

#[tokio::test]
async fn a_document_without_time_takes_the_receive_time() {
    let before = super::super::handler::now_ns();
    let (status, _, store) = bulk(ndjson(&[
        json!({"index": {"_index": "i"}}),
        json!({"message": "m"}),
    ]))
    .await;
    assert_eq!(status, StatusCode::OK);
    let ts = store.streams()[0].1[0].ts;
    assert!(ts >= before && ts <= super::super::handler::now_ns());
}

#[tokio::test]
async fn bad_documents_and_other_actions_fail_their_item_only() {
    let body = [
        r#"{"create":{"_index":"i"}}"#,
        r#"{"message": "fine", "@timestamp": "2023-11-14T22:13:20Z"}"#,
        r#"{"create":{"_index":"i"}}"#,
        r#"{"message": "broken"#,
        r#"{"delete":{"_index":"i","_id":"1"}}"#,
        r#"{"update":{"_index":"i","_id":"2"}}"#,
        r#"{"doc":{"message":"x"}}"#,
        r#"{"index":{"_index":"i"}}"#,
        r#"[1,2]"#,
        r#"{"index":{"_index":"i"}}"#,
        r#"{"message": "bad time", "@timestamp": "yesterday"}"#,
        r#"{"index":{"_index":"i"}}"#,
        r#"{"message": "also fine", "@timestamp": "2023-11-14T22:13:21Z"}"#,
        "",
    ]
    .join("\n");
    let (status, answer, store) = bulk(body.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["errors"], true);
    let parsing = "document_parsing_exception";
    let illegal = "illegal_argument_exception";
    assert_eq!(
        results(&answer),
        vec![
            ok("create"),
            refused("create", parsing),
            refused("delete", illegal),
            refused("update", illegal),
            refused("index", parsing),
            refused("index", parsing),
            ok("index"),
        ]
    );
    let reason = answer["items"][2]["delete"]["error"]["reason"]
        .as_str()
        .unwrap();
    assert!(reason.contains("not supported by bongsu"), "{reason}");
    let reason = answer["items"][5]["index"]["error"]["reason"]
        .as_str()
        .unwrap();
    assert!(reason.contains("[@timestamp]"), "{reason}");
    let lines: Vec<String> = store.streams()[0]
        .1
        .iter()
        .map(|e| e.line.clone())
        .collect();
    assert_eq!(lines, ["fine", "also fine"]);
}

#[tokio::test]
async fn malformed_bodies_are_refused_whole() {
    let cases: &[(&[u8], &str, &str)] = &[
        (
            b"{\"create\":{\"_index\":\"i\"}}\n{}",
            "illegal_argument_exception",
            "terminated by a newline",
        ),
        (
            b"",
            "action_request_validation_exception",
            "no requests added",
        ),
        (b"{\"create\":\n", "x_content_parse_exception", "[1:"),
        (
            b"{\"upsert\":{}}\n{}\n",
            "illegal_argument_exception",
            "but found [upsert]",
        ),
        (
            b"\"create\"\n{}\n",
            "illegal_argument_exception",
            "expected START_OBJECT",
        ),
        (
            b"{\"create\":{}}\n{}\n",
            "action_request_validation_exception",
            "index is missing",
        ),
        (
            b"{\"create\":{\"_index\":\"i\"}}\n",
            "illegal_argument_exception",
            "not followed by a document",
        ),
        (
            b"{\"create\":{\"_index\":3}}\n{}\n",
            "illegal_argument_exception",
            "must be a string",
        ),
    ];
    for (body, kind, reason) in cases {
        let (status, answer, store) = bulk(body.to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["status"], 400);
        assert_eq!(answer["error"]["type"], *kind, "{answer}");
        assert_eq!(answer["error"]["root_cause"][0]["type"], *kind);
        let text = answer["error"]["reason"].as_str().unwrap();
        assert!(text.contains(reason), "{text} lacks {reason}");
        assert!(store.streams().is_empty());
    }
}

#[tokio::test]
async fn gzip_bodies_and_the_size_limits() {
    let body = ndjson(&[
        json!({"index": {"_index": "i"}}),
        json!({"message": "m", "@timestamp": TS}),
    ]);
    let store = Arc::new(FakeStore::default());
    let receiver = LogReceiver::new(limits());
    let gz = [("content-encoding", "gzip")];
    let (status, answer) = bulk_with(&receiver, &store, options(), &gz, gzip(&body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(store.streams()[0].1[0].line, "m");

    let zstd = [("content-encoding", "zstd")];
    let (status, answer) = bulk_with(&receiver, &store, options(), &zstd, body.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

    let small = LogReceiver::new(LogLimits {
        max_body_bytes: 64,
        max_decompressed_bytes: 100,
        ..limits()
    });
    let big = ndjson(&[
        json!({"index": {"_index": "i"}}),
        json!({"message": "x".repeat(200)}),
    ]);
    let (status, answer) = bulk_with(&small, &store, options(), &[], big.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert_eq!(answer["status"], 413);
    // Small on the wire, over the limit once decompressed.
    let (status, answer) = bulk_with(&small, &store, options(), &gz, gzip(&big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
}

#[tokio::test]
async fn documents_over_the_limits_fail_their_item() {
    let store = Arc::new(FakeStore::default());
    let receiver = LogReceiver::new(LogLimits {
        max_line_size: 10,
        max_structured_metadata_count: 2,
        max_label_names_per_series: 2,
        ..limits()
    });
    let body = ndjson(&[
        json!({"index": {"_index": "i"}}),
        json!({"message": "way over ten bytes", "@timestamp": TS}),
        json!({"index": {"_index": "i"}}),
        json!({"message": "short", "@timestamp": TS, "a": 1, "b": 2, "c": 3}),
        json!({"index": {"_index": "i"}}),
        json!({"message": "labels", "@timestamp": TS, "host": {"name": "h"}, "service.name": "s",
               "team": "t"}),
        json!({"index": {"_index": "i"}}),
        json!({"message": "fits", "@timestamp": TS}),
    ]);
    let opts = options().with_query([("_stream_fields", "host.name,service.name,team")]);
    let (status, answer) = bulk_with(&receiver, &store, opts, &[], body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let illegal = "illegal_argument_exception";
    assert_eq!(
        results(&answer),
        vec![
            refused("index", illegal),
            refused("index", illegal),
            refused("index", illegal),
            ok("index"),
        ]
    );
    let reason = answer["items"][0]["index"]["error"]["reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.starts_with("max entry size '10' bytes exceeded"),
        "{reason}"
    );
    let reason = answer["items"][2]["index"]["error"]["reason"]
        .as_str()
        .unwrap();
    assert!(reason.contains("has 3 label names; limit 2"), "{reason}");
    assert_eq!(store.streams().len(), 1);
    assert_eq!(
        receiver
            .stats()
            .lines_refused
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );
}

#[tokio::test]
async fn query_arguments_choose_the_fields() {
    let store = Arc::new(FakeStore::default());
    let receiver = LogReceiver::new(limits());
    let body = ndjson(&[
        json!({"index": {"_index": "i"}}),
        json!({"msg": "the line", "message": "metadata now", "ts": "1700000000500",
               "job": "app", "@timestamp": "ignored", "index": "not a label"}),
    ]);
    let opts = options().with_query([
        ("_msg_field", "nope,msg"),
        ("_time_field", "ts"),
        ("_stream_fields", "job,index"),
        ("filter_path", "errors"),
    ]);
    let (status, answer) = bulk_with(&receiver, &store, opts, &[], body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        store.streams(),
        vec![(
            pairs(&[("index", "i"), ("job", "app"), ("service_name", "app")]),
            vec![entry(
                T0 + 500_000_000,
                "the line",
                &[
                    ("_timestamp", "ignored"),
                    ("index", "not a label"),
                    ("message", "metadata now"),
                    ("detected_level", "unknown")
                ]
            )]
        )]
    );
}

#[tokio::test]
async fn store_refusals_fail_their_items() {
    let store = Arc::new(FakeStore {
        behaviour: Behaviour::Refuse(vec![(
            0,
            1,
            LogRejection::StreamLimit {
                stream: "{}".into(),
            },
        )]),
        ..FakeStore::default()
    });
    let body = ndjson(&[
        json!({"index": {"_index": "i"}}),
        json!({"message": "a", "@timestamp": TS}),
        json!({"index": {"_index": "i"}}),
        json!({"message": "b", "@timestamp": TS}),
    ]);
    let (status, answer) =
        bulk_with(&LogReceiver::new(limits()), &store, options(), &[], body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        results(&answer),
        vec![
            ok("index"),
            (
                "index".into(),
                429,
                "es_rejected_execution_exception".into()
            )
        ]
    );

    let failing = Arc::new(FakeStore {
        behaviour: Behaviour::Fail,
        ..FakeStore::default()
    });
    let body = ndjson(&[json!({"index": {"_index": "i"}}), json!({"message": "a"})]);
    let (status, answer) =
        bulk_with(&LogReceiver::new(limits()), &failing, options(), &[], body).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{answer}");
    assert_eq!(answer["error"]["type"], "exception");
}
