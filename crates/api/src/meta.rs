//! The series metadata endpoints: `labels`, `label/<name>/values` and `series`, with
//! `match[]`, `start`, `end` and `limit` as Prometheus reads them.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use bongsu_model::Matcher;
use bongsu_storage::{Querier, Queryable, StorageError};

use super::params::{parse_selector, Params};
use super::{
    blocking, invalid_param, json, ok_json_warn, param_limit, param_time, params, ApiError,
    ApiState, TRUNCATED,
};

/// The parsed `match[]` sets. Like Prometheus, a set whose every matcher matches the empty
/// string is refused: it would select every series.
fn matcher_sets(p: &Params) -> Result<Vec<Vec<Matcher>>, String> {
    let sets = p
        .all("match[]")
        .into_iter()
        .map(parse_selector)
        .collect::<Result<Vec<_>, _>>()?;
    if sets.iter().any(|set| set.iter().all(|m| m.matches(""))) {
        return Err("match[] must contain at least one non-empty matcher".into());
    }
    Ok(sets)
}

/// `start` and `end`; the range defaults to everything.
fn range(p: &Params) -> Result<(i64, i64), ApiError> {
    Ok((
        param_time(p, "start", i64::MIN)?,
        param_time(p, "end", i64::MAX)?,
    ))
}

/// Cuts `items` to `limit` (0: no limit), with Prometheus' warning when it did.
fn truncate<T>(items: &mut Vec<T>, limit: usize) -> Vec<String> {
    if limit > 0 && items.len() > limit {
        items.truncate(limit);
        vec![TRUNCATED.to_string()]
    } else {
        Vec::new()
    }
}

/// The union of `f` over every `match[]` set (or `f(&[])` without any), sorted: the answer of
/// the label names and label values endpoints.
async fn union_over_selection(
    s: &ApiState,
    p: &Params,
    f: impl Fn(&dyn Querier, &[Matcher]) -> Result<Vec<String>, StorageError> + Send + 'static,
) -> Result<Response, ApiError> {
    let limit = param_limit(p)?;
    let (start, end) = range(p)?;
    let sets = matcher_sets(p).map_err(ApiError::BadData)?;
    let remote_warnings = bongsu_remoteread::Warnings::collect();
    let db = s.reader(&remote_warnings)?;
    let mut all: Vec<String> = blocking(move || {
        let internal = |e: StorageError| ApiError::Internal(e.to_string());
        let querier = db.querier(start, end).map_err(internal)?;
        if sets.is_empty() {
            return f(&*querier, &[]).map_err(internal);
        }
        let mut all = BTreeSet::new();
        for m in &sets {
            all.extend(f(&*querier, m).map_err(internal)?);
        }
        Ok(all.into_iter().collect())
    })
    .await?;
    let mut warnings = remote_warnings.take();
    warnings.extend(truncate(&mut all, limit));
    Ok(ok_json_warn(json::string_list(all), &warnings))
}

pub(super) async fn labels(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = params(q, &body)?;
    union_over_selection(&s, &p, |q, m| q.label_names(m)).await
}

pub(super) async fn label_values(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let name = match name.strip_prefix("U__") {
        Some(escaped) => unescape_name(escaped).unwrap_or(name),
        None => name,
    };
    if name.is_empty() {
        return Err(ApiError::BadData(format!("invalid label name: {name:?}")));
    }
    let p = params(q, &Bytes::new())?;
    union_over_selection(&s, &p, move |q, m| q.label_values(&name, m)).await
}

/// Undoes Prometheus' value-encoding escape of a label name in a URL path (after `U__`):
/// `__` is `_`, `_<hex>_` is the code point `<hex>`, other characters stand for themselves.
fn unescape_name(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'_') {
            chars.next();
            out.push('_');
            continue;
        }
        let mut hex = String::new();
        loop {
            match chars.next()? {
                '_' => break,
                h if h.is_ascii_hexdigit() => hex.push(h),
                _ => return None,
            }
        }
        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
    }
    Some(out)
}

pub(super) async fn series(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = params(q, &body)?;
    if p.all("match[]").is_empty() {
        return Err(ApiError::BadData("no match[] parameter provided".into()));
    }
    let limit = param_limit(&p)?;
    let (start, end) = range(&p)?;
    let sets = matcher_sets(&p).map_err(|e| invalid_param("match[]", e))?;
    let remote_warnings = bongsu_remoteread::Warnings::collect();
    let db = s.reader(&remote_warnings)?;
    let mut all: Vec<_> = blocking(move || {
        let querier = db
            .querier(start, end)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let mut all = BTreeSet::new();
        for m in &sets {
            all.extend(
                querier
                    .series_labels(m)
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
            );
        }
        Ok(all.into_iter().collect())
    })
    .await?;
    let mut warnings = remote_warnings.take();
    warnings.extend(truncate(&mut all, limit));
    let mut out = String::from("[");
    for (i, ls) in all.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::write_labels(&mut out, ls);
    }
    out.push(']');
    Ok(ok_json_warn(out, &warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_label_names() {
        assert_eq!(unescape_name("foo_2e_bar").as_deref(), Some("foo.bar"));
        assert_eq!(unescape_name("a__b").as_deref(), Some("a_b"));
        assert_eq!(unescape_name("x_zz_"), None);
    }

    #[test]
    fn empty_matching_sets_are_refused() {
        let p = Params::parse(Some("match[]=%7Bjob%3D~%22.*%22%7D"), None).unwrap();
        assert!(matcher_sets(&p).unwrap_err().contains("non-empty matcher"));
        let p = Params::parse(Some("match[]=up"), None).unwrap();
        assert_eq!(matcher_sets(&p).unwrap().len(), 1);
    }
}
