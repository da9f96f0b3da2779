//! Log push tests: requests built by hand (prost, snappy, gzip, JSON) sent through
//! [`LogReceiver`] into a fake store; the stored streams and Loki's answers compared exactly.
//!
//! - `loki`: Loki's push API: formats, store refusals, malformed bodies.
//! - `refusals`: the table of Loki's refusals and their answers.
//! - `otlp`: OTLP logs, mapping and answers.
//! - `elasticsearch`: `_bulk` bodies, per-item answers.
//! - `fuzz`: random bytes into every decoder.

// Case tables of tuples read better here than named types for each shape.
#![allow(clippy::type_complexity)]

mod elasticsearch;
mod fuzz;
mod loki;
mod otlp;
mod refusals;

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use parking_lot::Mutex;

use bongsu_model::log::{LogEntry, LogStream};
use bongsu_storage::logs::{LogAppendReport, LogAppendable, LogRejection};
use bongsu_storage::StorageError;

use super::{LogLimits, LogReceiver};

/// 2023-11-14T22:13:20Z, the start of `gen_logs.py`'s data.
const T0: i64 = 1_700_000_000_000_000_000;

/// Loki's limits, except that old lines are taken (the test data is from 2023) and the rate is
/// unlimited unless a test says otherwise.
fn limits() -> LogLimits {
    LogLimits {
        reject_old_samples: false,
        ingestion_rate_bytes: 0,
        ..LogLimits::default()
    }
}

/// What a fake store does with an append.
#[derive(Default)]
enum Behaviour {
    #[default]
    Accept,
    /// Refuses the entries at these (stream, entry) indexes with this rejection.
    Refuse(Vec<(usize, usize, LogRejection)>),
    Fail,
}

/// A `LogAppendable` that keeps what it is given.
#[derive(Default)]
struct FakeStore {
    appended: Mutex<Vec<LogStream>>,
    behaviour: Behaviour,
}

#[derive(Debug, thiserror::Error)]
#[error("disk on fire")]
struct Fire;

impl LogAppendable for FakeStore {
    fn append_logs(&self, streams: &[LogStream]) -> Result<LogAppendReport, StorageError> {
        let rejected = match &self.behaviour {
            Behaviour::Accept => Vec::new(),
            Behaviour::Refuse(r) => r.clone(),
            Behaviour::Fail => return Err(StorageError::new(Fire)),
        };
        let mut kept = self.appended.lock();
        let mut appended = 0;
        for (si, s) in streams.iter().enumerate() {
            let entries: Vec<LogEntry> = s
                .entries
                .iter()
                .enumerate()
                .filter(|(ei, _)| !rejected.iter().any(|(rs, re, _)| *rs == si && re == ei))
                .map(|(_, e)| e.clone())
                .collect();
            appended += entries.len() as u64;
            kept.push(LogStream {
                labels: s.labels.clone(),
                entries,
            });
        }
        Ok(LogAppendReport { appended, rejected })
    }
}

impl FakeStore {
    /// Stored streams as (label pairs, entries).
    fn streams(&self) -> Vec<(Vec<(String, String)>, Vec<LogEntry>)> {
        self.appended
            .lock()
            .iter()
            .map(|s| {
                let labels = s
                    .labels
                    .iter()
                    .map(|l| (l.name.to_string(), l.value.to_string()))
                    .collect();
                (labels, s.entries.clone())
            })
            .collect()
    }
}

/// An answer: status, body as text (lossy for OTLP's protobuf), content type.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
    content_type: Option<String>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The message of an OTLP `google.rpc.Status` body.
    fn status_message(&self) -> String {
        use prost::Message;
        super::otlp::proto::Status::decode(&self.body[..])
            .expect("an OTLP error body is a google.rpc.Status")
            .message
    }
}

/// The route a test request goes to.
#[derive(Clone, Copy)]
enum Route {
    LokiV1,
    LokiLegacy,
    Otlp,
}

async fn send_with(
    receiver: &LogReceiver,
    store: &Arc<FakeStore>,
    route: Route,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Answer {
    let mut h = HeaderMap::new();
    for (n, v) in headers {
        h.insert(
            header::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let store: Arc<dyn LogAppendable> = store.clone();
    let body = Body::from(body);
    let response = match route {
        Route::LokiV1 => receiver.handle_loki_push(store, &h, body).await,
        Route::LokiLegacy => receiver.handle_loki_legacy_push(store, &h, body).await,
        Route::Otlp => receiver.handle_otlp_logs(store, &h, body).await,
    };
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string());
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        body,
        content_type,
    }
}

/// Sends to a fresh receiver with [`limits`] and a fresh accepting store.
async fn send(route: Route, headers: &[(&str, &str)], body: Vec<u8>) -> (Answer, Arc<FakeStore>) {
    let store = Arc::new(FakeStore::default());
    let answer = send_with(&LogReceiver::new(limits()), &store, route, headers, body).await;
    (answer, store)
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(raw).unwrap();
    e.finish().unwrap()
}

fn snappy(raw: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(raw).unwrap()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn entry(ts: i64, line: &str, metadata: &[(&str, &str)]) -> LogEntry {
    LogEntry {
        ts,
        line: line.to_string(),
        metadata: pairs(metadata),
    }
}
