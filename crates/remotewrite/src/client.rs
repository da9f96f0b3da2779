//! One receiver endpoint: the HTTP request of a remote-write send (headers, auth, timeout) and
//! how its answer is classified, as Prometheus' remote-write client: 2xx is success, 5xx (and
//! 429 with `retry_on_http_429`) and transport errors are retried, any other status drops the
//! batch.
//!
//! Not here: the retry loop and its backoff (the shard), encoding (`request.rs`).

use std::collections::BTreeMap;
use std::time::Duration;

use bongsu_config::{ProtobufMessage, RemoteWriteConfig};
use bongsu_httpclient::HttpClientConfig;
use bytes::Bytes;
use reqwest::header::{HeaderMap, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use reqwest::StatusCode;

/// Bytes of an error answer kept for the log line.
const MAX_ERROR_BODY: usize = 1024;

const V1_CONTENT_TYPE: &str = "application/x-protobuf";
const V2_CONTENT_TYPE: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
const V1_VERSION: &str = "0.1.0";
const V2_VERSION: &str = "2.0.0";
const SAMPLES_WRITTEN: &str = "X-Prometheus-Remote-Write-Samples-Written";

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SendError {
    /// Worth retrying (5xx, an allowed 429, a transport error or timeout); `retry_after` is the
    /// receiver's `Retry-After` in seconds, when given.
    Recoverable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The receiver refused the data (another 4xx): retrying cannot help.
    Permanent(String),
}

/// A receiver and how to talk to it.
pub(crate) struct Endpoint {
    client: reqwest::Client,
    url: String,
    http: HttpClientConfig,
    headers: BTreeMap<String, String>,
    timeout: Duration,
    proto: ProtobufMessage,
    retry_on_429: bool,
}

impl Endpoint {
    pub(crate) fn new(cfg: &RemoteWriteConfig) -> Result<Endpoint, String> {
        Ok(Endpoint {
            client: bongsu_httpclient::client(&cfg.http, false)?,
            url: cfg.url.clone(),
            http: cfg.http.clone(),
            headers: cfg.headers.clone(),
            timeout: cfg.remote_timeout,
            proto: cfg.protobuf_message,
            retry_on_429: cfg.queue_config.retry_on_rate_limit,
        })
    }

    pub(crate) fn proto(&self) -> ProtobufMessage {
        self.proto
    }

    /// Sends one snappy-compressed body. On success returns the samples the receiver says it
    /// wrote (the 2.0 `X-Prometheus-Remote-Write-Samples-Written` header), when it says.
    pub(crate) async fn send(&self, body: Bytes) -> Result<Option<u64>, SendError> {
        let (content_type, version) = match self.proto {
            ProtobufMessage::V1 => (V1_CONTENT_TYPE, V1_VERSION),
            ProtobufMessage::V2 => (V2_CONTENT_TYPE, V2_VERSION),
        };
        let mut req = self
            .client
            .post(&self.url)
            .timeout(self.timeout)
            .header(CONTENT_ENCODING, "snappy")
            .header(CONTENT_TYPE, content_type)
            .header(USER_AGENT, concat!("bongsu/", env!("CARGO_PKG_VERSION")))
            .header("X-Prometheus-Remote-Write-Version", version);
        for (name, value) in &self.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let req = bongsu_httpclient::with_auth(&self.http, req)
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        let resp = req
            .body(body)
            .send()
            .await
            .map_err(|e| SendError::Recoverable {
                reason: error_chain(&e),
                retry_after: None,
            })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(written(resp.headers()));
        }
        let retry_after = retry_after(resp.headers());
        let text = resp.text().await.unwrap_or_default();
        let mut end = text.len().min(MAX_ERROR_BODY);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let reason = format!(
            "server returned HTTP status {status}: {}",
            text[..end].trim()
        );
        if status.is_server_error()
            || (status == StatusCode::TOO_MANY_REQUESTS && self.retry_on_429)
        {
            Err(SendError::Recoverable {
                reason,
                retry_after,
            })
        } else {
            Err(SendError::Permanent(reason))
        }
    }
}

fn written(h: &HeaderMap) -> Option<u64> {
    h.get(SAMPLES_WRITTEN)?.to_str().ok()?.trim().parse().ok()
}

/// `Retry-After` in delta-seconds (an HTTP date is ignored: the backoff applies).
fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let secs: u64 = h.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

/// The error and its sources, as one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
