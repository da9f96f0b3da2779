//! The log push receivers: Loki's push API (`POST /loki/api/v1/push`, protobuf+snappy or JSON,
//! optionally gzip; the legacy `POST /api/prom/push`), OTLP/HTTP logs (`POST
//! /otlp/v1/logs`, protobuf or JSON) and Elasticsearch's `_bulk`, decoded, validated and
//! appended through `bongsu_storage::logs::LogAppendable` with Loki's limits and each peer's
//! answers, so that Promtail, Grafana Alloy, Fluent Bit, OpenTelemetry collectors, Filebeat and
//! Logstash push unchanged.
//!
//! Owns content negotiation, the body limits and memory budgets, decompression, decoding,
//! Loki's distributor rules (label and line limits, `service_name` and `detected_level`
//! discovery, structured metadata names, the ingestion rate) and the answers. It does not own
//! the routes (`api`) nor the store's own refusals (out of order, too old, stream limit),
//! which it only words as Loki's ingester.
//!
//! Behaviour follows Loki 3 (`pkg/loghttp/push`, `pkg/distributor`); where bongsu differs, the
//! item that differs says why. bongsu has one tenant: `X-Scope-OrgID` is ignored.
//!
//! - `limits`: [`LogLimits`] with Loki's defaults, the rate limiter.
//! - `body`: `Content-Encoding`, size limits, decompression.
//! - `selector`: stream label strings (`{a="b"}`) parsed with Prometheus' errors.
//! - `loki`, `otlp`: the two APIs' messages and their decoding into streams.
//! - `elasticsearch`: `_bulk` bodies, documents as lines, Elasticsearch's answers.
//! - `names`, `level`: names and values Loki derives (`service_name`, `detected_level`).
//! - `distributor`: validation, refusals grouped as Loki groups them.
//! - `gofmt`: text as Loki's Go code prints it, for messages.
//! - `handler`: [`LogReceiver`], the axum side.

pub mod body;
pub mod distributor;
pub mod elasticsearch;
pub mod gofmt;
mod handler;
pub mod level;
pub mod limits;
pub mod loki;
pub mod names;
pub mod otlp;
pub mod selector;

#[cfg(test)]
mod tests;

use axum::http::StatusCode;
use thiserror::Error;

use bongsu_storage::StorageError;

pub use handler::{LogReceiver, LogStats, MAX_RETURNED_STREAM_ERRORS};
pub use limits::LogLimits;

/// Why a push was refused, as a whole or in part; each maps to Loki's status code.
#[derive(Debug, Error)]
pub enum PushError {
    /// 400: the push or some of it will never be written; clients do not retry.
    #[error("{0}")]
    BadRequest(String),
    /// 413: the body or its decompressed content is over the limit.
    #[error("{0}")]
    TooLarge(String),
    /// 415: a content type the endpoint does not speak.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: a push with no streams at all.
    #[error("{0}")]
    Unprocessable(String),
    /// 429: over the ingestion rate or the store's stream limit; clients retry later.
    #[error("{0}")]
    RateLimited(String),
    /// 500: the store failed; nothing of the push is known to be written.
    #[error("{0}")]
    Storage(#[from] StorageError),
    /// 500: the receiver itself failed.
    #[error("{0}")]
    Internal(String),
}

impl PushError {
    pub fn status(&self) -> StatusCode {
        match self {
            PushError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PushError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            PushError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PushError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            PushError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            PushError::Storage(_) | PushError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
