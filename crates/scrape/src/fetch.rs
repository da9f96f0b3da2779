//! Fetching one target's metrics over HTTP, as Prometheus asks for them.

use std::time::Duration;

use thiserror::Error;

use bongsu_config::{EscapingScheme, ScrapeProtocol};
use bongsu_httpclient::{with_auth, CredentialError, HttpClientConfig};

/// `User-Agent` of scrapes.
pub const USER_AGENT: &str = concat!("bongsu/", env!("CARGO_PKG_VERSION"));

/// The most body a scrape reads, after decompression, when its job sets no `body_size_limit`.
/// Prometheus reads without bound; a 2 MB gzip bomb then expands to gigabytes in memory. The
/// largest real exposures (kube-state-metrics of big clusters) stay well below this; a job that
/// needs more sets `body_size_limit` and gets exactly that.
pub const DEFAULT_BODY_SIZE_LIMIT: u64 = 256 << 20;

#[derive(Debug, Error)]
pub enum FetchError {
    #[error("{0}")]
    Http(String),
    #[error("server returned HTTP status {0}")]
    Status(String),
    #[error("body size limit exceeded: more than {0} bytes")]
    BodyTooLarge(u64),
    #[error("context deadline exceeded")]
    Timeout,
    #[error(transparent)]
    Credentials(#[from] CredentialError),
}

/// A scraped body and its `Content-Type` (empty when the target sent none); see
/// [`crate::format::negotiate`].
pub struct Fetched {
    pub body: Vec<u8>,
    pub content_type: String,
}

/// How to ask a target for its metrics.
pub struct Request<'a> {
    pub url: &'a str,
    pub timeout: Duration,
    /// The job's `body_size_limit`; 0: [`DEFAULT_BODY_SIZE_LIMIT`].
    pub body_limit: u64,
    /// The `Accept` header (see [`accept_header`]).
    pub accept: &'a str,
    /// Authentication and extra headers; secrets in files are read per request, as
    /// Prometheus does, so rotated credentials are picked up.
    pub http: &'a HttpClientConfig,
}

/// Builds the `Accept` header for protocols in order of preference, as Prometheus does: the
/// 1.0.0 text formats carry the job's name escaping scheme, weights count down from 0.6 (one
/// more than the number of protocols there are), and `*/*` comes last.
pub fn accept_header(protocols: &[ScrapeProtocol], escaping: EscapingScheme) -> String {
    let mut weight = ScrapeProtocol::COUNT + 1;
    let mut parts = Vec::with_capacity(protocols.len() + 1);
    for p in protocols {
        let escape = match p {
            ScrapeProtocol::PrometheusText1_0_0 | ScrapeProtocol::OpenMetricsText1_0_0 => {
                format!(";escaping={}", escaping.as_str())
            }
            _ => String::new(),
        };
        parts.push(format!("{}{escape};q=0.{weight}", p.header()));
        weight = weight.saturating_sub(1);
    }
    parts.push(format!("*/*;q=0.{weight}"));
    parts.join(",")
}

/// GETs the target within its timeout, reading at most its body limit of the (transparently
/// gunzipped) body.
pub async fn fetch(client: &reqwest::Client, r: &Request<'_>) -> Result<Fetched, FetchError> {
    let limit = match r.body_limit {
        0 => DEFAULT_BODY_SIZE_LIMIT,
        n => n,
    };
    let deadline = tokio::time::Instant::now() + r.timeout;
    let work = async {
        let req = client
            .get(r.url)
            .header(reqwest::header::ACCEPT, r.accept)
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", r.timeout.as_secs_f64()),
            );
        let resp = with_auth(r.http, req)?
            .send()
            .await
            .map_err(|e| FetchError::Http(error_chain(&e.without_url())))?;
        let status = resp.status();
        if status != reqwest::StatusCode::OK {
            return Err(FetchError::Status(status.to_string()));
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let mut resp = resp;
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| FetchError::Http(error_chain(&e.without_url())))?
        {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(FetchError::BodyTooLarge(limit));
            }
            // A body that arrived whole decompresses without ever waiting on the socket, so
            // the timeout around this future would never get to fire: check it here.
            if tokio::time::Instant::now() >= deadline {
                return Err(FetchError::Timeout);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { body, content_type })
    };
    tokio::time::timeout(r.timeout, work)
        .await
        .map_err(|_| FetchError::Timeout)?
}

/// The error and its causes, e.g. "error sending request: connection refused". Callers pass
/// reqwest's errors without their URL: a target URL may carry a password, and the target is
/// named beside the error anyway.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        msg.push_str(": ");
        msg.push_str(&c.to_string());
        cause = c.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_weights_like_prometheus() {
        assert_eq!(
            accept_header(&ScrapeProtocol::DEFAULT, EscapingScheme::AllowUtf8),
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
             application/openmetrics-text;version=0.0.1;q=0.5,\
             text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
             text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
        );
        assert_eq!(
            accept_header(&[ScrapeProtocol::PrometheusProto], EscapingScheme::Underscores),
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,*/*;q=0.5"
        );
    }
}
