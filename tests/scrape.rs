//! Scraping in the real binary, end to end: a tiny HTTP target inside the test serves a body
//! the test controls (or fails, or hangs), bongsu scrapes it every second, and everything is
//! checked through the HTTP API: target labels, `honor_labels`, relabeling, the synthetic
//! series, staleness, the targets and metadata APIs, reloads, `bongsu check config` and
//! file_sd.
//!
//! Every wait polls with a bound (`WAIT`), so a slow machine makes the tests slower, not
//! flaky, and a broken feature makes them fail with the server's log.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::server::Server;
use reqwest::StatusCode;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_bongsu");
/// How long a hanging target holds a connection (longer than the 500 ms scrape timeout).
const HANG: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------
// The fake target
// ---------------------------------------------------------------------------------------

/// What the fake target does with the next request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// 200 with the current body.
    Serve,
    /// 500 with a short text.
    Fail,
    /// Reads the request, then answers nothing for `HANG`.
    Hang,
    /// 200 with [`gzip_bomb`]: 2 MB on the wire, 1 GiB decompressed.
    GzipBomb,
    /// 200 with [`proto_body`] in the protobuf exposition format.
    Proto,
    /// As `Proto`, the histogram also with native buckets.
    ProtoNative,
}

/// A protobuf body (`io.prometheus.client.MetricFamily`, delimited): a classic histogram
/// `rpc_seconds` (one bucket, `le` 0.5; with `native`, also native buckets of schema 0) and a
/// counter `rpc_total`.
fn proto_body(native: bool) -> Vec<u8> {
    use bongsu_exposition::proto::{
        encode_delimited, Bucket, BucketSpan, Counter, Metric, MetricFamily, ProtoHistogram,
        ProtoMetricType,
    };
    let mut histogram = ProtoHistogram {
        sample_count: 3,
        sample_sum: 1.5,
        bucket: vec![Bucket {
            cumulative_count: 2,
            upper_bound: 0.5,
            ..Default::default()
        }],
        ..Default::default()
    };
    if native {
        histogram.positive_span = vec![BucketSpan {
            offset: -1,
            length: 2,
        }];
        histogram.positive_delta = vec![2, -1];
    }
    let families = [
        MetricFamily {
            name: "rpc_seconds".into(),
            help: "RPC latency.".into(),
            r#type: ProtoMetricType::Histogram as i32,
            metric: vec![Metric {
                histogram: Some(histogram),
                ..Default::default()
            }],
            unit: String::new(),
        },
        MetricFamily {
            name: "rpc_total".into(),
            help: "RPCs.".into(),
            r#type: ProtoMetricType::Counter as i32,
            metric: vec![Metric {
                counter: Some(Counter {
                    value: 7.0,
                    ..Default::default()
                }),
                ..Default::default()
            }],
            unit: String::new(),
        },
    ];
    let mut out = Vec::new();
    encode_delimited(&families, &mut out);
    out
}

/// A gzip body that expands about 500-fold: one full-flushed deflate block of repeated sample
/// lines (byte-aligned and independent of what precedes it, so it can be repeated) sent
/// `BOMB_BLOCKS` times. The trailer's checksum is not that of the content: a client bounded as
/// it should be stops long before it.
fn gzip_bomb() -> &'static [u8] {
    const BLOCK: usize = 1 << 20;
    const BOMB_BLOCKS: usize = 1024;
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| {
        let text = "bomb_metric{a=\"b\"} 1\n".repeat(BLOCK / 21);
        let mut deflate = flate2::Compress::new(flate2::Compression::best(), false);
        let mut block = Vec::with_capacity(BLOCK);
        deflate
            .compress_vec(text.as_bytes(), &mut block, flate2::FlushCompress::Full)
            .unwrap();
        let mut body = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        for _ in 0..BOMB_BLOCKS {
            body.extend_from_slice(&block);
        }
        // A final empty stored block, then CRC-32 and size (not the content's).
        body.extend_from_slice(&[1, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
        body
    })
}

/// A minimal HTTP/1.1 server on 127.0.0.1 answering every GET with a body set at run time.
/// Each connection gets one response and is closed (`Connection: close`).
struct FakeTarget {
    addr: String,
    body: Arc<Mutex<String>>,
    mode: Arc<Mutex<Mode>>,
    /// Request headers of the last request, lower-cased names.
    last_headers: Arc<Mutex<BTreeMap<String, String>>>,
    requests: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl FakeTarget {
    fn start(body: &str) -> FakeTarget {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let t = FakeTarget {
            addr,
            body: Arc::new(Mutex::new(body.to_string())),
            mode: Arc::new(Mutex::new(Mode::Serve)),
            last_headers: Arc::default(),
            requests: Arc::default(),
            stop: Arc::default(),
        };
        let (body, mode, headers, requests, stop) = (
            t.body.clone(),
            t.mode.clone(),
            t.last_headers.clone(),
            t.requests.clone(),
            t.stop.clone(),
        );
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (body, mode, headers, requests) = (
                    body.clone(),
                    mode.clone(),
                    headers.clone(),
                    requests.clone(),
                );
                thread::spawn(move || {
                    let _ = serve_one(conn, &body, &mode, &headers, &requests);
                });
            }
        });
        t
    }

    fn set_body(&self, body: &str) {
        *self.body.lock().unwrap() = body.to_string();
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn header(&self, name: &str) -> Option<String> {
        self.last_headers.lock().unwrap().get(name).cloned()
    }
}

impl Drop for FakeTarget {
    fn drop(&mut self) {
        // Wake the accept loop so its thread ends.
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
    }
}

fn serve_one(
    mut conn: TcpStream,
    body: &Mutex<String>,
    mode: &Mutex<Mode>,
    headers: &Mutex<BTreeMap<String, String>>,
    requests: &AtomicU64,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(HANG))?;
    // Read the request head (a GET has no body); at most 64 KiB.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut chunk)?;
        if n == 0 || buf.len() > 65_536 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let head = String::from_utf8_lossy(&buf).to_string();
    *headers.lock().unwrap() = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mode = *mode.lock().unwrap();
    if mode == Mode::GzipBomb {
        let bomb = gzip_bomb();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            bomb.len()
        );
        conn.write_all(head.as_bytes())?;
        conn.write_all(bomb)?;
        return conn.flush();
    }
    if matches!(mode, Mode::Proto | Mode::ProtoNative) {
        let body = proto_body(mode == Mode::ProtoNative);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        conn.write_all(head.as_bytes())?;
        conn.write_all(&body)?;
        return conn.flush();
    }
    let (status, content_type, text) = match mode {
        Mode::Serve => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            body.lock().unwrap().clone(),
        ),
        Mode::Fail => (
            "500 Internal Server Error",
            "text/plain",
            "boom\n".to_string(),
        ),
        Mode::Hang => {
            thread::sleep(HANG);
            return conn.shutdown(Shutdown::Both);
        }
        Mode::GzipBomb | Mode::Proto | Mode::ProtoNative => unreachable!("answered above"),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    conn.write_all(response.as_bytes())?;
    conn.flush()
}

// ---------------------------------------------------------------------------------------
// bongsu
// ---------------------------------------------------------------------------------------

/// Labels of one series as a sorted map.
type Metric = BTreeMap<String, String>;

impl Server {
    /// Starts bongsu on a free port with `config` and the lifecycle API, and waits for ready.
    fn start(dir: &Path, config: &Path) -> Server {
        Server::start_with(dir, config, &["--web.enable-lifecycle"])
    }

    /// Starts bongsu on a free port with `config` and `extra` flags, and waits for ready.
    fn start_with(dir: &Path, config: &Path, extra: &[&str]) -> Server {
        let mut args: Vec<OsString> = vec![
            "--storage.tsdb.path".into(),
            dir.join("data").into(),
            "--config.file".into(),
            config.into(),
        ];
        args.extend(extra.iter().map(OsString::from));
        Server::spawn(args, dir.join("server.log"))
    }

    /// `data` of a successful API GET.
    fn api(&self, path: &str, params: &[(&str, &str)]) -> Value {
        let r = self.http.get(self.url(path)).query(params).send().unwrap();
        let status = r.status();
        let body: Value = r.json().expect("JSON body");
        assert_eq!(status, StatusCode::OK, "{path} {params:?}: {body}");
        assert_eq!(body["status"], "success", "{body}");
        body["data"].clone()
    }

    /// The instant vector of `query` now, as (labels, value).
    fn query(&self, query: &str) -> Vec<(Metric, f64)> {
        let data = self.api("/api/v1/query", &[("query", query)]);
        assert_eq!(data["resultType"], "vector", "{query}: {data}");
        data["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let m: Metric = serde_json::from_value(s["metric"].clone()).unwrap();
                let v: f64 = s["value"][1].as_str().unwrap().parse().unwrap();
                (m, v)
            })
            .collect()
    }

    /// The one value of `query` now, if the result has exactly one series.
    fn value(&self, query: &str) -> Option<f64> {
        match self.query(query).as_slice() {
            [(_, v)] => Some(*v),
            _ => None,
        }
    }

    /// Waits until `query` returns exactly one series with value `want`.
    fn wait_value(&self, query: &str, want: f64) {
        self.wait_for(&format!("{query} == {want}"), || {
            (self.value(query) == Some(want)).then_some(())
        });
    }

    /// Waits until `query` returns no series.
    fn wait_empty(&self, query: &str) -> Duration {
        let started = Instant::now();
        self.wait_for(&format!("{query} to return nothing"), || {
            self.query(query).is_empty().then_some(())
        });
        started.elapsed()
    }

    /// `activeTargets` of `/api/v1/targets`.
    fn active_targets(&self) -> Vec<Value> {
        self.api("/api/v1/targets", &[])["activeTargets"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// The active target of `job`, once there is exactly one.
    fn target(&self, job: &str) -> Option<Value> {
        let mut found: Vec<Value> = self
            .active_targets()
            .into_iter()
            .filter(|t| t["scrapePool"] == job)
            .collect();
        (found.len() == 1).then(|| found.remove(0))
    }

    fn reload(&self) -> (StatusCode, String) {
        let r = self.http.post(self.url("/-/reload")).send().unwrap();
        (r.status(), r.text().unwrap())
    }
}

fn metric(pairs: &[(&str, &str)]) -> Metric {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// Writes `text` to `path` through a rename, so a reader never sees half a file.
fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).unwrap();
    fs::rename(&tmp, path).unwrap();
}

/// The `global` section every test config starts with.
const GLOBAL: &str = "global:\n  scrape_interval: 1s\n  scrape_timeout: 500ms\n";

const BODY: &str = "\
# HELP demo_requests_total Requests handled.
# TYPE demo_requests_total counter
demo_requests_total{code=\"200\"} 7
demo_requests_total{code=\"500\"} 1
# HELP demo_temperature_celsius Current temperature.
# TYPE demo_temperature_celsius gauge
demo_temperature_celsius 21.5
# TYPE demo_with_job gauge
demo_with_job{job=\"inner\"} 3
dropped_metric 1
";

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

/// Target labels, `exported_job` and `honor_labels`, both relabeling stages, the synthetic
/// series, the request bongsu sends, and the targets and metadata APIs.
#[test]
fn scraped_series_carry_target_labels_and_relabeling() {
    let dir = tempfile::tempdir().unwrap();
    let target = FakeTarget::start(BODY);
    let a = &target.addr;
    let config = dir.path().join("prometheus.yml");
    fs::write(
        &config,
        format!(
            "{GLOBAL}scrape_configs:
  - job_name: fake
    static_configs:
      - targets: ['{a}']
        labels: {{env: test}}
    relabel_configs:
      - target_label: team
        replacement: alpha
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: dropped_metric
        action: drop
  - job_name: honor
    honor_labels: true
    static_configs:
      - targets: ['{a}']
  - job_name: dropme
    static_configs:
      - targets: ['{a}']
    relabel_configs:
      - source_labels: [__address__]
        regex: '.*'
        action: drop
"
        ),
    )
    .unwrap();
    let s = Server::start(dir.path(), &config);
    s.wait_value("up{job=\"fake\"}", 1.0);
    s.wait_value("up{job=\"honor\"}", 1.0);

    // Scraped series with the target's labels (static label, relabel-added `team`).
    let base = [
        ("env", "test"),
        ("instance", a.as_str()),
        ("job", "fake"),
        ("team", "alpha"),
    ];
    let with = |extra: &[(&str, &str)]| {
        let mut m = metric(&base);
        m.extend(metric(extra));
        m
    };
    let mut got = s.query("demo_requests_total{job=\"fake\"}");
    got.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        got,
        vec![
            (
                with(&[("__name__", "demo_requests_total"), ("code", "200")]),
                7.0
            ),
            (
                with(&[("__name__", "demo_requests_total"), ("code", "500")]),
                1.0
            ),
        ]
    );
    // A scraped `job` label clashes with the target's: kept as `exported_job`…
    assert_eq!(
        s.query("demo_with_job{job=\"fake\"}"),
        vec![(
            with(&[("__name__", "demo_with_job"), ("exported_job", "inner")]),
            3.0
        )]
    );
    // …or, with honor_labels, wins over the target's.
    assert_eq!(
        s.query("demo_with_job{job=\"inner\"}"),
        vec![(
            metric(&[
                ("__name__", "demo_with_job"),
                ("instance", a),
                ("job", "inner")
            ]),
            3.0
        )]
    );
    // metric_relabel_configs dropped `dropped_metric` in job fake only.
    let dropped = s.query("dropped_metric");
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    assert_eq!(dropped[0].0["job"], "honor");
    // The target dropped by relabel_configs is never scraped.
    assert!(s.query("up{job=\"dropme\"}").is_empty());

    // Synthetic series: 5 samples in the body, 4 after metric relabeling, all 4 new in the
    // first scrape and none after.
    assert_eq!(s.value("scrape_samples_scraped{job=\"fake\"}"), Some(5.0));
    assert_eq!(
        s.value("scrape_samples_post_metric_relabeling{job=\"fake\"}"),
        Some(4.0)
    );
    assert_eq!(
        s.value("scrape_samples_post_metric_relabeling{job=\"honor\"}"),
        Some(5.0)
    );
    let up = s.query("up{job=\"fake\"}");
    assert_eq!(up[0].0, with(&[("__name__", "up")]), "target labels on up");
    let duration = s.value("scrape_duration_seconds{job=\"fake\"}").unwrap();
    assert!(duration > 0.0 && duration < 0.5, "{duration}");
    // Scrapes repeat every second.
    s.wait_for("three scrapes", || {
        s.value("count_over_time(up{job=\"fake\"}[1m])")
            .filter(|n| *n >= 3.0)
    });
    assert_eq!(
        s.value("max_over_time(scrape_series_added{job=\"fake\"}[1m])"),
        Some(4.0)
    );
    assert_eq!(
        s.value("min_over_time(scrape_series_added{job=\"fake\"}[1m])"),
        Some(0.0)
    );

    // What bongsu asked for.
    let ua = target.header("user-agent").unwrap_or_default();
    assert!(ua.starts_with("bongsu/"), "{ua}");
    assert_eq!(
        target
            .header("x-prometheus-scrape-timeout-seconds")
            .as_deref(),
        Some("0.5")
    );
    let accept = target.header("accept").unwrap_or_default();
    assert!(accept.contains("text/plain"), "{accept}");

    // /api/v1/targets: two active targets, one dropped.
    let data = s.api("/api/v1/targets", &[]);
    let active = data["activeTargets"].as_array().unwrap();
    assert_eq!(active.len(), 2, "{data}");
    let t = s.target("fake").unwrap();
    let mut keys: Vec<&str> = t.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "discoveredLabels",
            "globalUrl",
            "health",
            "labels",
            "lastError",
            "lastScrape",
            "lastScrapeDuration",
            "scrapeInterval",
            "scrapePool",
            "scrapeTimeout",
            "scrapeUrl",
        ]
    );
    let labels: Metric = serde_json::from_value(t["labels"].clone()).unwrap();
    assert_eq!(labels, metric(&base));
    let discovered: Metric = serde_json::from_value(t["discoveredLabels"].clone()).unwrap();
    assert_eq!(discovered["__address__"], *a);
    assert_eq!(discovered["__metrics_path__"], "/metrics");
    assert_eq!(discovered["__scheme__"], "http");
    assert_eq!(discovered["__scrape_interval__"], "1s");
    assert_eq!(discovered["__scrape_timeout__"], "500ms");
    assert_eq!(discovered["job"], "fake");
    assert_eq!(discovered["env"], "test");
    assert!(!discovered.contains_key("team"), "before relabeling");
    assert_eq!(t["scrapeUrl"], format!("http://{a}/metrics"));
    assert_eq!(t["health"], "up");
    assert_eq!(t["lastError"], "");
    assert_eq!(t["scrapeInterval"], "1s");
    assert_eq!(t["scrapeTimeout"], "500ms");
    assert!(t["lastScrapeDuration"].as_f64().unwrap() > 0.0);
    let last = t["lastScrape"].as_str().unwrap();
    assert!(last.starts_with("20") && last.ends_with('Z'), "{last}");
    let dropped = data["droppedTargets"].as_array().unwrap();
    assert_eq!(dropped.len(), 1, "{data}");
    assert_eq!(dropped[0]["discoveredLabels"]["__address__"], *a);
    assert_eq!(dropped[0]["discoveredLabels"]["job"], "dropme");
    assert_eq!(data["droppedTargetCounts"]["dropme"], 1);
    assert_eq!(data["droppedTargetCounts"]["fake"], 0);
    // Filters.
    let only = s.api("/api/v1/targets", &[("scrapePool", "honor")]);
    assert_eq!(only["activeTargets"].as_array().unwrap().len(), 1);
    assert_eq!(only["activeTargets"][0]["scrapePool"], "honor");
    let only = s.api("/api/v1/targets", &[("state", "dropped")]);
    assert!(only["activeTargets"].as_array().unwrap().is_empty());
    assert_eq!(only["droppedTargets"].as_array().unwrap().len(), 1);
    // As Prometheus 2.42 answers: the state is case-insensitive, and an unknown one is no
    // error but shows neither list.
    let only = s.api("/api/v1/targets", &[("state", "Active")]);
    assert_eq!(only["activeTargets"].as_array().unwrap().len(), 2);
    assert!(only["droppedTargets"].as_array().unwrap().is_empty());
    let none = s.api("/api/v1/targets", &[("state", "bogus")]);
    assert!(none["activeTargets"].as_array().unwrap().is_empty());
    assert!(none["droppedTargets"].as_array().unwrap().is_empty());

    // Metadata from the HELP/TYPE lines.
    let md = s.api(
        "/api/v1/targets/metadata",
        &[
            ("match_target", "{job=\"fake\"}"),
            ("metric", "demo_requests_total"),
        ],
    );
    assert_eq!(md.as_array().unwrap().len(), 1, "{md}");
    // Named in the request, the metric is left out of the entries, as in Prometheus 2.42.
    assert!(md[0].get("metric").is_none(), "{md}");
    assert_eq!(md[0]["type"], "counter");
    assert_eq!(md[0]["help"], "Requests handled.");
    assert_eq!(md[0]["target"]["job"], "fake");
    assert_eq!(md[0]["target"]["instance"], *a);
    let all = s.api(
        "/api/v1/targets/metadata",
        &[("match_target", "{job=\"fake\"}")],
    );
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["metric"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "demo_requests_total",
            "demo_temperature_celsius",
            "demo_with_job"
        ]
    );
    // `limit` bounds the targets, as in Prometheus 2.42: one target, all its entries.
    let one = s.api("/api/v1/targets/metadata", &[("limit", "1")]);
    let one = one.as_array().unwrap();
    assert_eq!(one.len(), 3, "{one:?}");
    assert!(one.iter().all(|m| m["target"] == one[0]["target"]));
    let two = s.api(
        "/api/v1/targets/metadata",
        &[("limit", "2"), ("metric", "demo_with_job")],
    );
    assert_eq!(two.as_array().unwrap().len(), 2, "{two}");
    let md = s.api(
        "/api/v1/metadata",
        &[("metric", "demo_temperature_celsius")],
    );
    assert_eq!(
        md,
        serde_json::json!({"demo_temperature_celsius": [
            {"type": "gauge", "help": "Current temperature.", "unit": ""}
        ]})
    );
    let md = s.api("/api/v1/metadata", &[]);
    assert_eq!(md["demo_with_job"][0]["type"], "gauge");
    assert_eq!(md["demo_with_job"][0]["help"], "");
}

/// A fake target serving `BODY`, and bongsu scraping it every second as job `fake`, once its
/// first scrape is stored. The temp dir lives as long as the returned guard.
fn scraping_a_fake_target() -> (tempfile::TempDir, FakeTarget, Server) {
    let dir = tempfile::tempdir().unwrap();
    let target = FakeTarget::start(BODY);
    let config = dir.path().join("prometheus.yml");
    fs::write(
        &config,
        format!(
            "{GLOBAL}scrape_configs:\n  - job_name: fake\n    static_configs:\n      - targets: ['{}']\n",
            target.addr
        ),
    )
    .unwrap();
    let s = Server::start(dir.path(), &config);
    s.wait_value("demo_temperature_celsius", 21.5);
    (dir, target, s)
}

/// With `--enable-feature=native-histograms` jobs ask for protobuf first, as Prometheus 3.5
/// does, and a protobuf body's classic histogram is stored as its `_bucket`, `_count` and
/// `_sum` series (bounds written as OpenMetrics floats).
#[test]
fn protobuf_targets_with_the_native_histograms_feature() {
    let dir = tempfile::tempdir().unwrap();
    let target = FakeTarget::start("");
    target.set_mode(Mode::Proto);
    let config = dir.path().join("prometheus.yml");
    fs::write(
        &config,
        format!(
            "{GLOBAL}scrape_configs:\n  - job_name: proto\n    static_configs:\n      - targets: ['{}']\n",
            target.addr
        ),
    )
    .unwrap();
    let s = Server::start_with(dir.path(), &config, &["--enable-feature=native-histograms"]);
    s.wait_value("rpc_total", 7.0);
    let accept = target.header("accept").unwrap_or_default();
    assert!(
        accept.starts_with(
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,"
        ),
        "{accept}"
    );
    assert_eq!(s.value("rpc_seconds_bucket{le=\"0.5\"}"), Some(2.0));
    assert_eq!(s.value("rpc_seconds_bucket{le=\"+Inf\"}"), Some(3.0));
    assert_eq!(s.value("rpc_seconds_count"), Some(3.0));
    assert_eq!(s.value("rpc_seconds_sum"), Some(1.5));
    assert_eq!(s.value("up{job=\"proto\"}"), Some(1.0));
}

/// A native histogram scraped over protobuf lands in the TSDB as a histogram series, and
/// the target stays up.
#[test]
fn native_histograms_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let target = FakeTarget::start("");
    target.set_mode(Mode::ProtoNative);
    let config = dir.path().join("prometheus.yml");
    fs::write(
        &config,
        format!(
            "{GLOBAL}scrape_configs:\n  - job_name: proto\n    scrape_native_histograms: true\n    static_configs:\n      - targets: ['{}']\n",
            target.addr
        ),
    )
    .unwrap();
    let s = Server::start(dir.path(), &config);
    s.wait_value("rpc_total", 7.0);
    assert_eq!(s.value("up{job=\"proto\"}"), Some(1.0));
    let series = s.api("/api/v1/series", &[("match[]", "rpc_seconds")]);
    assert_eq!(series.as_array().map(Vec::len), Some(1), "{series}");
    // The classic series are not stored beside the native histogram.
    let classic = s.api("/api/v1/series", &[("match[]", "rpc_seconds_count")]);
    assert_eq!(classic.as_array().map(Vec::len), Some(0), "{classic}");
}

/// A series gone from the body ends at the next scrape; a failing or hanging target is
/// `up == 0`, its series end, and the targets API says why; it recovers when served again.
#[test]
fn staleness_and_failing_targets() {
    let (_dir, target, s) = scraping_a_fake_target();

    // Remove one series from the body: stale at the next scrape, not after the 5 m lookback.
    target.set_body(&BODY.replace("demo_temperature_celsius 21.5\n", ""));
    let took = s.wait_empty("demo_temperature_celsius");
    // A few intervals at most (the bound leaves room for a loaded machine), far from the
    // 5-minute lookback that would apply without a stale marker.
    assert!(took < Duration::from_secs(8), "stale after {took:?}");
    assert_eq!(s.query("demo_requests_total").len(), 2, "the others stay");
    s.wait_value("scrape_samples_scraped", 4.0);

    // The target answers 500: up 0, every series stale, the targets API says why.
    target.set_mode(Mode::Fail);
    s.wait_value("up", 0.0);
    assert!(s.query("demo_requests_total").is_empty());
    assert!(s.query("demo_with_job").is_empty());
    assert_eq!(s.value("scrape_samples_scraped"), Some(0.0));
    let t = s.wait_for("health down", || {
        s.target("fake").filter(|t| t["health"] == "down")
    });
    let err = t["lastError"].as_str().unwrap();
    assert!(err.contains("500"), "{err}");

    // Served again: up 1 and the series are back.
    target.set_mode(Mode::Serve);
    s.wait_value("up", 1.0);
    assert_eq!(s.query("demo_requests_total").len(), 2);
    s.wait_for("health up", || {
        s.target("fake")
            .filter(|t| t["health"] == "up" && t["lastError"] == "")
    });

    // The target hangs past scrape_timeout: the scrape times out.
    target.set_mode(Mode::Hang);
    s.wait_value("up", 0.0);
    assert!(s.query("demo_requests_total").is_empty());
    let t = s.wait_for("health down", || {
        s.target("fake").filter(|t| t["health"] == "down")
    });
    let err = t["lastError"].as_str().unwrap();
    assert!(err.contains("deadline"), "{err}");
    let duration = s.value("scrape_duration_seconds").unwrap();
    // About the 500 ms timeout, well short of the 2 s the target holds the connection.
    assert!(
        (0.45..1.9).contains(&duration),
        "timed out after {duration}"
    );
    target.set_mode(Mode::Serve);
    s.wait_value("up", 1.0);
    assert!(target.requests.load(Ordering::SeqCst) >= 4);
}

/// A gzip bomb (2 MB expanding to 1 GiB) fails the scrape at the body size limit — the job's,
/// or 256 MiB when it sets none — and the server's memory stays bounded (unbounded, it read the
/// whole GiB and grew past 7 GB).
#[test]
fn a_gzip_bomb_fails_the_scrape_at_the_body_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let target = FakeTarget::start(BODY);
    target.set_mode(Mode::GzipBomb);
    let config = dir.path().join("prometheus.yml");
    // Long timeouts so that the limits, not the deadline, end the scrapes of a debug build;
    // a first scrape starts at an offset within the interval, so the interval stays short.
    fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 20s\n  scrape_timeout: 20s\nscrape_configs:\n\
             - job_name: limited\n  body_size_limit: 1MB\n  static_configs: [{{targets: ['{0}']}}]\n\
             - job_name: default\n  static_configs: [{{targets: ['{0}']}}]\n",
            target.addr
        ),
    )
    .unwrap();
    let s = Server::start(dir.path(), &config);
    for (job, limit) in [("limited", 1u64 << 20), ("default", 256 << 20)] {
        let t = s.wait_up_to(
            Duration::from_secs(120),
            "the bombed scrape to fail",
            || s.target(job).filter(|t| t["health"] == "down"),
        );
        assert_eq!(
            t["lastError"],
            format!("body size limit exceeded: more than {limit} bytes"),
            "{job}"
        );
    }
    let status = fs::read_to_string(format!("/proc/{}/status", s.child.id())).unwrap();
    let rss_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(rss_kb < 1 << 20, "RSS {rss_kb} kB after the bomb");
    let up: Vec<f64> = s.query("up").into_iter().map(|(_, v)| v).collect();
    assert_eq!(up, [0.0, 0.0]);
}

/// A scrape with a series that cannot be stored (over the WAL's 1 MiB record limit) shows as
/// a failed target with the reason and `up` 0, as a label limit would, not as healthy with
/// nothing stored.
#[test]
fn a_scrape_that_cannot_be_stored_fails_the_target() {
    let (_dir, target, s) = scraping_a_fake_target();
    let huge = "x".repeat(1 << 20);
    target.set_body(&format!("{BODY}demo_huge{{v=\"{huge}\"}} 1\n"));
    let t = s.wait_for("health down", || {
        s.target("fake").filter(|t| t["health"] == "down")
    });
    let err = t["lastError"].as_str().unwrap();
    // The series is named, shortened: the error is shown in the targets page and logs.
    assert!(
        err.starts_with("invalid series demo_huge{")
            && err.contains("…: invalid labels: labels encode to 1048"),
        "{err}"
    );
    assert!(
        err.ends_with("over the WAL record limit of 1048576"),
        "{err}"
    );
    assert!(err.len() < 400, "{err}");
    s.wait_value("up", 0.0);
    assert!(s.query("demo_temperature_celsius").is_empty(), "stale");
    // Fixed: up again.
    target.set_body(BODY);
    s.wait_value("up", 1.0);
    s.wait_value("demo_temperature_celsius", 21.5);
}

/// `/-/reload` applies a changed file (new job, changed target label, removed job); a broken
/// file is refused with 500 and the running configuration keeps scraping.
#[test]
fn reload_applies_changes_and_keeps_the_old_config_on_errors() {
    let dir = tempfile::tempdir().unwrap();
    let one = FakeTarget::start(BODY);
    let two = FakeTarget::start("other_metric 5\n");
    let config = dir.path().join("prometheus.yml");
    let job = |name: &str, addr: &str, env: &str| {
        format!(
            "  - job_name: {name}\n    static_configs:\n      - targets: ['{addr}']\n        labels: {{env: {env}}}\n"
        )
    };
    fs::write(
        &config,
        format!("{GLOBAL}scrape_configs:\n{}", job("a", &one.addr, "one")),
    )
    .unwrap();
    let s = Server::start(dir.path(), &config);
    s.wait_value("up{job=\"a\",env=\"one\"}", 1.0);
    assert!(s.target("b").is_none());

    // A new job, and a changed label in the old one.
    fs::write(
        &config,
        format!(
            "{GLOBAL}scrape_configs:\n{}{}",
            job("a", &one.addr, "two"),
            job("b", &two.addr, "two")
        ),
    )
    .unwrap();
    let (status, text) = s.reload();
    assert_eq!(status, StatusCode::OK, "{text}");
    // A restarted pool lists its targets once it has discovered them: poll.
    s.wait_for("job a with env=two", || {
        s.target("a").filter(|t| t["labels"]["env"] == "two")
    });
    let b = s.wait_for("job b", || s.target("b"));
    assert_eq!(b["scrapeUrl"], format!("http://{}/metrics", two.addr));
    s.wait_value("up{job=\"b\"}", 1.0);
    s.wait_value("other_metric{job=\"b\"}", 5.0);
    s.wait_value("up{job=\"a\",env=\"two\"}", 1.0);
    // The old label set's series were ended by the restart of job a.
    s.wait_empty("up{env=\"one\"}");
    s.wait_empty("demo_requests_total{env=\"one\"}");

    // A broken file: 500, the error in the body, and nothing changes.
    fs::write(
        &config,
        format!(
            "{GLOBAL}scrape_configs:\n{}    scrape_interval: soon\n",
            job("a", &one.addr, "three")
        ),
    )
    .unwrap();
    let (status, text) = s.reload();
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{text}");
    assert!(text.contains("failed to reload config"), "{text}");
    assert_eq!(s.target("a").unwrap()["labels"]["env"], "two");
    assert!(s.target("b").is_some());
    // …and keeps scraping: job a's scrape count grows.
    let count = |s: &Server| s.value("count_over_time(up{job=\"a\",env=\"two\"}[1m])");
    let before = count(&s).unwrap();
    s.wait_for("job a still scraped", || {
        count(&s).filter(|n| *n >= before + 2.0)
    });

    // A good file again that removes job b: its series end.
    fs::write(
        &config,
        format!("{GLOBAL}scrape_configs:\n{}", job("a", &one.addr, "two")),
    )
    .unwrap();
    let (status, text) = s.reload();
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(s.target("b").is_none());
    s.wait_empty("up{job=\"b\"}");
    s.wait_empty("other_metric");
    assert_eq!(s.value("up{job=\"a\"}"), Some(1.0));
}

/// Without `--web.enable-lifecycle`, `/-/reload` is refused (403, Prometheus' text), and
/// SIGHUP still reloads, as in Prometheus.
#[test]
fn sighup_reloads_without_the_lifecycle_api() {
    let dir = tempfile::tempdir().unwrap();
    let one = FakeTarget::start("m 1\n");
    let config = dir.path().join("prometheus.yml");
    let write = |jobs: &[&str]| {
        let mut text = format!("{GLOBAL}scrape_configs:\n");
        for j in jobs {
            text.push_str(&format!(
                "  - job_name: {j}\n    static_configs:\n      - targets: ['{}']\n",
                one.addr
            ));
        }
        fs::write(&config, text).unwrap();
    };
    write(&["a"]);
    let s = Server::start_with(dir.path(), &config, &[]);
    s.wait_value("up{job=\"a\"}", 1.0);
    write(&["a", "b"]);
    let (status, text) = s.reload();
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert_eq!(text, "Lifecycle API is not enabled.");
    assert!(s.target("b").is_none(), "refused reload changed nothing");
    let hup = Command::new("kill")
        .args(["-HUP", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    s.wait_for("job b after SIGHUP", || s.target("b"));
    s.wait_value("up{job=\"b\"}", 1.0);
}

/// `bongsu check config`: SUCCESS on stdout for a good file, FAILED with the reason on stderr
/// for a bad or missing one, and exit status 1 if any file fails.
#[test]
fn check_config_reports_each_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yml");
    let bad = dir.path().join("bad.yml");
    fs::write(
        &good,
        format!("{GLOBAL}scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['127.0.0.1:1']\n"),
    )
    .unwrap();
    fs::write(
        &bad,
        "scrape_configs:\n  - job_name: a\n    scrape_interval: 1s\n    scrape_timeout: 2s\n",
    )
    .unwrap();
    let check = |files: &[&Path]| {
        let out = Command::new(BIN)
            .args(["check", "config"])
            .args(files)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, stdout, _) = check(&[&good]);
    assert_eq!(code, Some(0));
    assert_eq!(
        stdout,
        format!(
            "SUCCESS: {} is valid prometheus config file syntax\n",
            good.display()
        )
    );
    let (code, stdout, stderr) = check(&[&good, &bad]);
    assert_eq!(code, Some(1));
    assert!(stdout.starts_with("SUCCESS: "), "{stdout}");
    assert!(stderr.starts_with("FAILED: "), "{stderr}");
    assert!(
        stderr.contains("scrape timeout greater than scrape interval"),
        "{stderr}"
    );
    let (code, _, stderr) = check(&[&dir.path().join("missing.yml")]);
    assert_eq!(code, Some(1));
    assert!(stderr.starts_with("FAILED: "), "{stderr}");
}

/// Targets from a file_sd JSON file; adding and removing one in the file shows within the
/// manager's 5 s file check.
#[test]
fn file_sd_targets_follow_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let one = FakeTarget::start("m 1\n");
    let two = FakeTarget::start("m 2\n");
    let sd = dir.path().join("targets.json");
    let group = |addrs: &[&str]| {
        serde_json::json!([{"targets": addrs, "labels": {"team": "sd"}}]).to_string()
    };
    write_atomically(&sd, &group(&[&one.addr]));
    let config = dir.path().join("prometheus.yml");
    fs::write(
        &config,
        format!(
            "{GLOBAL}scrape_configs:\n  - job_name: files\n    file_sd_configs:\n      - files: ['{}']\n",
            dir.path().join("*.json").display()
        ),
    )
    .unwrap();
    let s = Server::start(dir.path(), &config);
    s.wait_value(&format!("m{{instance=\"{}\"}}", one.addr), 1.0);
    let t = s.target("files").unwrap();
    assert_eq!(t["labels"]["team"], "sd");
    assert_eq!(
        t["discoveredLabels"]["__meta_filepath"],
        sd.display().to_string()
    );

    // Add a target to the file.
    write_atomically(&sd, &group(&[&one.addr, &two.addr]));
    s.wait_value(&format!("m{{instance=\"{}\",team=\"sd\"}}", two.addr), 2.0);
    assert_eq!(s.active_targets().len(), 2);

    // Remove the first: it leaves the targets and its series end.
    write_atomically(&sd, &group(&[&two.addr]));
    s.wait_empty(&format!("m{{instance=\"{}\"}}", one.addr));
    let t = s.target("files").expect("one target left");
    assert_eq!(t["labels"]["instance"], *two.addr);
}
