//! One `_bulk` document made one log line: the time, the line, the stream labels and the
//! structured metadata, as described in the parent module. Nested objects are flattened
//! with dots first, so `{"host":{"name":"a"}}` and `{"host.name":"a"}` are the same field.
//!
//! Not here: the limits on what results (`distributor::check_line`), the action lines.

use serde_json::{Map, Value};

use bongsu_model::log::LogEntry;

use super::super::loki::json::parse_rfc3339;
use super::super::names::{discover_service_name, label_name};
use super::{BulkOptions, ItemError, INDEX_LABEL};

/// Nesting followed when flattening; deeper objects are kept as JSON text. Bounds the work
/// and the field names a hostile document can make.
const MAX_DEPTH: usize = 32;

const PARSING: &str = "document_parsing_exception";

/// Maps `source`, a document of `index`: (sorted labels without empty values, the line).
pub(super) fn map(
    source: &[u8],
    index: &str,
    opts: &BulkOptions,
    discover: &[String],
    now_ns: i64,
) -> Result<(Vec<(String, String)>, LogEntry), ItemError> {
    let value: Value = serde_json::from_slice(source).map_err(|e| {
        ItemError::bad(
            PARSING,
            format!("[{}:{}] failed to parse: {e}", e.line(), e.column()),
        )
    })?;
    let Value::Object(object) = value else {
        return Err(ItemError::bad(
            PARSING,
            "failed to parse: the document is not a JSON object",
        ));
    };
    let mut fields = Vec::new();
    flatten(&object, String::new(), 0, &mut fields);

    let ts = match take(&mut fields, &opts.time_field) {
        None => now_ns,
        Some(v) => parse_time(&v).ok_or_else(|| {
            ItemError::bad(
                PARSING,
                format!(
                    "failed to parse field [{}] of type [date]: failed to parse date field \
                     [{}] with format [strict_date_optional_time||epoch_millis]",
                    opts.time_field,
                    text(&v)
                ),
            )
        })?,
    };

    let mut labels = vec![(INDEX_LABEL.to_string(), index.to_string())];
    for field in &opts.label_fields {
        let name = label_name(field)
            .map_err(|e| ItemError::bad("illegal_argument_exception", e.to_string()))?;
        // The action's index wins; a field of that name stays structured metadata.
        if name == INDEX_LABEL {
            continue;
        }
        if let Some(v) = take(&mut fields, field) {
            let value = text(&v);
            if !value.is_empty() {
                labels.push((name.into_owned(), value));
            }
        }
    }
    labels.sort();
    labels.dedup_by(|a, b| a.0 == b.0);
    discover_service_name(&mut labels, discover);

    let message = opts.msg_fields.iter().find_map(|f| take(&mut fields, f));
    let entry = match message {
        Some(line) => LogEntry {
            ts,
            line: text(&line),
            metadata: fields.into_iter().map(|(n, v)| (n, text(&v))).collect(),
        },
        // The fields are all in the line; repeating them as metadata would store them twice.
        None => LogEntry {
            ts,
            line: String::from_utf8_lossy(source.trim_ascii()).into_owned(),
            metadata: Vec::new(),
        },
    };
    Ok((labels, entry))
}

/// Leaves of `object` by dotted path, in document order; nulls dropped, arrays kept whole.
fn flatten(
    object: &Map<String, Value>,
    prefix: String,
    depth: usize,
    out: &mut Vec<(String, Value)>,
) {
    for (key, value) in object {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Null => {}
            Value::Object(inner) if depth < MAX_DEPTH => flatten(inner, path, depth + 1, out),
            other => out.push((path, other.clone())),
        }
    }
}

/// Removes the field at `path` (the last of that name, as a JSON parser keeps the last).
fn take(fields: &mut Vec<(String, Value)>, path: &str) -> Option<Value> {
    let at = fields.iter().rposition(|(n, _)| n == path)?;
    let value = fields.remove(at).1;
    fields.retain(|(n, _)| n != path);
    Some(value)
}

/// A value as text: strings as they are, anything else as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Elasticsearch's default date format, `strict_date_optional_time||epoch_millis`: RFC 3339
/// (a missing offset is UTC, a missing time is midnight) or milliseconds since the epoch, as a
/// number or a string of digits. Unix nanoseconds.
fn parse_time(v: &Value) -> Option<i64> {
    let millis = |ms: f64| {
        let ns = ms * 1e6;
        (ns.is_finite() && ns.abs() < i64::MAX as f64).then_some(ns as i64)
    };
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(ms) => ms.checked_mul(1_000_000),
            // A fraction of a millisecond, as Elasticsearch takes `1.5` for 1.5 ms.
            None => millis(n.as_f64()?),
        },
        Value::String(s) => {
            let s = s.trim();
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
                if let Ok(ms) = s.parse::<i64>() {
                    return ms.checked_mul(1_000_000);
                }
            }
            if let Ok(ns) = parse_rfc3339(s) {
                return Some(ns);
            }
            let date_only = s.len() == 10;
            let completed = if date_only {
                format!("{s}T00:00:00Z")
            } else {
                format!("{s}Z")
            };
            parse_rfc3339(&completed).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_elasticsearch_reads_them() {
        let t = |s: Value| parse_time(&s);
        let ns = 1_700_000_000_123_000_000;
        assert_eq!(t(Value::from(1_700_000_000_123i64)), Some(ns));
        assert_eq!(t(Value::from("1700000000123")), Some(ns));
        assert_eq!(t(Value::from("2023-11-14T22:13:20.123Z")), Some(ns));
        assert_eq!(t(Value::from("2023-11-14T23:13:20.123+01:00")), Some(ns));
        assert_eq!(t(Value::from("2023-11-14T22:13:20.123")), Some(ns));
        assert_eq!(
            t(Value::from("2023-11-14")),
            Some(1_699_920_000_000_000_000)
        );
        assert_eq!(t(Value::from("yesterday")), None);
        assert_eq!(t(Value::from(true)), None);
        assert_eq!(t(Value::from(1e300)), None);
    }
}
