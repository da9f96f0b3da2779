//! Loki's request parameters: times (Unix nanoseconds, seconds when ten digits or fewer,
//! float seconds, RFC 3339), durations (`5m` or float seconds), `limit`, `direction`, the
//! `since`/`start`/`end` defaults (`loghttp.bounds`), `step`, integers as Go's `strconv.Atoi`
//! reads them, stream selectors; and the request's parameter list itself.

use axum::body::Bytes;
use bongsu_logql::ast::LogExpr;
use bongsu_logql::Expr;
use bongsu_logstore::Direction;
use bongsu_model::Matcher;

use super::LokiError;
use crate::params::Params;

/// Loki's default `limit` of log queries.
pub const DEFAULT_LIMIT: usize = 100;
/// Most entries one log query may return (Loki's `max_entries_limit_per_query`).
pub const MAX_LIMIT: usize = 5000;
/// The default range of a query without `start`.
pub const DEFAULT_QUERY_SINCE_NS: i64 = 3_600 * 1_000_000_000;
/// The default range of the label and series endpoints without `start` (Loki's 6 h).
pub const DEFAULT_META_SINCE_NS: i64 = 6 * 3_600 * 1_000_000_000;

const NS: i64 = 1_000_000_000;

/// Most points per series a range request may ask for (Loki's and Prometheus' limit).
pub const MAX_POINTS: i64 = 11_000;

/// The wall clock in Unix nanoseconds.
pub fn now_ns() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    )
    .unwrap_or(i64::MAX)
}

/// The parameters of the URL query and, for form POSTs, the body.
pub fn params(q: Option<String>, body: &Bytes) -> Result<Params, LokiError> {
    Params::parse(q.as_deref(), Some(body)).map_err(LokiError::bad)
}

/// `start` and `end` as Loki's `determineBounds`: `end` defaults to now, `start` to
/// `min(end, now) - since` (`since` defaults to `default_since`); `end` before `start` is
/// refused.
pub fn bounds(p: &Params, default_since: i64) -> Result<(i64, i64), LokiError> {
    let given = |name: &str| p.get(name).filter(|s| !s.is_empty());
    let since = match given("since") {
        Some(s) => parse_duration(s)
            .map_err(|e| LokiError::bad(format!("could not parse 'since' parameter: {e}")))?,
        None => default_since,
    };
    let now = now_ns();
    let end = match given("end") {
        Some(s) => parse_time(s)
            .map_err(|e| LokiError::bad(format!("could not parse 'end' parameter: {e}")))?,
        None => now,
    };
    let start = match given("start") {
        Some(s) => parse_time(s)
            .map_err(|e| LokiError::bad(format!("could not parse 'start' parameter: {e}")))?,
        None => end.min(now).saturating_sub(since),
    };
    if end < start {
        return Err(LokiError::bad(
            "end timestamp must not be before or equal to start time",
        ));
    }
    Ok((start, end))
}

/// `step` (default: the range over 250 points), positive and giving at most [`MAX_POINTS`].
pub fn step(p: &Params, start: i64, end: i64) -> Result<i64, LokiError> {
    let step = match p.get("step").filter(|s| !s.is_empty()) {
        Some(s) => parse_duration(s).map_err(LokiError::bad)?,
        None => default_step(start, end),
    };
    if step <= 0 {
        return Err(LokiError::bad(
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if (end - start) / step > MAX_POINTS {
        return Err(LokiError::bad(
            "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter",
        ));
    }
    Ok(step)
}

/// An integer parameter as Go's `strconv.Atoi` reads it (`default` when absent or empty).
pub fn int_param(p: &Params, name: &str, default: i64) -> Result<i64, LokiError> {
    match p.get(name).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => s.parse::<i64>().map_err(|e| {
            let why = if matches!(
                e.kind(),
                std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
            ) {
                "value out of range"
            } else {
                "invalid syntax"
            };
            LokiError::bad(format!("strconv.Atoi: parsing {s:?}: {why}"))
        }),
    }
}

/// The matchers of a stream selector parameter (`query` or `match[]`); none when absent. A
/// pipeline after the selector is ignored, as Loki's metadata endpoints do.
pub fn selector(s: Option<&str>) -> Result<Vec<Matcher>, LokiError> {
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

/// A log query (a selector and its pipeline), as Loki's `syntax.ParseLogSelector`.
pub fn log_query(s: &str) -> Result<LogExpr, LokiError> {
    match bongsu_logql::parse(s).map_err(|e| LokiError::bad(e.to_string()))? {
        Expr::Log(l) => Ok(l),
        Expr::Metric(_) => Err(LokiError::bad("only log selector is supported")),
    }
}

/// The matchers of a bare stream selector, as Loki's `syntax.ParseMatchers`: a pipeline or a
/// metric query is refused.
pub fn matchers_only(s: &str) -> Result<Vec<Matcher>, LokiError> {
    match bongsu_logql::parse(s).map_err(|e| LokiError::bad(e.to_string()))? {
        Expr::Log(l) if l.stages.is_empty() => Ok(l.matchers),
        _ => Err(LokiError::bad("only label matchers are supported")),
    }
}

/// A time as Loki reads one (`loghttp.parseTimestamp`): a number with a `.` is float
/// seconds (millisecond precision), an integer of at most ten digits is seconds, a longer one
/// nanoseconds; otherwise RFC 3339.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let err = || format!("cannot parse \"{s}\" to a valid timestamp");
    if s.contains('.') {
        if let Ok(f) = s.parse::<f64>() {
            if !f.is_finite() || f.abs() > (i64::MAX / NS) as f64 {
                return Err(err());
            }
            let secs = f.trunc();
            let ms = ((f - secs) * 1000.0).round();
            return Ok(secs as i64 * NS + ms as i64 * 1_000_000);
        }
    }
    match s.parse::<i64>() {
        Ok(n) if s.trim_start_matches('-').len() <= 10 => n.checked_mul(NS).ok_or_else(err),
        Ok(n) => Ok(n),
        Err(_) => jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S%.f%:z", s)
            .or_else(|_| s.parse::<jiff::Timestamp>())
            .map(|t| i64::try_from(t.as_nanosecond()).unwrap_or(i64::MAX))
            .map_err(|_| err()),
    }
}

/// `step`/`interval`/`since`: a Prometheus duration (`5m`, `1h30m`) or float seconds; ns.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if f.is_finite() && f >= 0.0 && f < (i64::MAX / NS) as f64 {
            return Ok((f * NS as f64).round() as i64);
        }
    }
    bongsu_model::parse_prometheus_duration(s)
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
        .ok_or_else(|| format!("cannot parse \"{s}\" to a valid duration"))
}

pub fn parse_direction(s: Option<&str>) -> Result<Direction, String> {
    match s.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("backward") => Ok(Direction::Backward),
        Some("forward") => Ok(Direction::Forward),
        Some(other) => Err(format!("invalid direction '{other}'")),
    }
}

pub fn parse_limit(s: Option<&str>) -> Result<usize, String> {
    let Some(s) = s.filter(|s| !s.is_empty()) else {
        return Ok(DEFAULT_LIMIT);
    };
    let n: i64 = s
        .parse()
        .map_err(|_| format!("cannot parse \"{s}\" to a valid limit"))?;
    if n <= 0 {
        return Err("limit must be a positive value".into());
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if n > MAX_LIMIT {
        return Err(format!(
            "max entries limit per query exceeded, limit > max_entries_limit_per_query ({n} > {MAX_LIMIT})"
        ));
    }
    Ok(n)
}

/// Loki's default step: the range over 250 points, at least a second.
pub fn default_step(start: i64, end: i64) -> i64 {
    (((end - start) / NS) / 250).max(1) * NS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_loki_reads_them() {
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000 * NS);
        assert_eq!(
            parse_time("1700000000123456789").unwrap(),
            1_700_000_000_123_456_789
        );
        assert_eq!(
            parse_time("1700000000.5").unwrap(),
            1_700_000_000_500_000_000
        );
        assert_eq!(
            parse_time("2023-11-14T22:13:20Z").unwrap(),
            1_700_000_000 * NS
        );
        assert_eq!(
            parse_time("2023-11-14T22:13:20.000000001Z").unwrap(),
            1_700_000_000 * NS + 1
        );
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_duration("5m").unwrap(), 300 * NS);
        assert_eq!(parse_duration("300").unwrap(), 300 * NS);
        assert_eq!(parse_duration("0.5").unwrap(), NS / 2);
        assert_eq!(default_step(0, 86_400 * NS), 345 * NS);
        assert_eq!(parse_limit(None).unwrap(), 100);
        assert!(parse_limit(Some("0")).is_err());
    }
}
