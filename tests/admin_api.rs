//! The TSDB admin API in the real binary (`--web.enable-admin-api`): series data deleted over a
//! block and the head disappears from queries at once, after a kill -9 and restart, and after
//! `clean_tombstones`; a snapshot opens as a data directory holding the same data; errors,
//! methods and cross-site requests are answered as they must be.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::server::{import_openmetrics, quiet_config, Server};
use prost::Message;
use reqwest::blocking::Response;
use reqwest::StatusCode;
use serde_json::Value;

use bongsu_ingest::proto::v1;
use bongsu_model::Matcher;
use bongsu_storage::Queryable;
use bongsu_tsdb::{Db, DbOptions};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn start(tmp: &Path, data: &Path, extra: &[&str]) -> Server {
    let mut args: Vec<OsString> = vec![
        "--config.file".into(),
        quiet_config(tmp).into(),
        "--storage.tsdb.path".into(),
        data.into(),
    ];
    args.extend(extra.iter().map(OsString::from));
    Server::spawn(args, tmp.join("server.log"))
}

/// Remote-writes one sample a minute of `m{i="0"}` and `m{i="1"}` at `times`.
fn push(s: &Server, times: &[i64]) {
    let series = ["0", "1"].map(|i| v1::TimeSeries {
        labels: [("__name__", "m"), ("i", i)]
            .iter()
            .map(|(n, v)| v1::Label {
                name: Bytes::copy_from_slice(n.as_bytes()),
                value: Bytes::copy_from_slice(v.as_bytes()),
            })
            .collect(),
        samples: times
            .iter()
            .map(|&t| v1::Sample {
                value: (t / MIN) as f64,
                timestamp: t,
            })
            .collect(),
        ..Default::default()
    });
    let raw = v1::WriteRequest {
        timeseries: series.to_vec(),
        ..Default::default()
    }
    .encode_to_vec();
    let r = s
        .http
        .post(s.url("/api/v1/write"))
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(snap::raw::Encoder::new().compress_vec(&raw).unwrap())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "{}", r.text().unwrap());
}

/// The sample times of `m{i="<i>"}` over the last 8 hours before `at`, from `/api/v1/query`.
fn times(s: &Server, i: &str, at: i64) -> Vec<i64> {
    let r = s
        .http
        .get(s.url("/api/v1/query"))
        .query(&[
            ("query", format!("m{{i=\"{i}\"}}[8h]")),
            ("time", format!("{:.3}", at as f64 / 1000.0)),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().unwrap();
    let result = v["data"]["result"].as_array().unwrap();
    assert!(result.len() <= 1, "{v}");
    result
        .iter()
        .flat_map(|s| s["values"].as_array().unwrap().clone())
        .map(|p| (p[0].as_f64().unwrap() * 1000.0).round() as i64)
        .collect()
}

fn admin(s: &Server, action: &str, params: &[(&str, &str)]) -> Response {
    s.http
        .post(s.url(&format!("/api/v1/admin/tsdb/{action}")))
        .query(params)
        .send()
        .unwrap()
}

/// Asserts a JSON error answer: status, `errorType` and message.
fn error(r: Response, status: u16, kind: &str, msg: &str) {
    assert_eq!(r.status().as_u16(), status);
    let body: Value = r.json().unwrap();
    assert_eq!(
        (body["status"].as_str(), body["errorType"].as_str()),
        (Some("error"), Some(kind)),
        "{body}"
    );
    assert_eq!(body["error"], msg, "{body}");
}

fn secs(ms: i64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// The sample times of `m{i="<i>"}` in the data directory `dir`, opened with the tsdb.
fn times_in(dir: &Path, i: &str) -> Vec<i64> {
    let db = Db::open(dir, DbOptions::default()).unwrap();
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let got = q
        .select(&[Matcher::equal("__name__", "m"), Matcher::equal("i", i)])
        .unwrap();
    got.into_iter()
        .flat_map(|s| s.samples)
        .map(|s| s.t)
        .collect()
}

fn tombstone_files(data: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(data)
        .unwrap()
        .map(|e| e.unwrap().path().join("tombstones"))
        .filter(|p| p.exists())
        .collect()
}

#[test]
fn delete_series_snapshot_and_clean_tombstones() {
    let tmp = tempfile::tempdir().unwrap();
    let now = now_ms() / MIN * MIN;
    // A block of two hours well behind the head's window, then an hour of recent samples.
    let boundary = now / (2 * HOUR) * (2 * HOUR) - 2 * HOUR;
    let old: Vec<i64> = (boundary - 2 * HOUR..boundary)
        .step_by(MIN as usize)
        .collect();
    let recent: Vec<i64> = (now - HOUR..now).step_by(MIN as usize).collect();
    let mut om = String::from("# TYPE m gauge\n");
    for &t in &old {
        for i in ["0", "1"] {
            om.push_str(&format!("m{{i=\"{i}\"}} {} {}\n", t / MIN, t / 1000));
        }
    }
    om.push_str("# EOF\n");
    let data = import_openmetrics(tmp.path(), &om);
    let s = start(tmp.path(), &data, &["--web.enable-admin-api"]);
    push(&s, &recent);
    let all: Vec<i64> = old.iter().chain(&recent).copied().collect();
    assert_eq!(times(&s, "0", now), all);

    // Delete from the last hour of the block to the middle of the head's data.
    let (from, to) = (boundary - HOUR, now - 30 * MIN);
    let r = admin(
        &s,
        "delete_series",
        &[
            ("match[]", "m{i=\"0\"}"),
            ("start", &secs(from)),
            ("end", &secs(to)),
        ],
    );
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.text().unwrap().is_empty());
    let kept: Vec<i64> = all
        .iter()
        .copied()
        .filter(|t| !(from..=to).contains(t))
        .collect();
    assert_eq!(times(&s, "0", now), kept);
    assert_eq!(times(&s, "1", now), all);
    assert_eq!(
        tombstone_files(&data).len(),
        1,
        "the block's deletion is on disk"
    );

    // kill -9 and restart: the block's tombstones file and the WAL's deletion record.
    drop(s);
    let s = start(tmp.path(), &data, &["--web.enable-admin-api"]);
    assert_eq!(times(&s, "0", now), kept);
    assert_eq!(times(&s, "1", now), all);

    // Snapshots, with the head written as a block and without it.
    let snapshot = |skip_head: &str| -> PathBuf {
        let r = admin(&s, "snapshot", &[("skip_head", skip_head)]);
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().unwrap();
        assert_eq!(body["status"], "success", "{body}");
        let name = body["data"]["name"].as_str().unwrap().to_string();
        let (stamp, hex) = name.split_once('-').unwrap();
        assert!(
            stamp.len() == 16 && stamp.ends_with('Z') && hex.len() == 16,
            "{name}"
        );
        data.join("snapshots").join(name)
    };
    let full = snapshot("false");
    let blocks_only = snapshot("true");

    // Cleaning rewrites the block without the deleted samples; answers stay the same.
    let r = admin(&s, "clean_tombstones", &[]);
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(tombstone_files(&data).is_empty());
    assert_eq!(times(&s, "0", now), kept);
    assert_eq!(times(&s, "1", now), all);
    drop(s);

    // Each snapshot is a data directory of its own.
    assert_eq!(times_in(&full, "0"), kept);
    assert_eq!(times_in(&full, "1"), all);
    let old_kept: Vec<i64> = old.iter().copied().filter(|&t| t < from).collect();
    assert_eq!(times_in(&blocks_only, "0"), old_kept);
    assert_eq!(times_in(&blocks_only, "1"), old);
    // And the server starts on the cleaned data directory with the same answers.
    let s = start(tmp.path(), &data, &["--web.enable-admin-api"]);
    assert_eq!(times(&s, "0", now), kept);
    assert_eq!(times(&s, "1", now), all);
}

#[test]
fn admin_errors_methods_and_cross_site_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let s = start(tmp.path(), &data, &["--web.enable-admin-api"]);
    error(
        admin(&s, "delete_series", &[]),
        400,
        "bad_data",
        "no match[] parameter provided",
    );
    error(
        admin(&s, "delete_series", &[("match[]", "up"), ("start", "abc")]),
        400,
        "bad_data",
        "invalid parameter \"start\": invalid time value for 'start': cannot parse \"abc\" to a valid timestamp",
    );
    error(
        admin(&s, "delete_series", &[("match[]", "up{")]),
        400,
        "bad_data",
        "invalid parameter \"match[]\": 1:4: parse error: unexpected end of input inside braces",
    );
    error(
        admin(&s, "snapshot", &[("skip_head", "maybe")]),
        400,
        "bad_data",
        "invalid parameter \"skip_head\": unable to parse boolean: strconv.ParseBool: parsing \"maybe\": invalid syntax",
    );
    // `{}` is accepted and deletes nothing, as Prometheus; a form body works as the query.
    assert_eq!(
        admin(&s, "delete_series", &[("match[]", "{}")]).status(),
        StatusCode::NO_CONTENT
    );
    let r = s
        .http
        .put(s.url("/api/v1/admin/tsdb/delete_series"))
        .form(&[("match[]", "up")])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let r = s
        .http
        .get(s.url("/api/v1/admin/tsdb/snapshot"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let r = admin(&s, "compact", &[]);
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // A page on another site cannot make a browser snapshot or delete.
    for (header, value) in [
        ("Origin", "http://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
    ] {
        for action in ["snapshot", "delete_series", "clean_tombstones"] {
            let r = s
                .http
                .post(s.url(&format!("/api/v1/admin/tsdb/{action}?match[]=up")))
                .header(header, value)
                .send()
                .unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{action} {header}");
        }
    }
    assert!(!data.join("snapshots").exists());

    let r = s.http.get(s.url("/api/v1/status/flags")).send().unwrap();
    let flags: Value = r.json().unwrap();
    assert_eq!(flags["data"]["web.enable-admin-api"], "true", "{flags}");
}
