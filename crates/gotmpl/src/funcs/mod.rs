//! Template functions: Go's builtins, Prometheus' and Alertmanager's sets, and the helpers
//! they share for checking arguments the way Go's reflection-based calls do.

pub mod alertmanager;
pub mod builtins;
pub mod prometheus;

use std::collections::HashMap;
use std::sync::Arc;

use super::time::Time;
use super::value::{ListKind, Value};

/// Why a function call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum FuncError {
    /// The function itself returned an error: reported as `error calling NAME: …`.
    Call(String),
    /// The arguments do not fit the function (count or type): reported as is.
    Args(String),
}

/// A template function.
pub type Func = Arc<dyn Fn(&[Value]) -> Result<Value, FuncError> + Send + Sync>;

/// Named functions available to a template, besides Go's builtins.
#[derive(Clone, Default)]
pub struct FuncMap {
    map: HashMap<String, Func>,
}

impl FuncMap {
    pub fn new() -> Self {
        FuncMap::default()
    }

    /// Adds (or replaces) a function.
    pub fn insert(
        &mut self,
        name: &str,
        f: impl Fn(&[Value]) -> Result<Value, FuncError> + Send + Sync + 'static,
    ) {
        self.map.insert(name.to_string(), Arc::new(f));
    }

    /// Adds every function of `other`, replacing those with the same name.
    pub fn extend(&mut self, other: &FuncMap) {
        for (k, v) in &other.map {
            self.map.insert(k.clone(), v.clone());
        }
    }

    pub fn get(&self, name: &str) -> Option<&Func> {
        self.map.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }
}

/// How deeply values built by templates (`list`, `dict`, `append`, `args`) may nest: dropping
/// or printing a value recurses once per level, so a loop that wraps a value in itself must
/// stop well before the stack does.
pub const MAX_VALUE_DEPTH: usize = 32;

/// The most items a collection built by a template function may hold (Go's `append` is
/// amortized O(1); ours copies, so a loop of appends must stay small).
pub const MAX_BUILT_ITEMS: usize = 10_000;

/// The longest string a function may return.
pub const MAX_STRING_BYTES: usize = 1 << 20;

/// Refuses to build a collection with more than `MAX_BUILT_ITEMS` items or whose items
/// already nest `MAX_VALUE_DEPTH` levels deep.
pub fn check_nesting(name: &str, items: &[Value]) -> Result<(), FuncError> {
    if items.len() > MAX_BUILT_ITEMS {
        return Err(FuncError::Call(format!(
            "{name}: more than {MAX_BUILT_ITEMS} items"
        )));
    }
    fn deeper_than(v: &Value, limit: usize) -> bool {
        if limit == 0 {
            return true;
        }
        match v {
            Value::List(l) => l.items.iter().any(|e| deeper_than(e, limit - 1)),
            Value::Map(m) => m.entries.values().any(|e| deeper_than(e, limit - 1)),
            Value::Struct(s) => s.fields.iter().any(|(_, e)| deeper_than(e, limit - 1)),
            _ => false,
        }
    }
    if items.iter().any(|v| deeper_than(v, MAX_VALUE_DEPTH)) {
        return Err(FuncError::Call(format!(
            "{name}: values nest deeper than {MAX_VALUE_DEPTH} levels"
        )));
    }
    Ok(())
}

/// Refuses to build a string longer than `MAX_STRING_BYTES`.
pub fn check_len(name: &str, len: usize) -> Result<(), FuncError> {
    if len > MAX_STRING_BYTES {
        return Err(FuncError::Call(format!(
            "{name}: result longer than {MAX_STRING_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Checks a fixed argument count.
pub fn arity(name: &str, args: &[Value], want: usize) -> Result<(), FuncError> {
    if args.len() != want {
        return Err(FuncError::Args(format!(
            "wrong number of args for {name}: want {want} got {}",
            args.len()
        )));
    }
    Ok(())
}

/// Checks a variadic function's minimum argument count.
pub fn arity_min(name: &str, args: &[Value], want: usize) -> Result<(), FuncError> {
    if args.len() < want {
        return Err(FuncError::Args(format!(
            "wrong number of args for {name}: want at least {want} got {}",
            args.len()
        )));
    }
    Ok(())
}

fn wrong_type(expected: &str, got: &Value) -> FuncError {
    let got = match got {
        Value::Nil => "<nil>".to_string(),
        v => v.type_name().to_string(),
    };
    FuncError::Args(format!(
        "wrong type for value; expected {expected}; got {got}"
    ))
}

/// A `string` parameter.
pub fn str_arg(v: &Value) -> Result<&str, FuncError> {
    match v {
        Value::Str(s) => Ok(s),
        other => Err(wrong_type("string", other)),
    }
}

/// A `[]string` parameter.
pub fn strings_arg(v: &Value) -> Result<Vec<String>, FuncError> {
    match v {
        Value::List(l) if matches!(l.kind, ListKind::Strings | ListKind::AmStrings) => Ok(l
            .items
            .iter()
            .map(|s| s.as_str().unwrap_or_default().to_string())
            .collect()),
        other => Err(wrong_type("[]string", other)),
    }
}

/// A `time.Time` parameter.
pub fn time_arg(v: &Value) -> Result<&Time, FuncError> {
    match v {
        Value::Time(t) => Ok(t),
        other => Err(wrong_type("time.Time", other)),
    }
}

/// Prometheus' `ConvertToFloat`: numbers, numeric strings and durations.
pub fn to_float(v: &Value) -> Result<f64, FuncError> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Duration(d) => Ok(d.0 as f64 / 1e9),
        Value::Str(s) => parse_go_float(s).ok_or_else(|| {
            FuncError::Call(format!(
                "strconv.ParseFloat: parsing {}: invalid syntax",
                super::fmt::quote(s)
            ))
        }),
        other => Err(FuncError::Call(format!(
            "can't convert {} to float",
            other.type_name()
        ))),
    }
}

/// Go's `strconv.ParseFloat(s, 64)`: Rust's float grammar matches it for decimal input,
/// including `Inf`, `+Inf`, `infinity` and `NaN` in any case.
pub fn parse_go_float(s: &str) -> Option<f64> {
    s.parse().ok()
}
