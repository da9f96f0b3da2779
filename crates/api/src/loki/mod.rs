//! Loki's HTTP API: the push endpoints (handed to `ingest`), LogQL queries (`query`,
//! `query_range`) and the metadata Grafana's Loki data source and `logcli` ask for (`labels`,
//! `label/<name>/values`, `series`, `index/stats`, `format_query`, `status/buildinfo`:
//! `meta`), volumes (`index/volume`, `index/volume_range`: `volume`), what Grafana Logs
//! Drilldown breaks logs down by (`detected_labels`, `detected_fields`,
//! `detected_field/<name>/values`, `patterns`), live tailing over a WebSocket (`tail`),
//! the ruler's API over LogQL rules (`rules`), `POST /flush` and `GET /ready`.
//!
//! Errors are Loki's: plain text bodies (LogQL's parse errors word for word) with Loki's
//! status codes, not Prometheus' JSON envelope. Query work runs on the blocking pool under
//! the same concurrency limit as PromQL queries.

mod detected_fields;
mod detected_labels;
mod meta;
mod params;
mod patterns;
mod query;
mod rules;
mod tail;
mod volume;

pub(crate) use tail::Tails;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bongsu_logstore::LogStore;
use bongsu_storage::logs::LogAppendable;

use crate::ApiState;

/// Loki's version this API answers as (`status/buildinfo`): clients pick features by it.
pub const LOKI_COMPATIBLE_VERSION: &str = "3.5.0";

/// An error answer: Loki writes the message as plain text.
#[derive(Debug)]
pub(crate) struct LokiError(StatusCode, String);

impl LokiError {
    pub fn bad(msg: impl Into<String>) -> LokiError {
        LokiError(StatusCode::BAD_REQUEST, msg.into())
    }
}

impl IntoResponse for LokiError {
    fn into_response(self) -> Response {
        let mut text = self.1;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        (self.0, text).into_response()
    }
}

impl ApiState {
    fn logs(&self) -> Result<Arc<LogStore>, LokiError> {
        self.0.logs.get().cloned().ok_or(LokiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "Ingester not ready: the log store is still starting".into(),
        ))
    }
}

/// Runs `f` on the blocking pool within the query concurrency limit.
async fn blocking<T: Send + 'static>(
    s: &ApiState,
    f: impl FnOnce() -> Result<T, LokiError> + Send + 'static,
) -> Result<T, LokiError> {
    let _slot =
        s.0.query_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| LokiError(StatusCode::SERVICE_UNAVAILABLE, "shutting down".into()))?;
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        LokiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("query task failed: {e}"),
        )
    })?
}

/// The Loki routes.
pub(crate) fn routes() -> Router<ApiState> {
    let router = Router::new()
        .route("/loki/api/v1/push", post(push))
        .route("/api/prom/push", post(legacy_push))
        .route("/otlp/v1/logs", post(otlp))
        .route("/loki/api/v1/query", get(query::query).post(query::query))
        .route(
            "/loki/api/v1/query_range",
            get(query::query_range).post(query::query_range),
        )
        .route("/loki/api/v1/labels", get(meta::labels).post(meta::labels))
        .route("/loki/api/v1/label/{name}/values", get(meta::label_values))
        .route("/loki/api/v1/series", get(meta::series).post(meta::series))
        .route(
            "/loki/api/v1/index/stats",
            get(meta::stats).post(meta::stats),
        )
        .route(
            "/loki/api/v1/index/volume",
            get(volume::volume).post(volume::volume),
        )
        .route(
            "/loki/api/v1/index/volume_range",
            get(volume::volume_range).post(volume::volume_range),
        )
        .route(
            "/loki/api/v1/format_query",
            get(meta::format_query).post(meta::format_query),
        )
        .route(
            "/loki/api/v1/detected_labels",
            get(detected_labels::detected_labels).post(detected_labels::detected_labels),
        )
        .route(
            "/loki/api/v1/detected_fields",
            get(detected_fields::fields).post(detected_fields::fields),
        )
        .route(
            "/loki/api/v1/detected_field/{name}/values",
            get(detected_fields::field_values).post(detected_fields::field_values),
        )
        .route(
            "/loki/api/v1/patterns",
            get(patterns::patterns).post(patterns::patterns),
        )
        .route("/loki/api/v1/tail", get(tail::tail))
        .route("/prometheus/api/v1/rules", get(rules::prometheus_rules))
        .route("/prometheus/api/v1/alerts", get(rules::prometheus_alerts))
        .route("/loki/api/v1/status/buildinfo", get(meta::buildinfo))
        .route("/flush", post(meta::flush))
        .route("/ready", get(ready));
    // The ruler's configuration API, at Loki's path and its legacy one.
    ["/loki/api/v1/rules", "/api/prom/rules"]
        .into_iter()
        .fold(router, |r, base| {
            r.route(base, get(rules::list_rules))
                .route(
                    &format!("{base}/{{namespace}}"),
                    get(rules::namespace_rules)
                        .post(rules::set_group)
                        .delete(rules::delete_namespace),
                )
                .route(
                    &format!("{base}/{{namespace}}/{{group_name}}"),
                    get(rules::group_rules).delete(rules::delete_group),
                )
        })
}

/// `GET /ready`: Loki's readiness probe, 200 once the log store is open.
async fn ready(State(s): State<ApiState>) -> Response {
    match s.logs() {
        Ok(_) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => e.into_response(),
    }
}

async fn push(State(s): State<ApiState>, headers: HeaderMap, body: Body) -> Response {
    match s.logs() {
        Ok(store) => {
            let store: Arc<dyn LogAppendable> = store;
            s.0.log_receiver
                .handle_loki_push(store, &headers, body)
                .await
        }
        Err(e) => e.into_response(),
    }
}

async fn legacy_push(State(s): State<ApiState>, headers: HeaderMap, body: Body) -> Response {
    match s.logs() {
        Ok(store) => {
            let store: Arc<dyn LogAppendable> = store;
            s.0.log_receiver
                .handle_loki_legacy_push(store, &headers, body)
                .await
        }
        Err(e) => e.into_response(),
    }
}

async fn otlp(State(s): State<ApiState>, headers: HeaderMap, body: Body) -> Response {
    match s.logs() {
        Ok(store) => {
            let store: Arc<dyn LogAppendable> = store;
            s.0.log_receiver
                .handle_otlp_logs(store, &headers, body)
                .await
        }
        Err(e) => e.into_response(),
    }
}
