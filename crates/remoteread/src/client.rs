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
use bongsu_ingest::read_proto::{Query, SAMPLES};
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

    /// Sends one query and waits for its series. A streamed answer with histogram chunks,
    /// which the client cannot decode yet, is asked for again as `SAMPLES`.
    pub fn read(&self, query: Query) -> Result<Vec<Series>, ReadError> {
        match self.read_as(query.clone(), &codec::ACCEPTED_RESPONSE_TYPES) {
            Err(ReadError::HistogramChunks(why)) => {
                tracing::debug!(url = %bongsu_httpclient::redact_url(&self.url), reason = %why, "remote read: asking for samples instead of chunks");
                self.read_as(query, &[SAMPLES])
            }
            other => other,
        }
    }

    fn read_as(&self, query: Query, types: &[i32]) -> Result<Vec<Series>, ReadError> {
        let (mint, maxt) = (query.start_timestamp_ms, query.end_timestamp_ms);
        let body = codec::encode_request(query, types)?;
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::body::Bytes;
    use bongsu_ingest::histogram::from_int;
    use bongsu_ingest::proto::v1::{Label, TimeSeries};
    use bongsu_ingest::read_proto::{
        Chunk, ChunkedReadResponse, ChunkedSeries, QueryResult, ReadRequest, ReadResponse,
    };
    use bongsu_model::{Histogram, HistogramValue, Labels, MatchOp, Matcher};
    use prost::Message;

    use super::*;

    fn frame(resp: &ChunkedReadResponse) -> Vec<u8> {
        let msg = resp.encode_to_vec();
        let mut out = Vec::new();
        prost::encoding::encode_varint(msg.len() as u64, &mut out);
        out.extend(crc32c::crc32c(&msg).to_be_bytes());
        out.extend(msg);
        out
    }

    /// A Prometheus-like remote: histogram chunks when streaming is accepted, else samples.
    fn stub(rt: &tokio::runtime::Runtime, asked: Arc<Mutex<Vec<Vec<i32>>>>) -> String {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}/read", listener.local_addr().unwrap());
        let label = |n: &str, v: &str| Label {
            name: n.as_bytes().to_vec().into(),
            value: v.as_bytes().to_vec().into(),
        };
        let app = axum::Router::new().route(
            "/read",
            axum::routing::post(move |body: Bytes| {
                let asked = asked.clone();
                async move {
                    let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
                    let req = ReadRequest::decode(raw.as_slice()).unwrap();
                    let types = req.accepted_response_types.clone();
                    asked.lock().unwrap().push(types.clone());
                    let labels = vec![label("__name__", "h")];
                    if types.contains(&1) {
                        let body = frame(&ChunkedReadResponse {
                            chunked_series: vec![ChunkedSeries {
                                labels,
                                chunks: vec![Chunk {
                                    min_time_ms: 5,
                                    max_time_ms: 5,
                                    r#type: 2,
                                    data: vec![0, 1, 2].into(),
                                }],
                            }],
                            query_index: 0,
                        });
                        ([("content-type", CHUNKED_CONTENT_TYPE)], body)
                    } else {
                        let resp = ReadResponse {
                            results: vec![QueryResult {
                                timeseries: vec![TimeSeries {
                                    labels,
                                    histograms: vec![from_int(5, &hist())],
                                    ..Default::default()
                                }],
                            }],
                        };
                        let body = snap::raw::Encoder::new()
                            .compress_vec(&resp.encode_to_vec())
                            .unwrap();
                        ([("content-type", "application/x-protobuf")], body)
                    }
                }
            }),
        );
        rt.spawn(async move { axum::serve(listener, app).await });
        url
    }

    fn hist() -> Histogram {
        Histogram {
            count: 2,
            zero_count: 2,
            sum: 1.0,
            ..Histogram::default()
        }
    }

    #[test]
    fn histogram_chunks_are_asked_for_again_as_samples() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let asked = Arc::default();
        let url = stub(&rt, Arc::clone(&asked));
        let cfg = bongsu_config::Config::parse(&format!("remote_read:\n- url: {url}\n"), "t.yml")
            .unwrap()
            .remote_read
            .remove(0);
        let client = Client::new(&cfg, "t", rt.handle().clone()).unwrap();
        let m = Matcher::new(MatchOp::Equal, "__name__", "h").unwrap();
        let got = client.read(codec::to_query(0, 10, &[m])).unwrap();
        assert_eq!(*asked.lock().unwrap(), vec![vec![1, 0], vec![0]]);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].labels,
            Labels::from_pairs(&[("__name__", "h")]).unwrap()
        );
        assert_eq!(
            got[0].histograms[0].h,
            HistogramValue::Int(Arc::new(hist()))
        );
    }
}
