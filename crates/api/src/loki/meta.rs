//! Loki's metadata endpoints: `labels`, `label/<name>/values`, `series`, `index/stats`,
//! `index/volume`, `format_query`, `status/buildinfo`, and `POST /flush`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bongsu_logql::Expr;
use bongsu_model::Matcher;

use super::params::{parse_duration, parse_time, DEFAULT_META_SINCE_NS};
use super::{blocking, LokiError, LOKI_COMPATIBLE_VERSION};
use crate::json::{string_list, write_labels, write_str};
use crate::params::Params;
use crate::{ok_json, ApiState};

fn now_ns() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    )
    .unwrap_or(i64::MAX)
}

/// `start`, `end` (default now) and `since` (default 6 h) of the metadata endpoints.
fn range(p: &Params) -> Result<(i64, i64), LokiError> {
    let end = match p.get("end").filter(|s| !s.is_empty()) {
        Some(s) => parse_time(s).map_err(LokiError::bad)?,
        None => now_ns(),
    };
    let since = match p.get("since").filter(|s| !s.is_empty()) {
        Some(s) => parse_duration(s).map_err(LokiError::bad)?,
        None => DEFAULT_META_SINCE_NS,
    };
    let start = match p.get("start").filter(|s| !s.is_empty()) {
        Some(s) => parse_time(s).map_err(LokiError::bad)?,
        None => end.saturating_sub(since),
    };
    if end < start {
        return Err(LokiError::bad(
            "end timestamp must not be before or equal to start time",
        ));
    }
    Ok((start, end))
}

/// The matchers of a stream selector parameter (`query` or `match[]`); none when absent.
fn selector(s: Option<&str>) -> Result<Vec<Matcher>, LokiError> {
    let Some(s) = s.filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    match bongsu_logql::parse_without_validation(s).map_err(|e| LokiError::bad(e.to_string()))? {
        Expr::Log(l) => Ok(l.matchers),
        Expr::Metric(_) => Err(LokiError::bad(format!(
            "only stream selectors are allowed here, got a metric query: {s}"
        ))),
    }
}

fn params(q: Option<String>, body: &Bytes) -> Result<Params, LokiError> {
    Params::parse(q.as_deref(), Some(body)).map_err(LokiError::bad)
}

fn store_error(e: bongsu_logstore::LogStoreError) -> LokiError {
    LokiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

pub(super) async fn labels(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let p = params(q, &body)?;
    let (start, end) = range(&p)?;
    let matchers = selector(p.get("query"))?;
    let store = s.logs()?;
    let names = blocking(&s, move || {
        store
            .label_names(&matchers, start, end)
            .map_err(store_error)
    })
    .await?;
    Ok(ok_json(string_list(names.iter().map(|n| &**n))))
}

pub(super) async fn label_values(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, LokiError> {
    let p = params(q, &Bytes::new())?;
    let (start, end) = range(&p)?;
    let matchers = selector(p.get("query"))?;
    let store = s.logs()?;
    let values = blocking(&s, move || {
        store
            .label_values(&name, &matchers, start, end)
            .map_err(store_error)
    })
    .await?;
    Ok(ok_json(string_list(values.iter().map(|v| &**v))))
}

pub(super) async fn series(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let p = params(q, &body)?;
    let (start, end) = range(&p)?;
    let sets = p
        .all("match[]")
        .into_iter()
        .chain(p.all("match"))
        .map(|m| selector(Some(m)))
        .collect::<Result<Vec<_>, _>>()?;
    let store = s.logs()?;
    let all = blocking(&s, move || {
        let mut all = std::collections::BTreeSet::new();
        if sets.is_empty() {
            all.extend(store.series(&[], start, end).map_err(store_error)?);
        }
        for m in &sets {
            all.extend(store.series(m, start, end).map_err(store_error)?);
        }
        Ok(all)
    })
    .await?;
    let mut out = String::from("[");
    for (i, l) in all.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_labels(&mut out, l);
    }
    out.push(']');
    Ok(ok_json(out))
}

/// `index/stats`: Loki answers the bare object, without the success envelope.
pub(super) async fn stats(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let p = params(q, &body)?;
    let (start, end) = range(&p)?;
    let matchers = selector(p.get("query"))?;
    let store = s.logs()?;
    let st = blocking(&s, move || {
        store.stats(&matchers, start, end).map_err(store_error)
    })
    .await?;
    let body = format!(
        "{{\"streams\":{},\"chunks\":{},\"bytes\":{},\"entries\":{}}}",
        st.streams, st.chunks, st.bytes, st.entries
    );
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Most series `index/volume` returns unless `limit` says otherwise (Loki's default).
const DEFAULT_VOLUME_LIMIT: usize = 100;

/// `index/volume`: bytes per stream (or per `targetLabels` projection), as a vector at `end`.
pub(super) async fn volume(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let p = params(q, &body)?;
    let (start, end) = range(&p)?;
    let matchers = selector(p.get("query"))?;
    let limit = match p.get("limit").filter(|s| !s.is_empty()) {
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| LokiError::bad(format!("cannot parse \"{l}\" to a valid limit")))?,
        None => DEFAULT_VOLUME_LIMIT,
    };
    let target: Option<Vec<String>> = p
        .get("targetLabels")
        .filter(|s| !s.is_empty())
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    // Without targetLabels and with aggregateBy=labels, Loki aggregates by each matcher's name.
    let by: Option<Vec<String>> = target.or_else(|| {
        (p.get("aggregateBy") == Some("labels"))
            .then(|| matchers.iter().map(|m| m.name.clone()).collect())
    });
    let store = s.logs()?;
    let vols = blocking(&s, move || {
        let names: Option<Vec<&str>> = by.as_ref().map(|v| v.iter().map(String::as_str).collect());
        store
            .volume(&matchers, start, end, names.as_deref(), limit)
            .map_err(store_error)
    })
    .await?;
    let mut out = String::from("{\"resultType\":\"vector\",\"result\":[");
    for (i, v) in vols.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"metric\":");
        write_labels(&mut out, &v.labels);
        out.push_str(",\"value\":[");
        crate::json::write_timestamp(&mut out, end.div_euclid(1_000_000));
        out.push_str(",\"");
        out.push_str(&v.bytes.to_string());
        out.push_str("\"]}");
    }
    out.push_str("]}");
    Ok(ok_json(out))
}

pub(super) async fn format_query(
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let p = params(q, &body)?;
    let expr = bongsu_logql::parse(p.get("query").unwrap_or(""))
        .map_err(|e| LokiError::bad(e.to_string()))?;
    let mut out = String::new();
    write_str(&mut out, &expr.to_string());
    Ok(ok_json(out))
}

pub(super) async fn buildinfo() -> Response {
    let body = serde_json::json!({
        "version": LOKI_COMPATIBLE_VERSION,
        "revision": concat!("bongsu-", env!("CARGO_PKG_VERSION")),
        "branch": "bongsu",
        "buildUser": "",
        "buildDate": "",
        "goVersion": concat!("none (bongsu ", env!("CARGO_PKG_VERSION"), ", Rust)"),
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `POST /flush`: cuts the head into a block now (Loki flushes its in-memory chunks).
pub(super) async fn flush(State(s): State<ApiState>) -> Result<Response, LokiError> {
    let store = s.logs()?;
    blocking(&s, move || store.flush().map(|_| ()).map_err(store_error)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
