//! The HTTP side of `_bulk`: the body read and decompressed within the log push limits and
//! budgets (shared with the Loki and OTLP endpoints), each document checked against Loki's
//! per-line limits so that a refused one fails its item only, the rest appended through the
//! store's WAL in one `append_logs`, and Elasticsearch's answer: 200 with the items in order
//! once the append returned, or the whole request refused with Elasticsearch's error object.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::Value;

use bongsu_model::log::LogStream;
use bongsu_storage::logs::{LogAppendable, LogRejection};

use super::super::body::{self, Encoding};
use super::super::distributor::{self, PushStream};
use super::super::handler::{now_ns, Received, Shared};
use super::super::{LogReceiver, PushError};
use super::{answer, decode, BulkError, BulkOptions, Item, ItemError, Line};

/// The header Elasticsearch 7.14+ sends on every answer; its official clients (Logstash's
/// among them) refuse a server without it.
const PRODUCT_HEADER: HeaderName = HeaderName::from_static("x-elastic-product");

/// A JSON answer with Elasticsearch's headers.
pub fn respond(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(PRODUCT_HEADER, HeaderValue::from_static("Elasticsearch"));
    response
}

/// A whole request refused: its status and Elasticsearch's error type and reason.
struct Refusal(StatusCode, &'static str, String);

impl From<PushError> for Refusal {
    fn from(e: PushError) -> Refusal {
        let status = e.status();
        let kind = match status {
            StatusCode::TOO_MANY_REQUESTS => "es_rejected_execution_exception",
            s if s.is_server_error() => "exception",
            _ => "illegal_argument_exception",
        };
        Refusal(status, kind, e.to_string())
    }
}

impl From<BulkError> for Refusal {
    fn from(e: BulkError) -> Refusal {
        Refusal(StatusCode::BAD_REQUEST, e.kind, e.reason)
    }
}

impl LogReceiver {
    /// Answers `POST /_bulk` (and `/<index>/_bulk`, with `opts.index`) into `store`.
    pub async fn handle_es_bulk(
        &self,
        store: Arc<dyn LogAppendable>,
        headers: &HeaderMap,
        opts: BulkOptions,
        body: Body,
    ) -> Response {
        let started = Instant::now();
        let result = self.bulk(store, headers, opts, body).await;
        let stats = &self.shared().stats;
        match result {
            Ok((items, ids)) => {
                stats.requests_ok.fetch_add(1, Ordering::Relaxed);
                let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                respond(StatusCode::OK, &answer::bulk(&items, &ids, took))
            }
            Err(Refusal(status, kind, reason)) => {
                stats.requests_failed.fetch_add(1, Ordering::Relaxed);
                if status.is_server_error() {
                    tracing::error!(error = %reason, "Elasticsearch bulk push failed");
                } else {
                    tracing::debug!(status = status.as_u16(), error = %reason, "bulk refused");
                }
                respond(status, &answer::error(status.as_u16(), kind, &reason))
            }
        }
    }

    async fn bulk(
        &self,
        store: Arc<dyn LogAppendable>,
        headers: &HeaderMap,
        opts: BulkOptions,
        body: Body,
    ) -> Result<(Vec<Item>, Vec<String>), Refusal> {
        let encoding = match headers.get(header::CONTENT_ENCODING).map(|v| v.to_str()) {
            None => Encoding::Identity,
            Some(Ok(e)) if e.trim().is_empty() || e.trim() == "identity" => Encoding::Identity,
            Some(Ok(e)) if e.trim().eq_ignore_ascii_case("gzip") => Encoding::Gzip,
            Some(other) => {
                return Err(Refusal(
                    StatusCode::BAD_REQUEST,
                    "illegal_argument_exception",
                    format!(
                        "unsupported Content-Encoding [{}]: bongsu takes gzip or none",
                        other.unwrap_or("(not ASCII)")
                    ),
                ))
            }
        };
        let Received {
            raw,
            budget,
            encoding,
            permit,
            read_permit,
        } = self.receive(headers, body, encoding).await?;
        let shared = self.shared();
        let work = move || {
            let _permits = (permit, read_permit);
            let max = shared.limits.max_decompressed_bytes;
            let decompressed = body::decompress(encoding, &raw, budget, max)?;
            drop(raw);
            shared.bulk(&decompressed, &opts, &*store)
        };
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| PushError::Internal(format!("push task failed: {e}")))?
    }
}

impl Shared {
    /// Decodes, checks and appends one decompressed bulk body (on the blocking pool): the
    /// items with their results, and their `_id`s.
    fn bulk(
        &self,
        raw: &[u8],
        opts: &BulkOptions,
        store: &dyn LogAppendable,
    ) -> Result<(Vec<Item>, Vec<String>), Refusal> {
        let now = now_ns();
        let limits = &self.limits;
        let decoded = decode(raw, opts, &limits.discover_service_name, now)?;
        let mut items = decoded.items;
        let ids = ids(&items, now);
        let stats = &self.stats;
        stats
            .lines_received
            .fetch_add(decoded.lines.len() as u64, Ordering::Relaxed);

        // Lines of one label set form one stream; `owners` are their items, in order.
        let mut streams: Vec<PushStream> = Vec::new();
        let mut owners: Vec<Vec<usize>> = Vec::new();
        let mut by_labels: HashMap<Vec<(String, String)>, usize> = HashMap::new();
        let mut refused = 0u64;
        for Line {
            item,
            labels,
            entry,
        } in decoded.lines
        {
            if let Err(reason) = distributor::check_line(limits, now, &labels, &entry) {
                items[item].result = Err(ItemError::bad("illegal_argument_exception", reason));
                refused += 1;
                continue;
            }
            let at = match by_labels.get(&labels) {
                Some(&at) => at,
                None => {
                    by_labels.insert(labels.clone(), streams.len());
                    streams.push(PushStream {
                        labels,
                        entries: Vec::new(),
                    });
                    owners.push(Vec::new());
                    streams.len() - 1
                }
            };
            streams[at].entries.push(entry);
            owners[at].push(item);
        }
        stats.lines_refused.fetch_add(refused, Ordering::Relaxed);
        if streams.is_empty() {
            return Ok((items, ids));
        }

        let validated = distributor::validate(limits, streams, now, &self.rate, Instant::now())?;
        // Every line passed `check_line`, so `validate` keeps them all; should it not, the
        // streams it changed are not written and their items fail, so no answer is wrong.
        let mut kept: Vec<LogStream> = Vec::with_capacity(validated.streams.len());
        let mut kept_owners: Vec<Vec<usize>> = Vec::with_capacity(validated.streams.len());
        for stream in validated.streams {
            let pairs: Vec<(String, String)> = stream
                .labels
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect();
            if let Some(&at) = by_labels.get(&pairs) {
                let mine = std::mem::take(&mut owners[at]);
                if mine.len() == stream.entries.len() {
                    kept.push(stream);
                    kept_owners.push(mine);
                } else {
                    owners[at] = mine;
                }
            }
        }
        let unexpected = if validated.errors.is_empty() {
            "refused by the log limits".to_string()
        } else {
            validated.errors.message()
        };
        for item in owners.into_iter().flatten() {
            items[item].result = Err(ItemError::bad(
                "illegal_argument_exception",
                unexpected.clone(),
            ));
            stats.lines_refused.fetch_add(1, Ordering::Relaxed);
        }
        if kept.is_empty() {
            return Ok((items, ids));
        }

        let report = store.append_logs(&kept).map_err(PushError::from)?;
        stats
            .lines_written
            .fetch_add(report.appended, Ordering::Relaxed);
        stats
            .lines_refused
            .fetch_add(report.rejected.len() as u64, Ordering::Relaxed);
        for (stream, entry, why) in report.rejected {
            let Some(&item) = kept_owners.get(stream).and_then(|o| o.get(entry)) else {
                continue;
            };
            items[item].result = Err(match why {
                LogRejection::StreamLimit { .. } => ItemError {
                    status: 429,
                    kind: "es_rejected_execution_exception",
                    reason: why.to_string(),
                },
                _ => ItemError::bad("illegal_argument_exception", why.to_string()),
            });
        }
        Ok((items, ids))
    }
}

/// Each item's `_id`: the action's, else one made up as Elasticsearch does (20 URL-safe
/// base64 characters), from the request's time and the item's position.
fn ids(items: &[Item], now_ns: i64) -> Vec<String> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match &item.id {
            Some(id) => id.clone(),
            None => {
                let mut raw = [0u8; 15];
                raw[..8].copy_from_slice(&now_ns.to_be_bytes());
                raw[8..12].copy_from_slice(&(i as u32).to_be_bytes());
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
            }
        })
        .collect()
}
