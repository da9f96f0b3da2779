//! OTLP logs: protobuf and JSON store the same streams, mapped as Loki 3 maps them; errors
//! are `google.rpc.Status` bodies with Loki's status codes.

use prost::Message;

use super::super::otlp::proto::{
    AnyValue, ExportLogsServiceRequest, InstrumentationScope, KeyValue, KeyValueList, LogRecord,
    Resource, ResourceLogs, ScopeLogs, Value,
};
use super::*;
use bongsu_model::log::LogEntry;

const PROTO: (&str, &str) = ("content-type", "application/x-protobuf");
const JSON: (&str, &str) = ("content-type", "application/json");

fn kv(k: &str, v: Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
    }
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn request() -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", s("checkout")),
                    kv("k8s.pod.name", s("pod-1")),
                    kv("host.name", s("h1")),
                ],
                dropped_attributes_count: 0,
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "app.logger".into(),
                    version: "1.2".into(),
                    attributes: vec![kv("lib", s("x"))],
                    dropped_attributes_count: 0,
                }),
                log_records: vec![
                    LogRecord {
                        time_unix_nano: (T0 + 1) as u64,
                        observed_time_unix_nano: (T0 + 2) as u64,
                        severity_number: 17,
                        severity_text: "ERROR".into(),
                        body: Some(AnyValue {
                            value: Some(s("payment failed")),
                        }),
                        attributes: vec![
                            kv("http.method", s("GET")),
                            kv(
                                "nested",
                                Value::Kvlist(KeyValueList {
                                    values: vec![
                                        kv("a", Value::Int(1)),
                                        kv("b.c", Value::Bool(true)),
                                    ],
                                }),
                            ),
                        ],
                        dropped_attributes_count: 0,
                        flags: 1,
                        trace_id: (1..=16).collect(),
                        span_id: (1..=8).collect(),
                        event_name: String::new(),
                    },
                    LogRecord {
                        observed_time_unix_nano: (T0 + 3) as u64,
                        body: Some(AnyValue {
                            value: Some(Value::Kvlist(KeyValueList {
                                values: vec![kv("msg", s("hi")), kv("n", Value::Double(1.5))],
                            })),
                        }),
                        ..Default::default()
                    },
                ],
            }],
        }],
    }
}

const REQUEST_JSON: &str = r#"{"resourceLogs":[{
  "resource":{"attributes":[
    {"key":"service.name","value":{"stringValue":"checkout"}},
    {"key":"k8s.pod.name","value":{"stringValue":"pod-1"}},
    {"key":"host.name","value":{"stringValue":"h1"}}]},
  "scopeLogs":[{
    "scope":{"name":"app.logger","version":"1.2","attributes":[{"key":"lib","value":{"stringValue":"x"}}]},
    "logRecords":[
      {"timeUnixNano":"1700000000000000001","observedTimeUnixNano":1700000000000000002,
       "severityNumber":"SEVERITY_NUMBER_ERROR","severityText":"ERROR",
       "body":{"stringValue":"payment failed"},
       "attributes":[{"key":"http.method","value":{"stringValue":"GET"}},
         {"key":"nested","value":{"kvlistValue":{"values":[{"key":"a","value":{"intValue":"1"}},
           {"key":"b.c","value":{"boolValue":true}}]}}}],
       "flags":1,"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708"},
      {"observed_time_unix_nano":"1700000000000000003",
       "body":{"kvlistValue":{"values":[{"key":"msg","value":{"stringValue":"hi"}},
         {"key":"n","value":{"doubleValue":1.5}}]}}}]}]}]}"#;

fn expected() -> Vec<(Vec<(String, String)>, Vec<LogEntry>)> {
    let resource_and_scope = [
        ("host_name", "h1"),
        ("lib", "x"),
        ("scope_name", "app.logger"),
        ("scope_version", "1.2"),
    ];
    let mut first = vec![
        ("http_method", "GET"),
        ("nested_a", "1"),
        ("nested_b_c", "true"),
        ("observed_timestamp", "1700000000000000002"),
        ("severity_number", "17"),
        ("severity_text", "ERROR"),
        ("flags", "1"),
        ("trace_id", "0102030405060708090a0b0c0d0e0f10"),
        ("span_id", "0102030405060708"),
    ];
    first.extend(resource_and_scope);
    first.push(("detected_level", "error"));
    let mut second = resource_and_scope.to_vec();
    second.push(("detected_level", "unknown"));
    vec![(
        pairs(&[("k8s_pod_name", "pod-1"), ("service_name", "checkout")]),
        vec![
            entry(T0 + 1, "payment failed", &first),
            entry(T0 + 3, r#"{"msg":"hi","n":1.5}"#, &second),
        ],
    )]
}

#[tokio::test]
async fn protobuf_and_json_store_as_loki_maps_them() {
    let proto = request().encode_to_vec();
    let cases: Vec<(&str, Vec<(&str, &str)>, Vec<u8>)> = vec![
        ("protobuf", vec![PROTO], proto.clone()),
        (
            "gzip protobuf",
            vec![PROTO, ("content-encoding", "gzip")],
            gzip(&proto),
        ),
        ("json", vec![JSON], REQUEST_JSON.into()),
    ];
    for (name, headers, body) in cases {
        let (answer, store) = send(Route::Otlp, &headers, body).await;
        assert_eq!(
            answer.status,
            StatusCode::NO_CONTENT,
            "{name}: {}",
            answer.text()
        );
        assert_eq!(store.streams(), expected(), "{name}");
    }
}

#[tokio::test]
async fn service_name_is_discovered_or_unknown() {
    let mut req = request();
    let attrs = &mut req.resource_logs[0].resource.as_mut().unwrap().attributes;
    attrs.remove(0);
    attrs.push(kv("k8s.container.name", s("web")));
    let (answer, store) = send(Route::Otlp, &[PROTO], req.encode_to_vec()).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text());
    assert_eq!(
        store.streams()[0].0,
        pairs(&[
            ("k8s_container_name", "web"),
            ("k8s_pod_name", "pod-1"),
            ("service_name", "web")
        ])
    );

    let mut req = request();
    req.resource_logs[0].resource = None;
    let (_, store) = send(Route::Otlp, &[PROTO], req.encode_to_vec()).await;
    assert_eq!(
        store.streams()[0].0,
        pairs(&[("service_name", "unknown_service")])
    );
}

#[tokio::test]
async fn errors_are_status_messages() {
    let cases: Vec<(Vec<(&str, &str)>, Vec<u8>, u16, &str)> = vec![
        (
            vec![("content-type", "text/plain")],
            b"x".to_vec(),
            415,
            "content type: text/plain is not supported",
        ),
        (
            vec![PROTO, ("content-encoding", "zstd")],
            b"x".to_vec(),
            415,
            "unsupported content encoding zstd: only gzip is supported by bongsu",
        ),
        (
            vec![PROTO, ("content-encoding", "br")],
            b"x".to_vec(),
            400,
            "unsupported content encoding br: only gzip, lz4 and zstd are supported",
        ),
        (
            vec![PROTO],
            ExportLogsServiceRequest::default().encode_to_vec(),
            422,
            "error at least one valid stream is required for ingestion",
        ),
        (
            vec![PROTO],
            {
                let mut r = request();
                r.resource_logs[0].scope_logs.clear();
                r.encode_to_vec()
            },
            422,
            "error at least one valid stream is required for ingestion",
        ),
    ];
    for (headers, body, status, text) in cases {
        let (answer, _) = send(Route::Otlp, &headers, body).await;
        assert_eq!(answer.status.as_u16(), status, "{text}");
        assert_eq!(answer.status_message(), text);
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/octet-stream")
        );
    }
    let (answer, _) = send(Route::Otlp, &[PROTO], b"\xff\xff".to_vec()).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer
        .status_message()
        .starts_with("decoding the OTLP request: "));

    // A store failure is 503 for OTLP, which collectors retry.
    let store = Arc::new(FakeStore {
        behaviour: Behaviour::Fail,
        ..FakeStore::default()
    });
    let answer = send_with(
        &LogReceiver::new(limits()),
        &store,
        Route::Otlp,
        &[PROTO],
        request().encode_to_vec(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.status_message(), "disk on fire");
}
