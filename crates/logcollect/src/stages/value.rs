//! Promtail's "extracted map": what parsing stages (`json`, `regex`, `logfmt`, …) found in a
//! line, read by the stages after them. Promtail keeps a Go `map[string]interface{}`; the
//! values it can hold there are strings, float64 numbers, booleans and nil (the `json` stage
//! turns nested objects and arrays into their JSON text before storing them), which is this
//! [`Value`]. The conversions are Promtail's `getString` and `getFloat`.

use std::borrow::Cow;
use std::collections::HashMap;

use bongsu_logpipeline::units;

/// One extracted value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// JSON `null` from the `json` stage: present, but not convertible to a string.
    Null,
    Bool(bool),
    /// A JSON number (Go's `float64`).
    Num(f64),
    Str(String),
}

/// The extracted map of one entry.
pub(crate) type Extracted = HashMap<String, Value>;

impl Value {
    /// Promtail's `getString`: numbers as Go's `strconv.FormatFloat(f, 'f', -1, 64)`,
    /// booleans as `true`/`false`; `None` for null (Go: "can't convert <nil> to string").
    pub(crate) fn as_string(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Str(s) => Some(Cow::Borrowed(s)),
            Value::Num(f) => Some(Cow::Owned(format_float(*f))),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Value::Null => None,
        }
    }

    /// Promtail's `getFloat`: numbers as they are, booleans 1/0, strings as a float or else
    /// a Go duration in seconds (`"250ms"` is 0.25).
    pub(crate) fn as_float(&self) -> Option<f64> {
        match self {
            Value::Num(f) => Some(*f),
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Value::Str(s) => units::parse_float(s)
                .or_else(|_| units::parse_duration(s).map(units::duration_seconds))
                .ok(),
            Value::Null => None,
        }
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest digits that read back, never
/// an exponent. Rust's `Display` for `f64` is the same except for infinities and NaN.
pub(crate) fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_as_promtail_get_string() {
        let cases = [
            (Value::Num(1.0), Some("1")),
            (Value::Num(0.25), Some("0.25")),
            (Value::Num(1e21), Some("1000000000000000000000")),
            (Value::Bool(false), Some("false")),
            (Value::Str("x".into()), Some("x")),
            (Value::Null, None),
        ];
        for (v, want) in cases {
            assert_eq!(v.as_string().as_deref(), want, "{v:?}");
        }
    }

    #[test]
    fn floats_as_promtail_get_float() {
        let cases = [
            (Value::Str("12.5".into()), Some(12.5)),
            (Value::Str("250ms".into()), Some(0.25)),
            (Value::Str("1m".into()), Some(60.0)),
            (Value::Str("abc".into()), None),
            (Value::Bool(true), Some(1.0)),
            (Value::Null, None),
        ];
        for (v, want) in cases {
            assert_eq!(v.as_float(), want, "{v:?}");
        }
    }
}
