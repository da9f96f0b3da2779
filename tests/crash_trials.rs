//! Crash trials of the whole server: bongsu is killed with SIGKILL at pseudo-random moments —
//! while it replays its WAL, compacts its head into blocks at start-up, or takes remote-write
//! pushes — ten times over one data directory; then every sample a push was acknowledged for
//! (answered 204) must be queryable with its exact value, and nothing else may appear.
//!
//! Slow (about a minute), so it is `#[ignore]`d in `cargo test` and run by `.ci/run`:
//! `cargo test --test crash_trials -- --ignored`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bongsu_ingest::proto::v1;
use bytes::Bytes;
use prost::Message;
use reqwest::blocking::Client;
use serde_json::Value;

use common::server::{quiet_config, Server, BIN};

const TRIALS: u64 = 10;
const SERIES: usize = 10;
/// Timestamps advance by this much per push, so the pushes of all trials span hours and each
/// restart finds a head long enough to compact into a block.
const STEP_MS: i64 = 30_000;

/// A small deterministic generator: the trials differ but the test repeats exactly.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The value of series `s` at push `n`: distinct, exactly representable, never NaN.
fn value(n: i64, s: usize) -> f64 {
    (n * 16 + s as i64) as f64 + 0.25
}

fn push_body(t: i64, n: i64) -> Vec<u8> {
    let timeseries = (0..SERIES)
        .map(|s| v1::TimeSeries {
            labels: vec![
                v1::Label {
                    name: Bytes::from_static(b"__name__"),
                    value: Bytes::from_static(b"crash_trial"),
                },
                v1::Label {
                    name: Bytes::from_static(b"s"),
                    value: Bytes::from(s.to_string()),
                },
            ],
            samples: vec![v1::Sample {
                value: value(n, s),
                timestamp: t,
            }],
            ..Default::default()
        })
        .collect();
    let raw = v1::WriteRequest {
        timeseries,
        ..Default::default()
    }
    .encode_to_vec();
    snap::raw::Encoder::new().compress_vec(&raw).unwrap()
}

fn spawn(dir: &Path, config: &Path, port: u16, log: &Path) -> Child {
    let args: Vec<OsString> = vec![
        "--config.file".into(),
        config.into(),
        "--storage.tsdb.path".into(),
        dir.into(),
        "--storage.tsdb.retention.time=100y".into(),
        format!("--web.listen-address=127.0.0.1:{port}").into(),
    ];
    Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

#[test]
#[ignore = "slow: run by .ci/run"]
fn kill9_at_random_moments_loses_no_acknowledged_sample() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = quiet_config(tmp.path());
    let http = Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut rng = Lcg(0x5eed);
    let t0 = now_ms() - 10 * 3_600_000;
    // Numbers of the acknowledged pushes; every push carries one sample per series.
    let mut acked: BTreeSet<i64> = BTreeSet::new();
    let mut n: i64 = 0;
    for trial in 0..TRIALS {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = tmp.path().join(format!("trial-{trial}.log"));
        let mut child = spawn(&data, &config, port, &log);
        // Some kills land in start-up (WAL replay, the start-up compaction), most during pushes.
        let kill_at = Instant::now() + Duration::from_millis(100 + rng.next() % 2900);
        let url = format!("http://127.0.0.1:{port}/api/v1/write");
        while Instant::now() < kill_at {
            let t = t0 + n * STEP_MS;
            let r = http
                .post(&url)
                .header("Content-Type", "application/x-protobuf")
                .header("Content-Encoding", "snappy")
                .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                .body(push_body(t, n))
                .send();
            match r {
                Ok(r) if r.status().as_u16() == 204 => {
                    acked.insert(n);
                    n += 1;
                }
                // Not up yet (or still replaying): the same push again.
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert!(
        acked.len() > 50,
        "too few pushes acknowledged: {}",
        acked.len()
    );
    let blocks = std::fs::read_dir(&data)
        .unwrap()
        .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().len() == 26))
        .count();
    println!(
        "{} pushes acknowledged over {TRIALS} kills; {blocks} blocks",
        acked.len()
    );
    // The pushes span hours: start-ups compacted the head, and kills could land in that.
    assert!(blocks >= 1, "no compaction happened during the trials");

    let s = Server::spawn(
        vec![
            "--config.file".into(),
            config.into(),
            "--storage.tsdb.path".into(),
            data.into(),
            "--storage.tsdb.retention.time=100y".into(),
        ],
        tmp.path().join("final.log"),
    );
    let end = t0 + n * STEP_MS;
    let span_s = (end - t0) / 1000 + 60;
    let r: Value = s
        .http
        .get(s.url("/api/v1/query"))
        .query(&[
            ("query", format!("crash_trial[{span_s}s]")),
            ("time", format!("{:.3}", end as f64 / 1000.0)),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(r["status"], "success", "{r}");
    let mut found = 0;
    for series in r["data"]["result"].as_array().unwrap() {
        let sidx: usize = series["metric"]["s"].as_str().unwrap().parse().unwrap();
        let got: BTreeMap<i64, String> = series["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let t = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
                (t, p[1].as_str().unwrap().to_string())
            })
            .collect();
        for &k in &acked {
            let t = t0 + k * STEP_MS;
            assert_eq!(
                got.get(&t),
                Some(&value(k, sidx).to_string()),
                "series {sidx}, push {k} was acknowledged"
            );
        }
        // Pushes in flight at a kill may have landed too, but nothing else.
        for t in got.keys() {
            assert_eq!((t - t0) % STEP_MS, 0, "a sample no push sent at {t}");
        }
        found += 1;
    }
    assert_eq!(found, SERIES);
    let logs: String = (0..TRIALS)
        .map(|i| {
            std::fs::read_to_string(tmp.path().join(format!("trial-{i}.log"))).unwrap_or_default()
        })
        .collect();
    assert!(!logs.contains("panicked"), "a trial panicked:\n{logs}");
}
