//! The stages that rewrite the line: `output` (an extracted value becomes the line),
//! `pack` (labels and line packed into one JSON object, for LogQL's `| unpack`) and
//! `decolorize` (ANSI colour sequences removed, as LogQL's `| decolorize`).

use std::time::{SystemTime, UNIX_EPOCH};

use bongsu_logpipeline::format::Decolorize;
use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use super::extract::go_json_string;
use super::item::Item;
use super::pipeline::{decode, Built, Context, Each, Processor};

/// The key of the original line in a packed object (Loki's `PackedEntryKey`).
const PACKED_ENTRY_KEY: &str = "_entry";

#[derive(Deserialize, Default)]
#[serde(default)]
struct OutputConfig {
    source: String,
}

struct OutputStage(String);

pub(crate) fn output(v: &Yaml, _: &Context) -> Built {
    let c: OutputConfig = decode(v, "output stage config cannot be empty")?;
    if c.source.is_empty() {
        return Err("output source value is required if output is specified".into());
    }
    Ok(Box::new(Each(OutputStage(c.source))))
}

impl Processor for OutputStage {
    fn apply(&mut self, item: &mut Item) {
        if let Some(v) = item.extracted_string(&self.0) {
            item.line = v;
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PackConfig {
    labels: Vec<String>,
    ingest_timestamp: Option<bool>,
}

struct PackStage {
    labels: Vec<String>,
    ingest_timestamp: bool,
}

pub(crate) fn pack(v: &Yaml, _: &Context) -> Built {
    let c: PackConfig = if v.is_null() {
        PackConfig::default()
    } else {
        decode(v, "")?
    };
    let mut labels = c.labels;
    labels.sort();
    labels.dedup();
    Ok(Box::new(Each(PackStage {
        labels,
        ingest_timestamp: c.ingest_timestamp.unwrap_or(true),
    })))
}

impl Processor for PackStage {
    fn apply(&mut self, item: &mut Item) {
        let mut out = String::with_capacity(item.line.len() + 64);
        out.push('{');
        for name in &self.labels {
            let Some(v) = item.extracted_string(name) else {
                continue;
            };
            go_json_string(name, &mut out);
            out.push(':');
            go_json_string(&v, &mut out);
            out.push(',');
            item.labels.remove(name);
        }
        go_json_string(PACKED_ENTRY_KEY, &mut out);
        out.push(':');
        go_json_string(&item.line, &mut out);
        out.push('}');
        item.line = out;
        if self.ingest_timestamp {
            item.ts = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(item.ts, |d| d.as_nanos() as i64);
        }
    }
}

struct DecolorizeStage {
    d: Decolorize,
    buf: Vec<u8>,
}

pub(crate) fn decolorize(_: &Yaml, _: &Context) -> Built {
    Ok(Box::new(Each(DecolorizeStage {
        d: Decolorize::new().map_err(|e| e.to_string())?,
        buf: Vec::new(),
    })))
}

impl Processor for DecolorizeStage {
    fn apply(&mut self, item: &mut Item) {
        if self.d.process(item.line.as_bytes(), &mut self.buf) {
            item.line = String::from_utf8_lossy(&self.buf).into_owned();
        }
    }
}
