//! Go's builtin template functions (`and` and `or` evaluate lazily and live in `exec`).

use super::{arity, arity_min, str_arg, FuncError};
use crate::fmt::{sprint, sprintf, sprintln, to_string};
use crate::value::{ListKind, Value};

/// A builtin's implementation.
pub type Builtin = fn(&[Value]) -> Result<Value, FuncError>;

/// Names the parser accepts as builtins.
pub const NAMES: [&str; 19] = [
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "html", "js",
    "urlquery", "eq", "ne", "lt", "le", "gt", "ge", "call",
];

pub fn lookup(name: &str) -> Option<Builtin> {
    Some(match name {
        "not" => |a: &[Value]| {
            arity("not", a, 1)?;
            Ok(Value::Bool(!a[0].truth()))
        },
        "len" => len,
        "index" => index,
        "slice" => slice,
        "print" => |a: &[Value]| Ok(Value::str(sprint(a))),
        "println" => |a: &[Value]| Ok(Value::str(sprintln(a))),
        "printf" => |a: &[Value]| {
            arity_min("printf", a, 1)?;
            Ok(Value::str(sprintf(str_arg(&a[0])?, &a[1..])))
        },
        "html" => |a: &[Value]| Ok(Value::str(html_escape(&joined(a)))),
        "js" => |a: &[Value]| Ok(Value::str(js_escape(&joined(a)))),
        "urlquery" => |a: &[Value]| Ok(Value::str(query_escape(&joined(a)))),
        "eq" => |a: &[Value]| {
            arity_min("eq", a, 1)?;
            eq(a).map(Value::Bool)
        },
        "ne" => |a: &[Value]| {
            arity("ne", a, 2)?;
            eq(a).map(|b| Value::Bool(!b))
        },
        "lt" => |a: &[Value]| cmp("lt", a, |o| o.is_lt()),
        "le" => |a: &[Value]| cmp("le", a, |o| o.is_le()),
        "gt" => |a: &[Value]| cmp("gt", a, |o| o.is_gt()),
        "ge" => |a: &[Value]| cmp("ge", a, |o| o.is_ge()),
        "call" => |a: &[Value]| {
            arity_min("call", a, 1)?;
            Err(FuncError::Call(format!(
                "non-function of type {}",
                a[0].type_name()
            )))
        },
        _ => return None,
    })
}

/// What Go's `evalArgs` gives `html`, `js` and `urlquery`: a lone string as is, else `Sprint`.
fn joined(a: &[Value]) -> String {
    match a {
        [Value::Str(s)] => s.to_string(),
        _ => sprint(a),
    }
}

fn len(a: &[Value]) -> Result<Value, FuncError> {
    arity("len", a, 1)?;
    let n = match &a[0] {
        Value::Str(s) | Value::Html(s) | Value::Url(s) => s.len(),
        Value::List(l) => l.items.len(),
        Value::Map(m) => m.entries.len(),
        Value::Nil => return Err(FuncError::Call("len of nil pointer".into())),
        other => {
            return Err(FuncError::Call(format!(
                "len of type {}",
                other.type_name()
            )))
        }
    };
    Ok(Value::Int(n as i64))
}

fn int_index(v: &Value, what: &str) -> Result<i64, FuncError> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Nil => Err(FuncError::Call(format!("cannot index {what} with nil"))),
        other => Err(FuncError::Call(format!(
            "cannot index {what} with type {}",
            other.type_name()
        ))),
    }
}

fn index(a: &[Value]) -> Result<Value, FuncError> {
    arity_min("index", a, 1)?;
    let mut item = a[0].clone();
    for key in &a[1..] {
        item = match &item {
            Value::List(l) => {
                let i = int_index(key, "slice/array")?;
                if i < 0 || i as usize >= l.items.len() {
                    return Err(FuncError::Call(format!("index out of range: {i}")));
                }
                l.items[i as usize].clone()
            }
            Value::Str(s) => {
                let i = int_index(key, "slice/array")?;
                match s.as_bytes().get(usize::try_from(i).unwrap_or(usize::MAX)) {
                    Some(b) => Value::Int(i64::from(*b)),
                    None => return Err(FuncError::Call(format!("index out of range: {i}"))),
                }
            }
            Value::Map(m) => match key {
                Value::Str(k) => m
                    .entries
                    .get(&**k)
                    .cloned()
                    .unwrap_or_else(|| Value::zero_of(m.kind)),
                other => {
                    return Err(FuncError::Call(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    )))
                }
            },
            Value::Nil => return Err(FuncError::Call("index of untyped nil".into())),
            other => {
                return Err(FuncError::Call(format!(
                    "can't index item of type {}",
                    other.type_name()
                )))
            }
        };
    }
    Ok(item)
}

fn slice(a: &[Value]) -> Result<Value, FuncError> {
    arity_min("slice", a, 1)?;
    let len = match &a[0] {
        Value::Str(s) => s.len(),
        Value::List(l) => l.items.len(),
        Value::Nil => return Err(FuncError::Call("slice of untyped nil".into())),
        other => {
            return Err(FuncError::Call(format!(
                "can't slice item of type {}",
                other.type_name()
            )))
        }
    };
    if a.len() > 4 || (a.len() == 4 && matches!(a[0], Value::Str(_))) {
        return Err(FuncError::Call(format!(
            "too many slice indexes: {}",
            a.len() - 1
        )));
    }
    let mut idx = [0usize, len, len];
    for (n, v) in a[1..].iter().enumerate() {
        let i = int_index(v, "slice/array")?;
        if i < 0 || i as usize > len {
            return Err(FuncError::Call(format!("index out of range: {i}")));
        }
        idx[n] = i as usize;
    }
    if idx[0] > idx[1] {
        return Err(FuncError::Call(format!(
            "invalid slice index: {} > {}",
            idx[0], idx[1]
        )));
    }
    match &a[0] {
        Value::Str(s) => match s.get(idx[0]..idx[1]) {
            Some(sub) => Ok(Value::str(sub)),
            None => Ok(Value::str(String::from_utf8_lossy(
                &s.as_bytes()[idx[0]..idx[1]],
            ))),
        },
        Value::List(l) => Ok(Value::list(l.kind, l.items[idx[0]..idx[1]].to_vec())),
        _ => Err(FuncError::Call("can't slice".into())),
    }
}

#[derive(PartialEq)]
enum Kind {
    Bool,
    Int,
    Float,
    Str,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Duration(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) | Value::Html(_) | Value::Url(_) => Kind::Str,
        _ => Kind::Other,
    }
}

fn as_int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Duration(d) => d.0,
        _ => 0,
    }
}

/// Go's `eq`: true when the first argument equals any of the others.
fn eq(a: &[Value]) -> Result<bool, FuncError> {
    let first = &a[0];
    if a.len() == 1 {
        return Err(FuncError::Call("missing argument for comparison".into()));
    }
    for other in &a[1..] {
        let (k1, k2) = (kind(first), kind(other));
        let truth = if k1 != k2 {
            if !matches!(first, Value::Nil) && !matches!(other, Value::Nil) {
                return Err(FuncError::Call("incompatible types for comparison".into()));
            }
            false
        } else {
            match (first, other) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                _ if k1 == Kind::Int => as_int(first) == as_int(other),
                _ if k1 == Kind::Str => first.as_str() == other.as_str(),
                (Value::Nil, Value::Nil) => true,
                (Value::Nil, _) | (_, Value::Nil) => false,
                (Value::Time(x), Value::Time(y)) => x == y,
                (Value::List(_) | Value::Map(_) | Value::Struct(_), _) => {
                    return Err(non_comparable(first))
                }
                (_, Value::List(_) | Value::Map(_) | Value::Struct(_)) => {
                    return Err(non_comparable(other))
                }
                _ => return Err(FuncError::Call("incompatible types for comparison".into())),
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn non_comparable(v: &Value) -> FuncError {
    FuncError::Call(format!(
        "non-comparable type {}: {}",
        to_string(v),
        v.type_name()
    ))
}

fn cmp(name: &str, a: &[Value], pick: fn(std::cmp::Ordering) -> bool) -> Result<Value, FuncError> {
    arity(name, a, 2)?;
    let (x, y) = (&a[0], &a[1]);
    let (k1, k2) = (kind(x), kind(y));
    if matches!(k1, Kind::Bool | Kind::Other) || matches!(k2, Kind::Bool | Kind::Other) {
        return Err(FuncError::Call("invalid type for comparison".into()));
    }
    if k1 != k2 {
        return Err(FuncError::Call("incompatible types for comparison".into()));
    }
    let ord = match k1 {
        Kind::Int => as_int(x).cmp(&as_int(y)),
        Kind::Float => {
            let (Value::Float(p), Value::Float(q)) = (x, y) else {
                return Err(FuncError::Call("invalid type for comparison".into()));
            };
            match p.partial_cmp(q) {
                Some(o) => o,
                // NaN compares false for every ordering, as in Go.
                None => return Ok(Value::Bool(false)),
            }
        }
        _ => x.as_str().cmp(&y.as_str()),
    };
    Ok(Value::Bool(pick(ord)))
}

/// Go's `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 || c.is_control() => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Keeps `ListKind` in use for variadic helpers that build `[]interface {}`.
pub fn any_list(items: Vec<Value>) -> Value {
    Value::list(ListKind::Any, items)
}
