//! Log queries: lines of the selected streams, merged in time order, through the pipeline,
//! grouped by their final labels (stream labels, structured metadata and parsed labels
//! together, as Loki answers without `categorize-labels`).
//!
//! The limit counts lines that pass the pipeline: when the pipeline can drop lines, the scan
//! runs until enough passed; when it cannot (no stages beyond the needles), the store stops
//! by itself.

use std::collections::HashMap;
use std::ops::ControlFlow;

use bongsu_logpipeline::LabelsBuilder;
use bongsu_logql::ast::{LogExpr, Stage};
use bongsu_logstore::{Direction, LogStore, ScanOptions};

use crate::compile::compile;
use crate::{recycle, QueryError, QueryRange};

/// A log query's answer: one entry list per distinct label set, in the order first met.
pub type Streams = Vec<StreamEntries>;

/// Lines of one label set, in the query's direction.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEntries {
    /// Sorted by name; values may be empty (a parser found the key without a value).
    pub labels: Vec<(String, String)>,
    /// `(Unix nanoseconds, line)`.
    pub entries: Vec<(i64, String)>,
}

pub(crate) fn query(
    store: &LogStore,
    expr: &LogExpr,
    r: &QueryRange,
) -> Result<Streams, QueryError> {
    let mut compiled = compile(&expr.stages)?;
    if r.end <= r.start || r.limit == 0 {
        return Ok(Vec::new());
    }
    let only_needles = expr
        .stages
        .iter()
        .all(|s| matches!(s, Stage::LineFilter(_)))
        && compiled.needles.len() == expr.stages.len();
    let opts = ScanOptions {
        direction: r.direction,
        // The store's limit counts lines it yields: right only when nothing drops lines later.
        limit: only_needles.then_some(r.limit),
        needles: std::mem::take(&mut compiled.needles),
    };
    let sel = store.select(&expr.matchers, r.start, r.end - 1)?;
    let mut builders: HashMap<u32, LabelsBuilder> = sel
        .streams()
        .iter()
        .map(|s| (s.id, LabelsBuilder::new(s.labels.clone())))
        .collect();
    let mut out: Streams = Vec::new();
    // Label-set hash → indexes into `out` (compared by pairs on collision).
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut last_kept: Vec<Option<i64>> = Vec::new();
    let mut kept = 0usize;
    let mut meta_buf: Vec<(&str, &str)> = Vec::new();
    let pipeline = &mut compiled.pipeline;
    sel.scan(&opts, |stream, e| {
        let Some(lb) = builders.get_mut(&stream.id) else {
            return ControlFlow::Continue(());
        };
        let mut meta = recycle(std::mem::take(&mut meta_buf));
        // Pushed by internal iteration: `extend` drives the store's chained iterator one
        // `next` at a time, which cost more than the rest of a line's metadata handling.
        e.metadata().for_each(|pair| meta.push(pair));
        let passed = pipeline.process(e.ts, e.line.as_bytes(), &meta, lb);
        meta_buf = recycle(meta);
        let Some(line) = passed else {
            return ControlFlow::Continue(());
        };
        let line = String::from_utf8_lossy(line).into_owned();
        let result = lb.result();
        let candidates = index.entry(result.hash()).or_default();
        let found = candidates.iter().copied().find(|&i| {
            out[i].labels.len() == result.len()
                && out[i]
                    .labels
                    .iter()
                    .zip(result.pairs())
                    .all(|((a, b), (c, d))| a == c && b == d)
        });
        let i = match found {
            Some(i) => i,
            None => {
                out.push(StreamEntries {
                    labels: result
                        .pairs()
                        .map(|(n, v)| (n.to_string(), v.to_string()))
                        .collect(),
                    entries: Vec::new(),
                });
                last_kept.push(None);
                candidates.push(out.len() - 1);
                out.len() - 1
            }
        };
        if r.interval > 0 {
            if let Some(prev) = last_kept[i] {
                let due = match r.direction {
                    Direction::Forward => e.ts >= prev.saturating_add(r.interval),
                    Direction::Backward => e.ts <= prev.saturating_sub(r.interval),
                };
                if !due {
                    return ControlFlow::Continue(());
                }
            }
            last_kept[i] = Some(e.ts);
        }
        out[i].entries.push((e.ts, line));
        kept += 1;
        if kept >= r.limit {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    Ok(out)
}
