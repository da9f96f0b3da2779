//! The container-runtime stages: `docker` (the JSON lines of Docker's `json-file` driver)
//! and `cri` (`<time> <stream> <flags> <content>` lines of containerd and CRI-O, with
//! partial lines (`P`) joined to the next full one (`F`) of the same stream).
//!
//! Both are fixed pipelines of other stages, as in Promtail.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use super::item::Item;
use super::pipeline::{self, decode_or_default, Built, Context, Stage, Weak};
use super::value::Value;

const DOCKER: &str = r#"
- json:
    expressions: {output: log, stream: stream, timestamp: time}
- labels: {stream: }
- timestamp: {source: timestamp, format: RFC3339Nano}
- output: {source: output}
"#;

const CRI: &str = r#"
- regex:
    expression: '^(?s)(?P<time>\S+?) (?P<stream>stdout|stderr) (?P<flags>\S+?) (?P<content>.*)$'
- labels: {stream: }
- timestamp: {source: time, format: RFC3339Nano}
- output: {source: content}
"#;

/// Promtail's default of `max_partial_lines`.
const DEFAULT_MAX_PARTIAL_LINES: usize = 100;

/// A fixed pipeline of other stages.
struct Fixed(Vec<Box<dyn Stage>>);

impl Stage for Fixed {
    fn process(&mut self, item: Item, out: &mut Vec<Item>) {
        out.extend(pipeline::run(&mut self.0, vec![item]));
    }
}

fn fixed(yaml: &str, ctx: &Context) -> Result<Vec<Box<dyn Stage>>, String> {
    let v: Yaml = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
    pipeline::build(&v, ctx).map_err(|e| e.to_string())
}

pub(crate) fn docker(_: &Yaml, ctx: &Context) -> Built {
    Ok(Box::new(Fixed(fixed(DOCKER, ctx)?)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CriConfig {
    max_partial_lines: Weak,
    max_partial_line_size: Option<Yaml>,
    max_partial_line_size_truncate: bool,
}

struct CriStage {
    base: Vec<Box<dyn Stage>>,
    max_partial_lines: usize,
    /// Truncate a joined partial line to this many bytes (0: never).
    max_line_size: usize,
    partial: BTreeMap<u64, Item>,
}

pub(crate) fn cri(v: &Yaml, ctx: &Context) -> Built {
    let c: CriConfig = decode_or_default(v)?;
    let max_line_size = match &c.max_partial_line_size {
        Some(v) if c.max_partial_line_size_truncate => {
            let text = pipeline::yaml_text(v);
            super::filter::parse_size(&text).ok_or_else(|| format!("invalid size {text:?}"))?
        }
        _ => 0,
    };
    Ok(Box::new(CriStage {
        base: fixed(CRI, ctx)?,
        max_partial_lines: match c.max_partial_lines.0 as usize {
            0 => DEFAULT_MAX_PARTIAL_LINES,
            n => n,
        },
        max_line_size,
        partial: BTreeMap::new(),
    }))
}

impl CriStage {
    fn truncate(&self, item: &mut Item) {
        if self.max_line_size > 0 && item.line.len() > self.max_line_size {
            let mut end = self.max_line_size;
            while !item.line.is_char_boundary(end) {
                end -= 1;
            }
            item.line.truncate(end);
        }
    }

    fn handle(&mut self, mut e: Item, out: &mut Vec<Item>) {
        let key = e.stream_key();
        let partial = matches!(e.extracted.get("flags"), Some(Value::Str(f)) if f == "P");
        if partial {
            if self.partial.len() >= self.max_partial_lines {
                // Too many streams with partial lines: send them all as they are.
                out.extend(std::mem::take(&mut self.partial).into_values());
                self.truncate(&mut e);
                self.partial.insert(key, e);
                return;
            }
            if let Some(prev) = self.partial.get(&key) {
                e.line = format!("{}{}", prev.line, e.line);
            }
            self.truncate(&mut e);
            self.partial.insert(key, e);
            return;
        }
        if let Some(prev) = self.partial.remove(&key) {
            e.line = format!("{}{}", prev.line, e.line);
            self.truncate(&mut e);
        }
        out.push(e);
    }
}

impl Stage for CriStage {
    fn process(&mut self, item: Item, out: &mut Vec<Item>) {
        for e in pipeline::run(&mut self.base, vec![item]) {
            self.handle(e, out);
        }
    }
}
