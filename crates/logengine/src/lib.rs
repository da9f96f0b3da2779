//! LogQL evaluation: a parsed query ([`bongsu_logql::Expr`]) run over the log store
//! ([`bongsu_logstore::LogStore`]) with Loki's semantics.
//!
//! - Log queries (`{…} |= "x" | json …`) select streams, scan their lines merged in time order
//!   (forward or backward, up to a limit), run the pipeline and group what passes by its final
//!   labels ([`Streams`]). Literal `|=` filters before any stage that rewrites the line are
//!   pushed down to the store as needles, so it skips chunks whose token filter excludes them.
//! - Metric queries produce the value model of PromQL (`promql::QueryValue`'s vector and
//!   matrix), so the HTTP layer writes them as Prometheus' JSON does: range aggregations over
//!   each series' samples in the window `(t - range, t]` of every step, then vector
//!   aggregations, binary operators, `label_replace` and literals step by step.
//!
//! - Exploration for Grafana Logs Drilldown: the fields of a sample of a log query's lines
//!   ([`detected_fields`], [`detected_field_values`]), log patterns mined with Drain
//!   ([`patterns`]).
//!
//! Modules: `compile` (AST stages → pipeline stages, needles), `logs` (log queries),
//! `range` (range aggregations), `series` (which series a line's sample joins), `steps` (a
//! metric value at every step), `vector` (vector aggregations), `binary` (operators), `eval`
//! (the metric expression walk), `detect` (detected fields), `patterns` (Drain).
//!
//! Not here: parsing (`bongsu-logql`), the per-line stages (`bongsu-logpipeline`), storage
//! (`bongsu-logstore`), HTTP parameters and JSON (the API crate).

mod binary;
mod compile;
mod detect;
mod eval;
mod logs;
mod patterns;
mod range;
mod series;
mod steps;
mod vector;

use bongsu_logql::Expr;
use bongsu_logstore::{Direction, LogStore, LogStoreError};
use bongsu_model::Labels;
use bongsu_promql::QueryValue;
use thiserror::Error;

pub use detect::{detected_field_values, detected_fields, DetectedField, FieldType};
pub use logs::{StreamEntries, Streams};
pub use patterns::{patterns, PatternSeries, PATTERN_LINE_LIMIT};

/// Most samples one metric query may hold in memory (all series' samples in the scanned
/// range), as Prometheus bounds a query's samples.
pub const MAX_SAMPLES: usize = 50_000_000;
/// Most steps of a range query (Loki's and Prometheus' limit).
pub const MAX_STEPS: i64 = 11_000;
/// Most series a metric query may produce at one step.
pub const MAX_SERIES: usize = 500_000;

/// Why a query failed. Messages follow Loki's where it has one.
#[derive(Debug, Error)]
pub enum QueryError {
    /// A query Loki accepts but cannot run (a stage that fails to build, a bad template).
    #[error("{0}")]
    BadQuery(String),
    /// A metric query whose samples carry `__error__` (Loki's pipeline error).
    #[error("pipeline error: '{error}' for series: '{series}'.\nUse a label filter to intercept this error.")]
    Pipeline { error: String, series: String },
    /// A limit of this engine was reached.
    #[error("{0}")]
    Limit(String),
    #[error(transparent)]
    Store(#[from] LogStoreError),
}

/// One evaluation's time range and shape. Times are Unix nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct QueryRange {
    /// Log queries: lines with `start <= ts < end`. Metric queries: steps from `start` to
    /// `end` inclusive, `step` apart (an instant query has `start == end`).
    pub start: i64,
    pub end: i64,
    /// Nanoseconds; at least 1.
    pub step: i64,
    /// Log queries: keep an entry of a stream only `interval` after the previous one kept (0:
    /// every entry).
    pub interval: i64,
    pub direction: Direction,
    /// Log queries: most entries returned.
    pub limit: usize,
}

/// What a query returns.
#[derive(Debug, Clone, PartialEq)]
pub enum LogqlValue {
    Streams(Streams),
    /// A vector (instant queries) or matrix (range queries) of metric values; scalars only
    /// from literal-only queries.
    Metric(QueryValue),
}

/// Runs `expr` over `store`.
pub fn evaluate(store: &LogStore, expr: &Expr, r: &QueryRange) -> Result<LogqlValue, QueryError> {
    match expr {
        Expr::Log(log) => Ok(LogqlValue::Streams(logs::query(store, log, r)?)),
        Expr::Metric(m) => Ok(LogqlValue::Metric(eval::query(store, m, r)?)),
    }
}

/// An empty buffer with `v`'s allocation, for borrowed pairs of another lifetime: the
/// metadata of each line borrows from that line, and a line's pairs must not outlive it,
/// but one allocation can serve every line (the in-place `collect` keeps it).
/// Threads for a query over `streams` streams: one per core, never more than streams.
pub(crate) fn workers(streams: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(streams)
        .max(1)
}

/// `work(0)`, …, `work(workers - 1)`, each on its own thread (the first on the caller's), in
/// worker order.
pub(crate) fn on_workers<T: Send>(
    workers: usize,
    work: impl Fn(usize) -> Result<T, QueryError> + Sync,
) -> Vec<Result<T, QueryError>> {
    if workers <= 1 {
        return vec![work(0)];
    }
    std::thread::scope(|scope| {
        let work = &work;
        let others: Vec<_> = (1..workers).map(|w| scope.spawn(move || work(w))).collect();
        let mut out = vec![work(0)];
        out.extend(others.into_iter().map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(QueryError::Limit("a query worker thread panicked".into())))
        }));
        out
    })
}

pub(crate) fn recycle<'b>(mut v: Vec<(&str, &str)>) -> Vec<(&'b str, &'b str)> {
    v.clear();
    v.into_iter().map(|_| ("", "")).collect()
}

/// `{a="b", c="d"}`, as Loki prints a label set in messages.
pub(crate) fn print_labels(labels: &Labels) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|l| format!("{}={:?}", l.name, &*l.value))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}
