//! PromQL evaluation over the storage [`Querier`](bongsu_storage::Querier).
//!
//! Queries are parsed by [`parse`] (Prometheus' rules and messages; the AST is the
//! `promql-parser` crate's) and evaluated here. Evaluation is
//! column-at-a-time: every expression yields, for each output series, a value (or none) at
//! every step of the query, so a range query decodes each series once and walks its samples in
//! one pass. This crate never opens a file: it sees storage only through
//! [`Queryable`](bongsu_storage::Queryable).
//!
//! Supported: selectors, subqueries, operators with vector matching and `fill`, all
//! aggregations, float functions, classic and native histograms (a step holds a float or a
//! `FloatHistogram`), with Prometheus' annotations (warnings and infos); see
//! ARCHITECTURE.md. Anchored/smoothed ranges are rejected with an error that says they are
//! not supported yet.

mod aggregate;
mod annotations;
mod binary;
mod eval;
mod function;
mod functions;
mod hist_aggregate;
mod hist_annotations;
mod hist_binary;
mod hist_ops;
mod hist_stats;
#[cfg(test)]
mod hist_tests;
mod keys;
mod limits;
mod metrics;
mod numeric;
pub mod parse;
mod position;
mod prepared;
mod select_k;
mod value;

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use thiserror::Error;

pub use limits::{
    QueryOpts, QueryStats, SampleBudget, DEFAULT_MAX_SAMPLES, DEFAULT_MAX_SAMPLES_TOTAL,
    DEFAULT_TIMEOUT,
};
pub use metrics::{Active, EngineMetrics};
pub use parse::{parse, parse_metric_selector, to_string, ParseError};
pub use prepared::PreparedQuery;
pub use value::{HistogramPoint, Point, QueryOutput, QueryValue, RangeSeries, VectorSample};

use bongsu_storage::{Queryable, StorageError};

/// Default lookback for instant vector selectors, as in Prometheus.
pub const DEFAULT_LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// Most steps one range query may have, as in Prometheus.
pub const MAX_STEPS: i64 = 11_000;

#[derive(Debug, Error)]
pub enum PromqlError {
    /// The query text is not valid PromQL (Prometheus' `bad_data`).
    #[error("{0}")]
    Parse(String),
    /// Valid PromQL that this engine cannot evaluate yet.
    #[error("{0} is not supported yet")]
    Unsupported(String),
    /// Evaluation failed (Prometheus' `execution`).
    #[error("{0}")]
    Execution(String),
    /// The deadline passed (Prometheus' `timeout`); names where.
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    /// The query needed more than `--query.max-samples` (Prometheus' `execution`).
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(&'static str),
    /// The queries running at once would together hold more than `--query.max-samples-total`.
    #[error("query processing would pass the samples all running queries may hold (--query.max-samples-total); try again when fewer queries run")]
    ServerBusy,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Evaluates queries with a lookback delta and per-query limits.
#[derive(Debug, Clone)]
pub struct Engine {
    pub lookback_ms: i64,
    /// Keep the metric name until a result is returned (Prometheus' feature flag
    /// `promql-delayed-name-removal`, off by default there and here; upstream's test scripts
    /// run with it).
    pub delayed_name_removal: bool,
    /// Longest evaluation of one query (`--query.timeout`).
    pub timeout: Duration,
    /// Most samples one query may load (`--query.max-samples`).
    pub max_samples: usize,
    /// Most samples all running queries may hold together (`--query.max-samples-total`);
    /// clones of the engine share it. `None`: no bound.
    pub total_budget: Option<Arc<limits::SampleBudget>>,
    /// Timings and load of its queries, shared by its clones (the API's and the rules').
    pub metrics: Arc<EngineMetrics>,
}

impl Default for Engine {
    fn default() -> Engine {
        Engine {
            lookback_ms: DEFAULT_LOOKBACK_MS,
            delayed_name_removal: false,
            timeout: DEFAULT_TIMEOUT,
            max_samples: DEFAULT_MAX_SAMPLES,
            total_budget: None,
            metrics: Arc::default(),
        }
    }
}

impl Engine {
    /// Evaluates `query` at time `t` (ms).
    pub fn instant_query(
        &self,
        db: &dyn Queryable,
        query: &str,
        t: i64,
    ) -> Result<QueryOutput, PromqlError> {
        self.instant_query_with(db, query, t, &QueryOpts::default())
            .map(|(v, _)| v)
    }

    /// Evaluates `query` at every `step` from `start` to `end` (ms, inclusive).
    pub fn range_query(
        &self,
        db: &dyn Queryable,
        query: &str,
        start: i64,
        end: i64,
        step: Duration,
    ) -> Result<QueryOutput, PromqlError> {
        self.range_query_with(db, query, start, end, step, &QueryOpts::default())
            .map(|(v, _)| v)
    }

    /// [`Engine::instant_query`] with per-query options; also returns what the query cost.
    pub fn instant_query_with(
        &self,
        db: &dyn Queryable,
        query: &str,
        t: i64,
        opts: &QueryOpts,
    ) -> Result<(QueryOutput, QueryStats), PromqlError> {
        let began = Instant::now();
        let prepared = PreparedQuery::new(query)?;
        self.run(db, &prepared, began, (t, t, 1), opts, |ev, expr| {
            ev.instant(expr)
        })
    }

    /// Evaluates an already parsed query at time `t` (ms), with the default options.
    pub fn instant_query_prepared(
        &self,
        db: &dyn Queryable,
        query: &PreparedQuery,
        t: i64,
    ) -> Result<QueryOutput, PromqlError> {
        let opts = QueryOpts::default();
        self.run(db, query, Instant::now(), (t, t, 1), &opts, |ev, expr| {
            ev.instant(expr)
        })
        .map(|(v, _)| v)
    }

    /// [`Engine::range_query`] with per-query options; also returns what the query cost.
    pub fn range_query_with(
        &self,
        db: &dyn Queryable,
        query: &str,
        start: i64,
        end: i64,
        step: Duration,
        opts: &QueryOpts,
    ) -> Result<(QueryOutput, QueryStats), PromqlError> {
        let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
        if step_ms <= 0 {
            return Err(PromqlError::Parse("zero or negative query resolution step widths are not accepted. Try a positive integer".into()));
        }
        if end < start {
            return Err(PromqlError::Parse(
                "end timestamp must not be before start time".into(),
            ));
        }
        if end.saturating_sub(start) / step_ms > MAX_STEPS {
            return Err(PromqlError::Parse("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into()));
        }
        let began = Instant::now();
        let prepared = PreparedQuery::new(query)?;
        self.run(
            db,
            &prepared,
            began,
            (start, end, step_ms),
            opts,
            |ev, expr| ev.range(expr),
        )
    }

    /// Evaluates a parsed query; `began` is when the request started (parsing counts as
    /// preparation).
    fn run(
        &self,
        db: &dyn Queryable,
        query: &PreparedQuery,
        began: Instant,
        (start, end, step): (i64, i64, i64),
        opts: &QueryOpts,
        eval: impl FnOnce(
            &eval::Evaluator,
            &promql_parser::parser::Expr,
        ) -> Result<QueryValue, PromqlError>,
    ) -> Result<(QueryOutput, QueryStats), PromqlError> {
        let _active = self.metrics.active();
        let deadline = opts.deadline.unwrap_or(began + self.timeout);
        let ctx = limits::QueryCtx::new(deadline, self.max_samples, self.total_budget.clone());
        let annotations = RefCell::default();
        let lookback = opts.lookback_ms.unwrap_or(self.lookback_ms);
        let evaluator = eval::Evaluator::new(
            db,
            &ctx,
            (query.positions(), &annotations),
            (lookback, self.delayed_name_removal),
            start,
            end,
            step,
        );
        let prepared = Instant::now();
        ctx.check_deadline()?;
        let value = eval(&evaluator, query.expr())?;
        // Loops that stop early when out of time leave a partial value: never return it.
        ctx.check_deadline()?;
        let stats = QueryStats {
            preparation: prepared - began,
            inner_eval: prepared.elapsed(),
            result_sort: ctx.sort_time().unwrap_or_default(),
            samples_read: ctx.samples_read(),
            peak_samples: ctx.samples_charged(),
        };
        self.metrics.observe_query(
            stats.preparation,
            stats.inner_eval,
            ctx.sort_time(),
            stats.samples_read,
        );
        Ok((
            QueryOutput::new(value, &annotations.into_inner(), query.text()),
            stats,
        ))
    }
}
