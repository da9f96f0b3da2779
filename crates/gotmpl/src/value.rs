//! The dynamic data model templates execute over.
//!
//! Go templates walk Go values through reflection; we model the handful of Go types the
//! Prometheus and Alertmanager templates see as one enum. What reflection would give for free
//! is explicit here: a map knows its element type (so `missingkey=zero` yields `""` for a
//! `map[string]string` and `<no value>` for a `map[string]interface{}`), and a value's Go type
//! name is kept for error messages. Zero-argument and argument-taking methods (`.Alerts.Firing`,
//! `.CommonLabels.Remove`, `.StartsAt.Format`) are resolved by kind in `methods::call_method`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::time::{Duration, Time};

/// A Go value as a template sees it.
#[derive(Clone, Debug)]
pub enum Value {
    /// A missing value (Go's invalid `reflect.Value` or a nil interface); prints `<no value>`.
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    /// `html/template.HTML`, from `safeHtml`; prints as its text.
    Html(Arc<str>),
    /// `html/template.URL`, from `safeUrl`.
    Url(Arc<str>),
    Time(Time),
    Duration(Duration),
    List(List),
    Map(Map),
    Struct(Struct),
}

/// What kind of Go slice a list is: decides its type name and methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    /// `[]interface {}`.
    Any,
    /// `[]string`.
    Strings,
    /// Alertmanager's `template.Strings` (has `Join`).
    AmStrings,
    /// Alertmanager's `template.Pairs` (has `Names`, `Values`, `String`).
    Pairs,
    /// Alertmanager's `template.Alerts` (has `Firing`, `Resolved`).
    Alerts,
    /// `[]template.Alert`, what `Firing`/`Resolved` return.
    AlertSlice,
    /// Prometheus' `template.queryResult`, what `query` returns.
    QueryResult,
}

/// A Go slice.
#[derive(Clone, Debug)]
pub struct List {
    pub kind: ListKind,
    pub items: Arc<Vec<Value>>,
}

/// What kind of Go map a map is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// `map[string]interface {}`: a missing key is `<no value>` even with `missingkey=zero`.
    Any,
    /// `map[string]string`: with `missingkey=zero` a missing key is `""`.
    Strings,
    /// Alertmanager's `template.KV` (a `map[string]string` with methods).
    Kv,
}

/// A Go map with string keys; iteration is in sorted key order, as Go's templates range maps.
#[derive(Clone, Debug)]
pub struct Map {
    pub kind: MapKind,
    pub entries: Arc<BTreeMap<String, Value>>,
}

/// A Go struct (or pointer to one): a type name for messages and ordered fields.
#[derive(Clone, Debug)]
pub struct Struct {
    pub type_name: &'static str,
    pub fields: Arc<Vec<(&'static str, Value)>>,
    /// The fields' `json:"…"` names, in field order, where the Go type has tags (`-`: left
    /// out of JSON, as Go's `json:"-"`).
    pub json_names: Option<&'static [&'static str]>,
}

impl Struct {
    pub fn new(type_name: &'static str, fields: Vec<(&'static str, Value)>) -> Self {
        Struct {
            type_name,
            fields: Arc::new(fields),
            json_names: None,
        }
    }

    /// Sets the JSON names `toJson` uses (one per field, in order).
    pub fn with_json_names(mut self, names: &'static [&'static str]) -> Self {
        debug_assert_eq!(names.len(), self.fields.len());
        self.json_names = Some(names);
        self
    }

    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

impl Value {
    pub fn str(s: impl AsRef<str>) -> Value {
        Value::Str(Arc::from(s.as_ref()))
    }

    pub fn list(kind: ListKind, items: Vec<Value>) -> Value {
        Value::List(List {
            kind,
            items: Arc::new(items),
        })
    }

    pub fn map(kind: MapKind, entries: BTreeMap<String, Value>) -> Value {
        Value::Map(Map {
            kind,
            entries: Arc::new(entries),
        })
    }

    /// A `map[string]string` (or `template.KV` with `MapKind::Kv`) from string pairs.
    pub fn string_map<'a>(
        kind: MapKind,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Value {
        let entries = pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::str(v)))
            .collect();
        Value::map(kind, entries)
    }

    /// A `[]string` from strings.
    pub fn strings<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
        Value::list(
            ListKind::Strings,
            items.into_iter().map(Value::str).collect(),
        )
    }

    /// The Go type name, as `%T` and error messages print it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Html(_) => "template.HTML",
            Value::Url(_) => "template.URL",
            Value::Time(_) => "time.Time",
            Value::Duration(_) => "time.Duration",
            Value::List(l) => match l.kind {
                ListKind::Any => "[]interface {}",
                ListKind::Strings => "[]string",
                ListKind::AmStrings => "template.Strings",
                ListKind::Pairs => "template.Pairs",
                ListKind::Alerts => "template.Alerts",
                ListKind::AlertSlice => "[]template.Alert",
                ListKind::QueryResult => "template.queryResult",
            },
            Value::Map(m) => match m.kind {
                MapKind::Any => "map[string]interface {}",
                MapKind::Strings => "map[string]string",
                MapKind::Kv => "template.KV",
            },
            Value::Struct(s) => s.type_name,
        }
    }

    /// Go's template truth: false, 0, nil, and empty strings, slices and maps are false.
    pub fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) | Value::Html(s) | Value::Url(s) => !s.is_empty(),
            Value::Duration(d) => d.0 != 0,
            Value::List(l) => !l.items.is_empty(),
            Value::Map(m) => !m.entries.is_empty(),
            Value::Time(_) | Value::Struct(_) => true,
        }
    }

    /// The text of string-like values (`string`, `template.HTML`, `template.URL`).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Html(s) | Value::Url(s) => Some(s),
            _ => None,
        }
    }

    /// The zero value of a map's element type, for `missingkey=zero`.
    pub fn zero_of(kind: MapKind) -> Value {
        match kind {
            MapKind::Any => Value::Nil,
            MapKind::Strings | MapKind::Kv => Value::str(""),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(Arc::from(s))
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
