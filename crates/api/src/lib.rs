//! The HTTP server's routes: Prometheus' `/api/v1` read API, the remote-write receiver
//! (`POST /api/v1/write`, implemented in `ingest`), Loki's API (`loki`), Elasticsearch's
//! ingest API under `/elasticsearch` (`elasticsearch`), `/-/healthy`, `/-/ready`, `/metrics`, and
//! the web UI's pages and assets (`ui.rs`, embedded from `web/dist`).
//!
//! Handlers parse and validate parameters (errors in Prometheus' `errorType`s and status
//! codes), run storage and query work on the blocking pool, and encode results as Prometheus
//! does. The API owns no data: it reads through `tsdb::Db` and `promql::Engine`, and the
//! admin API (`admin.rs`, off by default) asks `Db` for snapshots and deletions.

mod admin;
mod alertmanagers;
mod ast_json;
mod cors;
mod dashboards;
mod elasticsearch;
mod federate;
mod instrument;
mod json;
mod loki;
mod meta;
mod metrics;
mod origin;
mod params;
mod query;
pub mod remote_read;
mod rules;
mod serve;
mod status;
mod targets;
mod ui;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;

use bongsu_promql::{Engine, PromqlError};
use bongsu_rules::group::Group;
use bongsu_rules::manager::RuleManager;
use bongsu_scrape::manager::{PoolState, ScrapeManager};
use bongsu_storage::Storage;
use bongsu_tsdb::Db;
pub use cors::{CorsOrigin, DEFAULT_CORS_ORIGIN};
use params::{parse_time, Params};
pub use serve::{
    auth_middleware, load_web_config, Auth, ServerListener, WebConfigError, WebConfigWatcher,
    DEFAULT_MAX_CONNECTIONS,
};

/// Shared state of every handler.
#[derive(Clone)]
pub struct ApiState(Arc<Inner>);

/// Writes metric families of a part of the server outside this crate.
pub type MetricsSource = Arc<dyn Fn(&mut bongsu_telemetry::Encoder<'_>) + Send + Sync + 'static>;

struct Inner {
    /// Set once the database is open and its WAL replayed: the server is ready.
    db: OnceLock<Arc<Db>>,
    /// The `remote_read` endpoints merged into queries, set once the database is open.
    remote_read: OnceLock<Arc<bongsu_remoteread::RemoteReads>>,
    engine: Engine,
    /// One permit per query that may evaluate at once (`--query.max-concurrency`).
    query_slots: Arc<tokio::sync::Semaphore>,
    /// Set once scraping runs.
    scrape: OnceLock<Arc<ScrapeManager>>,
    /// Set once rule evaluation runs.
    rules: OnceLock<Arc<RuleManager>>,
    /// Set once alert notification runs.
    notifier: OnceLock<Arc<bongsu_notifier::Notifier>>,
    /// With `--web.enable-lifecycle`: where reload and quit requests go, once the server runs.
    lifecycle: Option<OnceLock<Lifecycle>>,
    /// Serve the TSDB admin API (`--web.enable-admin-api`).
    admin: bool,
    /// `None` when the receiver is turned off (`--web.disable-remote-write-receiver`).
    remote_write: Option<Arc<bongsu_ingest::Receiver>>,
    /// Set once the log store is open.
    logs: OnceLock<Arc<bongsu_logstore::LogStore>>,
    /// Live tailing connections (`/loki/api/v1/tail`): their slots and shutdown.
    tails: loki::Tails,
    /// The Loki push and OTLP logs receivers (their limits are the server's).
    log_receiver: Arc<bongsu_ingest::logs::LogReceiver>,
    /// More families for `/metrics` from parts this crate does not know (the log collector,
    /// the remote-write sender), added once they run.
    metrics_sources: std::sync::RwLock<Vec<MetricsSource>>,
    /// The Alertmanager whose `/api/v2` routes and metrics this server serves, if any.
    alertmanager: OnceLock<Arc<bongsu_alertmanager::server::Alertmanager>>,
    /// Remote-read requests served at once (`--storage.remote.read-concurrent-limit`).
    remote_read_slots: Option<Arc<tokio::sync::Semaphore>>,
    /// Most samples one remote-read request returns (`--storage.remote.read-sample-limit`).
    remote_read_sample_limit: usize,
    cors: CorsOrigin,
    config: parking_lot::Mutex<status::ConfigStatus>,
    /// `global.external_labels`, added by `/federate`.
    external_labels: parking_lot::Mutex<bongsu_model::Labels>,
    flags: Vec<(String, String)>,
    /// The user's Grafana dashboard files (`--web.dashboards-dir`), read at each request.
    dashboards_dir: Option<PathBuf>,
    storage_retention: String,
    start_time: SystemTime,
}

/// Switches of the HTTP API.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// Serve `POST /api/v1/write` (on by default; Prometheus needs
    /// `--web.enable-remote-write-receiver`).
    pub remote_write_receiver: bool,
    /// Serve `/-/reload` and `/-/quit` (`--web.enable-lifecycle`).
    pub lifecycle: bool,
    /// Serve the TSDB admin API: snapshots, deletions, cleaning tombstones
    /// (`--web.enable-admin-api`, off by default as in Prometheus).
    pub admin_api: bool,
    /// Most queries evaluated at once (`--query.max-concurrency`); more wait in line.
    pub max_concurrent_queries: usize,
    /// Every command-line flag and its value, for `status/flags`.
    pub flags: Vec<(String, String)>,
    /// The retention as `status/runtimeinfo` reports it (`15d`, `15d or 10GiB`).
    pub storage_retention: String,
    /// Origins allowed to call the API from a browser (`--web.cors.origin`).
    pub cors_origin: CorsOrigin,
    /// Remote-read requests served at once, 0 for no limit
    /// (`--storage.remote.read-concurrent-limit`).
    pub remote_read_concurrency: usize,
    /// Most samples one remote-read request returns, 0 for no limit
    /// (`--storage.remote.read-sample-limit`).
    pub remote_read_sample_limit: usize,
    /// Limits of the log push endpoints (`--logs.*` flags).
    pub log_limits: bongsu_ingest::logs::LogLimits,
    /// A folder of Grafana dashboard JSON files shown beside the shipped ones
    /// (`--web.dashboards-dir`).
    pub dashboards_dir: Option<PathBuf>,
}

/// Prometheus' default `--storage.remote.read-concurrent-limit`.
pub const DEFAULT_REMOTE_READ_CONCURRENCY: usize = 10;

/// Prometheus' default `--storage.remote.read-sample-limit`.
pub const DEFAULT_REMOTE_READ_SAMPLE_LIMIT: usize = 50_000_000;

/// Prometheus' default `--query.max-concurrency`.
pub const DEFAULT_MAX_CONCURRENT_QUERIES: usize = 20;

/// Asks the server to reload its configuration; the answer says whether it took.
pub type ReloadRequest = tokio::sync::oneshot::Sender<Result<(), String>>;

impl Default for ApiOptions {
    fn default() -> ApiOptions {
        ApiOptions {
            remote_write_receiver: true,
            lifecycle: false,
            admin_api: false,
            max_concurrent_queries: DEFAULT_MAX_CONCURRENT_QUERIES,
            flags: Vec::new(),
            storage_retention: String::new(),
            cors_origin: CorsOrigin::default(),
            remote_read_concurrency: DEFAULT_REMOTE_READ_CONCURRENCY,
            remote_read_sample_limit: DEFAULT_REMOTE_READ_SAMPLE_LIMIT,
            log_limits: bongsu_ingest::logs::LogLimits::default(),
            dashboards_dir: None,
        }
    }
}

impl ApiState {
    /// The API with default options.
    pub fn new(engine: Engine) -> ApiState {
        ApiState::with_options(engine, ApiOptions::default())
    }

    pub fn with_options(engine: Engine, opts: ApiOptions) -> ApiState {
        let max_concurrent_queries = opts.max_concurrent_queries.max(1);
        engine.metrics.set_concurrency_limit(max_concurrent_queries);
        ApiState(Arc::new(Inner {
            db: OnceLock::new(),
            remote_read: OnceLock::new(),
            engine,
            query_slots: Arc::new(tokio::sync::Semaphore::new(max_concurrent_queries)),
            scrape: OnceLock::new(),
            rules: OnceLock::new(),
            notifier: OnceLock::new(),
            lifecycle: opts.lifecycle.then(OnceLock::new),
            admin: opts.admin_api,
            remote_write: opts
                .remote_write_receiver
                .then(|| Arc::new(bongsu_ingest::Receiver::new())),
            logs: OnceLock::new(),
            tails: loki::Tails::default(),
            log_receiver: Arc::new(bongsu_ingest::logs::LogReceiver::new(opts.log_limits)),
            alertmanager: OnceLock::new(),
            metrics_sources: std::sync::RwLock::new(Vec::new()),
            remote_read_slots: (opts.remote_read_concurrency > 0)
                .then(|| Arc::new(tokio::sync::Semaphore::new(opts.remote_read_concurrency))),
            remote_read_sample_limit: opts.remote_read_sample_limit,
            cors: opts.cors_origin,
            config: parking_lot::Mutex::new(status::ConfigStatus {
                yaml: String::new(),
                reload_success: true,
                last_config_time: SystemTime::now(),
            }),
            external_labels: parking_lot::Mutex::new(bongsu_model::Labels::empty()),
            flags: opts.flags,
            dashboards_dir: opts.dashboards_dir,
            storage_retention: opts.storage_retention,
            start_time: SystemTime::now(),
        }))
    }

    /// Records a configuration (re)load: on success, the YAML (secrets already masked) that
    /// `status/config` shows and the external labels `/federate` adds; on failure, the
    /// previous ones stay.
    pub fn set_config(&self, result: Result<(String, bongsu_model::Labels), ()>) {
        let mut c = self.0.config.lock();
        c.reload_success = result.is_ok();
        if let Ok((yaml, external)) = result {
            c.yaml = yaml;
            c.last_config_time = SystemTime::now();
            *self.0.external_labels.lock() = external;
        }
    }

    /// Hands over the opened database; `/-/ready` and the API answer from then on.
    pub fn set_ready(&self, db: Arc<Db>) {
        let _ = self.0.db.set(db);
    }

    /// Hands over the `remote_read` endpoints that queries and `/api/v1/series` also read.
    pub fn set_remote_read(&self, remotes: Arc<bongsu_remoteread::RemoteReads>) {
        let _ = self.0.remote_read.set(remotes);
    }

    /// Hands over where `/-/reload` and `/-/quit` requests go (ignored without
    /// `--web.enable-lifecycle`).
    pub fn set_lifecycle(&self, l: Lifecycle) {
        if let Some(slot) = &self.0.lifecycle {
            let _ = slot.set(l);
        }
    }

    /// Hands over the opened log store; the Loki API answers from then on.
    pub fn set_logs(&self, store: Arc<bongsu_logstore::LogStore>) {
        let _ = self.0.logs.set(store);
    }

    /// Ends the live tailing connections and refuses new ones: call when shutting down, since
    /// the server's graceful shutdown waits for open connections.
    pub fn close_tails(&self) {
        self.0.tails.close();
    }

    /// Hands over the scrape manager whose targets the targets and metadata APIs show.
    pub fn set_scrape_manager(&self, m: Arc<ScrapeManager>) {
        let _ = self.0.scrape.set(m);
    }

    /// Hands over the Alertmanager; call before `router` so its API is served.
    pub fn set_alertmanager(&self, am: Arc<bongsu_alertmanager::server::Alertmanager>) {
        let _ = self.0.alertmanager.set(am);
    }

    /// Hands over the rule manager whose groups the rules and alerts APIs show.
    pub fn set_rule_manager(&self, m: Arc<RuleManager>) {
        let _ = self.0.rules.set(m);
    }

    /// Hands over the notifier whose Alertmanagers `/api/v1/alertmanagers` and `/metrics` show.
    pub fn set_notifier(&self, n: Arc<bongsu_notifier::Notifier>) {
        let _ = self.0.notifier.set(n);
    }

    /// Has `/metrics` also write what `source` writes: the families of a part the API does
    /// not know (the log collector's, the remote-write queues').
    pub fn add_metrics_source(&self, source: MetricsSource) {
        self.0
            .metrics_sources
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(source);
    }

    /// The added metrics sources, for `/metrics`.
    fn metrics_sources(&self) -> Vec<MetricsSource> {
        self.0
            .metrics_sources
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn notifier(&self) -> Option<&Arc<bongsu_notifier::Notifier>> {
        self.0.notifier.get()
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

    /// What queries read: the database, merged with the `remote_read` endpoints when any are
    /// configured (their failures go to `warnings`).
    fn reader(&self, warnings: &bongsu_remoteread::Warnings) -> Result<Arc<dyn Storage>, ApiError> {
        let db = self.db()?;
        Ok(match self.0.remote_read.get() {
            Some(r) if !r.is_empty() => Arc::new(bongsu_remoteread::Fanout::new(
                db,
                r.clone(),
                warnings.clone(),
            )),
            _ => db,
        })
    }
}

/// The server's handles for `/-/reload` and `/-/quit`.
pub struct Lifecycle {
    pub reload: tokio::sync::mpsc::Sender<ReloadRequest>,
    pub quit: tokio::sync::mpsc::Sender<()>,
}

/// All routes, with the Alertmanager API if an Alertmanager was handed over.
pub fn router(state: ApiState) -> Router {
    let alertmanager = state
        .0
        .alertmanager
        .get()
        .map(|am| bongsu_alertmanager::api::router(am.clone()))
        .unwrap_or_default();
    let cors = state.0.cors.clone();
    let mut router = Router::new();
    for (path, method) in prometheus_routes() {
        instrument::declare(path);
        router = router.route(path, method);
    }
    router
        .merge(loki::routes())
        .merge(elasticsearch::routes())
        .merge(ui::routes())
        .with_state(state)
        .merge(alertmanager)
        .layer(axum::middleware::from_fn(move |req, next| {
            cors::layer(cors.clone(), req, next)
        }))
        .layer(axum::middleware::from_fn(instrument::record))
        .layer(tower_http::compression::CompressionLayer::new())
}

/// Prometheus' own routes, with their handlers.
fn prometheus_routes() -> Vec<(&'static str, MethodRouter<ApiState>)> {
    vec![
        (
            "/-/healthy",
            get(|| async { "Bongsu Server is Healthy.\n" }),
        ),
        ("/-/ready", get(ready)),
        ("/-/reload", post(reload).put(reload)),
        ("/-/quit", post(quit).put(quit)),
        ("/metrics", get(metrics::handler)),
        ("/federate", get(federate::federate)),
        ("/api/v1/query", get(query::query).post(query::query)),
        (
            "/api/v1/query_range",
            get(query::query_range).post(query::query_range),
        ),
        (
            "/api/v1/query_exemplars",
            get(query::query_exemplars).post(query::query_exemplars),
        ),
        (
            "/api/v1/format_query",
            get(query::format_query).post(query::format_query),
        ),
        (
            "/api/v1/parse_query",
            get(query::parse_query).post(query::parse_query),
        ),
        ("/api/v1/labels", get(meta::labels).post(meta::labels)),
        ("/api/v1/label/{name}/values", get(meta::label_values)),
        ("/api/v1/series", get(meta::series).post(meta::series)),
        ("/api/v1/targets", get(targets::targets)),
        ("/api/v1/targets/metadata", get(targets::targets_metadata)),
        ("/api/v1/metadata", get(targets::metadata)),
        ("/api/v1/rules", get(rules::rules)),
        ("/api/v1/alerts", get(rules::alerts)),
        ("/api/v1/alertmanagers", get(alertmanagers::alertmanagers)),
        ("/api/v1/write", post(remote_write)),
        ("/api/v1/read", post(remote_read::read)),
        ("/api/v1/status/buildinfo", get(status::buildinfo)),
        ("/api/v1/status/config", get(status::config)),
        ("/api/v1/status/flags", get(status::flags)),
        ("/api/v1/status/runtimeinfo", get(status::runtimeinfo)),
        ("/api/v1/status/tsdb", get(status::tsdb)),
        ("/api/v1/status/tsdb/blocks", get(status::tsdb_blocks)),
        ("/api/v1/status/walreplay", get(status::walreplay)),
        ("/api/v1/scrape_pools", get(targets::scrape_pools)),
        ("/api/v1/dashboards", get(dashboards::list)),
        ("/api/v1/dashboards/{uid}", get(dashboards::get)),
        (
            "/api/v1/admin/tsdb/snapshot",
            post(admin::snapshot).put(admin::snapshot),
        ),
        (
            "/api/v1/admin/tsdb/delete_series",
            post(admin::delete_series).put(admin::delete_series),
        ),
        (
            "/api/v1/admin/tsdb/clean_tombstones",
            post(admin::clean_tombstones).put(admin::clean_tombstones),
        ),
    ]
}

/// Prometheus' answer when the lifecycle API is off.
const LIFECYCLE_DISABLED: &str = "Lifecycle API is not enabled.";

async fn reload(State(s): State<ApiState>, headers: HeaderMap) -> Response {
    if let Some(refused) = origin::cross_site_refusal(&headers) {
        return refused;
    }
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

async fn quit(State(s): State<ApiState>, headers: HeaderMap) -> Response {
    if let Some(refused) = origin::cross_site_refusal(&headers) {
        return refused;
    }
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
    /// A query ran out of time (503).
    Timeout(String),
    /// The database is still opening (WAL replay).
    Unavailable,
    /// The server cannot take the query now (the shared query memory budget is spent): 503.
    Busy(String),
    /// A turned-off part of the API: `unavailable`, with status 500 as upstream.
    Disabled(&'static str),
    /// What the path names does not exist: `not_found`, 404.
    NotFound(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, msg) = match self {
            ApiError::BadData(m) => (StatusCode::BAD_REQUEST, "bad_data", m),
            ApiError::Execution(m) => (StatusCode::UNPROCESSABLE_ENTITY, "execution", m),
            ApiError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", m),
            ApiError::Timeout(m) => (StatusCode::SERVICE_UNAVAILABLE, "timeout", m),
            ApiError::Disabled(m) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "unavailable",
                m.to_string(),
            ),
            ApiError::Busy(m) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m),
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
            // Prometheus reports what fails to parse or type-check as a bad `query` parameter.
            PromqlError::Parse(m) => ApiError::BadData(format!("invalid parameter \"query\": {m}")),
            e @ PromqlError::Unsupported(_) => ApiError::BadData(e.to_string()),
            e @ PromqlError::Timeout(_) => ApiError::Timeout(e.to_string()),
            e @ PromqlError::TooManySamples(_) => ApiError::Execution(e.to_string()),
            e @ PromqlError::ServerBusy => ApiError::Busy(e.to_string()),
            PromqlError::Execution(m) => ApiError::Execution(m),
            PromqlError::Storage(e) => ApiError::Internal(e.to_string()),
        }
    }
}

fn invalid_param(name: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::BadData(format!("invalid parameter \"{name}\": {e}"))
}

fn ok_json(data: String) -> Response {
    ok_json_warn(data, &[])
}

fn ok_json_warn(data: String, warnings: &[String]) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        json::success_with_warnings(&data, warnings),
    )
        .into_response()
}

fn params(q: Option<String>, body: &Bytes) -> Result<Params, ApiError> {
    Params::parse(q.as_deref(), Some(body)).map_err(ApiError::BadData)
}

/// An optional time parameter, with Prometheus' wording when it does not parse.
fn param_time(p: &Params, name: &str, default: i64) -> Result<i64, ApiError> {
    match p.get(name) {
        None | Some("") => Ok(default),
        Some(s) => parse_time(s)
            .map_err(|e| invalid_param(name, format_args!("invalid time value for '{name}': {e}"))),
    }
}

/// `limit`: 0 (or absent) means no limit.
fn param_limit(p: &Params) -> Result<usize, ApiError> {
    match p.get("limit") {
        None | Some("") => Ok(0),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n < 0 => Err(invalid_param("limit", "limit must be non-negative")),
            Ok(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
            Err(_) => Err(invalid_param(
                "limit",
                format_args!("strconv.Atoi: parsing {s:?}: invalid syntax"),
            )),
        },
    }
}

/// Prometheus' warning when `limit` cut a result short.
const TRUNCATED: &str = "results truncated due to limit";

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
        return bongsu_ingest::disabled();
    };
    match s.db() {
        Ok(db) => receiver.handle(db, &headers, body).await,
        Err(_) => receiver.not_ready(),
    }
}
