//! Native histograms over the wire, end to end through the binary and its TSDB: remote write
//! 2.0 in (the `Histograms-Written` header), then out again by `/federate` (delimited
//! protobuf when negotiated; the text format leaves exponential histograms out), by remote
//! read (`SAMPLES`), and by the remote-write sender to a second server.

mod common;

use std::fs;

use common::server::Server;
use prost::Message;
use reqwest::StatusCode;

use bongsu_ingest::histogram::{from_int, to_model};
use bongsu_ingest::proto::{v1, v2};
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

/// A server with its data and `config` (YAML) under `dir`.
fn spawn(dir: &std::path::Path, config: &str) -> Server {
    fs::create_dir_all(dir).unwrap();
    let file = dir.join("prometheus.yml");
    fs::write(&file, config).unwrap();
    Server::spawn(
        vec![
            "--storage.tsdb.path".into(),
            dir.join("data").into_os_string(),
            "--config.file".into(),
            file.into_os_string(),
        ],
        dir.join("server.log"),
    )
}

/// The histograms of `wire_h` in `[mint, maxt]` by remote read, with the series' label values.
fn remote_read(s: &Server, mint: i64, maxt: i64) -> (Vec<Vec<u8>>, Vec<(i64, HistogramValue)>) {
    let read = ReadRequest {
        queries: vec![Query {
            start_timestamp_ms: mint,
            end_timestamp_ms: maxt,
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
    let Some(ts) = resp.results[0].timeseries.first() else {
        return (Vec::new(), Vec::new());
    };
    let labels = ts.labels.iter().map(|l| l.value.to_vec()).collect();
    let hs = ts
        .histograms
        .iter()
        .map(|h| (h.timestamp, to_model(h)))
        .collect();
    (labels, hs)
}

/// Checks that `got` are `hist(0)`, `hist(1)`, … at `t`, `t + 10 s`, …, integer as written.
fn assert_hists(got: Vec<(i64, HistogramValue)>, t: i64, n: usize) {
    assert_eq!(got.len(), n, "{got:?}");
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

#[test]
fn histograms_in_by_remote_write_out_by_federation_and_remote_read() {
    let tmp = tempfile::tempdir().unwrap();
    let s = spawn(tmp.path(), "global:\n  external_labels:\n    dc: eu\n");
    let t = now_ms() - 30_000;
    let symbols = ["", "__name__", "wire_h", "job", "j"];
    let req = v2::Request {
        symbols: symbols
            .iter()
            .map(|s| s.as_bytes().to_vec().into())
            .collect(),
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

    // An invalid histogram (more observations in its buckets than its count) is a 400 with
    // Prometheus' message; the valid one beside it is written (2.0 partial write).
    let bad = Histogram {
        count: 1,
        ..hist(0)
    };
    let req = v2::Request {
        symbols: symbols
            .iter()
            .map(|s| s.as_bytes().to_vec().into())
            .collect(),
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 2, 3, 4],
            histograms: vec![from_int(t + 20_000, &bad), from_int(t + 25_000, &hist(2))],
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
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.headers()["x-prometheus-remote-write-histograms-written"],
        "1"
    );
    let text = r.text().unwrap();
    assert!(
        text.contains("5 observations found in buckets, but the Count field is 1: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)"),
        "{text}"
    );

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
    // 7 as a double (field 4 of Histogram): the newest, hist(2).
    let mut buf = &bytes[..];
    let len = prost::encoding::decode_varint(&mut buf).unwrap() as usize;
    assert_eq!(len, buf.len(), "one family");
    let family = &buf[..len];
    assert!(family.starts_with(b"\x0a\x06wire_h\x18\x04"), "{family:?}");
    let count = [&[0x21u8][..], &7.0f64.to_le_bytes()].concat();
    assert!(family.windows(9).any(|w| w == count), "{family:?}");

    // Remote read: both histograms, integer as stored, with the external label.
    let (labels, got) = remote_read(&s, t - 1000, t + 15_000);
    assert_eq!(
        labels,
        vec![b"wire_h".to_vec(), b"eu".to_vec(), b"j".to_vec()]
    );
    assert_hists(got, t, 2);
}

#[test]
fn the_sender_forwards_histograms_from_the_wal() {
    let tmp = tempfile::tempdir().unwrap();
    let b = spawn(&tmp.path().join("b"), "");
    let a = spawn(
        &tmp.path().join("a"),
        &format!(
            "remote_write:\n  - url: {}\n    send_native_histograms: true\n    queue_config: {{batch_send_deadline: 100ms}}\n",
            b.url("/api/v1/write")
        ),
    );
    // A new queue sends what is newer than its start: the server is ready, so it started.
    let t = now_ms();
    let req = v1::WriteRequest {
        timeseries: vec![v1::TimeSeries {
            labels: [("__name__", "wire_h"), ("job", "j")]
                .iter()
                .map(|(n, v)| v1::Label {
                    name: n.as_bytes().to_vec().into(),
                    value: v.as_bytes().to_vec().into(),
                })
                .collect(),
            histograms: (0..3)
                .map(|i| from_int(t + 10_000 * i as i64, &hist(i)))
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap();
    // The sender starts with the queue: write after it has, as a scrape would.
    let r = a.wait_for("a written request", || {
        let r = a
            .http
            .post(a.url("/api/v1/write"))
            .header("Content-Type", "application/x-protobuf")
            .header("Content-Encoding", "snappy")
            .body(body.clone())
            .send()
            .unwrap();
        Some(r.status())
    });
    assert_eq!(r, StatusCode::NO_CONTENT);
    let got = b.wait_for("the histograms on the second server", || {
        let (_, got) = remote_read(&b, t - 1000, t + 30_000);
        (got.len() == 3).then_some(got)
    });
    assert_hists(got, t, 3);
}
