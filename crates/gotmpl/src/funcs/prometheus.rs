//! Prometheus' template functions (upstream `template/template.go` and the `humanize*`
//! helpers of `prometheus/common`).

use std::sync::Arc;

use bongsu_model::DURATION_UNITS;

use super::{arity, check_len, check_nesting, str_arg, to_float, FuncError, FuncMap};
use crate::fmt::{format_float, sprintf};
use crate::prometheus::{ExpandContext, QueryFn};
use crate::time::{Duration, Time};
use crate::value::{ListKind, MapKind, Struct, Value};

/// Go's type name for a query result element.
const SAMPLE_TYPE: &str = "*template.sample";

/// The function map of Prometheus' expander for one evaluation.
pub fn funcs(ctx: &ExpandContext) -> FuncMap {
    let mut m = FuncMap::new();
    let query: Option<Arc<dyn QueryFn>> = ctx.query.clone();
    let ts = ctx.timestamp_ms;
    m.insert("query", move |a| {
        arity("query", a, 1)?;
        let expr = str_arg(&a[0])?;
        let Some(q) = &query else {
            return Err(FuncError::Call(
                "query is not available in this context".into(),
            ));
        };
        let samples = q.query(expr, ts).map_err(FuncError::Call)?;
        let items = samples
            .into_iter()
            .map(|s| {
                let labels = Value::string_map(
                    MapKind::Strings,
                    s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                );
                Value::Struct(Struct::new(
                    SAMPLE_TYPE,
                    vec![("Labels", labels), ("Value", Value::Float(s.value))],
                ))
            })
            .collect();
        Ok(Value::list(ListKind::QueryResult, items))
    });
    m.insert("first", |a| {
        arity("first", a, 1)?;
        let items = query_result(&a[0])?;
        items
            .first()
            .cloned()
            .ok_or_else(|| FuncError::Call("first() called on vector with no elements".into()))
    });
    m.insert("label", |a| {
        arity("label", a, 2)?;
        let name = str_arg(&a[0])?;
        sample_label(&a[1], name)
    });
    m.insert("value", |a| {
        arity("value", a, 1)?;
        Ok(sample(&a[0])?.field("Value").cloned().unwrap_or(Value::Nil))
    });
    m.insert("strvalue", |a| {
        arity("strvalue", a, 1)?;
        sample_label(&a[0], "__value__")
    });
    m.insert("args", |a| {
        check_nesting("args", a)?;
        let entries = a
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("arg{i}"), v.clone()))
            .collect();
        Ok(Value::map(MapKind::Any, entries))
    });
    m.insert("reReplaceAll", re_replace_all);
    m.insert("safeHtml", |a| {
        arity("safeHtml", a, 1)?;
        Ok(Value::Html(Arc::from(str_arg(&a[0])?)))
    });
    m.insert("match", regex_match);
    m.insert("title", |a| {
        arity("title", a, 1)?;
        Ok(Value::str(title(str_arg(&a[0])?, false)))
    });
    m.insert("toUpper", to_upper);
    m.insert("toLower", to_lower);
    m.insert("graphLink", |a| {
        arity("graphLink", a, 1)?;
        Ok(Value::str(format!(
            "/graph?g0.expr={}&g0.tab=0",
            super::builtins::query_escape(str_arg(&a[0])?)
        )))
    });
    m.insert("tableLink", |a| {
        arity("tableLink", a, 1)?;
        Ok(Value::str(format!(
            "/graph?g0.expr={}&g0.tab=1",
            super::builtins::query_escape(str_arg(&a[0])?)
        )))
    });
    m.insert("sortByLabel", |a| {
        arity("sortByLabel", a, 2)?;
        let name = str_arg(&a[0])?.to_string();
        let mut items = query_result(&a[1])?.to_vec();
        let key = |v: &Value| {
            sample_label(v, &name)
                .ok()
                .and_then(|l| l.as_str().map(str::to_string))
        };
        items.sort_by_key(key);
        Ok(Value::list(ListKind::QueryResult, items))
    });
    m.insert("stripPort", |a| {
        arity("stripPort", a, 1)?;
        let hp = str_arg(&a[0])?;
        Ok(Value::str(split_host_port(hp).map_or(hp, |(h, _)| h)))
    });
    m.insert("stripDomain", |a| {
        arity("stripDomain", a, 1)?;
        Ok(Value::str(strip_domain(str_arg(&a[0])?)))
    });
    m.insert("humanize", |a| {
        arity("humanize", a, 1)?;
        Ok(Value::str(humanize(to_float(&a[0])?)))
    });
    m.insert("humanize1024", |a| {
        arity("humanize1024", a, 1)?;
        Ok(Value::str(humanize1024(to_float(&a[0])?)))
    });
    m.insert("humanizeDuration", humanize_duration_fn);
    m.insert("humanizePercentage", |a| {
        arity("humanizePercentage", a, 1)?;
        Ok(Value::str(format!(
            "{}%",
            format_float(to_float(&a[0])? * 100.0, 'g', Some(4))
        )))
    });
    m.insert("humanizeTimestamp", |a| {
        arity("humanizeTimestamp", a, 1)?;
        let v = to_float(&a[0])?;
        if v.is_nan() || v.is_infinite() {
            return Ok(Value::str(format_float(v, 'g', Some(4))));
        }
        Ok(Value::str(float_to_time(v)?.to_string()))
    });
    m.insert("toTime", |a| {
        arity("toTime", a, 1)?;
        let v = to_float(&a[0])?;
        if v.is_nan() || v.is_infinite() {
            return Err(FuncError::Call("value is NaN or Inf".into()));
        }
        Ok(Value::Time(float_to_time(v)?))
    });
    m.insert("toDuration", |a| {
        arity("toDuration", a, 1)?;
        let v = to_float(&a[0])?;
        Ok(Value::Duration(Duration((v * 1e9) as i64)))
    });
    m.insert("now", move |a| {
        arity("now", a, 0)?;
        Ok(Value::Float(ts as f64 / 1000.0))
    });
    let url = ctx.external_url.clone();
    m.insert("externalURL", move |a| {
        arity("externalURL", a, 0)?;
        Ok(Value::str(&url))
    });
    let prefix = url_path(&ctx.external_url).to_string();
    m.insert("pathPrefix", move |a| {
        arity("pathPrefix", a, 0)?;
        Ok(Value::str(&prefix))
    });
    m.insert("parseDuration", |a| {
        arity("parseDuration", a, 1)?;
        parse_duration(str_arg(&a[0])?)
            .map(Value::Float)
            .map_err(FuncError::Call)
    });
    m.insert("urlQueryEscape", |a| {
        arity("urlQueryEscape", a, 1)?;
        Ok(Value::str(super::builtins::query_escape(str_arg(&a[0])?)))
    });
    m
}

fn query_result(v: &Value) -> Result<&[Value], FuncError> {
    match v {
        Value::List(l) if l.kind == ListKind::QueryResult => Ok(&l.items),
        other => Err(FuncError::Args(format!(
            "wrong type for value; expected template.queryResult; got {}",
            other.type_name()
        ))),
    }
}

fn sample(v: &Value) -> Result<&Struct, FuncError> {
    match v {
        Value::Struct(s) if s.type_name == SAMPLE_TYPE => Ok(s),
        other => Err(FuncError::Args(format!(
            "wrong type for value; expected *template.sample; got {}",
            other.type_name()
        ))),
    }
}

fn sample_label(v: &Value, name: &str) -> Result<Value, FuncError> {
    let labels = sample(v)?.field("Labels");
    Ok(match labels {
        Some(Value::Map(m)) => m
            .entries
            .get(name)
            .cloned()
            .unwrap_or_else(|| Value::str("")),
        _ => Value::str(""),
    })
}

/// `reReplaceAll pattern replacement text`, with Go's `$1`/`${name}` expansion.
pub fn re_replace_all(a: &[Value]) -> Result<Value, FuncError> {
    arity("reReplaceAll", a, 3)?;
    let re = compile(str_arg(&a[0])?)?;
    let repl = str_arg(&a[1])?;
    let text = str_arg(&a[2])?;
    // Every match may expand to the whole replacement: bound the worst case before building.
    check_len(
        "reReplaceAll",
        text.len().saturating_mul(repl.len().max(1)) / 64,
    )?;
    let out = re.replace_all(text, repl);
    check_len("reReplaceAll", out.len())?;
    Ok(Value::str(out))
}

/// `match pattern text`: an unanchored regular-expression match.
/// `toUpper`, in Prometheus' and Alertmanager's templates alike.
pub fn to_upper(a: &[Value]) -> Result<Value, FuncError> {
    arity("toUpper", a, 1)?;
    Ok(Value::str(str_arg(&a[0])?.to_uppercase()))
}

/// `toLower`, in Prometheus' and Alertmanager's templates alike.
pub fn to_lower(a: &[Value]) -> Result<Value, FuncError> {
    arity("toLower", a, 1)?;
    Ok(Value::str(str_arg(&a[0])?.to_lowercase()))
}

pub fn regex_match(a: &[Value]) -> Result<Value, FuncError> {
    arity("match", a, 2)?;
    let re = compile(str_arg(&a[0])?)?;
    Ok(Value::Bool(re.is_match(str_arg(&a[1])?)))
}

fn compile(pattern: &str) -> Result<regex::Regex, FuncError> {
    regex::Regex::new(pattern).map_err(|e| FuncError::Call(format!("error parsing regexp: {e}")))
}

/// Title case: each word's first letter upper-cased; `lower_rest` lower-cases the rest of
/// the word (Alertmanager's `title`) where Prometheus' keeps it.
pub fn title(s: &str, lower_rest: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for c in s.chars() {
        let word_char = c.is_alphanumeric() || c == '\'' || c == '_';
        if word_char && !in_word {
            out.extend(c.to_uppercase());
        } else if word_char && lower_rest {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        in_word = word_char;
    }
    out
}

fn with_prefix(v: f64, prefix: &str) -> String {
    format!("{}{prefix}", format_float(v, 'g', Some(4)))
}

/// `humanize`: SI prefixes, four significant digits.
pub fn humanize(mut v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return format_float(v, 'g', Some(4));
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
        return with_prefix(v, prefix);
    }
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    with_prefix(v, prefix)
}

/// `humanize1024`: binary prefixes.
pub fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return format_float(v, 'g', Some(4));
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    with_prefix(v, prefix)
}

/// The `humanizeDuration` function (shared with Alertmanager).
pub fn humanize_duration_fn(a: &[Value]) -> Result<Value, FuncError> {
    arity("humanizeDuration", a, 1)?;
    Ok(Value::str(humanize_duration(to_float(&a[0])?)))
}

/// `humanizeDuration`: seconds as `1d 2h 3m 4s`, or with sub-second prefixes.
pub fn humanize_duration(mut v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return format_float(v, 'g', Some(4));
    }
    if v == 0.0 {
        return format!("{}s", format_float(v, 'g', Some(4)));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        let d = v as i64;
        let (s, m, h, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86_400);
        if days != 0 {
            return format!("{sign}{days}d {h}h {m}m {s}s");
        }
        if h != 0 {
            return format!("{sign}{h}h {m}m {s}s");
        }
        if m != 0 {
            return format!("{sign}{m}m {s}s");
        }
        return format!("{sign}{}s", format_float(v, 'g', Some(4)));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", format_float(v, 'g', Some(4)))
}

/// Seconds → UTC time with millisecond precision, as Prometheus' `FloatToTime`.
fn float_to_time(v: f64) -> Result<Time, FuncError> {
    let ns = v * 1e9;
    if ns > i64::MAX as f64 || ns < i64::MIN as f64 {
        return Err(FuncError::Call(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            sprintf("%v", &[Value::Float(v)])
        )));
    }
    Ok(Time::from_millis(ns as i64 / 1_000_000))
}

/// Go's `net.SplitHostPort`, or `None` where it errors.
fn split_host_port(hp: &str) -> Option<(&str, &str)> {
    if let Some(rest) = hp.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        if port.contains(':') {
            return None;
        }
        return Some((host, port));
    }
    let (host, port) = hp.rsplit_once(':')?;
    if host.contains(':') || host.contains('[') || host.contains(']') || port.contains(']') {
        return None;
    }
    Some((host, port))
}

fn strip_domain(hp: &str) -> String {
    let (host, port) = split_host_port(hp).unwrap_or((hp, ""));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return hp.to_string();
    }
    let host = host.split('.').next().unwrap_or_default();
    if port.is_empty() {
        return host.to_string();
    }
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The path of a URL (`http://host/prefix?x` → `/prefix`).
fn url_path(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    path.split(['?', '#']).next().unwrap_or_default()
}

/// Prometheus' duration syntax (`1h30m`, `-5m`, `500ms`) in seconds, as `parseDuration`.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let invalid = || format!("not a valid duration string: {}", crate::fmt::quote(s));
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    if body.is_empty() {
        return Err("empty duration string".into());
    }
    if body == "0" {
        return Ok(0.0);
    }
    let mut total_ms: i128 = 0;
    let mut rest = body;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let n: i128 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = if rest.starts_with("ms") {
            2
        } else {
            rest.chars().next().map_or(0, char::len_utf8)
        };
        let unit = &rest[..unit_len];
        let Some(pos) = DURATION_UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(invalid());
        };
        if pos < next_unit {
            return Err(invalid());
        }
        next_unit = pos + 1;
        total_ms += n * i128::from(DURATION_UNITS[pos].1);
        if total_ms > i128::from(i64::MAX) / 1_000_000 {
            return Err("duration out of range".into());
        }
        rest = &rest[unit_len..];
    }
    let secs = total_ms as f64 / 1000.0;
    Ok(if neg { -secs } else { secs })
}
