//! `query` and `query_range`: LogQL evaluated over the log store, answered in Loki's JSON
//! (`streams` for log queries; `vector`, `matrix`, `scalar` as Prometheus writes them).

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use bongsu_logengine::{evaluate, LogqlValue, QueryError, QueryRange, Streams};
use bongsu_logql::Expr;

use super::params::{
    default_step, now_ns, params, parse_direction, parse_duration, parse_limit, parse_time,
    DEFAULT_QUERY_SINCE_NS,
};
use super::{blocking, LokiError};
use crate::json::{query_data, write_str};
use crate::params::Params;
use crate::{ok_json, ApiState};

fn time_param(p: &Params, name: &str, default: i64) -> Result<i64, LokiError> {
    match p.get(name).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => parse_time(s).map_err(LokiError::bad),
    }
}

fn parse_query(p: &Params) -> Result<Expr, LokiError> {
    let q = p.get("query").unwrap_or("");
    bongsu_logql::parse(q).map_err(|e| LokiError::bad(e.to_string()))
}

pub(super) fn query_error(e: QueryError) -> LokiError {
    match e {
        QueryError::Store(e) => LokiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        other => LokiError::bad(other.to_string()),
    }
}

/// `GET|POST /loki/api/v1/query`: metric queries at one time.
pub(super) async fn query(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let p = params(q, &body)?;
    let expr = parse_query(&p)?;
    if matches!(expr, Expr::Log(_)) {
        return Err(LokiError::bad(
            "log queries are not supported as an instant query type, please change your query to a range query type",
        ));
    }
    let at = time_param(&p, "time", now_ns())?;
    let r = QueryRange {
        start: at,
        end: at,
        step: 1,
        interval: 0,
        direction: parse_direction(p.get("direction")).map_err(LokiError::bad)?,
        limit: parse_limit(p.get("limit")).map_err(LokiError::bad)?,
    };
    run(&s, expr, r).await
}

/// `GET|POST /loki/api/v1/query_range`.
pub(super) async fn query_range(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let p = params(q, &body)?;
    let expr = parse_query(&p)?;
    let end = time_param(&p, "end", now_ns())?;
    let since = match p.get("since").filter(|s| !s.is_empty()) {
        Some(s) => parse_duration(s).map_err(LokiError::bad)?,
        None => DEFAULT_QUERY_SINCE_NS,
    };
    let start = time_param(&p, "start", end.saturating_sub(since))?;
    if end < start {
        return Err(LokiError::bad(
            "end timestamp must not be before or equal to start time",
        ));
    }
    let step = match p.get("step").filter(|s| !s.is_empty()) {
        Some(s) => parse_duration(s).map_err(LokiError::bad)?,
        None => default_step(start, end),
    };
    if step <= 0 {
        return Err(LokiError::bad(
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    let interval = match p.get("interval").filter(|s| !s.is_empty()) {
        Some(s) => parse_duration(s).map_err(LokiError::bad)?,
        None => 0,
    };
    let r = QueryRange {
        start,
        end,
        step,
        interval,
        direction: parse_direction(p.get("direction")).map_err(LokiError::bad)?,
        limit: parse_limit(p.get("limit")).map_err(LokiError::bad)?,
    };
    run(&s, expr, r).await
}

async fn run(s: &ApiState, expr: Expr, r: QueryRange) -> Result<Response, LokiError> {
    let store = s.logs()?;
    let began = Instant::now();
    let value = blocking(s, move || evaluate(&store, &expr, &r).map_err(query_error)).await?;
    let secs = began.elapsed().as_secs_f64();
    let data = match &value {
        LogqlValue::Streams(streams) => streams_data(streams, secs),
        LogqlValue::Metric(v) => query_data(v, Some(&stats(secs, 0))),
    };
    Ok(ok_json(data))
}

/// A minimal `stats` object in Loki's shape (Grafana shows it in the query inspector).
fn stats(exec_secs: f64, entries: usize) -> String {
    format!(
        "{{\"summary\":{{\"execTime\":{exec_secs},\"queueTime\":0,\"totalEntriesReturned\":{entries}}}}}"
    )
}

fn streams_data(streams: &Streams, secs: f64) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("{\"resultType\":\"streams\",\"result\":[");
    let mut entries = 0;
    for (i, s) in streams.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"stream\":{");
        for (j, (n, v)) in s.labels.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            write_str(&mut out, n);
            out.push(':');
            write_str(&mut out, v);
        }
        out.push_str("},\"values\":[");
        for (j, (ts, line)) in s.entries.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push_str("[\"");
            out.push_str(&ts.to_string());
            out.push_str("\",");
            write_str(&mut out, line);
            out.push(']');
        }
        out.push_str("]}");
        entries += s.entries.len();
    }
    out.push_str("],\"stats\":");
    out.push_str(&stats(secs, entries));
    out.push('}');
    out
}
