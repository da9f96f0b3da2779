//! Receiver tests: hand-built messages encoded with prost and snappy-compressed, written into a
//! in-memory store and read back through its querier; malformed input of every kind.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use bytes::Bytes;
use proptest::prelude::*;
use prost::Message;

use bongsu_model::{Matcher, Sample};
use bongsu_storage::memory::MemStorage;
use bongsu_storage::{Appendable, Queryable};

use super::proto::{v1, v2};
use super::request::{self, negotiate, Proto, WriteError};
use super::write::{self, Report};
use super::{Reason, Receiver, MAX_DECOMPRESSED_BYTES};

mod histograms;

const T0: i64 = 1_700_000_000_000;
/// `max_time` for tests: far ahead of every sample unless a test says otherwise.
const FAR: i64 = i64::MAX;

fn snappy(raw: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(raw).unwrap()
}

/// A stored series: its labels as string pairs, and its samples.
type Stored = (Vec<(String, String)>, Vec<Sample>);

/// The stored series named `name`, sorted by labels.
fn read(db: &MemStorage, name: &str) -> Vec<Stored> {
    db.querier(i64::MIN, i64::MAX)
        .unwrap()
        .select(&[Matcher::equal("__name__", name)])
        .unwrap()
        .into_iter()
        .map(|s| {
            let labels = s
                .labels
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect();
            (labels, s.samples)
        })
        .collect()
}

fn label(n: &str, v: &str) -> v1::Label {
    v1::Label {
        name: Bytes::copy_from_slice(n.as_bytes()),
        value: Bytes::copy_from_slice(v.as_bytes()),
    }
}

fn ts_v1(pairs: &[(&str, &str)], samples: &[(i64, f64)]) -> v1::TimeSeries {
    v1::TimeSeries {
        labels: pairs.iter().map(|(n, v)| label(n, v)).collect(),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| v1::Sample { value, timestamp })
            .collect(),
        ..Default::default()
    }
}

fn req_v1(series: Vec<v1::TimeSeries>) -> Bytes {
    v1::WriteRequest {
        timeseries: series,
        ..Default::default()
    }
    .encode_to_vec()
    .into()
}

/// A 2.0 request builder: interns strings into the symbol table ("" first, as required).
#[derive(Default)]
struct V2 {
    symbols: Vec<String>,
    series: Vec<v2::TimeSeries>,
}

impl V2 {
    fn sym(&mut self, s: &str) -> u32 {
        if self.symbols.is_empty() {
            self.symbols.push(String::new());
        }
        match self.symbols.iter().position(|x| x == s) {
            Some(i) => i as u32,
            None => {
                self.symbols.push(s.to_string());
                (self.symbols.len() - 1) as u32
            }
        }
    }

    fn series(&mut self, pairs: &[(&str, &str)], samples: &[(i64, f64)]) -> &mut v2::TimeSeries {
        let refs = pairs
            .iter()
            .flat_map(|(n, v)| [self.sym(n), self.sym(v)])
            .collect();
        self.series.push(v2::TimeSeries {
            labels_refs: refs,
            samples: samples
                .iter()
                .map(|&(timestamp, value)| v2::Sample {
                    value,
                    timestamp,
                    start_timestamp: 0,
                })
                .collect(),
            ..Default::default()
        });
        self.series.last_mut().unwrap()
    }

    fn encode(&mut self) -> Bytes {
        self.sym("");
        v2::Request {
            symbols: self
                .symbols
                .iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect(),
            timeseries: std::mem::take(&mut self.series),
            ..Default::default()
        }
        .encode_to_vec()
        .into()
    }
}

fn bad_request(report: &Report) -> &str {
    match &report.error {
        Some(WriteError::BadRequest(m)) => m,
        other => panic!("expected a bad request, got {other:?}"),
    }
}

#[test]
fn negotiation_follows_prometheus() {
    use Proto::{V1, V2};
    // (Content-Type, Content-Encoding, expected protocol or None for 415)
    let cases: &[(Option<&str>, Option<&str>, Option<Proto>)] = &[
        (None, None, Some(V1)),
        (Some(""), Some(""), Some(V1)),
        (Some("application/x-protobuf"), Some("snappy"), Some(V1)),
        (
            Some("application/x-protobuf;proto=prometheus.WriteRequest"),
            Some("snappy"),
            Some(V1),
        ),
        (
            Some("application/x-protobuf;proto=io.prometheus.write.v2.Request"),
            Some("snappy"),
            Some(V2),
        ),
        (
            Some("application/x-protobuf; proto=io.prometheus.write.v2.Request"),
            Some("SNAPPY"),
            Some(V2),
        ),
        (
            Some("Application/X-Protobuf;charset=x;proto=\"io.prometheus.write.v2.Request\""),
            None,
            Some(V2),
        ),
        (
            Some("application/x-protobuf;foo=bar"),
            Some("snappy"),
            Some(V1),
        ),
        (
            Some("application/x-protobuf;proto=io.prometheus.write.v3.Request"),
            Some("snappy"),
            None,
        ),
        (Some("application/x-protobuf;proto"), Some("snappy"), None),
        (Some("application/json"), Some("snappy"), None),
        (Some("application/x-protobuf"), Some("gzip"), None),
        (Some("application/x-protobuf"), Some("zstd"), None),
    ];
    for (ct, enc, want) in cases {
        match (negotiate(*ct, *enc), want) {
            (Ok(got), Some(want)) => assert_eq!(got, *want, "{ct:?} {enc:?}"),
            (Err(WriteError::UnsupportedMediaType(_)), None) => {}
            (got, want) => panic!("{ct:?} {enc:?}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn v1_round_trip() {
    let db = MemStorage::new();
    let body = req_v1(vec![
        ts_v1(
            &[("job", "a"), ("__name__", "up"), ("empty", "")],
            &[(T0, 1.0), (T0 + 15_000, 0.0)],
        ),
        ts_v1(&[("__name__", "up"), ("job", "b")], &[(T0, f64::NAN)]),
    ]);
    let report = write::write(&db, Proto::V1, body, FAR);
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!((report.received, report.written.samples), (3, 3));
    let got = read(&db, "up");
    assert_eq!(got.len(), 2);
    // Sorted, the empty label dropped.
    assert_eq!(
        got[0].0,
        vec![("__name__".into(), "up".into()), ("job".into(), "a".into())]
    );
    assert_eq!(
        got[0].1,
        vec![
            Sample { t: T0, v: 1.0 },
            Sample {
                t: T0 + 15_000,
                v: 0.0
            }
        ]
    );
    assert!(got[1].1[0].v.is_nan());
}

#[test]
fn v2_round_trip_shares_symbols() {
    let db = MemStorage::new();
    let mut b = V2::default();
    for i in 0..3 {
        b.series(
            &[
                ("__name__", "http_requests_total"),
                ("code", &format!("{i}00")),
            ],
            &[(T0, i as f64), (T0 + 1, i as f64 + 0.5)],
        );
    }
    b.series(&[("__name__", "stale")], &[(T0, bongsu_model::STALE_NAN)]);
    b.series.last_mut().unwrap().exemplars.push(v2::Exemplar {
        labels_refs: vec![],
        value: 1.0,
        timestamp: T0,
    });
    let report = write::write(&db, Proto::V2, b.encode(), FAR);
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.written.samples, 7);
    assert_eq!(report.written.exemplars, 1);
    let got = read(&db, "http_requests_total");
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].0[1], ("code".into(), "200".into()));
    assert_eq!(got[2].1[1], Sample { t: T0 + 1, v: 2.5 });
    let stale = read(&db, "stale");
    assert!(bongsu_model::is_stale_nan(stale[0].1[0].v));
}

#[test]
fn v1_out_of_order_rejects_the_whole_request() {
    let db = MemStorage::new();
    let first = req_v1(vec![ts_v1(&[("__name__", "m")], &[(T0 + 10, 1.0)])]);
    assert!(write::write(&db, Proto::V1, first, FAR).error.is_none());
    let body = req_v1(vec![
        ts_v1(&[("__name__", "n")], &[(T0, 1.0)]),
        ts_v1(&[("__name__", "m")], &[(T0, 2.0), (T0 + 20, 3.0)]),
        ts_v1(&[("__name__", "o")], &[(T0, 1.0)]),
    ]);
    let report = write::write(&db, Proto::V1, body, FAR);
    let msg = bad_request(&report);
    assert!(
        msg.starts_with("out of order sample for series m{}"),
        "{msg}"
    );
    assert_eq!(report.written, Default::default());
    assert_eq!(report.rejected(Reason::OutOfOrder), 1);
    assert_eq!(report.rejected(Reason::RolledBack), 3);
    assert!(read(&db, "n").is_empty() && read(&db, "o").is_empty());
    assert_eq!(read(&db, "m")[0].1, vec![Sample { t: T0 + 10, v: 1.0 }]);

    // An identical resend of a stored sample is not an error (Prometheus' TSDB does the same).
    let resend = req_v1(vec![ts_v1(&[("__name__", "m")], &[(T0 + 10, 1.0)])]);
    assert!(write::write(&db, Proto::V1, resend, FAR).error.is_none());
}

#[test]
fn v2_out_of_order_is_a_partial_write() {
    let db = MemStorage::new();
    let mut b = V2::default();
    b.series(&[("__name__", "m")], &[(T0 + 10, 1.0)]);
    assert!(write::write(&db, Proto::V2, b.encode(), FAR)
        .error
        .is_none());

    b.series(&[("__name__", "n")], &[(T0, 1.0)]);
    b.series(
        &[("__name__", "m")],
        &[(T0, 2.0), (T0 + 10, 9.0), (T0 + 20, 3.0)],
    );
    let report = write::write(&db, Proto::V2, b.encode(), FAR);
    let msg = bad_request(&report);
    assert!(
        msg.starts_with("2 of 4 samples rejected (out of order: 1, duplicate timestamp: 1)"),
        "{msg}"
    );
    assert!(
        msg.contains("duplicate sample for timestamp for series m{}"),
        "{msg}"
    );
    assert_eq!(report.written.samples, 2);
    assert_eq!(read(&db, "n")[0].1.len(), 1);
    assert_eq!(
        read(&db, "m")[0].1,
        vec![Sample { t: T0 + 10, v: 1.0 }, Sample { t: T0 + 20, v: 3.0 }]
    );
}

#[test]
fn samples_too_far_in_the_future_are_out_of_bounds() {
    let db = MemStorage::new();
    let body = req_v1(vec![
        ts_v1(&[("__name__", "ok")], &[(T0, 1.0)]),
        ts_v1(&[("__name__", "future")], &[(T0 + 1, 1.0)]),
    ]);
    let report = write::write(&db, Proto::V1, body, T0);
    assert!(bad_request(&report).contains("too far in the future"));
    assert_eq!(report.rejected(Reason::OutOfBounds), 1);
    assert!(
        read(&db, "ok").is_empty(),
        "1.0: the request is rolled back"
    );
}

#[test]
fn invalid_labels_skip_the_series_and_answer_400() {
    let db = MemStorage::new();
    let mut series = vec![ts_v1(&[("__name__", "good")], &[(T0, 1.0)])];
    for pairs in [
        &[("job", "no name")][..],
        &[("__name__", "dup"), ("a", "1"), ("a", "2")],
        &[("__name__", "empty_name"), ("", "x")],
        &[("__name__", "")],
    ] {
        series.push(ts_v1(pairs, &[(T0, 1.0)]));
    }
    let mut bad_utf8 = ts_v1(&[("__name__", "utf8")], &[(T0, 1.0)]);
    bad_utf8.labels.push(v1::Label {
        name: Bytes::from_static(b"x"),
        value: Bytes::from_static(b"\xff\xfe"),
    });
    series.push(bad_utf8);
    let too_many: Vec<(String, String)> = (0..=bongsu_model::MAX_LABELS)
        .map(|i| (format!("l{i}"), "v".into()))
        .collect();
    let mut wide = ts_v1(&[("__name__", "wide")], &[(T0, 1.0)]);
    wide.labels
        .extend(too_many.iter().map(|(n, v)| label(n, v)));
    series.push(wide);
    let long = "x".repeat(write::MAX_LABEL_BYTES + 1);
    series.push(ts_v1(&[("__name__", "long"), ("v", &long)], &[(T0, 1.0)]));

    let report = write::write(&db, Proto::V1, req_v1(series), FAR);
    let msg = bad_request(&report);
    assert!(
        msg.starts_with("7 of 8 samples rejected (invalid labels: 7)"),
        "{msg}"
    );
    assert!(msg.contains("duplicate label name \"a\""), "{msg}");
    assert!(msg.contains("no metric name"), "{msg}");
    assert!(msg.contains("not valid UTF-8"), "{msg}");
    assert!(msg.lines().all(|l| l.len() <= 600), "lines are clipped");
    assert_eq!(report.written.samples, 1);
    assert_eq!(read(&db, "good").len(), 1);
}

#[test]
fn bad_symbol_references_reject_their_series() {
    let db = MemStorage::new();
    let mut b = V2::default();
    b.series(&[("__name__", "good")], &[(T0, 1.0)]);
    b.series(&[("__name__", "x")], &[(T0, 1.0)]).labels_refs = vec![1, 999];
    b.series(&[("__name__", "y")], &[(T0, 1.0)]).labels_refs = vec![1];
    b.series(&[("__name__", "z")], &[(T0, 1.0)]).labels_refs = vec![u32::MAX, 0];
    b.series[0].exemplars.push(v2::Exemplar {
        labels_refs: vec![5000, 1],
        ..Default::default()
    });
    let report = write::write(&db, Proto::V2, b.encode(), FAR);
    let msg = bad_request(&report);
    assert!(
        msg.contains("symbol reference 999 is out of range"),
        "{msg}"
    );
    assert!(msg.contains("labels_refs has 1 elements"), "{msg}");
    assert!(msg.contains("exemplar of series good{}"), "{msg}");
    assert_eq!(report.rejected(Reason::InvalidLabels), 3);
    assert_eq!((report.written.samples, report.written.exemplars), (1, 0));
    assert_eq!(read(&db, "good").len(), 1);
}

#[test]
fn the_wrong_message_for_the_content_type_is_named() {
    let db = MemStorage::new();
    let v1_body = req_v1(vec![ts_v1(&[("__name__", "m")], &[(T0, 1.0)])]);
    let mut b = V2::default();
    b.series(&[("__name__", "m")], &[(T0, 1.0)]);
    let v2_body = b.encode();
    let r = write::write(&db, Proto::V2, v1_body, FAR);
    assert!(bad_request(&r).contains("has fields of prometheus.WriteRequest"));
    let r = write::write(&db, Proto::V1, v2_body, FAR);
    assert!(bad_request(&r).contains("has fields of io.prometheus.write.v2.Request"));
    // Another message entirely (a Sample: field 1 is a double, not a message).
    let sample = v1::Sample {
        value: 1.0,
        timestamp: 5,
    }
    .encode_to_vec();
    let r = write::write(&db, Proto::V1, sample.into(), FAR);
    assert!(bad_request(&r).starts_with("decoding prometheus.WriteRequest"));
    assert!(read(&db, "m").is_empty());
}

#[test]
fn malformed_snappy_is_a_bad_request() {
    assert!(matches!(
        request::decompress(b"definitely not snappy"),
        Err(WriteError::BadRequest(_))
    ));
    let good = snappy(&req_v1(vec![ts_v1(&[("__name__", "m")], &[(T0, 1.0)])]));
    for cut in 1..good.len() {
        assert!(
            request::decompress(&good[..cut]).is_err(),
            "truncated at {cut}"
        );
    }
    // A header announcing more than the limit is refused before anything is allocated.
    let mut huge = Vec::new();
    let mut n = MAX_DECOMPRESSED_BYTES as u64 + 1;
    while n >= 0x80 {
        huge.push((n as u8) | 0x80);
        n >>= 7;
    }
    huge.push(n as u8);
    huge.extend_from_slice(&[0; 16]);
    let err = request::decompress(&huge).unwrap_err().to_string();
    assert!(err.contains("more than the limit"), "{err}");
    assert!(snap::raw::max_compress_len(MAX_DECOMPRESSED_BYTES) <= super::MAX_BODY_BYTES);
}

fn headers(ct: &str, enc: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
    h.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_str(enc).unwrap(),
    );
    h
}

async fn post(
    rx: &Arc<Receiver>,
    db: &Arc<MemStorage>,
    h: HeaderMap,
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, String) {
    let resp = rx.handle(db.clone(), &h, Body::from(body)).await;
    let (parts, body) = resp.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (
        parts.status,
        parts.headers,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn handler_statuses_and_headers() {
    let db = MemStorage::new();
    let db = Arc::new(db);
    let rx = Arc::new(Receiver::new());
    const V1: &str = "application/x-protobuf";
    const V2: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

    let ok = snappy(&req_v1(vec![ts_v1(&[("__name__", "m")], &[(T0, 1.0)])]));
    let (status, h, body) = post(&rx, &db, headers(V1, "snappy"), ok).await;
    assert_eq!((status, body.as_str()), (StatusCode::NO_CONTENT, ""));
    assert!(h.get("x-prometheus-remote-write-samples-written").is_none());

    let mut b = V2::default();
    b.series(&[("__name__", "m2")], &[(T0, 1.0), (T0 + 1, 2.0)]);
    let (status, h, _) = post(&rx, &db, headers(V2, "snappy"), snappy(&b.encode())).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(h["x-prometheus-remote-write-samples-written"], "2");
    assert_eq!(h["x-prometheus-remote-write-histograms-written"], "0");
    assert_eq!(h["x-prometheus-remote-write-exemplars-written"], "0");

    let (status, _, body) = post(&rx, &db, headers(V1, "gzip"), vec![1, 2, 3]).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(body.contains("only snappy"), "{body}");

    let (status, h, body) = post(&rx, &db, headers(V2, "snappy"), b"garbage".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.starts_with("snappy: "), "{body}");
    assert_eq!(h["x-prometheus-remote-write-samples-written"], "0");
    assert_eq!(h[header::CONTENT_TYPE], "text/plain; charset=utf-8");

    // A declared body over the limit is refused unread; a body longer than it declared too.
    let mut h = headers(V1, "snappy");
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(super::MAX_BODY_BYTES + 1),
    );
    let (status, _, body) = post(&rx, &db, h, vec![]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("larger than the limit"), "{body}");
    let mut h = headers(V1, "snappy");
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(2));
    let (status, _, body) = post(&rx, &db, h, vec![0; 10]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.starts_with("reading the request body"), "{body}");

    let stats = rx.stats();
    assert_eq!(stats.samples_written(), 3);
    assert_eq!(
        stats.requests(),
        vec![
            (("unknown", 415), 1),
            (("v1", 204), 1),
            (("v1", 400), 2),
            (("v2", 204), 1),
            (("v2", 400), 1)
        ]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random bytes, raw or as a snappy body, never panic: each is either a valid (usually
    /// empty) request or a bad request.
    #[test]
    fn random_bodies_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..512)) {
        let db = MemStorage::new();
        for proto in [Proto::V1, Proto::V2] {
            for body in [raw.clone(), snappy(&raw)] {
                let report = match request::decompress(&body) {
                    Ok(b) => write::write(&db, proto, b, FAR),
                    Err(e) => Report::failed_with(e),
                };
                prop_assert!(matches!(report.error, None | Some(WriteError::BadRequest(_))),
                    "{:?}", report.error);
            }
        }
    }

    /// Valid requests with one byte flipped: same guarantee.
    #[test]
    fn flipped_bytes_never_panic(at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let db = MemStorage::new();
        let mut b = V2::default();
        b.series(&[("__name__", "m"), ("job", "j")], &[(T0, 1.0), (T0 + 1, 2.0)]);
        let mut body = b.encode().to_vec();
        let i = at.index(body.len());
        body[i] ^= 1 << bit;
        let report = write::write(&db, Proto::V2, body.into(), FAR);
        prop_assert!(matches!(report.error, None | Some(WriteError::BadRequest(_))));
        prop_assert_eq!(
            report.received,
            report.written.samples + Reason::ALL.iter().map(|r| report.rejected(*r)).sum::<u64>()
        );
    }
}

#[test]
fn known_series_take_the_ref_path_and_still_explain_errors() {
    let db = MemStorage::new();
    // First request creates the series; the second finds it by its raw pairs.
    let first = req_v1(vec![ts_v1(&[("__name__", "k"), ("a", "1")], &[(T0, 1.0)])]);
    assert!(write::write(&db, Proto::V1, first, FAR).error.is_none());
    let pairs = [("__name__", "k"), ("a", "1")];
    assert!(db.appender().get_ref(&pairs).is_some());
    assert!(db.appender().get_ref(&[("__name__", "k")]).is_none());
    // Unsorted pairs miss the fast path and are sorted by the validating one: same series.
    let unsorted = req_v1(vec![ts_v1(
        &[("a", "1"), ("__name__", "k")],
        &[(T0 + 10, 2.0)],
    )]);
    assert!(write::write(&db, Proto::V1, unsorted, FAR).error.is_none());
    // An error on a known series names it, though its label set was never built.
    let old = req_v1(vec![ts_v1(&pairs, &[(T0 + 5, 3.0)])]);
    let report = write::write(&db, Proto::V1, old, FAR);
    assert!(
        bad_request(&report).contains("out of order sample for series k{a=\"1\"}"),
        "{:?}",
        report.error
    );
    // 2.0: a bad exemplar reference on a known series is reported without a double borrow.
    let mut b = V2::default();
    b.series(&pairs, &[(T0 + 20, 4.0)])
        .exemplars
        .push(v2::Exemplar {
            labels_refs: vec![999],
            ..Default::default()
        });
    let report = write::write(&db, Proto::V2, b.encode(), FAR);
    assert_eq!(report.written.samples, 1);
    let samples = &read(&db, "k")[0].1;
    assert_eq!(
        samples.iter().map(|s| s.v).collect::<Vec<_>>(),
        vec![1.0, 2.0, 4.0]
    );
}
