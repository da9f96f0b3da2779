//! Every refusal of Loki's push API, one table row each: limits, request, and Loki's status
//! and text; the lines still written.

use super::loki::{many_labels, now_ns, proto_body, proto_stream, JSON, PROTO, PUSH_JSON};
use super::*;
use crate::logs::limits::DEFAULT_MAX_LINE_SIZE;

/// A refusal: limits, headers, body, and Loki's status and text; `stored` lines still written.
struct Refusal {
    name: &'static str,
    limits: fn(&mut LogLimits),
    headers: Vec<(&'static str, &'static str)>,
    body: Vec<u8>,
    status: u16,
    text: String,
    stored: usize,
}

fn keep(_: &mut LogLimits) {}

fn refusals() -> Vec<Refusal> {
    let long = "x".repeat(DEFAULT_MAX_LINE_SIZE + 1);
    let s15 = many_labels(16);
    let shown16 = {
        let mut pairs: Vec<(String, String)> = vec![("app".into(), "x".into())];
        pairs.extend((1..16).map(|i| (format!("l{i:02}"), "v".to_string())));
        pairs.push(("service_name".into(), "x".into()));
        crate::logs::gofmt::labels_string(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    };
    let ok_line = || (T0, "ok".to_string(), vec![]);
    let app = r#"{app="x"}"#;
    let app_shown = r#"{app="x", service_name="x"}"#;
    vec![
        Refusal {
            name: "unparsable labels fail the whole push",
            limits: keep,
            headers: vec![PROTO],
            body: proto_body(vec![
                proto_stream(app, vec![ok_line()]),
                proto_stream(r#"{a.b="c"}"#, vec![ok_line()]),
            ]),
            status: 400,
            text: "couldn't parse labels: 1:3: parse error: unexpected character inside braces: '.'".into(),
            stored: 0,
        },
        Refusal {
            name: "a JSON label name Prometheus cannot lex",
            limits: keep,
            headers: vec![JSON],
            body: br#"{"streams":[{"stream":{"a.b":"c"},"values":[["1","x"]]}]}"#.to_vec(),
            status: 400,
            text: "couldn't parse labels: 1:3: parse error: unexpected character inside braces: '.'".into(),
            stored: 0,
        },
        Refusal {
            name: "16 label names",
            limits: keep,
            headers: vec![PROTO],
            body: proto_body(vec![
                proto_stream(&s15, vec![ok_line()]),
                proto_stream(app, vec![ok_line()]),
            ]),
            status: 400,
            text: format!("entry for stream '{shown16}' has 16 label names; limit 15"),
            stored: 1,
        },
        Refusal {
            name: "label name too long",
            limits: |l| l.max_label_name_length = 3,
            headers: vec![PROTO],
            body: proto_body(vec![proto_stream(r#"{app="x", long="v"}"#, vec![ok_line()])]),
            status: 400,
            text: r#"stream '{app="x", long="v", service_name="x"}' has label name too long: 'long'"#.into(),
            stored: 0,
        },
        Refusal {
            name: "label value too long",
            limits: |l| l.max_label_value_length = 2,
            headers: vec![PROTO],
            body: proto_body(vec![proto_stream(r#"{app="x", b="long"}"#, vec![ok_line()])]),
            status: 400,
            text: r#"stream '{app="x", b="long", service_name="x"}' has label value too long: 'long'"#.into(),
            stored: 0,
        },
        Refusal {
            name: "duplicate label names",
            limits: keep,
            headers: vec![PROTO],
            body: proto_body(vec![proto_stream(r#"{a="1", a="2"}"#, vec![ok_line()])]),
            status: 400,
            text: r#"stream '{a="1", a="2", service_name="unknown_service"}' has duplicate label name: 'a'"#.into(),
            stored: 0,
        },
        Refusal {
            name: "a line over max_line_size, the others written",
            limits: keep,
            headers: vec![PROTO],
            body: proto_body(vec![proto_stream(app, vec![ok_line(), (T0, long.clone(), vec![])])]),
            status: 400,
            text: format!(
                "max entry size '262144' bytes exceeded for stream '{app_shown}' while adding an \
                 entry with length '262145' bytes"
            ),
            stored: 1,
        },
        Refusal {
            name: "too old",
            limits: |l| l.reject_old_samples = true,
            headers: vec![PROTO],
            body: proto_body(vec![proto_stream(app, vec![ok_line(), (now_ns(), "new".into(), vec![])])]),
            status: 400,
            // The clock's second may turn between here and the receiver: compare the date.
            text: format!(
                "entry for stream '{app_shown}' has timestamp too old: 2023-11-14T22:13:20Z, \
                 oldest acceptable timestamp is: {}…",
                &crate::logs::gofmt::rfc3339(now_ns() - 7 * 24 * 3600 * 1_000_000_000)[..10]
            ),
            stored: 1,
        },
        Refusal {
            name: "too new",
            limits: keep,
            headers: vec![PROTO],
            body: proto_body(vec![proto_stream(app, vec![(4_000_000_000_000_000_000, "x".into(), vec![])])]),
            status: 400,
            text: format!("entry for stream '{app_shown}' has timestamp too new: 2096-10-02T07:06:40Z"),
            stored: 0,
        },
        Refusal {
            name: "structured metadata too large",
            limits: |l| l.max_structured_metadata_size = 4,
            headers: vec![PROTO],
            body: proto_body(vec![proto_stream(app, vec![(T0, "x".into(), vec![("ab", "cde")])])]),
            status: 400,
            text: format!(
                "stream '{app_shown}' has structured metadata too large: '5' bytes, limit: '4' \
                 bytes. Please see `limits_config.max_structured_metadata_size` or contact your \
                 Loki administrator to increase it"
            ),
            stored: 0,
        },
        Refusal {
            name: "too many structured metadata",
            limits: |l| l.max_structured_metadata_count = 1,
            headers: vec![PROTO],
            body: proto_body(vec![proto_stream(app, vec![(T0, "x".into(), vec![("a", "1"), ("b", "2")])])]),
            status: 400,
            text: format!(
                "stream '{app_shown}' has too many structured metadata labels: '2', limit: '1'. \
                 Please see `limits_config.max_structured_metadata_entries_count` or contact \
                 your Loki administrator to increase it"
            ),
            stored: 0,
        },
        Refusal {
            name: "structured metadata disallowed",
            limits: |l| l.allow_structured_metadata = false,
            headers: vec![PROTO],
            body: proto_body(vec![proto_stream(app, vec![(T0, "x".into(), vec![("a", "1")])])]),
            status: 400,
            text: format!(
                "stream '{app_shown}' includes structured metadata, but this feature is \
                 disallowed. Please see `limits_config.allow_structured_metadata` or contact \
                 your Loki administrator to enable it"
            ),
            stored: 0,
        },
        Refusal {
            name: "errors grouped as Loki groups them",
            limits: |l| l.max_line_size = 1,
            headers: vec![PROTO],
            body: proto_body(vec![proto_stream(
                app,
                vec![(T0, "ab".into(), vec![]), (T0, "ab".into(), vec![]), (T0, "abc".into(), vec![])],
            )]),
            status: 400,
            text: format!(
                "2 errors like: max entry size '1' bytes exceeded for stream '{app_shown}' while \
                 adding an entry with length '2' bytes; 1 errors like: max entry size '1' bytes \
                 exceeded for stream '{app_shown}' while adding an entry with length '3' bytes"
            ),
            stored: 0,
        },
        Refusal {
            name: "no streams",
            limits: keep,
            headers: vec![JSON],
            body: br#"{"streams":[]}"#.to_vec(),
            status: 422,
            text: "error at least one valid stream is required for ingestion".into(),
            stored: 0,
        },
        Refusal {
            name: "over the ingestion rate",
            limits: |l| {
                l.ingestion_rate_bytes = 1;
                l.ingestion_burst_bytes = 3;
            },
            headers: vec![PROTO],
            body: proto_body(vec![proto_stream(app, vec![(T0, "abcd".into(), vec![])])]),
            status: 429,
            text: "ingestion rate limit exceeded for user fake (limit: 1 bytes/sec) while \
                   attempting to ingest '1' lines totaling '25' bytes, reduce log volume or \
                   contact your Loki administrator to see if the limit can be increased"
                .into(),
            stored: 0,
        },
        Refusal {
            name: "no content type",
            limits: keep,
            headers: vec![],
            body: proto_body(vec![]),
            status: 400,
            text: "mime: no media type".into(),
            stored: 0,
        },
        Refusal {
            name: "a content type no Loki client sends",
            limits: keep,
            headers: vec![("content-type", "text/plain")],
            body: b"hello".to_vec(),
            status: 415,
            text: "unsupported Content-Type \"text/plain\": send application/x-protobuf \
                   (snappy) or application/json"
                .into(),
            stored: 0,
        },
        Refusal {
            name: "an unknown encoding",
            limits: keep,
            headers: vec![JSON, ("content-encoding", "br")],
            body: b"{}".to_vec(),
            status: 400,
            text: "Content-Encoding \"br\" not supported".into(),
            stored: 0,
        },
        Refusal {
            name: "a body over the limit, read to one byte more (as Loki's LimitReader)",
            limits: |l| l.max_body_bytes = 10,
            headers: vec![JSON],
            body: PUSH_JSON.into(),
            status: 413,
            text: "request body too large: message size too large than max (11 vs 10)".into(),
            stored: 0,
        },
        Refusal {
            name: "a Content-Length over the limit, refused before reading",
            limits: |l| l.max_body_bytes = 10,
            headers: vec![JSON, ("content-length", "100000")],
            body: PUSH_JSON.into(),
            status: 413,
            text: "request body too large: message size too large than max (100000 vs 10)".into(),
            stored: 0,
        },
        Refusal {
            name: "a snappy body announcing more than the limit",
            limits: |l| l.max_decompressed_bytes = 1000,
            headers: vec![PROTO],
            body: snappy(&[0u8; 2000]),
            status: 413,
            text: "request body too large: decompressed message size too large than max \
                   (2000 vs 1000)"
                .into(),
            stored: 0,
        },
    ]
}

#[tokio::test]
async fn refusals_answer_as_loki() {
    for case in refusals() {
        let mut l = limits();
        (case.limits)(&mut l);
        let store = Arc::new(FakeStore::default());
        let receiver = LogReceiver::new(l);
        let answer = send_with(&receiver, &store, Route::LokiV1, &case.headers, case.body).await;
        assert_eq!(
            answer.status.as_u16(),
            case.status,
            "{}: {}",
            case.name,
            answer.text()
        );
        match case.text.strip_suffix('…') {
            Some(prefix) => assert!(answer.text().starts_with(prefix), "{}", case.name),
            None => assert_eq!(answer.text(), format!("{}\n", case.text), "{}", case.name),
        }
        assert_eq!(
            answer.content_type.as_deref(),
            Some("text/plain; charset=utf-8"),
            "{}",
            case.name
        );
        let stored: usize = store.streams().iter().map(|(_, e)| e.len()).sum();
        assert_eq!(stored, case.stored, "{}", case.name);
    }
}
