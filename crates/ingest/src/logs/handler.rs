//! The HTTP side of the log push endpoints: the body read within the size limit, the memory
//! of bodies read and decoded at once bounded by two byte budgets (as the remote-write
//! receiver), decoding, validation and appending on the blocking pool, and Loki's answers:
//! 204 with no body; errors as Go's `http.Error` (plain text) for the Loki endpoints and as a
//! protobuf `google.rpc.Status` for OTLP, where a 500 becomes 503 so collectors retry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use prost::Message;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use bongsu_model::log::LogStream;
use bongsu_storage::logs::{LogAppendReport, LogAppendable, LogRejection};

use super::body::{self, body_too_large, Encoding};
use super::distributor::{self, PushStream};
use super::gofmt::{go_time_string, labels_string};
use super::limits::{LogLimits, RateLimiter, TENANT};
use super::{loki, otlp, PushError};

/// Errors listed per stream when the store refuses lines (Loki's ingester
/// `max_returned_stream_errors` default).
pub const MAX_RETURNED_STREAM_ERRORS: usize = 10;

/// Which endpoint a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Loki(loki::Version),
    Otlp,
}

/// The log push receiver: limits, the tenant's rate limiter, the memory budgets and counters,
/// shared by all requests. One per process.
#[derive(Debug)]
pub struct LogReceiver {
    shared: Arc<Shared>,
    /// Permits are bytes of bodies being read or held (at most twice the body limit).
    read_budget: Arc<Semaphore>,
    /// Permits are decompressed bytes being decoded (one request at the limit, or hundreds of
    /// ordinary ones); others wait, so senders see latency rather than errors.
    decode_budget: Arc<Semaphore>,
}

#[derive(Debug)]
pub(super) struct Shared {
    pub(super) limits: LogLimits,
    pub(super) rate: RateLimiter,
    pub(super) stats: LogStats,
}

/// A body read within the limits: the raw bytes, their decompressed size bound, and the
/// decode budget's permit held until decoding ends.
pub(super) struct Received {
    pub(super) raw: bytes::Bytes,
    pub(super) budget: usize,
    pub(super) encoding: Encoding,
    pub(super) permit: OwnedSemaphorePermit,
    /// The read budget's permit: the raw body is held until the request ends.
    pub(super) read_permit: OwnedSemaphorePermit,
}

/// Counters since start-up: `received == written + refused` over lines that were decoded.
#[derive(Debug, Default)]
pub struct LogStats {
    pub requests_ok: AtomicU64,
    pub requests_failed: AtomicU64,
    pub lines_received: AtomicU64,
    pub lines_written: AtomicU64,
    pub lines_refused: AtomicU64,
}

impl LogReceiver {
    /// A receiver with `limits`; `LogLimits::default()` is Loki's defaults.
    pub fn new(limits: LogLimits) -> LogReceiver {
        let read = limits
            .max_body_bytes
            .saturating_mul(2)
            .min(u32::MAX as usize);
        let decode = limits.max_decompressed_bytes.clamp(1, u32::MAX as usize);
        LogReceiver {
            read_budget: Arc::new(Semaphore::new(read.max(1))),
            decode_budget: Arc::new(Semaphore::new(decode.max(1))),
            shared: Arc::new(Shared {
                rate: RateLimiter::new(limits.ingestion_rate_bytes, limits.ingestion_burst_bytes),
                limits,
                stats: LogStats::default(),
            }),
        }
    }

    pub fn limits(&self) -> &LogLimits {
        &self.shared.limits
    }

    pub fn stats(&self) -> &LogStats {
        &self.shared.stats
    }

    /// Answers `POST /loki/api/v1/push` into `store`.
    pub async fn handle_loki_push(
        &self,
        store: Arc<dyn LogAppendable>,
        headers: &HeaderMap,
        body: Body,
    ) -> Response {
        self.handle(Endpoint::Loki(loki::Version::V1), store, headers, body)
            .await
    }

    /// Answers `POST /api/prom/push`, Loki's legacy push (protobuf as v1; its own JSON shape).
    pub async fn handle_loki_legacy_push(
        &self,
        store: Arc<dyn LogAppendable>,
        headers: &HeaderMap,
        body: Body,
    ) -> Response {
        self.handle(Endpoint::Loki(loki::Version::Legacy), store, headers, body)
            .await
    }

    /// Answers `POST /otlp/v1/logs` into `store`.
    pub async fn handle_otlp_logs(
        &self,
        store: Arc<dyn LogAppendable>,
        headers: &HeaderMap,
        body: Body,
    ) -> Response {
        self.handle(Endpoint::Otlp, store, headers, body).await
    }

    async fn handle(
        &self,
        endpoint: Endpoint,
        store: Arc<dyn LogAppendable>,
        headers: &HeaderMap,
        body: Body,
    ) -> Response {
        let result = self.process(endpoint, store, headers, body).await;
        let stats = &self.shared.stats;
        match &result {
            Ok(()) => stats.requests_ok.fetch_add(1, Ordering::Relaxed),
            Err(_) => stats.requests_failed.fetch_add(1, Ordering::Relaxed),
        };
        match result {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => answer_error(endpoint, e),
        }
    }

    async fn process(
        &self,
        endpoint: Endpoint,
        store: Arc<dyn LogAppendable>,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<(), PushError> {
        // A header that is not visible ASCII names no known type or encoding.
        let header = |name| {
            headers
                .get(name)
                .map(|v| v.to_str().unwrap_or("(not ASCII)"))
        };
        let content_type = header(header::CONTENT_TYPE);
        let content_encoding = header(header::CONTENT_ENCODING);
        let (content, encoding) = match endpoint {
            Endpoint::Loki(version) => {
                let (format, encoding) = loki::negotiate(content_type, content_encoding)?;
                (Content::Loki(format, version), encoding)
            }
            Endpoint::Otlp => {
                let (format, encoding) = otlp::negotiate(content_type, content_encoding)?;
                (Content::Otlp(format), encoding)
            }
        };
        let Received {
            raw,
            budget,
            encoding,
            permit: decode_permit,
            read_permit: _read_permit,
        } = self.receive(headers, body, encoding).await?;
        let shared = self.shared.clone();
        let work = move || {
            let _permit = decode_permit;
            let max = shared.limits.max_decompressed_bytes;
            let decompressed = body::decompress(encoding, &raw, budget, max)?;
            drop(raw);
            shared.push(content, &decompressed, &*store)
        };
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| PushError::Internal(format!("push task failed: {e}")))?
    }

    /// Reads a body in `encoding` within the body limit (`Content-Length` first) and takes
    /// its share of the read and decode budgets; the caller decompresses and decodes it.
    pub(super) async fn receive(
        &self,
        headers: &HeaderMap,
        body: Body,
        encoding: Encoding,
    ) -> Result<Received, PushError> {
        let limits = &self.shared.limits;
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let limit = match declared {
            Some(n) if n > limits.max_body_bytes as u64 => {
                return Err(body_too_large(n, limits.max_body_bytes))
            }
            Some(n) => n as usize,
            None => limits.max_body_bytes,
        };
        // Within the budget's size: `limit` is at most the body limit, the budget twice it.
        let permits = u32::try_from(limit.max(1)).unwrap_or(u32::MAX);
        let read_permit = self
            .read_budget
            .clone()
            .acquire_many_owned(permits)
            .await
            .map_err(|_| PushError::Internal("receiver is closed".into()))?;
        // hyper stops at Content-Length; the limit covers bodies without one.
        let raw = axum::body::to_bytes(body, limit).await.map_err(|e| {
            if declared.is_none() {
                body_too_large(limit as u64 + 1, limits.max_body_bytes)
            } else {
                PushError::BadRequest(format!("reading the request body: {e}"))
            }
        })?;
        let budget = body::decompressed_estimate(encoding, &raw, limits.max_decompressed_bytes)?;
        // Never more than the budget holds, or the request would wait forever (a body limit
        // configured above the decompressed one).
        let capacity = limits.max_decompressed_bytes.clamp(1, u32::MAX as usize);
        let permits = u32::try_from(budget.max(raw.len()).clamp(1, capacity)).unwrap_or(u32::MAX);
        let permit = self
            .decode_budget
            .clone()
            .acquire_many_owned(permits)
            .await
            .map_err(|_| PushError::Internal("receiver is closed".into()))?;
        Ok(Received {
            raw,
            budget,
            encoding,
            permit,
            read_permit,
        })
    }

    /// What all requests share: limits, rate limiter, counters.
    pub(super) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }
}

/// What a decompressed body holds.
#[derive(Debug, Clone, Copy)]
enum Content {
    Loki(loki::Format, loki::Version),
    Otlp(otlp::Format),
}

impl Shared {
    /// Decodes, validates and appends one decompressed body (on the blocking pool).
    fn push(
        &self,
        content: Content,
        raw: &[u8],
        store: &dyn LogAppendable,
    ) -> Result<(), PushError> {
        let limits = &self.limits;
        let streams: Vec<PushStream> = match content {
            Content::Loki(format, version) => {
                loki::decode(format, version, raw, &limits.discover_service_name)?
            }
            Content::Otlp(format) => otlp::decode(format, raw, limits, now_ns())?,
        };
        let validated =
            distributor::validate(limits, streams, now_ns(), &self.rate, Instant::now())?;
        let stats = &self.stats;
        stats
            .lines_received
            .fetch_add(validated.received, Ordering::Relaxed);
        stats
            .lines_refused
            .fetch_add(validated.received - validated.kept, Ordering::Relaxed);
        let mut store_error = None;
        if !validated.streams.is_empty() {
            let report = store.append_logs(&validated.streams)?;
            stats
                .lines_written
                .fetch_add(report.appended, Ordering::Relaxed);
            stats
                .lines_refused
                .fetch_add(report.rejected.len() as u64, Ordering::Relaxed);
            store_error = store_refusal(&validated.streams, &report);
        }
        // As Loki: the store's (ingester's) error wins over validation errors.
        if let Some(e) = store_error {
            return Err(e);
        }
        if !validated.errors.is_empty() {
            return Err(PushError::BadRequest(validated.errors.message()));
        }
        Ok(())
    }
}

/// Lines the store refused, as Loki's ingester words them for one stream (the last one with
/// refusals, as Loki returns its last stream error): 429 for the stream limit, else 400.
fn store_refusal(streams: &[LogStream], report: &LogAppendReport) -> Option<PushError> {
    let (last_stream, _, _) = report.rejected.last()?;
    let stream = streams.get(*last_stream)?;
    let shown = labels_string(stream.labels.iter().map(|l| (&*l.name, &*l.value)));
    let refused: Vec<&(usize, usize, LogRejection)> = report
        .rejected
        .iter()
        .filter(|(s, _, _)| s == last_stream)
        .collect();
    if let Some((_, _, limit @ LogRejection::StreamLimit { .. })) = refused
        .iter()
        .find(|(_, _, r)| matches!(r, LogRejection::StreamLimit { .. }))
    {
        return Some(PushError::RateLimited(limit.to_string()));
    }
    let mut msg = String::new();
    for (_, entry, why) in refused.iter().take(MAX_RETURNED_STREAM_ERRORS) {
        let ts = stream.entries.get(*entry).map_or(0, |e| e.ts);
        msg.push_str(&format!(
            "entry with timestamp {} ignored, reason: '{why}',\n",
            go_time_string(ts)
        ));
    }
    msg.push_str(&format!(
        "user '{TENANT}', total ignored: {} out of {} for stream: {shown}",
        refused.len(),
        stream.entries.len()
    ));
    Some(PushError::BadRequest(msg))
}

pub(super) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// An error answer: Go's `http.Error` for Loki's endpoints, Loki's `OTLPError` for OTLP.
fn answer_error(endpoint: Endpoint, e: PushError) -> Response {
    let mut status = e.status();
    if status.is_server_error() {
        tracing::error!(error = %e, "log push failed");
    } else {
        tracing::debug!(status = status.as_u16(), error = %e, "log push refused");
    }
    match endpoint {
        Endpoint::Loki(_) => {
            let mut body = e.to_string();
            body.push('\n');
            let mut response = (status, body).into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            response
        }
        Endpoint::Otlp => {
            // 500 is not retried by OTLP clients, 503 is.
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                status = StatusCode::SERVICE_UNAVAILABLE;
            }
            let body = otlp::proto::Status {
                code: 0,
                message: e.to_string(),
            }
            .encode_to_vec();
            (
                status,
                [(header::CONTENT_TYPE, "application/octet-stream")],
                body,
            )
                .into_response()
        }
    }
}
