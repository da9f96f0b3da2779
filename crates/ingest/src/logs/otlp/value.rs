//! OTLP `AnyValue`s as text, as `pcommon.Value.AsString` prints them: strings as they are,
//! numbers and booleans as Go formats them, bytes in base64, maps and arrays as JSON (keys
//! sorted, no HTML escaping).

use std::fmt::Write as _;

use base64::Engine as _;

use super::proto::{KeyValue, Value};
use crate::logs::gofmt::otlp_double;

/// `AsString` of a value (`None` is the empty value).
pub fn as_string(v: Option<&Value>) -> String {
    match v {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Int(i)) => i.to_string(),
        Some(Value::Double(f)) => otlp_double(*f),
        Some(Value::Bytes(b)) => base64::engine::general_purpose::STANDARD.encode(b),
        Some(v @ (Value::Array(_) | Value::Kvlist(_))) => {
            let mut out = String::new();
            write_json(Some(v), &mut out);
            out
        }
    }
}

/// Lower-case hex, as Go's `hex.EncodeToString`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Go's `encoding/json` of `Value.AsRaw()`: a map's keys sorted (the last of repeated keys
/// wins), empty values `null`, bytes as base64 strings.
fn write_json(v: Option<&Value>, out: &mut String) {
    match v {
        None => out.push_str("null"),
        Some(Value::String(s)) => json_string(s, out),
        Some(Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::Int(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::Double(f)) => out.push_str(&otlp_double(*f)),
        Some(Value::Bytes(b)) => {
            json_string(&base64::engine::general_purpose::STANDARD.encode(b), out)
        }
        Some(Value::Array(a)) => {
            out.push('[');
            for (i, item) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item.value.as_ref(), out);
            }
            out.push(']');
        }
        Some(Value::Kvlist(list)) => {
            let mut entries: Vec<&KeyValue> = Vec::with_capacity(list.values.len());
            for kv in &list.values {
                match entries.iter_mut().find(|e| e.key == kv.key) {
                    Some(e) => *e = kv,
                    None => entries.push(kv),
                }
            }
            entries.sort_by(|a, b| a.key.cmp(&b.key));
            out.push('{');
            for (i, kv) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(&kv.key, out);
                out.push(':');
                write_json(kv.value.as_ref().and_then(|v| v.value.as_ref()), out);
            }
            out.push('}');
        }
    }
}

/// A JSON string as Go's encoder with HTML escaping off writes it.
fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::super::proto::{AnyValue, ArrayValue, KeyValueList};
    use super::*;

    fn kv(k: &str, v: Value) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
        }
    }

    #[test]
    fn values_as_pdata() {
        assert_eq!(as_string(None), "");
        assert_eq!(as_string(Some(&Value::Int(-3))), "-3");
        assert_eq!(as_string(Some(&Value::Double(2.5))), "2.5");
        assert_eq!(as_string(Some(&Value::Bool(true))), "true");
        assert_eq!(as_string(Some(&Value::Bytes(b"hi".to_vec()))), "aGk=");
        let map = Value::Kvlist(KeyValueList {
            values: vec![
                kv("z", Value::String("<a&b>\n".into())),
                kv(
                    "a",
                    Value::Array(ArrayValue {
                        values: vec![
                            AnyValue {
                                value: Some(Value::Int(1)),
                            },
                            AnyValue { value: None },
                            AnyValue {
                                value: Some(Value::Double(1e21)),
                            },
                        ],
                    }),
                ),
            ],
        });
        assert_eq!(
            as_string(Some(&map)),
            r#"{"a":[1,null,1e+21],"z":"<a&b>\n"}"#
        );
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
    }
}
