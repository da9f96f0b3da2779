//! `| line_format "…"`, `| label_format a=b, c="{{…}}"` and `| decolorize`.
//!
//! Templates are Go `text/template` (`bongsu-gotmpl`) with `missingkey=zero`, Loki's function
//! set ([`funcs`]) and Loki's data: every current label as `.name` (a `map[string]string`,
//! `__error__` included), plus the functions `__line__` (the line as it reaches the stage)
//! and `__timestamp__` (the entry's time). A template that fails at run time sets
//! `__error__="TemplateFormatErr"` with Go's message; `line_format` then keeps the line.
//!
//! As Loki: `line_format "{{.name}}"` is a plain label lookup (an absent label gives an
//! empty line); `label_format` applies its entries in order, renames (`a=b`: `b`'s value
//! moves to `a`, if `b` exists) seeing earlier entries, templates seeing the labels as they
//! were when the first template of the stage ran.

pub mod funcs;
pub mod gotime;
pub mod numeric;

use std::collections::BTreeMap;
use std::sync::Arc;

use bongsu_gotmpl::funcs::{FuncError, FuncMap};
use bongsu_gotmpl::time::Time;
use bongsu_gotmpl::value::MapKind;
use bongsu_gotmpl::{MissingKey, Template, Value};
use parking_lot::Mutex;

use crate::labels::{LabelsBuilder, ERROR_LABEL};
use crate::{StageError, ERR_TEMPLATE_FORMAT};

/// The line and timestamp `__line__`/`__timestamp__` return, set before each execution.
#[derive(Default)]
struct Current {
    line: String,
    ts: i64,
}

/// Templates of one stage, sharing Loki's functions and the current line.
#[derive(Clone)]
struct Templates {
    funcs: Arc<FuncMap>,
    current: Arc<Mutex<Current>>,
    /// Whether any template calls `__line__` or `__timestamp__` (else we skip setting them).
    uses_current: bool,
}

impl Templates {
    fn new() -> Templates {
        let current: Arc<Mutex<Current>> = Arc::default();
        let mut funcs = funcs::loki_funcs();
        let c = current.clone();
        funcs.insert("__line__", move |a| {
            bongsu_gotmpl::funcs::arity("__line__", a, 0)?;
            Ok(Value::str(&c.lock().line))
        });
        let c = current.clone();
        funcs.insert(
            "__timestamp__",
            move |a: &[Value]| -> Result<Value, FuncError> {
                bongsu_gotmpl::funcs::arity("__timestamp__", a, 0)?;
                let ts = c.lock().ts;
                Ok(Value::Time(Time::utc(
                    ts.div_euclid(1_000_000_000),
                    ts.rem_euclid(1_000_000_000) as u32,
                )))
            },
        );
        Templates {
            funcs: Arc::new(funcs),
            current,
            uses_current: false,
        }
    }

    fn parse(&mut self, name: &str, text: &str) -> Result<Template, String> {
        self.uses_current |= text.contains("__line__") || text.contains("__timestamp__");
        let mut t = Template::new(name)
            .shared_funcs(self.funcs.clone())
            .missing_key(MissingKey::Zero);
        t.parse(text).map_err(|e| e.to_string())?;
        Ok(t)
    }

    fn set_current(&self, ts: i64, line: &[u8]) {
        if self.uses_current {
            let mut c = self.current.lock();
            c.line.clear();
            c.line.push_str(&String::from_utf8_lossy(line));
            c.ts = ts;
        }
    }
}

/// The template data: the line's labels as a `map[string]string`.
fn data(lb: &LabelsBuilder) -> Value {
    let mut entries = BTreeMap::new();
    lb.for_each(|n, v| {
        entries.insert(n.to_string(), Value::str(v));
    });
    Value::map(MapKind::Strings, entries)
}

/// `{{.name}}` alone (with optional trim markers and spaces): the label name.
fn simple_key(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner).trim();
    let name = inner.strip_prefix('.')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    let ident =
        (first.is_alphabetic() || first == '_') && chars.all(|c| c.is_alphanumeric() || c == '_');
    ident.then_some(name)
}

/// The `line_format` stage.
#[derive(Clone)]
pub struct LineFormat {
    templates: Templates,
    template: Template,
    simple_key: Option<String>,
}

impl LineFormat {
    pub fn new(text: &str) -> Result<LineFormat, StageError> {
        let mut templates = Templates::new();
        let template = templates
            .parse("line", text)
            .map_err(|e| StageError::Template(format!("invalid line template: {e}")))?;
        Ok(LineFormat {
            templates,
            template,
            simple_key: simple_key(text).map(str::to_string),
        })
    }

    /// Writes the new line to `out`; false when the template failed (the line stays).
    pub fn process(&self, ts: i64, line: &[u8], lb: &mut LabelsBuilder, out: &mut Vec<u8>) -> bool {
        out.clear();
        if let Some(key) = &self.simple_key {
            out.extend_from_slice(lb.get(key).unwrap_or("").as_bytes());
            return true;
        }
        self.templates.set_current(ts, line);
        match self.template.execute(&data(lb)) {
            Ok(s) => {
                out.extend_from_slice(s.as_bytes());
                true
            }
            Err(e) => {
                lb.set_error(ERR_TEMPLATE_FORMAT, &e.to_string());
                false
            }
        }
    }
}

/// One entry of `label_format`.
#[derive(Clone)]
enum LabelFmt {
    /// `dst=src`.
    Rename { dst: String, src: String },
    /// `dst="template"`.
    Template {
        dst: String,
        template: Box<Template>,
    },
}

/// The `label_format` stage.
#[derive(Clone)]
pub struct LabelFormat {
    templates: Templates,
    formats: Vec<LabelFmt>,
}

impl LabelFormat {
    /// `entries` are `(label, value, is_rename)`: `a=b` is `("a", "b", true)`,
    /// `a="{{.b}}"` is `("a", "{{.b}}", false)`.
    pub fn new(entries: &[(&str, &str, bool)]) -> Result<LabelFormat, StageError> {
        let mut templates = Templates::new();
        let mut formats = Vec::with_capacity(entries.len());
        for (i, (dst, value, rename)) in entries.iter().enumerate() {
            if *dst == ERROR_LABEL {
                return Err(StageError::Template(format!("{dst} cannot be formatted")));
            }
            if entries[..i].iter().any(|(d, _, _)| d == dst) {
                return Err(StageError::Template(format!(
                    "multiple label name '{dst}' not allowed in a single format operation"
                )));
            }
            formats.push(if *rename {
                LabelFmt::Rename {
                    dst: dst.to_string(),
                    src: value.to_string(),
                }
            } else {
                let template = templates.parse("label", value).map_err(|e| {
                    StageError::Template(format!("invalid template for label '{dst}': {e}"))
                })?;
                LabelFmt::Template {
                    dst: dst.to_string(),
                    template: Box::new(template),
                }
            });
        }
        Ok(LabelFormat { templates, formats })
    }

    pub fn process(&self, ts: i64, line: &[u8], lb: &mut LabelsBuilder) {
        self.templates.set_current(ts, line);
        let mut snapshot: Option<Value> = None;
        for f in &self.formats {
            match f {
                LabelFmt::Rename { dst, src } => {
                    if let Some(v) = lb.get(src) {
                        let v = v.to_string();
                        lb.set_parsed(dst, &v);
                        lb.del(src);
                    }
                }
                LabelFmt::Template { dst, template } => {
                    let data = snapshot.get_or_insert_with(|| data(lb));
                    match template.execute(data) {
                        Ok(v) => lb.set_parsed(dst, &v),
                        Err(e) => lb.set_error(ERR_TEMPLATE_FORMAT, &e.to_string()),
                    }
                }
            }
        }
    }
}

/// ANSI escape sequences, as Loki's `decolorize` (from `acarl005/stripansi`).
const ANSI_PATTERN: &str = "[\u{1b}\u{9b}][\\[\\]()#;?]*(?:(?:(?:[a-zA-Z\\d]*(?:;[a-zA-Z\\d]*)*)?\u{7})|(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PRZcf-ntqry=><~]))";

/// The `decolorize` stage.
#[derive(Debug, Clone)]
pub struct Decolorize {
    regex: regex::bytes::Regex,
}

impl Decolorize {
    pub fn new() -> Result<Decolorize, StageError> {
        Ok(Decolorize {
            regex: crate::goregex::compile(ANSI_PATTERN).map_err(StageError::Regex)?,
        })
    }

    /// Writes the line without escape sequences to `out`; false when there were none.
    pub fn process(&self, line: &[u8], out: &mut Vec<u8>) -> bool {
        if !self.regex.is_match(line) {
            return false;
        }
        out.clear();
        out.extend_from_slice(&self.regex.replace_all(line, &b""[..]));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::Labels;

    fn builder() -> LabelsBuilder {
        let mut lb = LabelsBuilder::new(Labels::from_pairs(&[("app", "foo")]).unwrap());
        lb.set_parsed("status", "200");
        lb
    }

    #[test]
    fn line_format() {
        let mut out = Vec::new();
        let mut lb = builder();
        let f = LineFormat::new("{{.app}} {{.status | ToUpper}} {{.nope}} {{__line__}}").unwrap();
        assert!(f.process(0, b"orig", &mut lb, &mut out));
        assert_eq!(out, b"foo 200  orig");
        let f = LineFormat::new("{{ .status }}").unwrap();
        assert!(f.simple_key.is_some());
        f.process(0, b"x", &mut lb, &mut out);
        assert_eq!(out, b"200");
        let f = LineFormat::new("{{ __timestamp__ | unixEpochMillis }}").unwrap();
        f.process(1_700_000_000_123_000_000, b"x", &mut lb, &mut out);
        assert_eq!(out, b"1700000000123");
        assert!(LineFormat::new("{{ nope }}").is_err());
    }

    #[test]
    fn label_format() {
        let mut lb = builder();
        LabelFormat::new(&[
            ("s", "status", true),
            ("msg", "{{.app}}-{{.s}}-{{.status}}", false),
        ])
        .unwrap()
        .process(0, b"", &mut lb);
        assert_eq!(
            lb.result().to_string(),
            r#"{app="foo", msg="foo-200-", s="200"}"#
        );
        assert!(LabelFormat::new(&[("a", "b", true), ("a", "c", true)]).is_err());
    }

    #[test]
    fn decolorize() {
        let d = Decolorize::new().unwrap();
        let mut out = Vec::new();
        assert!(d.process(b"\x1b[31mred\x1b[0m text", &mut out));
        assert_eq!(out, b"red text");
    }
}
