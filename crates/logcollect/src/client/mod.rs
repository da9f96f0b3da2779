//! Loki-push clients: Promtail's `clients`, for agent mode. A [`Client`] batches entries per
//! tenant (`batchwait`, `batchsize`; a large `send` is split across batches, as Promtail adds
//! entry by entry), sends each batch as a Loki push request (protobuf, snappy) with the
//! configured auth, TLS, proxy and headers, retries 5xx answers, 429 answers and connection
//! errors with exponential backoff, and drops a batch on any other 4xx answer or when retries
//! run out. [`Client::send`] completes once every batch holding its entries was acknowledged
//! by the receiver (`Ok`) or dropped (`Err`), so a tailer may advance its positions after it:
//! at least once.
//!
//! - `config`: one `clients:` entry, with Promtail's keys and defaults.
//! - `batch`: a tenant's batch and its encoding.
//! - `sender`: the client, its batching loop and the request with retries.
//! - `metrics`: Promtail's `promtail_*` client metrics.
//!
//! Not here: which entries go to which client (the caller), reading positions, and the HTTP
//! stack's settings (`bongsu-httpclient`).

mod batch;
mod config;
mod metrics;
mod sender;

use thiserror::Error;

pub use batch::TENANT_LABEL;
pub use config::{
    BackoffConfig, ClientConfig, DEFAULT_BATCH_SIZE, DEFAULT_BATCH_WAIT, DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_RETRIES, DEFAULT_MIN_BACKOFF, DEFAULT_TIMEOUT, MAX_BATCH_SIZE,
};
pub use metrics::{ClientMetrics, REASON_GENERIC, REASON_RATE_LIMITED};
pub use sender::{Client, MAX_QUEUED_REQUESTS};

/// A client that cannot start, or entries that were not delivered.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ClientError {
    #[error("{0}")]
    Config(String),
    #[error("cannot encode the batch: {0}")]
    Encode(String),
    /// The batch was given up: a 4xx answer other than 429, retries exhausted, or 429 with
    /// `drop_rate_limited_batches`. `reason` is the metric's (`ingester_error`, `rate_limited`).
    #[error("entries dropped ({reason}): {message}")]
    Dropped {
        reason: &'static str,
        message: String,
    },
    #[error("the client is stopped")]
    Stopped,
}
