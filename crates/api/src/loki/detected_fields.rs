//! `GET|POST /loki/api/v1/detected_fields` and `detected_field/<name>/values`: the fields of a
//! sample of a log query's lines (found by `logengine::detected_fields`), in Loki's shapes:
//! `{"fields":[{"label","type","cardinality","parsers","jsonPath"}],"limit":N}` and
//! `{"values":[…],"limit":N}`; `{}` when nothing is found (Loki's `omitempty`).
//!
//! Parameters as Loki's `ParseDetectedFieldsQuery`: `query` (a log query; its pipeline runs
//! first), `start`/`end`/`since` (1 h), `line_limit` (lines sampled, 100, at most
//! [`MAX_LIMIT`]), `limit` or `field_limit` (fields or values returned, 1000), `step`
//! (checked, unused: Loki samples lines, not steps).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bongsu_logengine::{detected_field_values, detected_fields, DetectedField};

use super::params::{
    bounds, int_param, log_query, params, step, DEFAULT_LIMIT, DEFAULT_QUERY_SINCE_NS, MAX_LIMIT,
};
use super::query::query_error;
use super::{blocking, LokiError};
use crate::json::write_str;
use crate::params::Params;
use crate::ApiState;

/// Fields or values returned unless `limit` says otherwise (Loki's `defaultLimit`).
const DEFAULT_FIELD_LIMIT: i64 = 1000;

/// A detected fields request.
struct FieldsRequest {
    expr: bongsu_logql::ast::LogExpr,
    start: i64,
    end: i64,
    line_limit: usize,
    limit: usize,
}

fn parse(p: &Params) -> Result<FieldsRequest, LokiError> {
    let (start, end) = bounds(p, DEFAULT_QUERY_SINCE_NS)?;
    let line_limit = int_param(p, "line_limit", DEFAULT_LIMIT as i64)?;
    if line_limit <= 0 {
        return Err(LokiError::bad("limit must be a positive value"));
    }
    let limit_param = match p.get("limit").filter(|s| !s.is_empty()) {
        Some(_) => "limit",
        None => "field_limit",
    };
    let limit = int_param(p, limit_param, DEFAULT_FIELD_LIMIT)?;
    if limit <= 0 {
        return Err(LokiError::bad("limit must be a positive value"));
    }
    step(p, start, end)?;
    let expr = log_query(p.get("query").unwrap_or(""))?;
    if line_limit > MAX_LIMIT as i64 {
        return Err(LokiError::bad(format!(
            "max entries limit per query exceeded, limit > max_entries_limit_per_query ({line_limit} > {MAX_LIMIT})"
        )));
    }
    Ok(FieldsRequest {
        expr,
        start,
        end,
        line_limit: usize::try_from(line_limit).unwrap_or(MAX_LIMIT),
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
    })
}

fn json_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub(super) async fn fields(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let r = parse(&params(q, &body)?)?;
    let store = s.logs()?;
    let limit = r.limit;
    let fields = blocking(&s, move || {
        detected_fields(&store, &r.expr, r.start, r.end, r.line_limit, r.limit).map_err(query_error)
    })
    .await?;
    Ok(json_response(write_fields(&fields, limit)))
}

pub(super) async fn field_values(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let r = parse(&params(q, &body)?)?;
    let store = s.logs()?;
    let limit = r.limit;
    let values = blocking(&s, move || {
        detected_field_values(
            &store,
            &r.expr,
            r.start,
            r.end,
            r.line_limit,
            &name,
            r.limit,
        )
        .map_err(query_error)
    })
    .await?;
    Ok(json_response(write_values(&values, limit)))
}

fn write_fields(fields: &[DetectedField], limit: usize) -> String {
    if fields.is_empty() {
        return "{}".into();
    }
    let mut out = String::from("{\"fields\":[");
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"label\":");
        write_str(&mut out, &f.label);
        out.push_str(",\"type\":\"");
        out.push_str(f.field_type.as_str());
        out.push_str("\",\"cardinality\":");
        out.push_str(&f.cardinality.to_string());
        out.push_str(",\"parsers\":");
        write_list(&mut out, &f.parsers, "null");
        if let Some(path) = &f.json_path {
            out.push_str(",\"jsonPath\":");
            write_list(&mut out, path, "[]");
        }
        out.push('}');
    }
    out.push_str("],\"limit\":");
    out.push_str(&limit.to_string());
    out.push('}');
    out
}

fn write_values(values: &[String], limit: usize) -> String {
    if values.is_empty() {
        return "{}".into();
    }
    let mut out = String::from("{\"values\":");
    write_list(&mut out, values, "[]");
    out.push_str(",\"limit\":");
    out.push_str(&limit.to_string());
    out.push('}');
    out
}

/// A list of strings, or `empty` for none.
fn write_list<S: AsRef<str>>(out: &mut String, items: &[S], empty: &str) {
    if items.is_empty() {
        out.push_str(empty);
        return;
    }
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, s.as_ref());
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_logengine::FieldType;

    #[test]
    fn fields_in_lokis_shape() {
        let f =
            |label: &str, parsers: Vec<&'static str>, path: Option<Vec<String>>| DetectedField {
                label: label.into(),
                field_type: FieldType::Int,
                cardinality: 2,
                parsers,
                json_path: path,
            };
        assert_eq!(
            write_fields(
                &[
                    f("a", vec!["json"], Some(vec!["a".into()])),
                    f("b", vec![], None)
                ],
                9
            ),
            r#"{"fields":[{"label":"a","type":"int","cardinality":2,"parsers":["json"],"jsonPath":["a"]},{"label":"b","type":"int","cardinality":2,"parsers":null}],"limit":9}"#
        );
        assert_eq!(write_fields(&[], 9), "{}");
        assert_eq!(
            write_values(&["x".into()], 3),
            r#"{"values":["x"],"limit":3}"#
        );
    }
}
