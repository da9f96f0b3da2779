//! Alertmanager's template functions (upstream `template.DefaultFuncs`).

use std::sync::Arc;

use base64::Engine;

use super::prometheus::{
    humanize_duration_fn, re_replace_all, regex_match, title, to_lower, to_upper,
};
use super::{
    arity, arity_min, check_len, check_nesting, str_arg, strings_arg, time_arg, FuncError, FuncMap,
    MAX_BUILT_ITEMS,
};
use crate::fmt::format_float;
use crate::time::{Duration, Time};
use crate::value::{ListKind, MapKind, Value};

/// The functions every notification template has.
pub fn funcs() -> FuncMap {
    let mut m = FuncMap::new();
    m.insert("toUpper", to_upper);
    m.insert("toLower", to_lower);
    m.insert("title", |a| {
        arity("title", a, 1)?;
        Ok(Value::str(title(str_arg(&a[0])?, true)))
    });
    m.insert("trimSpace", |a| {
        arity("trimSpace", a, 1)?;
        Ok(Value::str(str_arg(&a[0])?.trim()))
    });
    m.insert("join", |a| {
        arity("join", a, 2)?;
        let sep = str_arg(&a[0])?;
        let parts = strings_arg(&a[1])?;
        let len = parts.iter().map(|p| p.len() + sep.len()).sum();
        check_len("join", len)?;
        Ok(Value::str(parts.join(sep)))
    });
    m.insert("match", regex_match);
    m.insert("reReplaceAll", re_replace_all);
    m.insert("safeHtml", |a| {
        arity("safeHtml", a, 1)?;
        Ok(Value::Html(Arc::from(str_arg(&a[0])?)))
    });
    m.insert("safeUrl", |a| {
        arity("safeUrl", a, 1)?;
        Ok(Value::Url(Arc::from(str_arg(&a[0])?)))
    });
    m.insert("urlUnescape", |a| {
        arity("urlUnescape", a, 1)?;
        query_unescape(str_arg(&a[0])?)
            .map(Value::str)
            .map_err(FuncError::Call)
    });
    m.insert("stringSlice", |a| {
        check_nesting("stringSlice", a)?;
        let items = a
            .iter()
            .map(|v| str_arg(v).map(Value::str))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Value::list(ListKind::Strings, items))
    });
    m.insert("date", |a| {
        arity("date", a, 2)?;
        let layout = str_arg(&a[0])?;
        Ok(Value::str(time_arg(&a[1])?.format(layout)))
    });
    m.insert("tz", |a| {
        arity("tz", a, 2)?;
        let name = str_arg(&a[0])?;
        let t = time_arg(&a[1])?;
        if name.is_empty() || name == "UTC" {
            return Ok(Value::Time(Time::utc(t.secs, t.nanos)));
        }
        // Go's time.LoadLocation reads the same zoneinfo database (tzdata) jiff does.
        let zone = jiff::tz::TimeZone::get(name)
            .map_err(|_| FuncError::Call(format!("unknown time zone {name}")))?;
        let at = jiff::Timestamp::new(t.secs, t.nanos as i32)
            .map_err(|e| FuncError::Call(format!("time out of range: {e}")))?;
        let info = zone.to_offset_info(at);
        Ok(Value::Time(Time {
            secs: t.secs,
            nanos: t.nanos,
            offset: info.offset().seconds(),
            zone: info.abbreviation().to_string(),
        }))
    });
    m.insert("now", |a| {
        arity("now", a, 0)?;
        Ok(Value::Time(now()))
    });
    m.insert("since", |a| {
        arity("since", a, 1)?;
        let t = time_arg(&a[0])?;
        let n = now();
        let ns = (i128::from(n.secs) - i128::from(t.secs)) * 1_000_000_000 + i128::from(n.nanos)
            - i128::from(t.nanos);
        Ok(Value::Duration(Duration(
            ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
        )))
    });
    m.insert("humanizeDuration", humanize_duration_fn);
    m.insert("toJson", |a| {
        arity("toJson", a, 1)?;
        let mut out = String::new();
        to_json(&a[0], &mut out, 0).map_err(FuncError::Call)?;
        Ok(Value::str(out))
    });
    m.insert("base64encode", |a| {
        arity("base64encode", a, 1)?;
        Ok(Value::str(
            base64::engine::general_purpose::URL_SAFE.encode(str_arg(&a[0])?),
        ))
    });
    m.insert("base64decode", |a| {
        arity("base64decode", a, 1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE
            .decode(str_arg(&a[0])?)
            .map_err(|e| FuncError::Call(e.to_string()))?;
        Ok(Value::str(String::from_utf8_lossy(&bytes)))
    });
    m.insert("list", |a| {
        check_nesting("list", a)?;
        Ok(Value::list(ListKind::Any, a.to_vec()))
    });
    m.insert("append", |a| {
        arity_min("append", a, 1)?;
        check_nesting("append", a)?;
        let mut items = match &a[0] {
            Value::List(l) if l.kind == ListKind::Any => l.items.to_vec(),
            other => {
                return Err(FuncError::Args(format!(
                    "wrong type for value; expected []interface {{}}; got {}",
                    other.type_name()
                )))
            }
        };
        items.extend(a[1..].iter().cloned());
        if items.len() > MAX_BUILT_ITEMS {
            return Err(FuncError::Call(format!(
                "append: more than {MAX_BUILT_ITEMS} items"
            )));
        }
        Ok(Value::list(ListKind::Any, items))
    });
    m.insert("dict", |a| {
        check_nesting("dict", a)?;
        if a.len() % 2 != 0 {
            return Err(FuncError::Call(
                "dict requires an even number of arguments".into(),
            ));
        }
        let mut entries = std::collections::BTreeMap::new();
        for kv in a.chunks(2) {
            let Value::Str(k) = &kv[0] else {
                return Err(FuncError::Call("dict keys must be strings".into()));
            };
            entries.insert(k.to_string(), kv[1].clone());
        }
        Ok(Value::map(MapKind::Any, entries))
    });
    m
}

/// How deep `toJson` follows nested values.
const MAX_JSON_DEPTH: usize = 64;

/// Go's `json.Marshal` of a template value (HTML-safe string escaping, Go's float layout,
/// RFC 3339 times, struct fields by their `json` tags).
fn to_json(v: &Value, out: &mut String, depth: usize) -> Result<(), String> {
    use std::fmt::Write;
    if depth > MAX_JSON_DEPTH {
        return Err(format!(
            "json: value nested deeper than {MAX_JSON_DEPTH} levels"
        ));
    }
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Duration(d) => {
            let _ = write!(out, "{}", d.0);
        }
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(format!(
                    "json: unsupported value: {}",
                    format_float(*f, 'g', None)
                ));
            }
            let a = f.abs();
            if a != 0.0 && !(1e-6..1e21).contains(&a) {
                let s = format_float(*f, 'e', None);
                // Go writes e-7 where strconv gives e-07.
                out.push_str(&s.replace("e-0", "e-"));
            } else {
                out.push_str(&format_float(*f, 'f', None));
            }
        }
        Value::Str(s) | Value::Html(s) | Value::Url(s) => json_string(s, out),
        Value::Time(t) => {
            let s = t.format("2006-01-02T15:04:05.999999999Z07:00");
            json_string(&s, out);
        }
        Value::List(l) => {
            out.push('[');
            for (i, e) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                to_json(e, out, depth + 1)?;
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, e)) in m.entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(k, out);
                out.push(':');
                to_json(e, out, depth + 1)?;
            }
            out.push('}');
        }
        Value::Struct(s) => {
            out.push('{');
            let mut first = true;
            for (i, (name, e)) in s.fields.iter().enumerate() {
                let key = s.json_names.and_then(|n| n.get(i).copied()).unwrap_or(name);
                // Go's `json:"-"`: the field is left out.
                if key == "-" {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                json_string(key, out);
                out.push(':');
                to_json(e, out, depth + 1)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn json_string(s: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
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

fn now() -> Time {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Time::utc(d.as_secs() as i64, d.subsec_nanos())
}

/// Go's `url.QueryUnescape`.
fn query_unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else {
                    let end = (i + 3).min(b.len());
                    return Err(format!(
                        "invalid URL escape {:?}",
                        String::from_utf8_lossy(&b[i..end])
                    ));
                };
                out.push(v);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}
