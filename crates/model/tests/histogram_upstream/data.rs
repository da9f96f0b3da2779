//! Loading the converted cases and building histograms from them.

use bongsu_model::histogram::{Bucket, CounterResetHint, FloatHistogram, Histogram, Span};
use serde_json::Value;

pub fn load(file: &str) -> Value {
    let path = format!("{}/tests/data/histogram/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|e| panic!("{s}: {e}")),
        other => panic!("not a number: {other}"),
    }
}

pub fn int(v: &Value) -> i64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|e| panic!("{s}: {e}")),
        other => panic!("not an integer: {other}"),
    }
}

pub fn floats(v: Option<&Value>) -> Vec<f64> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(num).collect())
        .unwrap_or_default()
}

pub fn ints(v: Option<&Value>) -> Vec<i64> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(int).collect())
        .unwrap_or_default()
}

pub fn spans(v: Option<&Value>) -> Vec<Span> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| Span {
                    offset: int(&s[0]) as i32,
                    length: int(&s[1]) as u32,
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn hint(v: Option<&Value>) -> CounterResetHint {
    match v.and_then(Value::as_str) {
        None | Some("Unknown") => CounterResetHint::Unknown,
        Some("CounterReset") => CounterResetHint::CounterReset,
        Some("NotCounterReset") => CounterResetHint::NotCounterReset,
        Some("Gauge") => CounterResetHint::Gauge,
        Some(o) => panic!("hint {o}"),
    }
}

pub fn fh(v: &Value) -> Option<FloatHistogram> {
    if v.is_null() {
        return None;
    }
    let g = |k: &str| v.get(k);
    Some(FloatHistogram {
        counter_reset_hint: hint(g("CounterResetHint")),
        schema: g("Schema").map_or(0, int) as i32,
        zero_threshold: g("ZeroThreshold").map_or(0.0, num),
        zero_count: g("ZeroCount").map_or(0.0, num),
        count: g("Count").map_or(0.0, num),
        sum: g("Sum").map_or(0.0, num),
        positive_spans: spans(g("PositiveSpans")),
        negative_spans: spans(g("NegativeSpans")),
        positive_buckets: floats(g("PositiveBuckets")),
        negative_buckets: floats(g("NegativeBuckets")),
        custom_values: floats(g("CustomValues")),
    })
}

pub fn ih(v: &Value) -> Option<Histogram> {
    if v.is_null() {
        return None;
    }
    let g = |k: &str| v.get(k);
    Some(Histogram {
        counter_reset_hint: hint(g("CounterResetHint")),
        schema: g("Schema").map_or(0, int) as i32,
        zero_threshold: g("ZeroThreshold").map_or(0.0, num),
        zero_count: g("ZeroCount").map_or(0, int) as u64,
        count: g("Count").map_or(0, |c| match c {
            Value::String(s) => s.parse::<u64>().unwrap_or_else(|e| panic!("{s}: {e}")),
            _ => panic!("count"),
        }),
        sum: g("Sum").map_or(0.0, num),
        positive_spans: spans(g("PositiveSpans")),
        negative_spans: spans(g("NegativeSpans")),
        positive_buckets: ints(g("PositiveBuckets")),
        negative_buckets: ints(g("NegativeBuckets")),
        custom_values: floats(g("CustomValues")),
    })
}

pub fn bucket_f(v: &Value) -> Bucket<f64> {
    Bucket {
        lower: v.get("Lower").map_or(0.0, num),
        upper: v.get("Upper").map_or(0.0, num),
        lower_inclusive: v
            .get("LowerInclusive")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        upper_inclusive: v
            .get("UpperInclusive")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        count: v.get("Count").map_or(0.0, num),
        index: v.get("Index").map_or(0, int) as i32,
    }
}

pub fn bucket_u(v: &Value) -> Bucket<u64> {
    let b = bucket_f(v);
    Bucket {
        lower: b.lower,
        upper: b.upper,
        lower_inclusive: b.lower_inclusive,
        upper_inclusive: b.upper_inclusive,
        count: v.get("Count").map_or(0, int) as u64,
        index: b.index,
    }
}

/// Go's `Copy()`: custom-bucket histograms lose the fields their schema does not use.
pub fn go_copy(h: &FloatHistogram) -> FloatHistogram {
    let mut c = h.clone();
    if c.uses_custom_buckets() {
        c.zero_threshold = 0.0;
        c.zero_count = 0.0;
        c.negative_spans.clear();
        c.negative_buckets.clear();
    } else {
        c.custom_values.clear();
    }
    c
}

/// Debug form with NaN spelled out, to compare histograms holding NaN as Go's test does
/// (and -0 equal to 0).
pub fn nan_eq(h: &FloatHistogram) -> String {
    let z = |v: f64| if v == 0.0 { 0.0 } else { v };
    let mut h = h.clone();
    for v in [&mut h.zero_count, &mut h.count, &mut h.sum] {
        *v = z(*v);
    }
    h.positive_buckets
        .iter_mut()
        .chain(h.negative_buckets.iter_mut())
        .for_each(|v| *v = z(*v));
    format!("{h:?}")
}

/// A field of a case; `null` when the Go literal left it out.
pub fn field<'a>(c: &'a serde_json::Map<String, Value>, k: &str) -> &'a Value {
    c.get(k).unwrap_or(&Value::Null)
}

/// The cases of one upstream test, each as a map from field name to value (positional
/// struct literals are named with `fields`).
pub fn cases(data: &Value, test: &str, fields: &[&str]) -> Vec<serde_json::Map<String, Value>> {
    let list = data[test]
        .as_array()
        .unwrap_or_else(|| panic!("no test {test}"));
    assert!(!list.is_empty(), "{test}: no cases");
    list.iter()
        .map(|c| {
            if let Some(pos) = c.get("__pos__").and_then(Value::as_array) {
                fields
                    .iter()
                    .map(|f| f.to_string())
                    .zip(pos.iter().cloned())
                    .collect()
            } else {
                c.as_object().cloned().unwrap_or_default()
            }
        })
        .collect()
}

pub fn name(c: &serde_json::Map<String, Value>) -> String {
    c.get("name")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string()
}

pub fn flag(c: &serde_json::Map<String, Value>, k: &str) -> bool {
    c.get(k).and_then(Value::as_bool).unwrap_or(false)
}

pub fn text<'a>(c: &'a serde_json::Map<String, Value>, k: &str) -> &'a str {
    c.get(k).and_then(Value::as_str).unwrap_or("")
}
