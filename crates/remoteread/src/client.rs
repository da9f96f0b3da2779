//! One `remote_read` endpoint over HTTP (`storage/remote/client.go`): the request's headers,
//! auth and timeout, the answer read within [`MAX_RESPONSE_BYTES`] and decoded by its
//! content type, the metrics of each query.
//!
//! [`Client::read`] blocks: storage queriers are synchronous and run off the async runtime
//! (the API and rules call them on blocking threads), so the request runs as a task on the
//! runtime given at construction and the caller waits for its answer.
//!
//! Not here: which queries go to the remote (the querier), merging (the fanout).

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bongsu_config::RemoteReadConfig;
use bongsu_httpclient::HttpClientConfig;
use bongsu_ingest::read_proto::Query;
use bongsu_storage::Series;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, USER_AGENT};

use crate::codec;
use crate::metrics::ClientMetrics;
use crate::ReadError;

/// Largest answer read from a remote, in bytes (compressed `SAMPLES` or a whole stream).
pub const MAX_RESPONSE_BYTES: usize = 256 << 20;

/// Bytes of an error answer kept for the message.
const MAX_ERROR_BODY: usize = 1024;

const CHUNKED_CONTENT_TYPE: &str =
    "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";

/// A remote-read endpoint and how to talk to it.
pub struct Client {
    client: reqwest::Client,
    url: String,
    http: HttpClientConfig,
    headers: BTreeMap<String, String>,
    timeout: Duration,
    chunked_read_limit: u64,
    runtime: tokio::runtime::Handle,
    metrics: ClientMetrics,
}

impl Client {
    /// A client for `cfg`, named `name` in metrics, running its requests on `runtime`.
    pub fn new(
        cfg: &RemoteReadConfig,
        name: &str,
        runtime: tokio::runtime::Handle,
    ) -> Result<Client, String> {
        Ok(Client {
            client: bongsu_httpclient::client(&cfg.http, false)?,
            url: cfg.url.clone(),
            http: cfg.http.clone(),
            headers: cfg.headers.clone(),
            timeout: cfg.remote_timeout,
            chunked_read_limit: cfg.chunked_read_limit,
            runtime,
            metrics: ClientMetrics::new(name, &cfg.url),
        })
    }

    /// Sends one query and waits for its series.
    pub fn read(&self, query: Query) -> Result<Vec<Series>, ReadError> {
        let (mint, maxt) = (query.start_timestamp_ms, query.end_timestamp_ms);
        let body = codec::encode_request(query)?;
        let mut req = self
            .client
            .post(&self.url)
            .timeout(self.timeout)
            .header(CONTENT_ENCODING, "snappy")
            .header(ACCEPT_ENCODING, "snappy")
            .header(CONTENT_TYPE, "application/x-protobuf")
            .header(USER_AGENT, concat!("bongsu/", env!("CARGO_PKG_VERSION")))
            .header("X-Prometheus-Remote-Read-Version", "0.1.0");
        for (name, value) in &self.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let req = bongsu_httpclient::with_auth(&self.http, req)
            .map_err(|e| ReadError::Request(e.to_string()))?
            .body(body);
        let (tx, rx) = mpsc::channel();
        let url = self.url.clone();
        let timeout = self.timeout;
        self.metrics.in_flight(1.0);
        let started = Instant::now();
        self.runtime.spawn(async move {
            let _ = tx.send(fetch(req, url, timeout).await);
        });
        let answer = rx
            .recv()
            .map_err(|_| ReadError::Request("the request task stopped".into()));
        self.metrics.in_flight(-1.0);
        let (status, content_type, body) = answer??;
        let took = started.elapsed();
        let code = status.as_u16().to_string();
        if content_type.starts_with("application/x-protobuf") {
            self.metrics.answered("sampled", &code, took);
            codec::decode_samples(&body)
        } else if content_type.starts_with(CHUNKED_CONTENT_TYPE) {
            let decoded = codec::decode_chunked(&body, self.chunked_read_limit, mint, maxt);
            let code = if decoded.is_ok() {
                &code
            } else {
                "aborted_stream"
            };
            self.metrics.answered("chunked", code, took);
            decoded
        } else {
            self.metrics.answered("unsupported", &code, took);
            Err(ReadError::Decode(format!(
                "unsupported content type: {content_type}"
            )))
        }
    }
}

/// Sends the request and reads a 2xx answer within [`MAX_RESPONSE_BYTES`].
async fn fetch(
    req: reqwest::RequestBuilder,
    url: String,
    timeout: Duration,
) -> Result<(reqwest::StatusCode, String, Vec<u8>), ReadError> {
    let mut resp = req.send().await.map_err(|e| {
        if e.is_timeout() {
            ReadError::Request(format!("request timed out after {timeout:?}"))
        } else {
            ReadError::Request(format!("error sending request: {e}"))
        }
    })?;
    let status = resp.status();
    if !status.is_success() {
        let text = resp.text().await.unwrap_or_default();
        let mut end = text.len().min(MAX_ERROR_BODY);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        return Err(ReadError::Status(format!(
            "remote server {} returned http status {status}: {}",
            bongsu_httpclient::redact_url(&url),
            text[..end].trim_matches('\n')
        )));
    }
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ReadError::Request(format!("error reading response: {e}")))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ReadError::TooLarge(format!(
                "response is over the limit of {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, content_type, body))
}
