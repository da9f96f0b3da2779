//! Fetching one target's metrics over HTTP, as Prometheus asks for them.

use std::time::Duration;

use thiserror::Error;

use bongsu_exposition::Format;
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

/// A scraped body and the format its `Content-Type` names.
pub struct Fetched {
    pub body: Vec<u8>,
    pub format: Format,
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

/// Builds the `Accept` header for media types in order of preference, weighted as
/// Prometheus weights them, with `*/*` last.
pub fn accept_header(protocols: &[&str]) -> String {
    let mut weight = protocols.len() + 1;
    let mut parts = Vec::with_capacity(protocols.len() + 1);
    for p in protocols {
        parts.push(format!("{p};q=0.{weight}"));
        weight -= 1;
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
        let format = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map_or(Format::PrometheusText, Format::from_content_type);
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
        Ok(Fetched { body, format })
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
            accept_header(&["application/openmetrics-text;version=1.0.0", "text/plain;version=0.0.4"]),
            "application/openmetrics-text;version=1.0.0;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
        );
    }
}
