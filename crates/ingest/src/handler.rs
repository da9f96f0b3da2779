//! The HTTP side of the receiver: reads the body within [`MAX_BODY_BYTES`], bounds the memory
//! of requests read and decoded at once, runs decoding and appending on the blocking pool, and
//! answers as Prometheus' receiver: 204 with an empty body, or the status and a plain-text
//! message (`http.Error`'s shape); for 2.0, the `X-Prometheus-Remote-Write-*-Written` headers
//! on every answer after negotiation.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use bongsu_storage::Storage;

use super::request::{self, negotiate, Proto, WriteError};
use super::stats::Stats;
use super::write::{self, Report, Written};
use super::{MAX_AHEAD_MS, MAX_BODY_BYTES, MAX_DECOMPRESSED_BYTES};

/// Decompressed bytes that may be decoded and appended at once, over all requests. Decoding
/// multiplies memory (a 2-byte empty label becomes a 64-byte struct), so this is what bounds
/// the receiver's memory: two requests at the size limit, or hundreds of ordinary ones. Others
/// wait for their turn (the sender sees latency, not errors).
pub const MAX_INFLIGHT_DECOMPRESSED_BYTES: usize = 2 * MAX_DECOMPRESSED_BYTES;

/// Compressed request bytes that may be read or held at once, over all requests: what a
/// request declares in `Content-Length`, or [`MAX_BODY_BYTES`] when it declares nothing
/// (Prometheus always declares it). A separate budget from the decode one, taken first and
/// held to the end, so that no request holding decode bytes ever waits for read bytes.
pub const MAX_INFLIGHT_BODY_BYTES: usize = 2 * MAX_BODY_BYTES;

const SAMPLES_WRITTEN: HeaderName =
    HeaderName::from_static("x-prometheus-remote-write-samples-written");
const HISTOGRAMS_WRITTEN: HeaderName =
    HeaderName::from_static("x-prometheus-remote-write-histograms-written");
const EXEMPLARS_WRITTEN: HeaderName =
    HeaderName::from_static("x-prometheus-remote-write-exemplars-written");

/// The remote-write receiver: counters and the memory budgets, shared by all requests.
#[derive(Debug)]
pub struct Receiver {
    stats: Stats,
    /// Permits are bytes of [`MAX_INFLIGHT_BODY_BYTES`].
    read_budget: Arc<Semaphore>,
    /// Permits are bytes of [`MAX_INFLIGHT_DECOMPRESSED_BYTES`].
    decode_budget: Arc<Semaphore>,
}

impl Default for Receiver {
    fn default() -> Receiver {
        Receiver::new()
    }
}

impl Receiver {
    pub fn new() -> Receiver {
        Receiver {
            stats: Stats::default(),
            read_budget: Arc::new(Semaphore::new(MAX_INFLIGHT_BODY_BYTES)),
            decode_budget: Arc::new(Semaphore::new(MAX_INFLIGHT_DECOMPRESSED_BYTES)),
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Answers one `POST /api/v1/write` into `db`.
    pub async fn handle(&self, db: Arc<dyn Storage>, headers: &HeaderMap, body: Body) -> Response {
        // A header that is not visible ASCII names no known type or encoding: it must fail
        // negotiation, not count as absent.
        let header = |name| {
            headers
                .get(name)
                .map(|v| v.to_str().unwrap_or("(not ASCII)"))
        };
        let proto = match negotiate(
            header(header::CONTENT_TYPE),
            header(header::CONTENT_ENCODING),
        ) {
            Ok(proto) => proto,
            Err(e) => return self.answer(None, Report::failed_with(e)),
        };
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let report = self.process(db, proto, declared, body).await;
        self.answer(Some(proto), report)
    }

    async fn process(
        &self,
        db: Arc<dyn Storage>,
        proto: Proto,
        declared: Option<u64>,
        body: Body,
    ) -> Report {
        let limit = match declared {
            Some(n) if n > MAX_BODY_BYTES as u64 => {
                return Report::failed_with(WriteError::BadRequest(format!(
                    "request body of {n} bytes is larger than the limit of {MAX_BODY_BYTES}"
                )))
            }
            Some(n) => n as usize,
            None => MAX_BODY_BYTES,
        };
        // At most MAX_BODY_BYTES: within u32 and within the budget.
        let permits = u32::try_from(limit.max(1)).unwrap_or(u32::MAX);
        let Ok(_read_permit) = self.read_budget.clone().acquire_many_owned(permits).await else {
            return Report::failed_with(WriteError::Internal("receiver is closed".into()));
        };
        // hyper stops at Content-Length; the limit covers bodies without one.
        let body = match axum::body::to_bytes(body, limit).await {
            Ok(body) => body,
            Err(e) => {
                return Report::failed_with(WriteError::BadRequest(format!(
                    "reading the request body (at most {MAX_BODY_BYTES} bytes): {e}"
                )))
            }
        };
        let len = match request::decompressed_len(&body) {
            Ok(len) => len,
            Err(e) => return Report::failed_with(e),
        };
        // `len` is at most MAX_DECOMPRESSED_BYTES, within u32 and within the budget.
        let permits = u32::try_from(len.max(1)).unwrap_or(u32::MAX);
        let Ok(permit) = self.decode_budget.clone().acquire_many_owned(permits).await else {
            return Report::failed_with(WriteError::Internal("receiver is closed".into()));
        };
        let max_time = now_ms().saturating_add(MAX_AHEAD_MS);
        let work = move || {
            let _permit = permit;
            match request::decompress(&body) {
                Ok(raw) => write::write(&db, proto, raw, max_time),
                Err(e) => Report::failed_with(e),
            }
        };
        match tokio::task::spawn_blocking(work).await {
            Ok(report) => report,
            Err(e) => Report::failed_with(WriteError::Internal(format!("write task failed: {e}"))),
        }
    }

    /// Counts the request and builds the response.
    fn answer(&self, proto: Option<Proto>, report: Report) -> Response {
        self.stats.add(&report);
        let status = match &report.error {
            None => StatusCode::NO_CONTENT,
            Some(WriteError::UnsupportedMediaType(_)) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some(WriteError::BadRequest(_)) => StatusCode::BAD_REQUEST,
            Some(WriteError::Storage(_) | WriteError::Internal(_)) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        self.stats
            .record_request(proto.map_or("unknown", Proto::as_str), status.as_u16());
        let mut response = match &report.error {
            None => status.into_response(),
            Some(e) => {
                if status.is_server_error() {
                    tracing::error!(error = %e, "remote write failed");
                } else {
                    tracing::debug!(status = status.as_u16(), error = %e, "remote write rejected");
                }
                plain_text(status, &e.to_string())
            }
        };
        if proto == Some(Proto::V2) {
            set_written_headers(response.headers_mut(), report.written);
        }
        response
    }
}

/// The `X-Prometheus-Remote-Write-*-Written` headers (Remote-Write 2.0, required).
fn set_written_headers(headers: &mut HeaderMap, written: Written) {
    headers.insert(SAMPLES_WRITTEN, HeaderValue::from(written.samples));
    headers.insert(HISTOGRAMS_WRITTEN, HeaderValue::from(written.histograms));
    headers.insert(EXEMPLARS_WRITTEN, HeaderValue::from(written.exemplars));
}

/// An error answer as Go's `http.Error` writes it.
pub fn plain_text(status: StatusCode, message: &str) -> Response {
    let mut body = message.to_string();
    body.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

impl Receiver {
    /// The answer while the database is still opening: 503, which senders retry, as
    /// Prometheus' readiness wrapper.
    pub fn not_ready(&self) -> Response {
        self.stats.record_request("unknown", 503);
        plain_text(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
    }
}

/// The answer when the receiver is turned off: 404, as Prometheus without
/// `--web.enable-remote-write-receiver`.
pub fn disabled() -> Response {
    plain_text(
        StatusCode::NOT_FOUND,
        "remote write receiver is disabled (--web.disable-remote-write-receiver)",
    )
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
