//! Native histograms over the wire, end to end through the binary and its TSDB: remote write
//! 2.0 in (the `Histograms-Written` header), then out again by `/federate` (delimited
//! protobuf when negotiated; the text format leaves exponential histograms out) and by remote
//! read (`SAMPLES`).

mod common;

use std::fs;

use common::server::Server;
use prost::Message;
use reqwest::StatusCode;

use bongsu_ingest::histogram::{from_int, to_model};
use bongsu_ingest::proto::v2;
use bongsu_ingest::read_proto::{LabelMatcher, Query, ReadRequest, ReadResponse};
use bongsu_model::{Histogram, HistogramValue, Span};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn hist(i: u64) -> Histogram {
    Histogram {
        schema: 1,
        count: 5 + i,
        sum: 12.5,
        zero_threshold: 0.001,
        zero_count: 1,
        positive_spans: vec![Span {
            offset: 0,
            length: 2,
        }],
        positive_buckets: vec![2, i as i64],
        ..Histogram::default()
    }
}

#[test]
fn histograms_in_by_remote_write_out_by_federation_and_remote_read() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("prometheus.yml");
    fs::write(&config, "global:\n  external_labels:\n    dc: eu\n").unwrap();
    let s = Server::spawn(
        vec![
            "--storage.tsdb.path".into(),
            tmp.path().join("data").into_os_string(),
            "--config.file".into(),
            config.into_os_string(),
        ],
        tmp.path().join("server.log"),
    );
    let t = now_ms() - 30_000;
    let symbols = ["", "__name__", "wire_h", "job", "j"];
    let req = v2::Request {
        symbols: symbols.iter().map(|s| s.as_bytes().to_vec().into()).collect(),
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 2, 3, 4],
            histograms: vec![from_int(t, &hist(0)), from_int(t + 10_000, &hist(1))],
            ..Default::default()
        }],
        ..Default::default()
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap();
    let r = s
        .http
        .post(s.url("/api/v1/write"))
        .header(
            "Content-Type",
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        )
        .header("Content-Encoding", "snappy")
        .body(body)
        .send()
        .unwrap();
    let status = r.status();
    let written = r.headers()["x-prometheus-remote-write-histograms-written"].clone();
    assert_eq!(status, StatusCode::NO_CONTENT, "{}", r.text().unwrap());
    assert_eq!(written, "2");

    // Federation, text: the exponential histogram is left out.
    let fed = |accept: &str| {
        s.http
            .get(s.url("/federate"))
            .query(&[("match[]", "wire_h")])
            .header("Accept", accept)
            .send()
            .unwrap()
    };
    let r = fed("text/plain;version=0.0.4");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().unwrap(), "");
    // Federation, protobuf: one HISTOGRAM family with the newest histogram.
    let r = fed("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3");
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
    );
    let bytes = r.bytes().unwrap();
    // MetricFamily: name (1) "wire_h", type (3) HISTOGRAM = 4; the histogram's count is
    // 6 as a double (field 4 of Histogram).
    let mut buf = &bytes[..];
    let len = prost::encoding::decode_varint(&mut buf).unwrap() as usize;
    assert_eq!(len, buf.len(), "one family");
    let family = &buf[..len];
    assert!(family.starts_with(b"\x0a\x06wire_h\x18\x04"), "{family:?}");
    let count = [&[0x21u8][..], &6.0f64.to_le_bytes()].concat();
    assert!(family.windows(9).any(|w| w == count), "{family:?}");

    // Remote read: both histograms, integer as stored, with the external label.
    let read = ReadRequest {
        queries: vec![Query {
            start_timestamp_ms: t - 1000,
            end_timestamp_ms: t + 20_000,
            matchers: vec![LabelMatcher {
                r#type: 0,
                name: "__name__".into(),
                value: "wire_h".into(),
            }],
            hints: None,
        }],
        accepted_response_types: vec![0],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&read.encode_to_vec())
        .unwrap();
    let r = s
        .http
        .post(s.url("/api/v1/read"))
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let raw = snap::raw::Decoder::new()
        .decompress_vec(&r.bytes().unwrap())
        .unwrap();
    let resp = ReadResponse::decode(&raw[..]).unwrap();
    let ts = &resp.results[0].timeseries;
    assert_eq!(ts.len(), 1);
    let labels: Vec<&[u8]> = ts[0].labels.iter().map(|l| &l.value[..]).collect();
    assert_eq!(labels, vec![&b"wire_h"[..], b"eu", b"j"]);
    let got: Vec<(i64, HistogramValue)> = ts[0]
        .histograms
        .iter()
        .map(|h| (h.timestamp, to_model(h)))
        .collect();
    assert_eq!(got.len(), 2, "{got:?}");
    for (i, (gt, h)) in got.into_iter().enumerate() {
        assert_eq!(gt, t + 10_000 * i as i64);
        let HistogramValue::Int(h) = h else {
            panic!("an integer histogram comes back as one: {h:?}");
        };
        // The TSDB may say what it knows about counter resets; the rest is as written.
        let mut h = (*h).clone();
        h.counter_reset_hint = Default::default();
        assert_eq!(h, hist(i as u64));
    }
}
