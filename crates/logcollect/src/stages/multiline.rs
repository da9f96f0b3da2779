//! The `multiline` stage: lines of one stream are joined (with `\n`) into one entry from a
//! line matching `firstline` up to the next such line, `max_lines` lines, or `max_wait_time`
//! without a new line. The joined entry has the first line's labels, time and extracted map.
//!
//! As Promtail: a stream's lines pass unchanged until its first `firstline` match; after
//! that every line of the stream is held. Promtail's per-stream timer is [`Stage::flush`]
//! here, which the pipeline's owner calls with the current time.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use bongsu_logpipeline::units;
use regex::bytes::Regex;
use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use super::item::Item;
use super::pipeline::{decode, Built, Context, Stage, Weak};

const DEFAULT_MAX_LINES: u64 = 128;
const DEFAULT_MAX_WAIT_NS: i64 = 3_000_000_000;
/// Most streams one stage holds blocks for (Promtail has no bound); lines of further
/// streams pass unjoined.
pub const MAX_STREAMS: usize = 10_000;

#[derive(Deserialize, Default)]
#[serde(default)]
struct MultilineConfig {
    firstline: Option<String>,
    max_lines: Option<Weak>,
    max_wait_time: Option<String>,
}

/// The block being built for one stream.
struct Block {
    /// The entry of the block's first line (kept after a flush, as Promtail does).
    start: Option<Item>,
    lines: String,
    count: u64,
    last_seen_ns: i64,
}

struct MultilineStage {
    firstline: Regex,
    max_lines: u64,
    max_wait_ns: i64,
    streams: BTreeMap<u64, Block>,
}

pub(crate) fn multiline(v: &Yaml, _: &Context) -> Built {
    const EMPTY: &str = "multiline stage config must define `firstline` regular expression";
    let c: MultilineConfig = decode(v, EMPTY)?;
    let Some(first) = c.firstline else {
        return Err(EMPTY.into());
    };
    let firstline = bongsu_logpipeline::goregex::compile(&first)
        .map_err(|e| format!("multiline stage first line regex compilation error: {e}"))?;
    let max_wait_ns = match &c.max_wait_time {
        None => DEFAULT_MAX_WAIT_NS,
        Some(d) => units::parse_duration(d)
            .map_err(|e| format!("multiline stage `max_wait_time` parse error: {e}"))?,
    };
    Ok(Box::new(MultilineStage {
        firstline,
        max_lines: c.max_lines.map_or(DEFAULT_MAX_LINES, |w| w.0 as u64),
        max_wait_ns,
        streams: BTreeMap::new(),
    }))
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

impl Block {
    /// The joined entry, if any lines are held.
    fn take(&mut self) -> Option<Item> {
        if self.lines.is_empty() {
            return None;
        }
        let start = self.start.as_ref()?;
        let joined = Item {
            labels: start.labels.clone(),
            extracted: start.extracted.clone(),
            ts: start.ts,
            line: std::mem::take(&mut self.lines),
            metadata: start.metadata.clone(),
        };
        self.count = 0;
        Some(joined)
    }
}

impl Stage for MultilineStage {
    fn process(&mut self, item: Item, out: &mut Vec<Item>) {
        let key = item.stream_key();
        let is_first = self.firstline.is_match(item.line.as_bytes());
        if !self.streams.contains_key(&key) && (!is_first || self.streams.len() >= MAX_STREAMS) {
            out.push(item);
            return;
        }
        let block = self.streams.entry(key).or_insert_with(|| Block {
            start: None,
            lines: String::new(),
            count: 0,
            last_seen_ns: 0,
        });
        block.last_seen_ns = now_ns();
        if is_first {
            out.extend(block.take());
        }
        if !block.lines.is_empty() {
            block.lines.push('\n');
        }
        block.lines.push_str(&item.line);
        block.count += 1;
        if is_first {
            block.start = Some(item);
        }
        if block.count == self.max_lines {
            out.extend(block.take());
        }
    }

    fn flush(&mut self, now_ns: i64, out: &mut Vec<Item>) {
        for block in self.streams.values_mut() {
            if now_ns.saturating_sub(block.last_seen_ns) >= self.max_wait_ns {
                out.extend(block.take());
            }
        }
    }
}
