//! Alertmanager's v2 HTTP API (`/api/v2/...`), served by bongsu's listener so `amtool` and
//! Prometheus' `alerting.alertmanagers` work against it: alerts (list, post), alert groups,
//! silences (list, create/update, get, expire), receivers and status.
//!
//! Parameter and body errors answer 400 with a JSON string, as go-swagger does.

mod media;
mod models;

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use media::JsonBody;
use models::{
    date_time, AlertGroup, AlertStatus, GettableAlert, GettableSilence, PostableAlert,
    PostableSilence, ReceiverRef,
};
use regex::Regex;

use crate::matcher::{LabelSet, Matcher, Matchers};
use crate::server::{Alertmanager, Running, BUILD};
use crate::silence::{Silence, SilenceError, SilenceState};
use crate::timeinterval::containing;
use crate::types::{add, Alert};

/// Largest request body accepted (alerts or a silence).
const MAX_BODY: usize = 32 << 20;

/// The routes, with the Alertmanager as their state.
pub fn router(am: Arc<Alertmanager>) -> Router {
    Router::new()
        .route("/api/v2/alerts", get(get_alerts).post(post_alerts))
        .route("/api/v2/alerts/groups", get(get_groups))
        .route("/api/v2/silences", get(get_silences).post(post_silence))
        .route(
            "/api/v2/silence/{id}",
            get(get_silence).delete(delete_silence),
        )
        .route("/api/v2/status", get(status))
        .route("/api/v2/receivers", get(receivers))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(am)
}

fn bad_request(msg: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(msg.into())).into_response()
}

/// A 400 answer, kept small so results carrying it stay cheap.
struct BadRequest(String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        bad_request(self.0)
    }
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json("the Alertmanager is not running"),
    )
        .into_response()
}

/// Query parameters, repeated ones kept.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: Option<String>) -> Result<Query, BadRequest> {
        serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
            .map(Query)
            .map_err(|e| BadRequest(e.to_string()))
    }

    fn bool(&self, name: &str) -> Result<bool, BadRequest> {
        match self.0.iter().rev().find(|(k, _)| k == name) {
            None => Ok(true),
            Some((_, v)) => match v.as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(BadRequest(format!(
                    "{name} in query must be of type boolean: {v:?}"
                ))),
            },
        }
    }

    fn matchers(&self) -> Result<Matchers, BadRequest> {
        let mut ms = Vec::new();
        for (_, v) in self.0.iter().filter(|(k, _)| k == "filter") {
            let parsed = Matchers::parse(v)
                .map_err(|e| BadRequest(format!("bad matcher format: {v}: {e}")))?;
            ms.extend(parsed.0);
        }
        Ok(Matchers(ms))
    }

    fn receiver(&self) -> Result<Option<Regex>, BadRequest> {
        match self.0.iter().rev().find(|(k, _)| k == "receiver") {
            None => Ok(None),
            Some((_, v)) => Regex::new(&format!("^(?:{v})$"))
                .map(Some)
                .map_err(|e| BadRequest(format!("failed to parse receiver param: {e}"))),
        }
    }
}

/// An alert's status as the API shows it: silences, inhibition and time-interval mutes,
/// computed now.
fn alert_status(am: &Alertmanager, run: &Running, a: &Alert) -> (AlertStatus, Vec<String>) {
    let now = am.clock.now();
    let silenced_by = am.silences.mutes(&a.labels);
    let inhibited_by: Vec<String> = run
        .inhibitor
        .inhibited_by(&a.labels)
        .map(|fp| fp.to_string())
        .into_iter()
        .collect();
    let mut receivers = Vec::new();
    let mut muted_by = Vec::new();
    for r in run.route.match_labels(&a.labels) {
        if !receivers.contains(&r.opts.receiver) {
            receivers.push(r.opts.receiver.clone());
        }
        if let Ok(names) = containing(&run.config.time_intervals, &r.opts.mute_time_intervals, now)
        {
            muted_by.extend(names.into_iter().map(str::to_string));
        }
    }
    muted_by.sort();
    muted_by.dedup();
    let suppressed = !silenced_by.is_empty() || !inhibited_by.is_empty() || !muted_by.is_empty();
    (
        AlertStatus {
            state: if suppressed { "suppressed" } else { "active" },
            silenced_by,
            inhibited_by,
            muted_by,
        },
        receivers,
    )
}

struct AlertFilter {
    matchers: Matchers,
    receiver: Option<Regex>,
    silenced: bool,
    inhibited: bool,
    muted: bool,
    active: bool,
}

impl AlertFilter {
    /// The filter of an alerts or groups request and the running state to apply it to; the
    /// error response when the query is bad or the Alertmanager is not running (checked in
    /// that order).
    fn with_running(
        am: &Alertmanager,
        raw: Option<String>,
    ) -> Result<(AlertFilter, Arc<Running>), Box<Response>> {
        let bad = |e: BadRequest| Box::new(e.into_response());
        let filter = AlertFilter::from_query(&Query::parse(raw).map_err(bad)?).map_err(bad)?;
        let run = am.running().ok_or_else(|| Box::new(unavailable()))?;
        Ok((filter, run))
    }

    fn from_query(q: &Query) -> Result<AlertFilter, BadRequest> {
        Ok(AlertFilter {
            matchers: q.matchers()?,
            receiver: q.receiver()?,
            silenced: q.bool("silenced")?,
            inhibited: q.bool("inhibited")?,
            muted: q.bool("muted")?,
            active: q.bool("active")?,
        })
    }

    /// The alert as the API shows it, if it passes the filter.
    fn apply(&self, am: &Alertmanager, run: &Running, a: &Alert) -> Option<GettableAlert> {
        if a.resolved_at(am.clock.now()) {
            return None;
        }
        let (status, receivers) = alert_status(am, run, a);
        if let Some(re) = &self.receiver {
            if !receivers.iter().any(|r| re.is_match(r)) {
                return None;
            }
        }
        // As upstream, listing checks the muting of every alert the receiver filter keeps,
        // label matchers or not, so it is no longer `unprocessed`.
        am.store.mark_processed([a.fingerprint()]);
        if !self.matchers.matches(&a.labels) {
            return None;
        }
        if (!self.silenced && !status.silenced_by.is_empty())
            || (!self.inhibited && !status.inhibited_by.is_empty())
            || (!self.muted && !status.muted_by.is_empty())
            || (!self.active && status.state == "active")
        {
            return None;
        }
        Some(GettableAlert {
            annotations: a.annotations.clone(),
            ends_at: date_time(a.ends_at),
            fingerprint: a.fingerprint().to_string(),
            receivers: receivers
                .into_iter()
                .map(|name| ReceiverRef { name })
                .collect(),
            starts_at: date_time(a.starts_at),
            status,
            updated_at: date_time(a.updated_at),
            generator_url: a.generator_url.clone(),
            labels: a.labels.clone(),
        })
    }
}

async fn get_alerts(State(am): State<Arc<Alertmanager>>, RawQuery(raw): RawQuery) -> Response {
    let (filter, run) = match AlertFilter::with_running(&am, raw) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let mut out: Vec<GettableAlert> = am
        .store
        .list()
        .iter()
        .filter_map(|a| filter.apply(&am, &run, a))
        .collect();
    out.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    Json(out).into_response()
}

async fn post_alerts(State(am): State<Arc<Alertmanager>>, JsonBody(body): JsonBody) -> Response {
    let posted: Vec<PostableAlert> = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return bad_request(format!("parsing alerts body: {e}")),
    };
    let Some(run) = am.running() else {
        return unavailable();
    };
    let resolve_timeout = run.config.global.resolve_timeout;
    let now = am.clock.now();
    let mut errors = Vec::new();
    let mut valid = Vec::with_capacity(posted.len());
    for p in posted {
        let Some(mut labels) = p.labels else {
            errors.push("labels in body is required".to_string());
            continue;
        };
        labels.retain(|_, v| !v.is_empty());
        let mut annotations = p.annotations.unwrap_or_default();
        annotations.retain(|_, v| !v.is_empty());
        let starts_at = match (p.starts_at, p.ends_at) {
            (Some(s), _) => s,
            (None, Some(e)) => e,
            (None, None) => now,
        };
        let (ends_at, timeout) = match p.ends_at {
            Some(e) => (e, false),
            None => (add(now, resolve_timeout), true),
        };
        let alert = Alert {
            labels,
            annotations,
            starts_at,
            ends_at,
            generator_url: p.generator_url.unwrap_or_default(),
            updated_at: now,
            timeout,
        };
        match validate(&alert) {
            Ok(()) => valid.push(alert),
            Err(e) => errors.push(e),
        }
    }
    am.metrics_alerts_received(&valid, errors.len(), now);
    am.store.put(valid);
    if !errors.is_empty() {
        return bad_request(errors.join("; "));
    }
    StatusCode::OK.into_response()
}

/// Alertmanager's alert validation, in its words.
fn validate(a: &Alert) -> Result<(), String> {
    if a.ends_at < a.starts_at {
        return Err("start time must be before end time".into());
    }
    let check = |set: &LabelSet| -> Result<(), String> {
        for name in set.keys() {
            if name.is_empty() {
                return Err(format!("invalid name {name:?}"));
            }
        }
        Ok(())
    };
    check(&a.labels).map_err(|e| format!("invalid label set: {e}"))?;
    if a.labels.is_empty() {
        return Err("at least one label pair required".into());
    }
    check(&a.annotations).map_err(|e| format!("invalid annotations: {e}"))
}

async fn get_groups(State(am): State<Arc<Alertmanager>>, RawQuery(raw): RawQuery) -> Response {
    let (filter, run) = match AlertFilter::with_running(&am, raw) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let mut route_labels = std::collections::HashMap::new();
    run.route.walk(&mut |r| {
        route_labels.insert(r.idx, r.opts.labels.clone());
    });
    let mut out = Vec::new();
    for g in run.dispatcher.groups() {
        if let Some(re) = &filter.receiver {
            if !re.is_match(&g.receiver) {
                continue;
            }
        }
        let mut alerts: Vec<Arc<Alert>> = g.alerts();
        alerts.sort_by(|a, b| crate::types::compare_alerts(a, b));
        let alerts: Vec<GettableAlert> = alerts
            .iter()
            .filter_map(|a| filter.apply(&am, &run, a))
            .collect();
        if alerts.is_empty() {
            continue;
        }
        out.push(AlertGroup {
            alerts,
            labels: g.labels.clone(),
            route_labels: route_labels.get(&g.route_idx).cloned().unwrap_or_default(),
            receiver: ReceiverRef {
                name: g.receiver.clone(),
            },
        });
    }
    out.sort_by(|a, b| {
        a.labels
            .iter()
            .cmp(b.labels.iter())
            .then_with(|| a.receiver.name.cmp(&b.receiver.name))
    });
    Json(out).into_response()
}

async fn get_silences(State(am): State<Arc<Alertmanager>>, RawQuery(raw): RawQuery) -> Response {
    let q = match Query::parse(raw) {
        Ok(q) => q,
        Err(r) => return r.into_response(),
    };
    let (matchers, active, pending, expired) = match (
        q.matchers(),
        q.bool("active"),
        q.bool("pending"),
        q.bool("expired"),
    ) {
        (Ok(m), Ok(a), Ok(p), Ok(e)) => (m, a, p, e),
        (Err(r), ..) | (_, Err(r), ..) | (_, _, Err(r), _) | (_, _, _, Err(r)) => {
            return r.into_response()
        }
    };
    let now = am.clock.now();
    let mut list: Vec<Silence> = am
        .silences
        .list()
        .into_iter()
        .filter(|s| match s.state(now) {
            SilenceState::Active => active,
            SilenceState::Pending => pending,
            SilenceState::Expired => expired,
        })
        .filter(|s| silence_matches_filter(s, &matchers))
        .collect();
    sort_silences(&mut list, now);
    Json(
        list.iter()
            .map(|s| GettableSilence::new(s, now))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

/// Alertmanager's filter on silences: each filter matcher must match the value of a silence
/// matcher with the same name.
fn silence_matches_filter(s: &Silence, filter: &Matchers) -> bool {
    filter.iter().all(|f: &Matcher| {
        s.matchers
            .iter()
            .any(|m| m.name == f.name && f.matches_value(&m.value))
    })
}

/// Active silences first (ending soonest first), then pending (starting soonest first),
/// then expired (most recently ended first), as Alertmanager lists them.
fn sort_silences(list: &mut [Silence], now: jiff::Timestamp) {
    let rank = |s: &Silence| match s.state(now) {
        SilenceState::Active => 0,
        SilenceState::Pending => 1,
        SilenceState::Expired => 2,
    };
    list.sort_by(|a, b| {
        rank(a).cmp(&rank(b)).then_with(|| match a.state(now) {
            SilenceState::Active => a.ends_at.cmp(&b.ends_at),
            SilenceState::Pending => a.starts_at.cmp(&b.starts_at),
            SilenceState::Expired => b.ends_at.cmp(&a.ends_at),
        })
    });
}

async fn post_silence(State(am): State<Arc<Alertmanager>>, JsonBody(body): JsonBody) -> Response {
    let posted: PostableSilence = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return bad_request(format!("parsing silence body: {e}")),
    };
    let sil = match posted.into_silence() {
        Ok(s) => s,
        Err(e) => return bad_request(e),
    };
    if sil.starts_at >= sil.ends_at {
        return bad_request("Failed to create silence: start time must be before end time");
    }
    if sil.ends_at < am.clock.now() {
        return bad_request("Failed to create silence: end time can't be in the past");
    }
    match am.silences.set(sil) {
        Ok(id) => Json(serde_json::json!({ "silenceID": id })).into_response(),
        Err(e @ SilenceError::NotFound) => {
            (StatusCode::NOT_FOUND, Json(e.to_string())).into_response()
        }
        Err(e @ (SilenceError::TooMany { .. } | SilenceError::TooLarge { .. })) => {
            // The client sees the 400; the log tells the operator that a limit refuses silences.
            tracing::warn!(error = %e, "refused a silence at a limit");
            bad_request(e.to_string())
        }
        Err(e) => bad_request(e.to_string()),
    }
}

/// go-swagger checks the `uuid` format of the path parameter first.
fn check_uuid(id: &str) -> Option<Response> {
    let ok = id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    if ok {
        None
    } else {
        Some(
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(serde_json::json!({
                    "code": 605,
                    "message": format!("silenceID in path must be of type uuid: {id:?}"),
                })),
            )
                .into_response(),
        )
    }
}

async fn get_silence(State(am): State<Arc<Alertmanager>>, Path(id): Path<String>) -> Response {
    if let Some(r) = check_uuid(&id) {
        return r;
    }
    match am.silences.get(&id) {
        Some(s) => Json(GettableSilence::new(&s, am.clock.now())).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn delete_silence(State(am): State<Arc<Alertmanager>>, Path(id): Path<String>) -> Response {
    if let Some(r) = check_uuid(&id) {
        return r;
    }
    match am.silences.expire(&id) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(SilenceError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Json(e.to_string())).into_response(),
    }
}

async fn status(State(am): State<Arc<Alertmanager>>) -> Response {
    let Some(run) = am.running() else {
        return unavailable();
    };
    Json(serde_json::json!({
        "cluster": { "status": "disabled", "peers": [] },
        "versionInfo": {
            "version": BUILD.version,
            "revision": BUILD.revision,
            "branch": BUILD.branch,
            "buildUser": "",
            "buildDate": "",
            "goVersion": BUILD.goversion,
        },
        "config": { "original": run.config.to_redacted_yaml() },
        "uptime": date_time(am.started),
    }))
    .into_response()
}

async fn receivers(State(am): State<Arc<Alertmanager>>) -> Response {
    let Some(run) = am.running() else {
        return unavailable();
    };
    let mut seen = HashSet::new();
    let list: Vec<serde_json::Value> = run
        .config
        .receivers
        .iter()
        .filter(|r| seen.insert(r.name.clone()))
        .map(|r| serde_json::json!({ "name": r.name, "labels": r.labels }))
        .collect();
    Json(list).into_response()
}

#[cfg(test)]
mod tests;
