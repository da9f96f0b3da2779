//! Elasticsearch's ingest API under `/elasticsearch`, for Filebeat, Logstash's `elasticsearch`
//! output and Fluent Bit's `es` output pointed at that path: `_bulk` (handed to `ingest`), the
//! version banner of `GET /` and `HEAD /`, and the answers those clients need before their
//! first `_bulk` (`_license`, `_xpack`, index templates, ILM policies and ingest pipelines,
//! which are acknowledged and ignored: bongsu keeps no mappings). Every other path is refused
//! with Elasticsearch's error object saying bongsu does not support it.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use serde_json::json;

use bongsu_ingest::logs::elasticsearch::answer;
use bongsu_ingest::logs::elasticsearch::{respond, BulkOptions};
use bongsu_storage::logs::LogAppendable;

use crate::ApiState;

/// The path prefix clients are configured with.
pub const PREFIX: &str = "/elasticsearch";

/// The Elasticsearch routes. The paths under the prefix are told apart here rather than by
/// the router, which cannot hold `/<index>/_bulk` beside a catch-all for the refusals.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route(PREFIX, any(root))
        .route("/elasticsearch/", any(root))
        .route("/elasticsearch/{*rest}", any(dispatch))
}

async fn root(method: Method, uri: Uri) -> Response {
    match method {
        Method::GET | Method::HEAD => banner().await,
        _ => unsupported(method, uri).await,
    }
}

async fn dispatch(
    State(s): State<ApiState>,
    method: Method,
    uri: Uri,
    Path(rest): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let segments: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let read = matches!(method, Method::GET | Method::HEAD);
    let write = matches!(method, Method::POST | Method::PUT);
    match segments.as_slice() {
        ["_bulk"] if write => bulk(s, None, query, headers, body).await,
        [index, "_bulk"] if write && !index.starts_with('_') => {
            let index = Some(index.to_string());
            bulk(s, index, query, headers, body).await
        }
        ["_license"] if read => license().await,
        ["_xpack"] if read => xpack().await,
        ["_index_template", _] | ["_ilm", "policy", _] | ["_ingest", "pipeline", _] if read => {
            exists().await
        }
        ["_index_template", _] | ["_ilm", "policy", _] | ["_ingest", "pipeline", _] if write => {
            acknowledged().await
        }
        _ => unsupported(method, uri).await,
    }
}

/// `GET /` and `HEAD /` (axum answers HEAD with GET's headers and no body).
async fn banner() -> Response {
    respond(StatusCode::OK, &answer::banner())
}

async fn license() -> Response {
    respond(StatusCode::OK, &answer::license())
}

async fn xpack() -> Response {
    respond(StatusCode::OK, &answer::xpack())
}

/// A template, policy or pipeline asked for: present, so clients do not try to install it.
async fn exists() -> Response {
    respond(StatusCode::OK, &json!({}))
}

/// A template, policy or pipeline installed: acknowledged, and ignored.
async fn acknowledged() -> Response {
    respond(StatusCode::OK, &json!({"acknowledged": true}))
}

/// Elasticsearch's words for a path it has no handler for, saying why.
async fn unsupported(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let reason = format!(
        "no handler found for uri [{path}] and method [{method}]: not supported by bongsu, \
         which emulates only Elasticsearch's ingest API (_bulk) under {PREFIX}"
    );
    respond(
        StatusCode::BAD_REQUEST,
        &answer::error(400, "illegal_argument_exception", &reason),
    )
}

/// `POST|PUT /_bulk` and `/<index>/_bulk`.
async fn bulk(
    s: ApiState,
    index: Option<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(Query(args)) = query else {
        let reason = "the query string is not valid URL encoding";
        return respond(
            StatusCode::BAD_REQUEST,
            &answer::error(400, "illegal_argument_exception", reason),
        );
    };
    let receiver = &s.0.log_receiver;
    let mut opts = BulkOptions::new(&receiver.limits().elasticsearch_label_fields)
        .with_query(args.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    opts.index = index;
    let store: Arc<dyn LogAppendable> = match s.0.logs.get() {
        Some(store) => store.clone(),
        None => {
            let reason = "the log store is still starting";
            return respond(
                StatusCode::SERVICE_UNAVAILABLE,
                &answer::error(503, "unavailable_shards_exception", reason),
            );
        }
    };
    receiver.handle_es_bulk(store, &headers, opts, body).await
}
