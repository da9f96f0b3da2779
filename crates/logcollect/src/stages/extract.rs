//! The parsing stages that fill the extracted map from the line (or from an extracted
//! value named by `source`): `json` (JMESPath expressions), `logfmt` and `regex`.
//!
//! As Promtail: a missing or null `source` leaves the entry as it is; `json` stores numbers,
//! strings, booleans and null as they are and objects or arrays as their JSON text (Go's
//! `json.Marshal`: sorted keys, `<>&` escaped); a non-object line is malformed and, with
//! `drop_malformed`, dropped. `regex` is Go's RE2 syntax (`bongsu_logpipeline::goregex`);
//! a group that took no part in the match extracts the empty string.

use std::borrow::Cow;
use std::collections::HashMap;

use bongsu_logpipeline::goregex;
use bongsu_logpipeline::parser::logfmt;
use jmespath::{Expression, Variable};
use regex::bytes::Regex;
use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use super::item::Item;
use super::pipeline::{decode, Built, Context, Each, Processor, Stage};
use super::value::{format_float, Value};

/// The input of a parsing stage: the line, or the extracted value `source` (None when it is
/// absent or cannot be a string, and then the stage does nothing).
fn input<'a>(item: &'a Item, source: &Option<String>) -> Option<Cow<'a, str>> {
    match source {
        None => Some(Cow::Borrowed(&item.line)),
        Some(s) => item.extracted.get(s)?.as_string(),
    }
}

fn check_source(source: &Option<String>, msg: &str) -> Result<(), String> {
    match source {
        Some(s) if s.is_empty() => Err(msg.into()),
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
struct JsonConfig {
    #[serde(default)]
    expressions: HashMap<String, Option<String>>,
    source: Option<String>,
    #[serde(default)]
    drop_malformed: bool,
}

struct JsonStage {
    expressions: Vec<(String, Expression<'static>)>,
    source: Option<String>,
    drop_malformed: bool,
    metrics: super::metrics::PipelineMetrics,
}

pub(crate) fn json(v: &Yaml, ctx: &Context) -> Built {
    let cfg: JsonConfig = decode(v, "empty json stage configuration")?;
    if cfg.expressions.is_empty() {
        return Err("JMES expression is required".into());
    }
    check_source(&cfg.source, "empty source")?;
    let mut expressions = Vec::with_capacity(cfg.expressions.len());
    for (name, e) in cfg.expressions {
        // An empty expression means the key itself (`- json: {expressions: {level: }}`).
        let text = match e {
            Some(e) if !e.is_empty() => e,
            _ => name.clone(),
        };
        let expr = jmespath::compile(&text)
            .map_err(|e| format!("could not compile JMES expression: {e}"))?;
        expressions.push((name, expr));
    }
    expressions.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Box::new(JsonStage {
        expressions,
        source: cfg.source,
        drop_malformed: cfg.drop_malformed,
        metrics: ctx.metrics.clone(),
    }))
}

impl Stage for JsonStage {
    fn process(&mut self, mut item: Item, out: &mut Vec<Item>) {
        if self.extract(&mut item).is_err() && self.drop_malformed {
            self.metrics.count_drop("json_malformed");
            return;
        }
        out.push(item);
    }
}

/// The line was not a JSON object.
struct Malformed;

impl JsonStage {
    fn extract(&self, item: &mut Item) -> Result<(), Malformed> {
        let data = match input(item, &self.source).map(|t| Variable::from_json(&t)) {
            None => return Ok(()),
            Some(Ok(d @ Variable::Object(_))) => d,
            Some(_) => return Err(Malformed),
        };
        let data = jmespath::Rcvar::new(data);
        for (name, expr) in &self.expressions {
            let Ok(r) = expr.search(&data) else { continue };
            let v = match &*r {
                Variable::Null => Value::Null,
                Variable::Bool(b) => Value::Bool(*b),
                Variable::String(s) => Value::Str(s.clone()),
                Variable::Number(n) => Value::Num(n.as_f64().unwrap_or(f64::NAN)),
                other => {
                    let mut s = String::new();
                    go_json(other, &mut s);
                    Value::Str(s)
                }
            };
            item.extracted.insert(name.clone(), v);
        }
        Ok(())
    }
}

/// Go's `json.Marshal` of a decoded value (numbers are float64 after Go's decoding).
fn go_json(v: &Variable, out: &mut String) {
    match v {
        Variable::Null | Variable::Expref(_) => out.push_str("null"),
        Variable::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Variable::Number(n) => out.push_str(&go_json_float(n.as_f64().unwrap_or(0.0))),
        Variable::String(s) => go_json_string(s, out),
        Variable::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(x, out);
            }
            out.push(']');
        }
        Variable::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_string(k, out);
                out.push(':');
                go_json(x, out);
            }
            out.push('}');
        }
    }
}

/// Go's encoding of a float64 in JSON: shortest digits, exponent form below 1e-6 and from
/// 1e21 on, with a two-digit positive exponent and no padding on a negative one (`1e-7`,
/// `1e+21`).
fn go_json_float(f: f64) -> String {
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        match e.strip_prefix('-') {
            Some(d) => format!("{m}e-{d}"),
            None => format!("{m}e+{e:0>2}"),
        }
    } else {
        format_float(f)
    }
}

/// Go's JSON string encoding, which also escapes `<`, `>`, `&`, U+2028 and U+2029.
pub(crate) fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[derive(Deserialize)]
struct LogfmtConfig {
    #[serde(default)]
    mapping: HashMap<String, Option<String>>,
    source: Option<String>,
}

struct LogfmtStage {
    /// Key in the line → extracted names.
    keys: HashMap<String, Vec<String>>,
    source: Option<String>,
}

pub(crate) fn logfmt(v: &Yaml, _: &Context) -> Built {
    let cfg: LogfmtConfig = decode(v, "empty logfmt stage configuration")?;
    if cfg.mapping.is_empty() {
        return Err("logfmt mapping is required".into());
    }
    check_source(&cfg.source, "empty source")?;
    let mut keys: HashMap<String, Vec<String>> = HashMap::new();
    for (name, key) in cfg.mapping {
        let key = key
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| name.clone());
        keys.entry(key).or_default().push(name);
    }
    Ok(Box::new(Each(LogfmtStage {
        keys,
        source: cfg.source,
    })))
}

impl Processor for LogfmtStage {
    fn apply(&mut self, item: &mut Item) {
        let Some(text) = input(item, &self.source) else {
            return;
        };
        let pairs = logfmt_pairs(text.as_bytes());
        for (k, v) in pairs {
            if let Some(names) = self.keys.get(&k) {
                for n in names {
                    item.extracted.insert(n.clone(), Value::Str(v.clone()));
                }
            }
        }
    }
}

/// Spaces tried from the end of a bad logfmt line before bisecting.
const LOGFMT_RETRIES: usize = 16;

/// The pairs of a logfmt line with Loki's decoder (a variant of go-logfmt's). On a syntax
/// error Promtail keeps the pairs read before it: we keep those of the longest prefix
/// ending at a space that parses, trying the last [`LOGFMT_RETRIES`] spaces and then
/// bisecting over the others, so a bad line costs a few decoder runs, not one per space.
fn logfmt_pairs(line: &[u8]) -> Vec<(String, String)> {
    if let Some(p) = logfmt::pairs(line) {
        return p;
    }
    let cuts: Vec<usize> = line
        .iter()
        .enumerate()
        .filter(|(_, b)| b.is_ascii_whitespace())
        .map(|(i, _)| i)
        .collect();
    let tail = cuts.len().saturating_sub(LOGFMT_RETRIES);
    for &cut in cuts[tail..].iter().rev() {
        if let Some(p) = logfmt::pairs(&line[..cut]) {
            return p;
        }
    }
    let (mut lo, mut hi) = (0, tail);
    let mut best = Vec::new();
    while lo < hi {
        let mid = (lo + hi) / 2;
        match logfmt::pairs(&line[..cuts[mid]]) {
            Some(p) => {
                best = p;
                lo = mid + 1;
            }
            None => hi = mid,
        }
    }
    best
}

#[derive(Deserialize)]
struct RegexConfig {
    #[serde(default)]
    expression: String,
    source: Option<String>,
}

struct RegexStage {
    regex: Regex,
    /// Capture group index → name, for named groups.
    names: Vec<(usize, String)>,
    source: Option<String>,
}

/// Compiles a Go regular expression with Promtail's error text.
pub(crate) fn compile_regex(expr: &str) -> Result<Regex, String> {
    goregex::compile(expr).map_err(|e| format!("could not compile regular expression: {e}"))
}

/// The named groups of `regex` by index.
pub(crate) fn group_names(regex: &Regex) -> Vec<(usize, String)> {
    regex
        .capture_names()
        .enumerate()
        .filter_map(|(i, n)| n.map(|n| (i, n.to_string())))
        .collect()
}

pub(crate) fn regex(v: &Yaml, _: &Context) -> Built {
    let cfg: RegexConfig = decode(v, "empty regex stage configuration")?;
    if cfg.expression.is_empty() {
        return Err("expression is required".into());
    }
    check_source(&cfg.source, "empty source")?;
    let regex = compile_regex(&cfg.expression)?;
    Ok(Box::new(Each(RegexStage {
        names: group_names(&regex),
        regex,
        source: cfg.source,
    })))
}

impl Processor for RegexStage {
    fn apply(&mut self, item: &mut Item) {
        let Some(text) = input(item, &self.source) else {
            return;
        };
        let Some(caps) = self.regex.captures(text.as_bytes()) else {
            return;
        };
        let found: Vec<String> = self
            .names
            .iter()
            .map(|(i, _)| {
                caps.get(*i)
                    .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
                    .unwrap_or_default()
            })
            .collect();
        drop(caps);
        drop(text);
        for ((_, name), v) in self.names.iter().zip(found) {
            item.extracted.insert(name.clone(), Value::Str(v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_encoding() {
        let cases = [
            (r#"[1,2.5,"a<b"]"#, r#"[1,2.5,"a\u003cb"]"#),
            (r#"{"b":1,"a":{"c":null}}"#, r#"{"a":{"c":null},"b":1}"#),
            (r#"[1e-7,1e21,1.0,1.5e-10]"#, r#"[1e-7,1e+21,1,1.5e-10]"#),
        ];
        for (input, want) in cases {
            let v = Variable::from_json(input).unwrap();
            let mut s = String::new();
            go_json(&v, &mut s);
            assert_eq!(s, want, "{input}");
        }
    }
}
