//! A remote-write receiver for the sender's tests (an axum server on 127.0.0.1 that decodes
//! 1.0 and 2.0 bodies and answers with the statuses a test scripts), a WAL written by hand, and
//! a sender over it. Each test file uses part of it.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use bongsu_ingest::proto::{v1, v2};
use bongsu_model::Labels;
use bongsu_remotewrite::RemoteWrite;
use bongsu_tsdb::wal::{
    RefFloatHistogramSample, RefHistogramSample, RefSample, RefSeries, Wal, WalOptions, WalPins,
};
use parking_lot::Mutex;
use prost::Message;

/// Longest wait for something a test expects to happen.
pub const WAIT: Duration = Duration::from_secs(20);

/// A series' labels as sent, in order.
pub type Series = Vec<(String, String)>;
/// A sample: timestamp and value bits.
pub type Sample = (i64, u64);

/// One decoded request.
#[derive(Debug, Clone)]
pub struct Request {
    pub headers: HeaderMap,
    pub status: u16,
    /// Per series: its labels (as sent, in order) and its samples (timestamp, value bits).
    pub series: Vec<(Series, Vec<Sample>)>,
}

#[derive(Default)]
pub struct ReceiverState {
    pub requests: Vec<Request>,
    /// Answers to give, in order (status, `Retry-After`); then 204.
    pub script: VecDeque<(u16, Option<&'static str>)>,
}

pub struct Receiver {
    pub url: String,
    pub state: Arc<Mutex<ReceiverState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn decode(headers: &HeaderMap, body: &[u8]) -> Vec<(Series, Vec<Sample>)> {
    let raw = snap::raw::Decoder::new().decompress_vec(body).unwrap();
    let s = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
    let v2 = headers.get("content-type").is_some_and(|c| {
        c.to_str()
            .unwrap()
            .contains("io.prometheus.write.v2.Request")
    });
    if v2 {
        let req = v2::Request::decode(&raw[..]).unwrap();
        assert_eq!(&req.symbols[0][..], b"", "symbols must start with \"\"");
        req.timeseries
            .iter()
            .map(|ts| {
                let labels = ts
                    .labels_refs
                    .chunks(2)
                    .map(|p| {
                        (
                            s(&req.symbols[p[0] as usize]),
                            s(&req.symbols[p[1] as usize]),
                        )
                    })
                    .collect();
                let samples = ts
                    .samples
                    .iter()
                    .map(|x| (x.timestamp, x.value.to_bits()))
                    .collect();
                (labels, samples)
            })
            .collect()
    } else {
        let req = v1::WriteRequest::decode(&raw[..]).unwrap();
        req.timeseries
            .iter()
            .map(|ts| {
                let labels = ts
                    .labels
                    .iter()
                    .map(|l| (s(&l.name), s(&l.value)))
                    .collect();
                let samples = ts
                    .samples
                    .iter()
                    .map(|x| (x.timestamp, x.value.to_bits()))
                    .collect();
                (labels, samples)
            })
            .collect()
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        Receiver::start_on("127.0.0.1:0").await
    }

    pub async fn start_on(addr: &str) -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let st = state.clone();
        let app = axum::Router::new().route(
            "/write",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let st = st.clone();
                async move {
                    let series = decode(&headers, &body);
                    let written: usize = series.iter().map(|(_, s)| s.len()).sum();
                    let mut g = st.lock();
                    let (status, retry) = g.script.pop_front().unwrap_or((204, None));
                    g.requests.push(Request {
                        headers,
                        status,
                        series,
                    });
                    let mut resp = StatusCode::from_u16(status).unwrap().into_response();
                    if let Some(r) = retry {
                        resp.headers_mut().insert("retry-after", r.parse().unwrap());
                    }
                    if status < 300 {
                        resp.headers_mut().insert(
                            "x-prometheus-remote-write-samples-written",
                            written.to_string().parse().unwrap(),
                        );
                    }
                    resp
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let url = format!("http://{}/write", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { url, state, task }
    }

    /// Samples of accepted requests, per series labels, in arrival order.
    pub fn accepted(&self) -> Vec<(Series, Sample)> {
        let g = self.state.lock();
        g.requests
            .iter()
            .filter(|r| r.status < 300)
            .flat_map(|r| {
                r.series
                    .iter()
                    .flat_map(|(l, s)| s.iter().map(move |x| (l.clone(), *x)))
            })
            .collect()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().requests.clone()
    }

    pub fn script(&self, answers: &[(u16, Option<&'static str>)]) {
        self.state.lock().script.extend(answers.iter().copied());
    }
}

/// Waits up to [`WAIT`] for `f` to hold; panics with `what` if it does not.
pub async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A data directory with a WAL written by the test.
pub struct Data {
    pub dir: tempfile::TempDir,
    pub wal: Wal,
}

impl Data {
    pub fn new() -> Data {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(&dir.path().join("wal"), WalOptions::default()).unwrap();
        Data { dir, wal }
    }

    pub fn series(&mut self, sref: u64, pairs: &[(&str, &str)]) {
        self.wal
            .log_series(&[RefSeries {
                sref,
                labels: Labels::from_pairs(pairs).unwrap(),
            }])
            .unwrap();
    }

    pub fn samples(&mut self, samples: &[(u64, i64, f64)]) {
        let s: Vec<RefSample> = samples
            .iter()
            .map(|&(sref, t, v)| RefSample { sref, t, v })
            .collect();
        self.wal.log_samples(&s).unwrap();
    }

    pub fn histograms(&mut self, hs: &[(u64, i64, bongsu_model::Histogram)]) {
        let hs: Vec<RefHistogramSample> = hs
            .iter()
            .map(|(sref, t, h)| RefHistogramSample {
                sref: *sref,
                t: *t,
                h: h.clone(),
            })
            .collect();
        self.wal.log_histograms(&hs).unwrap();
    }

    pub fn float_histograms(&mut self, hs: &[(u64, i64, bongsu_model::FloatHistogram)]) {
        let hs: Vec<RefFloatHistogramSample> = hs
            .iter()
            .map(|(sref, t, h)| RefFloatHistogramSample {
                sref: *sref,
                t: *t,
                h: h.clone(),
            })
            .collect();
        self.wal.log_float_histograms(&hs).unwrap();
    }

    /// A sender over this WAL with progress files in the data directory.
    pub fn sender(&self) -> RemoteWrite {
        sender_at(self.dir.path())
    }
}

pub fn sender_at(dir: &Path) -> RemoteWrite {
    RemoteWrite::with_paths(
        dir.join("wal"),
        dir.join("remote_write"),
        Arc::new(WalPins::default()),
    )
    .with_flush_deadline(Duration::from_secs(5))
}

/// A configuration with one remote-write endpoint at `url` and fast test timings, plus
/// `queue` keys for its `queue_config` (", key: value, ...") and `extra` keys for the endpoint.
pub fn config(url: &str, queue: &str, extra: &str) -> bongsu_config::Config {
    let yaml = format!(
        "remote_write:\n  - url: {url}\n    queue_config: {{batch_send_deadline: 50ms, min_backoff: 10ms, max_backoff: 50ms{queue}}}\n{extra}"
    );
    bongsu_config::Config::parse(&yaml, "test.yml").unwrap()
}

/// The `/metrics` text of `rw`'s families.
pub fn metrics(rw: &RemoteWrite) -> String {
    let mut out = String::new();
    rw.write_metrics(&mut bongsu_telemetry::Encoder::new(&mut out));
    out
}

/// The value of the line of `family` in `text` (the first, whatever its labels).
pub fn metric(text: &str, family: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(family) && l[family.len()..].starts_with('{'))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {family} in {text}"))
}

/// Waits until the queue(s) of a sender over `dir` have saved a first position: from then on,
/// what is written to the WAL is sent.
pub async fn started(dir: &Path) {
    let progress = dir.join("remote_write");
    wait_until("the queue's first progress file", || {
        std::fs::read_dir(&progress).is_ok_and(|mut d| {
            d.any(|e| {
                e.is_ok_and(|e| {
                    e.file_name().to_string_lossy().starts_with("progress-")
                        && !e.file_name().to_string_lossy().ends_with(".tmp")
                })
            })
        })
    })
    .await;
}
