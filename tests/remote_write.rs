//! The remote-write receiver in the real binary: 1.0 and 2.0 requests over HTTP, read back
//! through `/api/v1/query`; the error statuses; `/metrics`; the switch that turns it off.

mod common;

use std::ffi::OsString;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::server::Server;
use prost::Message;
use reqwest::blocking::Response;
use reqwest::StatusCode;
use serde_json::Value;

use bongsu_ingest::proto::{v1, v2};

const V2_TYPE: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

impl Server {
    fn start(dir: &Path, extra: &[&str]) -> Server {
        let mut args: Vec<OsString> = vec!["--storage.tsdb.path".into(), dir.join("data").into()];
        args.extend(extra.iter().map(OsString::from));
        Server::spawn(args, dir.join("server.log"))
    }

    fn write(&self, content_type: &str, raw: &[u8]) -> Response {
        let body = snap::raw::Encoder::new().compress_vec(raw).unwrap();
        self.http
            .post(self.url("/api/v1/write"))
            .header("Content-Type", content_type)
            .header("Content-Encoding", "snappy")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(body)
            .send()
            .unwrap()
    }

    /// The instant vector of `query` at `t_ms`, as (labels, value) sorted.
    fn query(&self, query: &str, t_ms: i64) -> Vec<(Value, String)> {
        let r = self
            .http
            .get(self.url("/api/v1/query"))
            .query(&[
                ("query", query.to_string()),
                ("time", format!("{:.3}", t_ms as f64 / 1000.0)),
            ])
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().unwrap();
        let mut out: Vec<(Value, String)> = v["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["metric"].clone(), s["value"][1].as_str().unwrap().into()))
            .collect();
        out.sort_by_key(|(m, _)| m.to_string());
        out
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn v1_series(pairs: &[(&str, &str)], samples: &[(i64, f64)]) -> v1::TimeSeries {
    v1::TimeSeries {
        labels: pairs
            .iter()
            .map(|(n, v)| v1::Label {
                name: Bytes::copy_from_slice(n.as_bytes()),
                value: Bytes::copy_from_slice(v.as_bytes()),
            })
            .collect(),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| v1::Sample { value, timestamp })
            .collect(),
        ..Default::default()
    }
}

fn v1_request(series: Vec<v1::TimeSeries>) -> Vec<u8> {
    v1::WriteRequest {
        timeseries: series,
        ..Default::default()
    }
    .encode_to_vec()
}

#[test]
fn remote_write_1_0_and_2_0_land_in_queries() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[]);
    let t = now_ms() - 1_000;

    let r = server.write(
        "application/x-protobuf",
        &v1_request(vec![
            v1_series(
                &[("__name__", "rw_v1"), ("job", "a")],
                &[(t - 1, 1.0), (t, 2.0)],
            ),
            v1_series(&[("job", "b"), ("__name__", "rw_v1")], &[(t, 3.0)]),
        ]),
    );
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "{}", server.log());

    // 2.0: labels through the symbol table, "" first.
    let symbols = ["", "__name__", "rw_v2", "job", "c", "d"];
    let series = |a: u32, b: u32, v: f64| v2::TimeSeries {
        labels_refs: vec![1, 2, a, b],
        samples: vec![v2::Sample {
            value: v,
            timestamp: t,
            start_timestamp: 0,
        }],
        ..Default::default()
    };
    let req = v2::Request {
        symbols: symbols
            .iter()
            .map(|s| Bytes::from_static(s.as_bytes()))
            .collect(),
        timeseries: vec![series(3, 4, 4.0), series(3, 5, 5.0)],
        ..Default::default()
    };
    let r = server.write(V2_TYPE, &req.encode_to_vec());
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        r.headers()["x-prometheus-remote-write-samples-written"],
        "2"
    );
    assert_eq!(
        r.headers()["x-prometheus-remote-write-histograms-written"],
        "0"
    );
    assert_eq!(
        r.headers()["x-prometheus-remote-write-exemplars-written"],
        "0"
    );

    let got = server.query("rw_v1", t);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0["job"], "a");
    assert_eq!(got[0].1, "2");
    assert_eq!(got[1].1, "3");
    let got = server.query("rw_v2", t);
    assert_eq!(
        got.iter()
            .map(|(m, v)| (m["job"].as_str().unwrap(), v.as_str()))
            .collect::<Vec<_>>(),
        vec![("c", "4"), ("d", "5")]
    );

    // 1.0 with an out-of-order sample: 400, and nothing of the request lands.
    let r = server.write(
        "application/x-protobuf",
        &v1_request(vec![
            v1_series(&[("__name__", "rw_new")], &[(t, 1.0)]),
            v1_series(&[("__name__", "rw_v1"), ("job", "a")], &[(t - 500, 9.0)]),
        ]),
    );
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().unwrap().starts_with("out of order sample"));
    assert!(server.query("rw_new", t).is_empty());

    // 2.0 with an invalid series: 400, the valid one lands (partial write).
    let mut req = req.clone();
    req.timeseries[0].labels_refs = vec![1, 2, 3, 99];
    req.timeseries[1].samples[0].timestamp = t + 1;
    let r = server.write(V2_TYPE, &req.encode_to_vec());
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.headers()["x-prometheus-remote-write-samples-written"],
        "1"
    );
    assert!(r.text().unwrap().contains("symbol reference 99"));

    // Unsupported encoding: 415. Garbage: 400. The server lives on.
    let r = server
        .http
        .post(server.url("/api/v1/write"))
        .header("Content-Encoding", "gzip")
        .body("x")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = server
        .http
        .post(server.url("/api/v1/write"))
        .body(vec![0xffu8; 64])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let metrics = server
        .http
        .get(server.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    for line in [
        "bongsu_remote_write_samples_written_total 6",
        "bongsu_remote_write_samples_rejected_total{reason=\"out_of_order\"} 1",
        "bongsu_remote_write_samples_rejected_total{reason=\"rolled_back\"} 1",
        "bongsu_remote_write_samples_rejected_total{reason=\"invalid_labels\"} 1",
        "bongsu_remote_write_requests_total{code=\"204\",proto=\"v1\"} 1",
        "bongsu_remote_write_requests_total{code=\"400\",proto=\"v2\"} 1",
        "bongsu_remote_write_requests_total{code=\"415\",proto=\"unknown\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
}

#[test]
fn the_receiver_can_be_turned_off() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &["--web.disable-remote-write-receiver"]);
    let r = server.write("application/x-protobuf", &v1_request(vec![]));
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().unwrap().contains("disabled"));
}
