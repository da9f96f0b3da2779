//! The PromQL endpoints: `query`, `query_range` (parameters, the per-query deadline, the
//! `--query.max-concurrency` queue, `limit`, `stats`), `query_exemplars`, `format_query` and
//! `parse_query`. Evaluation itself is `promql::Engine`'s.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use bongsu_promql::{QueryOpts, QueryOutput, QueryStats, QueryValue, MAX_STEPS};
use bongsu_storage::Queryable;

use super::params::{parse_duration, parse_time, Params};
use super::{
    ast_json, blocking, invalid_param, json, now_ms, ok_json, param_limit, param_time, params,
    ApiError, ApiState, TRUNCATED,
};

/// What every query endpoint reads besides the times.
struct Common {
    limit: usize,
    opts: QueryOpts,
    /// The raw `stats` parameter; statistics are returned when it is not empty.
    stats: String,
    arrived: Instant,
}

/// `timeout`, `lookback_delta`, `stats` (and `limit`, read first as upstream does).
fn common(s: &ApiState, p: &Params, limit: usize, arrived: Instant) -> Result<Common, ApiError> {
    let mut timeout = s.0.engine.timeout;
    if let Some(t) = p.get("timeout").filter(|t| !t.is_empty()) {
        timeout = timeout.min(parse_duration(t).map_err(|e| invalid_param("timeout", e))?);
    }
    let lookback_ms = match p.get("lookback_delta").filter(|t| !t.is_empty()) {
        None => None,
        Some(d) => Some(
            parse_duration(d)
                .map_err(|e| {
                    ApiError::BadData(format!("error parsing lookback delta duration: {e}"))
                })?
                .as_millis() as i64,
        )
        .filter(|&ms| ms > 0),
    };
    Ok(Common {
        limit,
        opts: QueryOpts {
            deadline: Some(arrived + timeout),
            lookback_ms,
        },
        stats: p.get("stats").unwrap_or_default().to_string(),
        arrived,
    })
}

/// Waits (until the query's deadline) for one of the `--query.max-concurrency` slots, then
/// evaluates on the blocking pool.
async fn evaluate(
    s: &ApiState,
    c: &Common,
    f: impl FnOnce(
            &dyn Queryable,
            &QueryOpts,
        ) -> Result<(QueryOutput, QueryStats), bongsu_promql::PromqlError>
        + Send
        + 'static,
) -> Result<(QueryOutput, QueryStats, Duration), ApiError> {
    let warnings = bongsu_remoteread::Warnings::collect();
    let db = s.reader(&warnings)?;
    let deadline = c.opts.deadline.unwrap_or(c.arrived);
    let queued = Instant::now();
    let queue_timeout = || ApiError::Timeout("query timed out in query queue".into());
    if queued >= deadline {
        // As Prometheus: a query whose time is up before it starts fails in the queue.
        return Err(queue_timeout());
    }
    let waiting = s.0.engine.metrics.active();
    let slot = tokio::time::timeout_at(deadline.into(), s.0.query_slots.clone().acquire_owned())
        .await
        .map_err(|_| queue_timeout())?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    // From here the engine counts the query as running.
    drop(waiting);
    let queue_time = queued.elapsed();
    s.0.engine.metrics.observe_queue(queue_time);
    let opts = c.opts.clone();
    // The engine checks the deadline between steps of evaluation; a single long step (one
    // function over a huge window) is answered at the deadline all the same, while its thread
    // keeps the slot until it reaches the next check.
    let work = blocking(move || {
        let _slot = slot;
        Ok(f(&*db, &opts)?)
    });
    let (mut value, stats) = tokio::time::timeout_at(deadline.into(), work)
        .await
        .map_err(|_| {
            ApiError::from(bongsu_promql::PromqlError::Timeout("expression evaluation"))
        })??;
    // Remote reads that failed are warnings, after the query's own (Prometheus' secondary
    // querier errors).
    value.warnings.extend(warnings.take());
    Ok((value, stats, queue_time))
}

/// The response of `query` and `query_range`: `limit` applied, `stats` and warnings added
/// after the query's own annotations.
fn respond(c: &Common, out: QueryOutput, stats: &QueryStats, queue: Duration) -> Response {
    let QueryOutput {
        mut value,
        mut warnings,
        infos,
    } = out;
    if c.limit > 0 {
        let truncated = match &mut value {
            QueryValue::Vector(v) if v.len() > c.limit => {
                v.truncate(c.limit);
                true
            }
            QueryValue::Matrix(m) if m.len() > c.limit => {
                m.truncate(c.limit);
                true
            }
            _ => false,
        };
        if truncated {
            warnings.push(TRUNCATED.to_string());
        }
    }
    if !matches!(c.stats.as_str(), "" | "true" | "all") {
        warnings.push(format!(
            "value {:?} for parameter \"stats\" is deprecated and will be rejected in the next major release, use \"true\" or \"all\"",
            c.stats
        ));
    }
    let stats = (!c.stats.is_empty()).then(|| stats_json(stats, queue, c.arrived.elapsed()));
    (
        [(header::CONTENT_TYPE, "application/json")],
        json::success_with(
            &json::query_data(&value, stats.as_deref()),
            &warnings,
            &infos,
        ),
    )
        .into_response()
}

/// Prometheus' `stats` object (timings in seconds). Per-step statistics need a feature flag
/// upstream and are not produced.
fn stats_json(s: &QueryStats, queue: Duration, total: Duration) -> String {
    let eval = s.preparation + s.inner_eval;
    serde_json::json!({
        "timings": {
            "evalTotalTime": eval.as_secs_f64(),
            "resultSortTime": s.result_sort.as_secs_f64(),
            "queryPreparationTime": s.preparation.as_secs_f64(),
            "innerEvalTime": s.inner_eval.as_secs_f64(),
            "execQueueTime": queue.as_secs_f64(),
            "execTotalTime": total.as_secs_f64(),
        },
        "samples": {
            "totalQueryableSamples": s.samples_read,
            "samplesRead": s.samples_read,
            "peakSamples": s.peak_samples,
        }
    })
    .to_string()
}

pub(super) async fn query(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let arrived = Instant::now();
    let p = params(q, &body)?;
    let limit = param_limit(&p)?;
    let t = param_time(&p, "time", now_ms())?;
    let c = common(&s, &p, limit, arrived)?;
    let query = p.get("query").unwrap_or_default().to_string();
    let engine = s.0.engine.clone();
    let (value, stats, queue) = evaluate(&s, &c, move |db, opts| {
        engine.instant_query_with(db, &query, t, opts)
    })
    .await?;
    Ok(respond(&c, value, &stats, queue))
}

pub(super) async fn query_range(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let arrived = Instant::now();
    let p = params(q, &body)?;
    let limit = param_limit(&p)?;
    let need = |name: &str| -> Result<i64, ApiError> {
        parse_time(p.get(name).unwrap_or_default()).map_err(|e| invalid_param(name, e))
    };
    let (start, end) = (need("start")?, need("end")?);
    if end < start {
        return Err(invalid_param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    let step_text = p.get("step").unwrap_or_default();
    let non_positive =
        "zero or negative query resolution step widths are not accepted. Try a positive integer";
    if step_text.parse::<f64>().is_ok_and(|f| f <= 0.0) {
        return Err(invalid_param("step", non_positive));
    }
    let step = parse_duration(step_text).map_err(|e| invalid_param("step", e))?;
    let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
    if step_ms <= 0 {
        return Err(invalid_param("step", non_positive));
    }
    if end.saturating_sub(start) / step_ms > MAX_STEPS {
        return Err(ApiError::BadData("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into()));
    }
    let c = common(&s, &p, limit, arrived)?;
    let query = p.get("query").unwrap_or_default().to_string();
    let engine = s.0.engine.clone();
    let (value, stats, queue) = evaluate(&s, &c, move |db, opts| {
        engine.range_query_with(db, &query, start, end, step, opts)
    })
    .await?;
    Ok(respond(&c, value, &stats, queue))
}

/// Parses the `query` parameter as Prometheus' parser endpoints do.
fn parse_query_param(p: &Params) -> Result<bongsu_promql::PreparedQuery, ApiError> {
    let q = p.get("query").unwrap_or_default();
    let query = bongsu_promql::PreparedQuery::new(q).map_err(|e| invalid_param("query", e))?;
    // The AST holds the trims as the comparisons `<` and `>`: printing it would change them.
    if query.uses_trim_operators() {
        return Err(ApiError::BadData(
            "invalid parameter \"query\": the histogram trim operators </ and >/ are not supported by this endpoint yet".into(),
        ));
    }
    Ok(query)
}

/// `format_query`: the query pretty-printed.
pub(super) async fn format_query(RawQuery(q): RawQuery, body: Bytes) -> Result<Response, ApiError> {
    let p = params(q, &body)?;
    let query = parse_query_param(&p)?;
    let mut out = String::new();
    json::write_str(&mut out, &query.expr().prettify());
    Ok(ok_json(out))
}

/// `parse_query`: the syntax tree in the JSON shape of Prometheus' UI tree view.
pub(super) async fn parse_query(RawQuery(q): RawQuery, body: Bytes) -> Result<Response, ApiError> {
    let p = params(q, &body)?;
    let query = parse_query_param(&p)?;
    Ok(ok_json(ast_json::translate(query.expr()).to_string()))
}

/// `query_exemplars`: parameters are validated as upstream; exemplars are not stored, so a
/// query with selectors finds none.
pub(super) async fn query_exemplars(
    State(_s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = params(q, &body)?;
    let start = param_time(&p, "start", i64::MIN)?;
    let end = param_time(&p, "end", i64::MAX)?;
    if end < start {
        return Err(ApiError::BadData(
            "end timestamp must not be before start timestamp".into(),
        ));
    }
    let expr = bongsu_promql::parse(p.get("query").unwrap_or_default())
        .map_err(|e| ApiError::BadData(e.to_string()))?;
    if !has_selector(&expr) {
        // Upstream answers an expression without selectors with no data at all.
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(ok_json("[]".into()))
}

fn has_selector(e: &promql_parser::parser::Expr) -> bool {
    use promql_parser::parser::Expr;
    match e {
        Expr::VectorSelector(_) | Expr::MatrixSelector(_) => true,
        Expr::Aggregate(a) => has_selector(&a.expr) || a.param.as_deref().is_some_and(has_selector),
        Expr::Unary(u) => has_selector(&u.expr),
        Expr::Binary(b) => has_selector(&b.lhs) || has_selector(&b.rhs),
        Expr::Paren(p) => has_selector(&p.expr),
        Expr::Subquery(s) => has_selector(&s.expr),
        Expr::Call(c) => c.args.args.iter().any(|a| has_selector(a)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => false,
    }
}
