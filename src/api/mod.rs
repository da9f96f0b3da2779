//! The HTTP server's routes: Prometheus' `/api/v1` read API, the remote-write receiver
//! (`POST /api/v1/write`, implemented in `ingest`), `/-/healthy`, `/-/ready` and `/metrics`.
//!
//! Handlers parse and validate parameters (errors in Prometheus' `errorType`s and status
//! codes), run storage and query work on the blocking pool, and encode results as Prometheus
//! does. The API owns no data: it reads through `tsdb::Db` and `promql::Engine`.

mod json;
mod metrics;
mod params;
mod rules;
mod targets;

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::ingest;
use crate::model::Matcher;
use crate::promql::{Engine, PromqlError, QueryOutput};
use crate::rules::group::Group;
use crate::rules::manager::RuleManager;
use crate::scrape::manager::{PoolState, ScrapeManager};
use crate::telemetry::HTTP_REQUEST_DURATION;
use crate::tsdb::{Db, Querier, StorageError};
use params::{parse_duration, parse_selector, parse_time, Params};

/// Shared state of every handler.
#[derive(Clone)]
pub struct ApiState(Arc<Inner>);

struct Inner {
    /// Set once the database is open and its WAL replayed: the server is ready.
    db: OnceLock<Arc<Db>>,
    engine: Engine,
    /// Set once scraping runs.
    scrape: OnceLock<Arc<ScrapeManager>>,
    /// Set once rule evaluation runs.
    rules: OnceLock<Arc<RuleManager>>,
    /// With `--web.enable-lifecycle`: where reload and quit requests go, once the server runs.
    lifecycle: Option<OnceLock<Lifecycle>>,
    /// `None` when the receiver is turned off (`--web.disable-remote-write-receiver`).
    remote_write: Option<Arc<ingest::Receiver>>,
}

/// Switches of the HTTP API.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// Serve `POST /api/v1/write` (on by default; Prometheus needs
    /// `--web.enable-remote-write-receiver`).
    pub remote_write_receiver: bool,
    /// Serve `/-/reload` and `/-/quit` (`--web.enable-lifecycle`).
    pub lifecycle: bool,
}

/// Asks the server to reload its configuration; the answer says whether it took.
pub type ReloadRequest = tokio::sync::oneshot::Sender<Result<(), String>>;

impl Default for ApiOptions {
    fn default() -> ApiOptions {
        ApiOptions {
            remote_write_receiver: true,
            lifecycle: false,
        }
    }
}

impl ApiState {
    /// The API with default options.
    pub fn new(engine: Engine) -> ApiState {
        ApiState::with_options(engine, ApiOptions::default())
    }

    pub fn with_options(engine: Engine, opts: ApiOptions) -> ApiState {
        ApiState(Arc::new(Inner {
            db: OnceLock::new(),
            engine,
            scrape: OnceLock::new(),
            rules: OnceLock::new(),
            lifecycle: opts.lifecycle.then(OnceLock::new),
            remote_write: opts
                .remote_write_receiver
                .then(|| Arc::new(ingest::Receiver::new())),
        }))
    }

    /// Hands over the opened database; `/-/ready` and the API answer from then on.
    pub fn set_ready(&self, db: Arc<Db>) {
        let _ = self.0.db.set(db);
    }

    /// Hands over where `/-/reload` and `/-/quit` requests go (ignored without
    /// `--web.enable-lifecycle`).
    pub fn set_lifecycle(&self, l: Lifecycle) {
        if let Some(slot) = &self.0.lifecycle {
            let _ = slot.set(l);
        }
    }

    /// Hands over the scrape manager whose targets the targets and metadata APIs show.
    pub fn set_scrape_manager(&self, m: Arc<ScrapeManager>) {
        let _ = self.0.scrape.set(m);
    }

    /// Hands over the rule manager whose groups the rules and alerts APIs show.
    pub fn set_rule_manager(&self, m: Arc<RuleManager>) {
        let _ = self.0.rules.set(m);
    }

    fn rule_groups(&self) -> Vec<Arc<Group>> {
        self.0.rules.get().map(|m| m.groups()).unwrap_or_default()
    }

    fn scrape_pools(&self) -> Vec<Arc<PoolState>> {
        self.0.scrape.get().map(|m| m.pools()).unwrap_or_default()
    }

    fn db(&self) -> Result<Arc<Db>, ApiError> {
        self.0.db.get().cloned().ok_or(ApiError::Unavailable)
    }
}

/// The server's handles for `/-/reload` and `/-/quit`.
pub struct Lifecycle {
    pub reload: tokio::sync::mpsc::Sender<ReloadRequest>,
    pub quit: tokio::sync::mpsc::Sender<()>,
}

/// All routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route(
            "/-/healthy",
            get(|| async { "Bongsu Server is Healthy.\n" }),
        )
        .route("/-/ready", get(ready))
        .route("/-/reload", post(reload).put(reload))
        .route("/-/quit", post(quit).put(quit))
        .route("/metrics", get(metrics::handler))
        .route("/api/v1/query", get(query).post(query))
        .route("/api/v1/query_range", get(query_range).post(query_range))
        .route("/api/v1/labels", get(labels).post(labels))
        .route("/api/v1/label/{name}/values", get(label_values))
        .route("/api/v1/series", get(series).post(series))
        .route("/api/v1/targets", get(targets::targets))
        .route("/api/v1/targets/metadata", get(targets::targets_metadata))
        .route("/api/v1/metadata", get(targets::metadata))
        .route("/api/v1/rules", get(rules::rules))
        .route("/api/v1/alerts", get(rules::alerts))
        .route("/api/v1/write", post(remote_write))
        .with_state(state)
        .layer(axum::middleware::from_fn(record_duration))
        .layer(tower_http::compression::CompressionLayer::new())
}

/// Times every request by its route (`/api/v1/query`, `/api/v1/label/{name}/values`, …).
async fn record_duration(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "other".to_string(), |p| p.as_str().to_string());
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    HTTP_REQUEST_DURATION.observe(&route, started.elapsed());
    resp
}

/// Prometheus' answer when the lifecycle API is off.
const LIFECYCLE_DISABLED: &str = "Lifecycle API is not enabled.";

async fn reload(State(s): State<ApiState>) -> Response {
    let Some(l) = s.0.lifecycle.as_ref() else {
        return (StatusCode::FORBIDDEN, LIFECYCLE_DISABLED).into_response();
    };
    let Some(l) = l.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n").into_response();
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    if l.reload.send(tx).await.is_err() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down\n",
        )
            .into_response();
    }
    match rx.await {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down\n",
        )
            .into_response(),
    }
}

async fn quit(State(s): State<ApiState>) -> Response {
    let Some(l) = s.0.lifecycle.as_ref() else {
        return (StatusCode::FORBIDDEN, LIFECYCLE_DISABLED).into_response();
    };
    match l.get() {
        Some(l) => {
            let _ = l.quit.send(()).await;
            (StatusCode::OK, "Requesting termination... Goodbye!\n").into_response()
        }
        None => (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n").into_response(),
    }
}

async fn ready(State(s): State<ApiState>) -> Response {
    if s.0.db.get().is_some() {
        (StatusCode::OK, "Bongsu Server is Ready.\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n").into_response()
    }
}

/// Prometheus' error types, each with its HTTP status.
#[derive(Debug)]
enum ApiError {
    BadData(String),
    Execution(String),
    Internal(String),
    /// The database is still opening (WAL replay).
    Unavailable,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, msg) = match self {
            ApiError::BadData(m) => (StatusCode::BAD_REQUEST, "bad_data", m),
            ApiError::Execution(m) => (StatusCode::UNPROCESSABLE_ENTITY, "execution", m),
            ApiError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", m),
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database is still starting".into(),
            ),
        };
        let mut body = String::from("{\"status\":\"error\",\"errorType\":\"");
        body.push_str(kind);
        body.push_str("\",\"error\":");
        json::write_str(&mut body, &msg);
        body.push('}');
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

impl From<PromqlError> for ApiError {
    fn from(e: PromqlError) -> ApiError {
        match e {
            PromqlError::Parse(m) => ApiError::BadData(m),
            e @ PromqlError::Unsupported(_) => ApiError::BadData(e.to_string()),
            PromqlError::Execution(m) => ApiError::Execution(m),
            PromqlError::Storage(e) => ApiError::Internal(e.to_string()),
        }
    }
}

fn ok_json(data: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        json::success(&data),
    )
        .into_response()
}

fn query_json(out: &QueryOutput) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        json::query_success(out),
    )
        .into_response()
}

fn params(q: Option<String>, body: &Bytes) -> Result<Params, ApiError> {
    Params::parse(q.as_deref(), Some(body)).map_err(ApiError::BadData)
}

fn param_time(p: &Params, name: &str, default: i64) -> Result<i64, ApiError> {
    match p.get(name) {
        None | Some("") => Ok(default),
        Some(s) => parse_time(s)
            .map_err(|e| ApiError::BadData(format!("invalid parameter \"{name}\": {e}"))),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Runs storage/query work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("query task failed: {e}")))?
}

/// `POST /api/v1/write`: handed to `ingest`, which owns the protocol. The body is read there,
/// within the receiver's own limit, not through an extractor's.
async fn remote_write(State(s): State<ApiState>, headers: HeaderMap, body: Body) -> Response {
    let Some(receiver) = s.0.remote_write.clone() else {
        return ingest::disabled();
    };
    match s.db() {
        Ok(db) => receiver.handle(db, &headers, body).await,
        Err(_) => receiver.not_ready(),
    }
}

async fn query(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = params(q, &body)?;
    let query = p.get("query").unwrap_or_default().to_string();
    let t = param_time(&p, "time", now_ms())?;
    let db = s.db()?;
    let out = blocking(move || Ok(s.0.engine.instant_query(&*db, &query, t)?)).await?;
    Ok(query_json(&out))
}

async fn query_range(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = params(q, &body)?;
    let query = p.get("query").unwrap_or_default().to_string();
    let need = |name: &str| -> Result<i64, ApiError> {
        let v = p.get(name).ok_or_else(|| {
            ApiError::BadData(format!(
                "invalid parameter \"{name}\": cannot parse \"\" to a valid timestamp"
            ))
        })?;
        parse_time(v).map_err(|e| ApiError::BadData(format!("invalid parameter \"{name}\": {e}")))
    };
    let (start, end) = (need("start")?, need("end")?);
    if end < start {
        return Err(ApiError::BadData(
            "invalid parameter \"end\": end timestamp must not be before start time".into(),
        ));
    }
    let step = p.get("step").unwrap_or_default();
    let step = parse_duration(step)
        .map_err(|e| ApiError::BadData(format!("invalid parameter \"step\": {e}")))?;
    if step.is_zero() {
        return Err(ApiError::BadData(
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
        ));
    }
    let db = s.db()?;
    let out = blocking(move || Ok(s.0.engine.range_query(&*db, &query, start, end, step)?)).await?;
    Ok(query_json(&out))
}

/// `match[]`, `start` and `end` of the metadata endpoints; the range defaults to everything.
fn selection(p: &Params) -> Result<(Vec<Vec<Matcher>>, i64, i64), ApiError> {
    let sets = p
        .all("match[]")
        .into_iter()
        .map(parse_selector)
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::BadData)?;
    Ok((
        sets,
        param_time(p, "start", i64::MIN)?,
        param_time(p, "end", i64::MAX)?,
    ))
}

fn string_list(items: impl IntoIterator<Item = String>) -> String {
    let mut out = String::from("[");
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::write_str(&mut out, &s);
    }
    out.push(']');
    out
}

/// The union of `f` over every `match[]` set (or `f(&[])` without any), sorted: the answer of
/// the label names and label values endpoints.
async fn union_over_selection(
    s: &ApiState,
    p: &Params,
    f: impl Fn(&Querier, &[Matcher]) -> Result<Vec<String>, StorageError> + Send + 'static,
) -> Result<Response, ApiError> {
    let (sets, start, end) = selection(p)?;
    let db = s.db()?;
    let all = blocking(move || {
        let querier = db.querier(start, end);
        let internal = |e: StorageError| ApiError::Internal(e.to_string());
        if sets.is_empty() {
            return f(&querier, &[]).map_err(internal);
        }
        let mut all = BTreeSet::new();
        for m in &sets {
            all.extend(f(&querier, m).map_err(internal)?);
        }
        Ok(all.into_iter().collect())
    })
    .await?;
    Ok(ok_json(string_list(all)))
}

async fn labels(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = params(q, &body)?;
    union_over_selection(&s, &p, |q, m| q.label_names(m)).await
}

async fn label_values(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(q, &Bytes::new())?;
    union_over_selection(&s, &p, move |q, m| q.label_values(&name, m)).await
}

async fn series(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = params(q, &body)?;
    let (sets, start, end) = selection(&p)?;
    if sets.is_empty() {
        return Err(ApiError::BadData("no match[] parameter provided".into()));
    }
    let db = s.db()?;
    let all = blocking(move || {
        let querier = db.querier(start, end);
        let mut all = BTreeSet::new();
        for m in &sets {
            all.extend(
                querier
                    .series_labels(m)
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
            );
        }
        Ok(all)
    })
    .await?;
    let mut out = String::from("[");
    for (i, ls) in all.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::write_labels(&mut out, ls);
    }
    out.push(']');
    Ok(ok_json(out))
}
