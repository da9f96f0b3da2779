//! `GET|POST /loki/api/v1/detected_labels`: the stream labels of the selected streams worth
//! breaking logs down by (Grafana Logs Drilldown's label tabs), each with its number of
//! distinct values, in Loki's shape `{"detectedLabels":[{"label":…,"cardinality":…}]}`.
//!
//! Loki's rule (`querier.DetectedLabels`): a label is left out when all its values look like
//! ids — every value a number or a UUID — unless it has at most two values, all `0` or `1`
//! (a flag), or it is one of `cluster`, `namespace`, `instance`, `pod`, which are always
//! kept. Cardinalities are exact here; Loki estimates them with a HyperLogLog sketch (exact
//! for small sets, approximate for large ones). Labels are sorted by name (Loki's order is a
//! Go map's), and an empty answer is `{}` as Loki's `omitempty` writes it.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::meta::store_error;
use super::params::{bounds, matchers_only, params, DEFAULT_QUERY_SINCE_NS};
use super::{blocking, LokiError};
use crate::json::write_str;
use crate::ApiState;

/// Labels kept whatever their values look like (Loki's `staticLabels`).
const STATIC_LABELS: [&str; 4] = ["cluster", "namespace", "instance", "pod"];

pub(super) async fn detected_labels(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let p = params(q, &body)?;
    let (start, end) = bounds(&p, DEFAULT_QUERY_SINCE_NS)?;
    // An empty query selects every stream (Drilldown's service selection sends one).
    let matchers = match p.get("query").filter(|q| !q.is_empty()) {
        Some(q) => matchers_only(q)?,
        None => Vec::new(),
    };
    let store = s.logs()?;
    let values = blocking(&s, move || {
        let sel = store.select(&matchers, start, end).map_err(store_error)?;
        let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for st in sel.streams() {
            for l in st.labels.iter() {
                values
                    .entry(l.name.to_string())
                    .or_default()
                    .insert(l.value.to_string());
            }
        }
        Ok(values)
    })
    .await?;
    let mut out = String::from("{");
    let mut first = true;
    for (name, vals) in &values {
        if !STATIC_LABELS.contains(&name.as_str()) && reject(vals) {
            continue;
        }
        out.push_str(if first { "\"detectedLabels\":[" } else { "," });
        first = false;
        out.push_str("{\"label\":");
        write_str(&mut out, name);
        out.push_str(",\"cardinality\":");
        out.push_str(&vals.len().to_string());
        out.push('}');
    }
    if !first {
        out.push(']');
    }
    out.push('}');
    Ok(([(header::CONTENT_TYPE, "application/json")], out).into_response())
}

/// Loki's `shouldRejectLabel`: no values, or only id-like ones (a pair of `0`/`1` values is a
/// flag, not an id).
fn reject(values: &BTreeSet<String>) -> bool {
    if values.is_empty() {
        return true;
    }
    if values.len() <= 2 && values.iter().all(|v| v == "0" || v == "1") {
        return false;
    }
    values
        .iter()
        .all(|v| v.parse::<f64>().is_ok() || is_uuid(v))
}

/// The forms Go's `uuid.Parse` accepts: 32 hex digits, the dashed 36-character form, that in
/// braces, or with a `urn:uuid:` prefix.
fn is_uuid(s: &str) -> bool {
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    let dashed = |s: &str| {
        s.len() == 36
            && s.bytes().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_hexdigit(),
            })
    };
    match s.len() {
        32 => hex(s),
        36 => dashed(s),
        38 => s.starts_with('{') && s.ends_with('}') && dashed(&s[1..37]),
        45 => {
            s.get(..9)
                .is_some_and(|p| p.eq_ignore_ascii_case("urn:uuid:"))
                && dashed(&s[9..])
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn id_like_labels_are_left_out() {
        assert!(reject(&set(&[])));
        assert!(!reject(&set(&["0", "1"])));
        assert!(reject(&set(&["0", "1", "2"])));
        assert!(reject(&set(&["17", "3.5"])));
        assert!(!reject(&set(&["17", "web"])));
        assert!(reject(&set(&[
            "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
            "{6ba7b811-9dad-11d1-80b4-00c04fd430c8}",
            "urn:uuid:6ba7b812-9dad-11d1-80b4-00c04fd430c8",
            "6ba7b8139dad11d180b400c04fd430c8",
        ])));
        assert!(!is_uuid("6ba7b810-9dad-11d1-80b4-00c04fd430cz"));
    }
}
