//! The Go-template stages: `template` (sets an extracted value from a template over the
//! extracted map, `.Value` and `.Entry`) and `replace` (rewrites what a regex's groups
//! matched, in the line or an extracted value, through a template over `.Value`).
//!
//! Functions: Promtail's extras (`ToLower`, `ToUpper`, `Replace`, `Trim*`, `Hash` (SHA3-256),
//! `Sha2Hash` (SHA-256), `regexReplaceAll`, `regexReplaceAllLiteral`) and the sprig
//! functions Loki's LogQL templates have (`bongsu_logpipeline::format::funcs`); the rest of
//! sprig is not there (a template naming one fails to parse, as an unknown function).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use bongsu_gotmpl::funcs::{arity, str_arg, FuncMap};
use bongsu_gotmpl::value::MapKind;
use bongsu_gotmpl::{Template, Value as TValue};
use regex::bytes::Regex;
use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;
use sha3::Digest;

use super::extract::{compile_regex, group_names};
use super::item::Item;
use super::pipeline::{decode, Built, Context, Each, Processor};
use super::value::Value;

/// Promtail's template functions, built once.
fn functions() -> Arc<FuncMap> {
    static FUNCS: OnceLock<Arc<FuncMap>> = OnceLock::new();
    FUNCS
        .get_or_init(|| {
            let mut m = bongsu_logpipeline::format::funcs::loki_funcs();
            m.insert("Hash", |a| {
                arity("Hash", a, 2)?;
                let mut h = sha3::Sha3_256::new();
                h.update(str_arg(&a[0])?.as_bytes());
                h.update(str_arg(&a[1])?.as_bytes());
                Ok(TValue::str(hex(&h.finalize())))
            });
            m.insert("Sha2Hash", |a| {
                arity("Sha2Hash", a, 2)?;
                let mut c = ring::digest::Context::new(&ring::digest::SHA256);
                c.update(str_arg(&a[0])?.as_bytes());
                c.update(str_arg(&a[1])?.as_bytes());
                Ok(TValue::str(hex(c.finish().as_ref())))
            });
            Arc::new(m)
        })
        .clone()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Parses a template as Promtail does (`template.New("pipeline_template")`, Go's default
/// `missingkey`, which prints `<no value>`).
fn parse(text: &str) -> Result<Template, String> {
    let mut t = Template::new("pipeline_template").shared_funcs(functions());
    t.parse(text).map_err(|e| e.to_string())?;
    Ok(t)
}

/// The extracted values that are strings or convert to one, as the template's data.
fn data(item: &Item) -> BTreeMap<String, TValue> {
    item.extracted
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), TValue::str(v.as_string()?))))
        .collect()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TemplateConfig {
    source: String,
    template: String,
}

struct TemplateStage {
    source: String,
    template: Template,
}

pub(crate) fn template(v: &Yaml, _: &Context) -> Built {
    let cfg: TemplateConfig = decode(v, "template stage config cannot be empty")?;
    if cfg.source.is_empty() {
        return Err("template source value is required".into());
    }
    Ok(Box::new(Each(TemplateStage {
        template: parse(&cfg.template)?,
        source: cfg.source,
    })))
}

impl Processor for TemplateStage {
    fn apply(&mut self, item: &mut Item) {
        let mut td = data(item);
        if let Some(v) = td.get(&self.source).cloned() {
            td.insert("Value".into(), v);
        }
        td.insert("Entry".into(), TValue::str(&item.line));
        let Ok(out) = self.template.execute(&TValue::map(MapKind::Any, td)) else {
            return;
        };
        if out.is_empty() {
            item.extracted.remove(&self.source);
        } else {
            item.extracted.insert(self.source.clone(), Value::Str(out));
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReplaceConfig {
    expression: String,
    source: Option<String>,
    replace: String,
}

struct ReplaceStage {
    regex: Regex,
    names: Vec<(usize, String)>,
    source: Option<String>,
    template: Template,
}

pub(crate) fn replace(v: &Yaml, _: &Context) -> Built {
    let cfg: ReplaceConfig = decode(v, "empty replace stage configuration")?;
    if cfg.expression.is_empty() {
        return Err("expression is required".into());
    }
    if cfg.source.as_deref() == Some("") {
        return Err("empty source in replace stage".into());
    }
    let regex = compile_regex(&cfg.expression)?;
    // Promtail parses `replace` for every entry and skips the entry when it fails; a
    // template that cannot parse is refused here instead, once.
    let template = parse(&cfg.replace)?;
    Ok(Box::new(Each(ReplaceStage {
        names: group_names(&regex),
        regex,
        source: cfg.source,
        template,
    })))
}

impl Processor for ReplaceStage {
    fn apply(&mut self, item: &mut Item) {
        let input = match &self.source {
            None => item.line.clone(),
            Some(s) => match item.extracted_string(s) {
                Some(v) => v,
                None => return,
            },
        };
        let bytes = input.as_bytes();
        let Some(first) = self.regex.captures(bytes) else {
            return;
        };
        let mut td = data(item);
        let mut result = String::with_capacity(input.len());
        let mut prev_end = 0;
        // What each captured text was replaced with, for the named groups below.
        let mut replaced: HashMap<&str, String> = HashMap::new();
        for caps in self.regex.captures_iter(bytes) {
            for m in caps.iter().skip(1).flatten() {
                let captured = &input[m.start()..m.end()];
                td.insert("Value".into(), TValue::str(captured));
                let Ok(out) = self
                    .template
                    .execute(&TValue::map(MapKind::Any, td.clone()))
                else {
                    return;
                };
                if prev_end == 0 || prev_end <= m.start() {
                    result.push_str(&input[prev_end..m.start()]);
                    result.push_str(&out);
                    prev_end = m.end();
                }
                replaced.insert(captured, out);
            }
        }
        result.push_str(&input[prev_end..]);
        match &self.source {
            Some(s) => {
                item.extracted.insert(s.clone(), Value::Str(result));
            }
            None => item.line = result,
        }
        for (i, name) in &self.names {
            let captured = first.get(*i).map_or("", |m| &input[m.start()..m.end()]);
            if let Some(v) = replaced.get(captured) {
                item.extracted.insert(name.clone(), Value::Str(v.clone()));
            }
        }
    }
}
