//! Log queries: lines of the selected streams, merged in time order, through the pipeline,
//! grouped by their final labels (stream labels, structured metadata and parsed labels
//! together, as Loki answers without `categorize-labels`).
//!
//! The limit counts lines that pass the pipeline: when the pipeline can drop lines, the scan
//! runs until enough passed; when it cannot (no stages beyond the needles), the store stops
//! by itself.
//!
//! Streams are independent until their lines meet in time order, so the streams are shared
//! out among the cores: each worker merges its share and keeps its first `limit` lines that
//! pass, and the first `limit` of all lie among those. `interval` thins each label set's lines
//! in the global order, so a query with one runs on a single worker.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use bongsu_logpipeline::{LabelsBuilder, LabelsResult, Pipeline};
use bongsu_logql::ast::{LogExpr, Stage};
use bongsu_logstore::{Direction, LogStore, ScanOptions, Selection};

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
    let workers = if r.interval > 0 {
        1
    } else {
        crate::workers(sel.streams().len())
    };
    let shares = shares(&sel, workers);
    let pipeline = &compiled.pipeline;
    let parts = crate::on_workers(workers, |w| {
        collect(&sel, &shares[w], &opts, pipeline.clone(), r)
    });
    let mut passed = Vec::new();
    for part in parts {
        passed.extend(part?);
    }
    Ok(group(passed, r))
}

/// A line that passed the pipeline, as a worker hands it to the merge.
struct Passed {
    ts: i64,
    /// Index into the selection's streams: ties in time go to the lower index.
    stream: usize,
    labels: Arc<LabelsResult>,
    line: String,
}

/// Stream indexes for each worker, ascending, with about the same number of entries each.
fn shares(sel: &Selection, workers: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<(u64, usize)> = sel
        .volumes()
        .iter()
        .enumerate()
        .map(|(i, &(_, _, entries))| (entries, i))
        .collect();
    order.sort_unstable_by(|a, b| b.cmp(a));
    let mut shares = vec![(0u64, Vec::new()); workers.max(1)];
    for (entries, i) in order {
        if let Some(least) = shares.iter_mut().min_by_key(|s| s.0) {
            least.0 += entries;
            least.1.push(i);
        }
    }
    shares
        .into_iter()
        .map(|(_, mut which)| {
            which.sort_unstable();
            which
        })
        .collect()
}

/// The first `r.limit` lines of the streams `which` that pass the pipeline (and, with an
/// interval, are due), in the query's direction.
fn collect(
    sel: &Selection,
    which: &[usize],
    opts: &ScanOptions,
    mut pipeline: Pipeline,
    r: &QueryRange,
) -> Result<Vec<Passed>, QueryError> {
    let mut builders: HashMap<usize, LabelsBuilder> = which
        .iter()
        .map(|&i| (i, LabelsBuilder::new(sel.streams()[i].labels.clone())))
        .collect();
    // Label-set hash → (labels, timestamp of the last line kept), for `interval`.
    let mut last_kept: HashMap<u64, Vec<(Arc<LabelsResult>, i64)>> = HashMap::new();
    let mut out = Vec::new();
    let mut meta_buf: Vec<(&str, &str)> = Vec::new();
    sel.scan_streams(which, opts, |i, _, e| {
        let Some(lb) = builders.get_mut(&i) else {
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
        let labels = lb.result();
        if r.interval > 0 {
            let kept = last_kept.entry(labels.hash()).or_default();
            match kept.iter_mut().find(|(l, _)| same_pairs(l, &labels)) {
                Some((_, prev)) => {
                    let due = match r.direction {
                        Direction::Forward => e.ts >= prev.saturating_add(r.interval),
                        Direction::Backward => e.ts <= prev.saturating_sub(r.interval),
                    };
                    if !due {
                        return ControlFlow::Continue(());
                    }
                    *prev = e.ts;
                }
                None => kept.push((labels.clone(), e.ts)),
            }
        }
        out.push(Passed {
            ts: e.ts,
            stream: i,
            labels,
            line,
        });
        if out.len() >= r.limit {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    Ok(out)
}

/// The workers' lines merged into the query's order, cut at the limit, grouped by label set
/// in the order each set is first met.
fn group(mut passed: Vec<Passed>, r: &QueryRange) -> Streams {
    // Stable: lines of one stream come from one worker, already in order.
    match r.direction {
        Direction::Forward => passed.sort_by_key(|p| (p.ts, p.stream)),
        Direction::Backward => passed.sort_by_key(|p| (std::cmp::Reverse(p.ts), p.stream)),
    }
    passed.truncate(r.limit);
    let mut out: Streams = Vec::new();
    // Label-set hash → indexes into `out` (compared by pairs on collision).
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    for p in passed {
        let candidates = index.entry(p.labels.hash()).or_default();
        let found = candidates.iter().copied().find(|&i| {
            out[i].labels.len() == p.labels.len()
                && out[i]
                    .labels
                    .iter()
                    .zip(p.labels.pairs())
                    .all(|((a, b), (c, d))| a == c && b == d)
        });
        let i = found.unwrap_or_else(|| {
            out.push(StreamEntries {
                labels: p
                    .labels
                    .pairs()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                entries: Vec::new(),
            });
            candidates.push(out.len() - 1);
            out.len() - 1
        });
        out[i].entries.push((p.ts, p.line));
    }
    out
}

fn same_pairs(a: &LabelsResult, b: &LabelsResult) -> bool {
    a.len() == b.len() && a.pairs().eq(b.pairs())
}
