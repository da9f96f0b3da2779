//! Fetching one target's metrics over HTTP, as Prometheus asks for them.

use std::time::Duration;

use thiserror::Error;

use crate::exposition::Format;

/// What Prometheus sends in `Accept`: OpenMetrics preferred, the text format as fallback.
pub const ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

/// `User-Agent` of scrapes.
pub const USER_AGENT: &str = concat!("bongsu/", env!("CARGO_PKG_VERSION"));

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
}

/// A scraped body and the format its `Content-Type` names.
pub struct Fetched {
    pub body: Vec<u8>,
    pub format: Format,
}

/// GETs `url` within `timeout`, reading at most `body_limit` bytes (0: no limit) of the
/// (transparently gunzipped) body.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
    body_limit: u64,
) -> Result<Fetched, FetchError> {
    let work = async {
        let resp = client
            .get(url)
            .header(reqwest::header::ACCEPT, ACCEPT_HEADER)
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", timeout.as_secs_f64()),
            )
            .send()
            .await
            .map_err(|e| FetchError::Http(error_chain(&e)))?;
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
            .map_err(|e| FetchError::Http(error_chain(&e)))?
        {
            if body_limit > 0 && (body.len() + chunk.len()) as u64 > body_limit {
                return Err(FetchError::BodyTooLarge(body_limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { body, format })
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| FetchError::Timeout)?
}

/// The error and its causes, e.g. "error sending request: connection refused".
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
