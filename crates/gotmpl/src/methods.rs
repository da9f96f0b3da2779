//! Methods of the Go types templates see: `KV.SortedPairs`, `Alerts.Firing`, `Time.Format`, ….
//!
//! Go looks a method up before a field or map key of the same name, so `exec` asks here first;
//! `None` means "no such method" and the lookup goes on to fields and keys.

use std::collections::BTreeMap;

use super::funcs::{arity, check_len, str_arg, strings_arg, time_arg, FuncError};
use super::time::{Duration, Time};
use super::value::{ListKind, Map, MapKind, Struct, Value};

/// Calls method `name` of `recv` with `args`, or `None` when `recv` has no such method.
pub fn call_method(recv: &Value, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
    match recv {
        Value::Map(m) if m.kind == MapKind::Kv => kv_method(m, name, args),
        Value::List(l) => {
            let items = &l.items;
            match (l.kind, name) {
                (ListKind::Pairs, "Names") => Some(no_args(name, args, || column(items, "Name"))),
                (ListKind::Pairs, "Values") => Some(no_args(name, args, || column(items, "Value"))),
                (ListKind::Pairs, "String") => {
                    Some(no_args(name, args, || Value::str(pairs_string(items))))
                }
                (ListKind::AmStrings, "Join") => Some(join(items, args)),
                (ListKind::Alerts, "Firing") => {
                    Some(no_args(name, args, || alerts_with(items, "firing")))
                }
                (ListKind::Alerts, "Resolved") => {
                    Some(no_args(name, args, || alerts_with(items, "resolved")))
                }
                _ => None,
            }
        }
        Value::Time(t) => time_method(t, name, args),
        Value::Duration(d) => {
            let secs = d.0 as f64 / 1e9;
            let v = match name {
                "String" => Value::str(d.to_string()),
                "Seconds" => Value::Float(secs),
                "Minutes" => Value::Float(secs / 60.0),
                "Hours" => Value::Float(secs / 3600.0),
                "Milliseconds" => Value::Int(d.0 / 1_000_000),
                "Nanoseconds" => Value::Int(d.0),
                _ => return None,
            };
            Some(no_args(name, args, || v))
        }
        _ => None,
    }
}

fn no_args(name: &str, args: &[Value], f: impl FnOnce() -> Value) -> Result<Value, FuncError> {
    arity(name, args, 0)?;
    Ok(f())
}

fn kv_method(m: &Map, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
    Some(match name {
        "SortedPairs" => no_args(name, args, || sorted_pairs(m)),
        "Names" => no_args(name, args, || {
            let Value::List(l) = sorted_pairs(m) else {
                return Value::Nil;
            };
            column(&l.items, "Name")
        }),
        "Values" => no_args(name, args, || {
            let Value::List(l) = sorted_pairs(m) else {
                return Value::Nil;
            };
            column(&l.items, "Value")
        }),
        "String" => no_args(name, args, || Value::str(kv_string(m))),
        "Remove" => (|| {
            arity(name, args, 1)?;
            let drop = strings_arg(&args[0])?;
            let entries: BTreeMap<String, Value> = m
                .entries
                .iter()
                .filter(|(k, _)| !drop.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Ok(Value::map(MapKind::Kv, entries))
        })(),
        _ => return None,
    })
}

/// Alertmanager's `KV.SortedPairs`: `alertname` first, then the other names in order.
fn sorted_pairs(m: &Map) -> Value {
    let pair = |k: &str, v: &Value| {
        Value::Struct(Struct::new(
            "template.Pair",
            vec![("Name", Value::str(k)), ("Value", v.clone())],
        ))
    };
    let mut pairs = Vec::with_capacity(m.entries.len());
    if let Some(v) = m.entries.get("alertname") {
        pairs.push(pair("alertname", v));
    }
    pairs.extend(
        m.entries
            .iter()
            .filter(|(k, _)| *k != "alertname")
            .map(|(k, v)| pair(k, v)),
    );
    Value::list(ListKind::Pairs, pairs)
}

fn column(pairs: &[Value], field: &str) -> Value {
    let items = pairs
        .iter()
        .map(|p| match p {
            Value::Struct(s) => s.field(field).cloned().unwrap_or(Value::Nil),
            _ => Value::Nil,
        })
        .collect();
    Value::list(ListKind::AmStrings, items)
}

/// `Pairs.String()`: `a=1, b=2`.
pub fn pairs_string(pairs: &[Value]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .map(|p| match p {
            Value::Struct(s) => format!(
                "{}={}",
                s.field("Name").and_then(Value::as_str).unwrap_or_default(),
                s.field("Value").and_then(Value::as_str).unwrap_or_default()
            ),
            _ => String::new(),
        })
        .collect();
    parts.join(", ")
}

/// `KV.String()`.
pub fn kv_string(m: &Map) -> String {
    match sorted_pairs(m) {
        Value::List(l) => pairs_string(&l.items),
        _ => String::new(),
    }
}

fn join(items: &[Value], args: &[Value]) -> Result<Value, FuncError> {
    arity("Join", args, 1)?;
    let sep = str_arg(&args[0])?;
    let parts: Vec<&str> = items
        .iter()
        .map(|v| v.as_str().unwrap_or_default())
        .collect();
    check_len("Join", parts.iter().map(|p| p.len() + sep.len()).sum())?;
    Ok(Value::str(parts.join(sep)))
}

fn alerts_with(items: &[Value], status: &str) -> Value {
    let picked = items
        .iter()
        .filter(|a| match a {
            Value::Struct(s) => s.field("Status").and_then(Value::as_str) == Some(status),
            _ => false,
        })
        .cloned()
        .collect();
    Value::list(ListKind::AlertSlice, picked)
}

fn time_method(t: &Time, name: &str, args: &[Value]) -> Option<Result<Value, FuncError>> {
    Some(match name {
        "Format" => (|| {
            arity(name, args, 1)?;
            Ok(Value::str(t.format(str_arg(&args[0])?)))
        })(),
        "Sub" => (|| {
            arity(name, args, 1)?;
            let u = time_arg(&args[0])?;
            let ns = (i128::from(t.secs) - i128::from(u.secs)) * 1_000_000_000
                + i128::from(t.nanos)
                - i128::from(u.nanos);
            Ok(Value::Duration(Duration(
                ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
            )))
        })(),
        "String" => no_args(name, args, || Value::str(t.to_string())),
        "Unix" => no_args(name, args, || Value::Int(t.secs)),
        "UnixMilli" => no_args(name, args, || {
            Value::Int(
                t.secs
                    .saturating_mul(1000)
                    .saturating_add(i64::from(t.nanos / 1_000_000)),
            )
        }),
        "UnixNano" => no_args(name, args, || {
            Value::Int(
                t.secs
                    .saturating_mul(1_000_000_000)
                    .saturating_add(i64::from(t.nanos)),
            )
        }),
        "UTC" => no_args(name, args, || Value::Time(Time::utc(t.secs, t.nanos))),
        "IsZero" => no_args(name, args, || Value::Bool(t.is_zero())),
        _ => return None,
    })
}
