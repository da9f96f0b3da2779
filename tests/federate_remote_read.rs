//! `/federate` and remote read (`POST /api/v1/read`) over imported recent samples, with
//! external labels, against Prometheus' formats and rules.

mod common;

use std::fmt::Write as _;
use std::fs;

use common::server::{import_openmetrics, Server};
use prost::Message;
use reqwest::StatusCode;

use bongsu_ingest::read_proto::{LabelMatcher, Query, ReadRequest, ReadResponse};

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A server over samples of the last few minutes, with `external_labels: {dc: eu}`.
fn server(tmp: &tempfile::TempDir, t: i64, extra: &[&str]) -> Server {
    let mut text = String::from("# TYPE fed_a gauge\n");
    for (i, dt) in [180, 120, 60].iter().enumerate() {
        writeln!(
            text,
            "fed_a{{job=\"j\",instance=\"x\"}} {} {}",
            i + 1,
            t - dt
        )
        .unwrap();
        writeln!(
            text,
            "fed_a{{job=\"j\",instance=\"y\"}} {} {}",
            10 + i,
            t - dt
        )
        .unwrap();
    }
    text.push_str("# TYPE fed_b gauge\n");
    writeln!(text, "fed_b{{dc=\"us\"}} 1234567 {}", t - 60).unwrap();
    // Older than the 5 m lookback: federation leaves it out.
    text.push_str("# TYPE fed_old gauge\n");
    writeln!(text, "fed_old 1 {}", t - 3600).unwrap();
    text.push_str("# EOF\n");
    let dir = import_openmetrics(tmp.path(), &text);
    let config = tmp.path().join("prometheus.yml");
    fs::write(&config, "global:\n  external_labels:\n    dc: eu\n").unwrap();
    let mut args: Vec<std::ffi::OsString> = vec![
        "--storage.tsdb.path".into(),
        dir.into_os_string(),
        "--config.file".into(),
        config.into_os_string(),
        "--storage.tsdb.retention.time".into(),
        "0".into(),
    ];
    args.extend(extra.iter().map(Into::into));
    Server::spawn(args, tmp.path().join("server.log"))
}

#[test]
fn federation_and_remote_read() {
    let tmp = tempfile::tempdir().unwrap();
    let t = now_s();
    let s = server(&tmp, t, &[]);

    let fed = |params: &[(&str, &str)]| {
        let r = s.http.get(s.url("/federate")).query(params).send().unwrap();
        let status = r.status();
        (status, r.text().unwrap())
    };
    let (status, text) = fed(&[("match[]", "{__name__=~\"fed_.*\"}")]);
    assert_eq!(status, StatusCode::OK, "{text}");
    let want = format!(
        "# TYPE fed_a untyped\n\
         fed_a{{instance=\"x\",job=\"j\",dc=\"eu\"}} 3 {t0}\n\
         fed_a{{instance=\"y\",job=\"j\",dc=\"eu\"}} 12 {t0}\n\
         # TYPE fed_b untyped\n\
         fed_b{{dc=\"us\",instance=\"\"}} 1.234567e+06 {t0}\n",
        t0 = (t - 60) * 1000
    );
    assert_eq!(text, want);
    // Several match[] sets are a union without duplicates; none selects nothing.
    let (_, both) = fed(&[("match[]", "fed_b"), ("match[]", "{dc=\"us\"}")]);
    assert_eq!(both.matches("fed_b{").count(), 1, "{both}");
    assert_eq!(fed(&[]), (StatusCode::OK, String::new()));
    let (status, _) = fed(&[("match[]", "fed_a{")]);
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Remote read: samples in range, external labels merged in, the `dc="eu"` matcher
    // dropped because it names an external label.
    let read = |s: &Server, req: &ReadRequest| {
        let body = snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .unwrap();
        s.http
            .post(s.url("/api/v1/read"))
            .header("Content-Type", "application/x-protobuf")
            .header("Content-Encoding", "snappy")
            .body(body)
            .send()
            .unwrap()
    };
    let query = Query {
        start_timestamp_ms: (t - 150) * 1000,
        end_timestamp_ms: t * 1000,
        matchers: vec![
            LabelMatcher {
                r#type: 0,
                name: "__name__".into(),
                value: "fed_a".into(),
            },
            LabelMatcher {
                r#type: 0,
                name: "dc".into(),
                value: "eu".into(),
            },
            LabelMatcher {
                r#type: 2,
                name: "instance".into(),
                value: "x|z".into(),
            },
        ],
        hints: None,
    };
    let r = read(
        &s,
        &ReadRequest {
            queries: vec![query.clone()],
            accepted_response_types: vec![1, 0],
        },
    );
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-encoding"], "snappy");
    assert_eq!(r.headers()["content-type"], "application/x-protobuf");
    let raw = snap::raw::Decoder::new()
        .decompress_vec(&r.bytes().unwrap())
        .unwrap();
    let resp = ReadResponse::decode(raw.as_slice()).unwrap();
    assert_eq!(resp.results.len(), 1);
    let series = &resp.results[0].timeseries;
    assert_eq!(series.len(), 1);
    let labels: Vec<(String, String)> = series[0]
        .labels
        .iter()
        .map(|l| {
            (
                String::from_utf8(l.name.to_vec()).unwrap(),
                String::from_utf8(l.value.to_vec()).unwrap(),
            )
        })
        .collect();
    let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        labels,
        pairs(&[
            ("__name__", "fed_a"),
            ("dc", "eu"),
            ("instance", "x"),
            ("job", "j")
        ])
    );
    let samples: Vec<(i64, f64)> = series[0]
        .samples
        .iter()
        .map(|x| (x.timestamp, x.value))
        .collect();
    assert_eq!(samples, [((t - 120) * 1000, 2.0), ((t - 60) * 1000, 3.0)]);

    // Only streamed chunks accepted: refused, naming what is supported.
    let r = read(
        &s,
        &ReadRequest {
            queries: vec![query.clone()],
            accepted_response_types: vec![1],
        },
    );
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let msg = r.text().unwrap();
    assert!(msg.contains("supported: [SAMPLES]"), "{msg}");
    // Not snappy.
    let r = s
        .http
        .post(s.url("/api/v1/read"))
        .body("garbage")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    drop(s);

    // --storage.remote.read-sample-limit: a request over it fails with upstream's text.
    let tmp = tempfile::tempdir().unwrap();
    let s = server(&tmp, t, &["--storage.remote.read-sample-limit=1"]);
    let r = read(
        &s,
        &ReadRequest {
            queries: vec![query],
            accepted_response_types: vec![],
        },
    );
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.text().unwrap(), "exceeded sample limit (1)\n");
}
