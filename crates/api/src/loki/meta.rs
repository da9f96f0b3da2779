//! Loki's metadata endpoints: `labels`, `label/<name>/values`, `series`, `index/stats`,
//! `format_query`, `status/buildinfo`, and `POST /flush`.

use super::params::{bounds, params, selector, DEFAULT_META_SINCE_NS};
use super::{blocking, LokiError, LOKI_COMPATIBLE_VERSION};
use crate::json::{string_list, write_labels, write_str};
use crate::params::Params;
use crate::{ok_json, ApiState};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bongsu_model::Matcher;

/// `start`, `end` (default now) and `since` (default 6 h) of the metadata endpoints.
fn range(p: &Params) -> Result<(i64, i64), LokiError> {
    bounds(p, DEFAULT_META_SINCE_NS)
}

/// What `labels`, `label/<name>/values` and `index/stats` read: a time range and the streams
/// of an optional `query` selector.
struct Scope {
    start: i64,
    end: i64,
    matchers: Vec<Matcher>,
}

fn scope(q: Option<String>, body: &Bytes) -> Result<Scope, LokiError> {
    let p = params(q, body)?;
    let (start, end) = range(&p)?;
    let matchers = selector(p.get("query"))?;
    Ok(Scope {
        start,
        end,
        matchers,
    })
}

pub(super) fn store_error(e: bongsu_logstore::LogStoreError) -> LokiError {
    LokiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

pub(super) async fn labels(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let Scope {
        start,
        end,
        matchers,
    } = scope(q, &body)?;
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
    let Scope {
        start,
        end,
        matchers,
    } = scope(q, &Bytes::new())?;
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
    let Scope {
        start,
        end,
        matchers,
    } = scope(q, &body)?;
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
