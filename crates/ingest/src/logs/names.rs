//! Names Loki rewrites on the way in: structured metadata and OTLP attribute names made into
//! Prometheus label names (`otlptranslator.LabelNamer`: `http.method` → `http_method`), and
//! the `service_name` stream label Loki discovers from other labels.

use std::borrow::Cow;

/// The stream label Loki adds when a stream has none.
pub const SERVICE_NAME: &str = "service_name";
/// Its value when none of the discovery labels is present.
pub const SERVICE_UNKNOWN: &str = "unknown_service";
/// Labels of Loki's internal streams, which skip discovery and validation.
const INTERNAL_STREAM_LABELS: [&str; 2] = ["__aggregated_metric__", "__pattern__"];

/// Why a name cannot be made a label name; the text is `otlptranslator`'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(String);

/// `LabelNamer{}.Build`: every run of characters other than `[a-zA-Z0-9]` becomes one `_`
/// (so `a__b` becomes `a_b`), `__x__` keeps its double underscores around the sanitized `x`,
/// a leading digit gets `key_` in front; an empty or all-underscore result is an error.
pub fn label_name(name: &str) -> Result<Cow<'_, str>, NameError> {
    if name.is_empty() {
        return Err(NameError("label name is empty".into()));
    }
    if is_already_normal(name) {
        return Ok(Cow::Borrowed(name));
    }
    let (reserved, inner) = match name.strip_prefix("__").and_then(|n| n.strip_suffix("__")) {
        Some(inner) if name.len() >= 4 => (true, inner),
        _ => (false, name),
    };
    let mut out = String::with_capacity(name.len() + 4);
    if reserved {
        out.push_str("__");
    }
    let mut prev_underscore = false;
    for c in inner.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
            prev_underscore = false;
        } else if !prev_underscore {
            out.push('_');
            prev_underscore = true;
        }
    }
    if reserved {
        out.push_str("__");
    }
    if out.as_bytes()[0].is_ascii_digit() {
        out.insert_str(0, "key_");
    }
    if out.bytes().all(|b| b == b'_') {
        let mut msg = String::from("normalization for label name ");
        super::gofmt::quote(name, &mut msg);
        msg.push_str(" resulted in invalid name ");
        super::gofmt::quote(&out, &mut msg);
        return Err(NameError(msg));
    }
    Ok(Cow::Owned(out))
}

/// True when [`label_name`] returns `name` unchanged: the common case, checked without
/// allocating.
fn is_already_normal(name: &str) -> bool {
    let b = name.as_bytes();
    !b[0].is_ascii_digit()
        && !b.iter().all(|&c| c == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
        && !name.contains("__")
}

/// Whether a stream is one of Loki's internal ones (aggregated metrics, patterns).
pub fn is_internal_stream(labels: &[(String, String)]) -> bool {
    labels
        .iter()
        .any(|(n, _)| INTERNAL_STREAM_LABELS.contains(&n.as_str()))
}

/// Loki's `service_name` discovery on sorted, non-empty pairs: when there is no
/// `service_name`, the first label of `discover` present gives its value, else
/// [`SERVICE_UNKNOWN`]. An empty `discover` turns it off.
pub fn discover_service_name(labels: &mut Vec<(String, String)>, discover: &[String]) {
    if discover.is_empty()
        || is_internal_stream(labels)
        || labels.iter().any(|(n, _)| n == SERVICE_NAME)
    {
        return;
    }
    let value = discover
        .iter()
        .find_map(|d| labels.iter().find(|(n, _)| n == d).map(|(_, v)| v.clone()))
        .unwrap_or_else(|| SERVICE_UNKNOWN.to_string());
    let at = labels.partition_point(|(n, _)| n.as_str() < SERVICE_NAME);
    labels.insert(at, (SERVICE_NAME.to_string(), value));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names_as_otlptranslator() {
        let ok = |s: &str| label_name(s).unwrap().into_owned();
        assert_eq!(ok("trace_id"), "trace_id");
        assert_eq!(ok("http.method"), "http_method");
        assert_eq!(ok("a__b"), "a_b");
        assert_eq!(ok("a..b"), "a_b");
        assert_eq!(ok("_a"), "_a");
        assert_eq!(ok("__name__"), "__name__");
        assert_eq!(ok("__a.b__"), "__a_b__");
        assert_eq!(ok("123invalid"), "key_123invalid");
        assert_eq!(
            label_name("日本").unwrap_err().to_string(),
            r#"normalization for label name "日本" resulted in invalid name "_""#
        );
        assert_eq!(ok("k8s.pod.name"), "k8s_pod_name");
        assert_eq!(
            label_name("").unwrap_err().to_string(),
            "label name is empty"
        );
        assert_eq!(
            label_name("...").unwrap_err().to_string(),
            r#"normalization for label name "..." resulted in invalid name "_""#
        );
    }

    #[test]
    fn service_name_discovery() {
        let discover: Vec<String> = ["service", "app", "job"].map(String::from).to_vec();
        let run = |pairs: &[(&str, &str)]| {
            let mut l: Vec<(String, String)> = pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            discover_service_name(&mut l, &discover);
            l
        };
        let s = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            run(&[("app", "cart"), ("job", "app")]),
            s(&[("app", "cart"), ("job", "app"), ("service_name", "cart")])
        );
        assert_eq!(
            run(&[("host", "a")]),
            s(&[("host", "a"), ("service_name", "unknown_service")])
        );
        assert_eq!(run(&[("service_name", "x")]), s(&[("service_name", "x")]));
        assert_eq!(run(&[("__pattern__", "x")]), s(&[("__pattern__", "x")]));
    }
}
