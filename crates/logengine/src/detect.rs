//! Detected fields, as Loki's query frontend finds them for Grafana Logs Drilldown
//! (`queryrange/detected_fields.go`): the newest `line_limit` lines of a log query are taken
//! (after its pipeline), and each line's structured metadata, the labels its own parsers
//! extracted, and what the `json` parser — or, when the line is not JSON, `logfmt` — finds in
//! the line become fields, each with a type guessed from its values, its number of distinct
//! values and the parser that found it.
//!
//! As Loki: lines are walked stream by stream (streams in label order, lines newest first),
//! a field's type is re-guessed from its first value in each line (so the last line walked
//! decides), at most `field_limit` fields are kept (the first met), JSON fields carry their
//! path of keys (`jsonPath`), error labels are never fields. Unlike Loki, cardinalities are
//! exact distinct counts (Loki estimates them with a HyperLogLog sketch, which is exact only
//! for small sets) and values are returned sorted (Loki's order is a Go map's).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::ControlFlow;

use bongsu_logpipeline::parser::json::JsonParser;
use bongsu_logpipeline::parser::logfmt::LogfmtParser;
use bongsu_logpipeline::units::{parse_bytes, parse_duration, parse_float};
use bongsu_logpipeline::{Category, LabelsBuilder};
use bongsu_logql::ast::{LogExpr, Stage};
use bongsu_logstore::{Direction, LogStore, ScanOptions};
use bongsu_model::{Label, Labels};

use crate::compile::compile;
use crate::{recycle, QueryError};

/// A detected field's type, Loki's `DetectedFieldType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    Int,
    Float,
    Boolean,
    Duration,
    Bytes,
}

impl FieldType {
    /// Loki's name of the type in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Int => "int",
            FieldType::Float => "float",
            FieldType::Boolean => "boolean",
            FieldType::Duration => "duration",
            FieldType::Bytes => "bytes",
        }
    }

    /// Loki's `determineType`: the first of Go's `ParseInt`, `ParseFloat`, `ParseBool`,
    /// `time.ParseDuration` and go-humanize's `ParseBytes` that accepts the value.
    pub fn of(value: &str) -> FieldType {
        if value.parse::<i64>().is_ok() {
            FieldType::Int
        } else if parse_float(value).is_ok() {
            FieldType::Float
        } else if matches!(
            value,
            "1" | "t"
                | "T"
                | "TRUE"
                | "true"
                | "True"
                | "0"
                | "f"
                | "F"
                | "FALSE"
                | "false"
                | "False"
        ) {
            FieldType::Boolean
        } else if parse_duration(value).is_ok() {
            FieldType::Duration
        } else if parse_bytes(value).is_ok() {
            FieldType::Bytes
        } else {
            FieldType::String
        }
    }
}

/// The parsers detection runs, by Loki's names.
pub const JSON: &str = "json";
pub const LOGFMT: &str = "logfmt";

/// One detected field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectedField {
    pub label: String,
    pub field_type: FieldType,
    /// Distinct values among the lines walked.
    pub cardinality: usize,
    /// The parsers that found it; empty for structured metadata only (Loki writes `null`).
    pub parsers: Vec<&'static str>,
    /// The keys leading to it in the line's JSON, when `json` found it.
    pub json_path: Option<Vec<String>>,
}

/// Loki's error labels, which are never fields.
fn is_error_label(name: &str) -> bool {
    matches!(
        name,
        "__error__" | "__error_details__" | "__preserve_error__"
    )
}

/// A line kept for detection: what the query's pipeline left of it.
struct Sampled {
    metadata: Vec<(String, String)>,
    parsed: Vec<(String, String)>,
    line: String,
}

/// The newest `line_limit` lines of `expr` with `start <= ts < end` that pass its pipeline,
/// grouped by stream (streams in label order, lines newest first), with their stream labels.
fn sample(
    store: &LogStore,
    expr: &LogExpr,
    start: i64,
    end: i64,
    line_limit: usize,
) -> Result<Vec<(Labels, Vec<Sampled>)>, QueryError> {
    let mut compiled = compile(&expr.stages)?;
    if end <= start || line_limit == 0 {
        return Ok(Vec::new());
    }
    let only_needles = expr
        .stages
        .iter()
        .all(|s| matches!(s, Stage::LineFilter(_)))
        && compiled.needles.len() == expr.stages.len();
    let opts = ScanOptions {
        direction: Direction::Backward,
        limit: only_needles.then_some(line_limit),
        needles: std::mem::take(&mut compiled.needles),
    };
    let sel = store.select(&expr.matchers, start, end - 1)?;
    let index: HashMap<u32, usize> = sel
        .streams()
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id, i))
        .collect();
    let mut builders: Vec<LabelsBuilder> = sel
        .streams()
        .iter()
        .map(|s| LabelsBuilder::new(s.labels.clone()))
        .collect();
    let mut out: Vec<Vec<Sampled>> = sel.streams().iter().map(|_| Vec::new()).collect();
    let mut kept = 0;
    let mut meta_buf: Vec<(&str, &str)> = Vec::new();
    let pipeline = &mut compiled.pipeline;
    sel.scan(&opts, |stream, e| {
        let Some(&i) = index.get(&stream.id) else {
            return ControlFlow::Continue(());
        };
        let lb = &mut builders[i];
        let mut meta = recycle(std::mem::take(&mut meta_buf));
        meta.extend(e.metadata());
        let passed = pipeline.process(e.ts, e.line.as_bytes(), &meta, lb);
        meta_buf = recycle(meta);
        let Some(line) = passed else {
            return ControlFlow::Continue(());
        };
        let line = String::from_utf8_lossy(line).into_owned();
        let result = lb.result();
        let pairs = |c: Category| -> Vec<(String, String)> {
            result
                .of(c)
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect()
        };
        out[i].push(Sampled {
            metadata: pairs(Category::StructuredMetadata),
            parsed: pairs(Category::Parsed),
            line,
        });
        kept += 1;
        if kept >= line_limit {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    Ok(sel
        .streams()
        .iter()
        .zip(out)
        .filter(|(_, lines)| !lines.is_empty())
        .map(|(s, lines)| (s.labels.clone(), lines))
        .collect())
}

/// The parsers detection runs on every line, reused across lines.
struct Parsers {
    json: JsonParser,
    logfmt: LogfmtParser,
}

/// What one line yields: values by field name, and the parser that read the line (none when
/// neither did, then only the query's own parsed labels count).
type LineFields = (BTreeMap<String, BTreeSet<String>>, Option<&'static str>);

impl Parsers {
    fn new() -> Parsers {
        Parsers {
            json: JsonParser::capturing_paths(),
            logfmt: LogfmtParser::new(false, false),
        }
    }

    /// Loki's `parseEntry`: the query's parsed labels, then the line parsed as JSON or, when
    /// that fails, as logfmt, against the stream labels less the query's parsed names (so a
    /// key that is a stream label comes out as `key_extracted`).
    fn parse(
        &mut self,
        stream: &Labels,
        query_parsed: &[(String, String)],
        line: &str,
    ) -> LineFields {
        let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (k, v) in query_parsed.iter().filter(|(k, _)| !is_error_label(k)) {
            values.entry(k.clone()).or_default().insert(v.clone());
        }
        let base: Vec<Label> = stream
            .iter()
            .filter(|l| !query_parsed.iter().any(|(k, _)| *k == *l.name))
            .cloned()
            .collect();
        let mut lb = LabelsBuilder::new(Labels::new(base).unwrap_or_default());
        self.json.process(line.as_bytes(), &mut lb);
        let parser = if !lb.has_err() {
            JSON
        } else {
            lb.reset();
            self.logfmt.process(line.as_bytes(), &mut lb);
            if lb.has_err() {
                return (values, None);
            }
            LOGFMT
        };
        for l in lb.result().of(Category::Parsed) {
            if !is_error_label(l.name) {
                values
                    .entry(l.name.to_string())
                    .or_default()
                    .insert(l.value.to_string());
            }
        }
        (values, Some(parser))
    }
}

/// A field being detected.
struct Detecting {
    field_type: FieldType,
    values: BTreeSet<String>,
    parsers: Vec<&'static str>,
    json_path: Option<Vec<String>>,
}

/// Loki's `detected_fields`: the fields of the newest `line_limit` lines of `expr` in
/// `[start, end)`, at most `field_limit`, sorted by name.
pub fn detected_fields(
    store: &LogStore,
    expr: &LogExpr,
    start: i64,
    end: i64,
    line_limit: usize,
    field_limit: usize,
) -> Result<Vec<DetectedField>, QueryError> {
    let mut fields: BTreeMap<String, Detecting> = BTreeMap::new();
    let mut parsers = Parsers::new();
    for (stream, lines) in sample(store, expr, start, end, line_limit)? {
        for s in &lines {
            for (k, v) in &s.metadata {
                if !fields.contains_key(k) && fields.len() >= field_limit {
                    continue;
                }
                let f = fields.entry(k.clone()).or_insert_with(|| Detecting {
                    field_type: FieldType::String,
                    values: BTreeSet::new(),
                    parsers: Vec::new(),
                    json_path: None,
                });
                f.field_type = FieldType::of(v);
                f.values.insert(v.clone());
            }
            let (values, parser) = parsers.parse(&stream, &s.parsed, &s.line);
            for (k, vs) in values {
                if !fields.contains_key(&k) && fields.len() >= field_limit {
                    continue;
                }
                let path = match parser {
                    Some(JSON) => Some(parsers.json.path(&k).map(<[String]>::to_vec)),
                    _ => None,
                };
                let f = fields.entry(k).or_insert_with(|| Detecting {
                    field_type: FieldType::String,
                    values: BTreeSet::new(),
                    parsers: parser.into_iter().collect(),
                    json_path: None,
                });
                if let Some(p) = parser.filter(|p| !f.parsers.contains(p)) {
                    f.parsers.push(p);
                }
                if let Some(path) = path {
                    f.json_path = path;
                }
                if let Some(first) = vs.first() {
                    f.field_type = FieldType::of(first);
                }
                f.values.extend(vs);
            }
        }
    }
    Ok(fields
        .into_iter()
        .map(|(label, f)| DetectedField {
            label,
            field_type: f.field_type,
            cardinality: f.values.len(),
            parsers: f.parsers,
            json_path: f.json_path,
        })
        .collect())
}

/// Loki's `detected_field/<name>/values`: the values of field `name` in the newest
/// `line_limit` lines of `expr`, stopping once `limit` are found, sorted. Byte sizes are
/// written as go-humanize prints them without the space (`1.5KB` → `1.5kB`), so they can go
/// into a query as they are.
pub fn detected_field_values(
    store: &LogStore,
    expr: &LogExpr,
    start: i64,
    end: i64,
    line_limit: usize,
    name: &str,
    limit: usize,
) -> Result<Vec<String>, QueryError> {
    let mut values: BTreeSet<String> = BTreeSet::new();
    let mut parsers = Parsers::new();
    for (stream, lines) in sample(store, expr, start, end, line_limit)? {
        for s in &lines {
            if values.len() >= limit {
                break;
            }
            values.extend(
                s.metadata
                    .iter()
                    .filter(|(k, _)| k == name)
                    .map(|(_, v)| v.clone()),
            );
            let (mut parsed, _) = parsers.parse(&stream, &s.parsed, &s.line);
            for v in parsed.remove(name).into_iter().flatten() {
                values.insert(match parse_bytes(&v) {
                    Ok(n) if has_bytes_unit(&v) => humanize_bytes(n).replacen(' ', "", 1),
                    _ => v,
                });
            }
        }
    }
    Ok(values.into_iter().collect())
}

/// Loki's `allowedBytesUnits.Contains`: the value ends with a byte unit (any case).
fn has_bytes_unit(v: &str) -> bool {
    const UNITS: [&str; 25] = [
        "b", "kib", "kb", "mib", "mb", "gib", "gb", "tib", "tb", "pib", "pb", "eib", "eb", "ki",
        "k", "mi", "m", "gi", "g", "ti", "t", "pi", "p", "ei", "e",
    ];
    let v = v.to_ascii_lowercase();
    UNITS.iter().any(|u| v.ends_with(u))
}

/// go-humanize's `Bytes`: SI units, one decimal under 10 (`1.5 kB`, `12 MB`, `7 B`).
fn humanize_bytes(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if n < 10 {
        return format!("{n} B");
    }
    let e = ((n as f64).ln() / 1000f64.ln()).floor();
    let unit = UNITS[(e as usize).min(UNITS.len() - 1)];
    let val = (n as f64 / 1000f64.powf(e) * 10.0 + 0.5).floor() / 10.0;
    if val < 10.0 {
        format!("{val:.1} {unit}")
    } else {
        format!("{val:.0} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_as_loki_guesses_them() {
        for (v, t) in [
            ("200", FieldType::Int),
            ("-3", FieldType::Int),
            ("3.5", FieldType::Float),
            ("1e3", FieldType::Float),
            ("true", FieldType::Boolean),
            ("F", FieldType::Boolean),
            ("12ms", FieldType::Duration),
            ("850µs", FieldType::Duration),
            ("1.5KB", FieldType::Bytes),
            ("10 MiB", FieldType::Bytes),
            ("5m", FieldType::Duration),
            ("GET", FieldType::String),
            ("", FieldType::String),
        ] {
            assert_eq!(FieldType::of(v), t, "{v}");
        }
    }

    #[test]
    fn byte_values_are_printed_as_humanize_does() {
        assert_eq!(humanize_bytes(7), "7 B");
        assert_eq!(humanize_bytes(1500), "1.5 kB");
        assert_eq!(humanize_bytes(2000), "2.0 kB");
        assert_eq!(humanize_bytes(12_000_000), "12 MB");
        assert!(has_bytes_unit("3KB") && has_bytes_unit("5m") && !has_bytes_unit("12"));
    }

    #[test]
    fn a_line_is_read_as_json_else_as_logfmt() {
        let stream = Labels::from_pairs(&[("level", "info")]).unwrap();
        let mut p = Parsers::new();
        let (v, parser) = p.parse(&stream, &[], r#"{"level":"warn","user":{"id":7}}"#);
        assert_eq!(parser, Some(JSON));
        assert_eq!(v.keys().collect::<Vec<_>>(), ["level_extracted", "user_id"]);
        assert_eq!(p.json.path("user_id").map(<[String]>::len), Some(2));
        let (v, parser) = p.parse(&stream, &[], "took=1.5s msg=\"a b\" bare");
        assert_eq!(parser, Some(LOGFMT));
        assert_eq!(v.keys().collect::<Vec<_>>(), ["msg", "took"]);
        let q = [("status".to_string(), "200".to_string())];
        let (v, _) = p.parse(&stream, &q, "plain text");
        assert_eq!(v.keys().collect::<Vec<_>>(), ["status"]);
    }
}
