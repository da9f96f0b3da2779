//! PromQL evaluation over the storage [`Querier`](crate::tsdb::Querier).
//!
//! Queries are parsed by [`parse`] (Prometheus' rules and messages; the AST is the
//! `promql-parser` crate's) and evaluated here. Evaluation is
//! column-at-a-time: every expression yields, for each output series, a value (or none) at
//! every step of the query, so a range query decodes each series once and walks its samples in
//! one pass. This module never opens a file: it sees storage only through [`Queryable`].
//!
//! Supported: selectors, subqueries, operators with vector matching and `fill`, all
//! aggregations, float functions and classic histogram functions, with Prometheus'
//! annotations (warnings and infos); see ARCHITECTURE.md. Native histograms and
//! anchored/smoothed ranges are rejected with an error that says they are not supported yet.

mod aggregate;
mod annotations;
mod binary;
mod eval;
mod functions;
mod keys;
mod numeric;
pub mod parse;
mod position;
mod select_k;
mod value;

use std::cell::RefCell;
use std::time::Duration;

use thiserror::Error;

pub use parse::{parse, parse_metric_selector, to_string, ParseError};
pub use value::{Point, QueryOutput, QueryValue, RangeSeries, VectorSample};

use position::Positions;

use crate::tsdb::{Db, Querier, StorageError};

/// Default lookback for instant vector selectors, as in Prometheus.
pub const DEFAULT_LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// Most steps one range query may have, as in Prometheus.
pub const MAX_STEPS: i64 = 11_000;

/// Something that can hand out queriers over a time range.
pub trait Queryable {
    fn querier(&self, mint: i64, maxt: i64) -> Querier;
}

impl Queryable for Db {
    fn querier(&self, mint: i64, maxt: i64) -> Querier {
        Db::querier(self, mint, maxt)
    }
}

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
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Evaluates queries with a fixed lookback delta.
#[derive(Debug, Clone)]
pub struct Engine {
    pub lookback_ms: i64,
    /// Keep the metric name until a result is returned (Prometheus' feature flag
    /// `promql-delayed-name-removal`, off by default there and here; upstream's test scripts
    /// run with it).
    pub delayed_name_removal: bool,
}

impl Default for Engine {
    fn default() -> Engine {
        Engine {
            lookback_ms: DEFAULT_LOOKBACK_MS,
            delayed_name_removal: false,
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
        let expr = parse(query).map_err(|e| PromqlError::Parse(e.to_string()))?;
        let (positions, annotations) = (Positions::locate(query, &expr), RefCell::default());
        let ev = eval::Evaluator::new(db, (&positions, &annotations), self, t, t, 1);
        let value = ev.instant(&expr)?;
        Ok(QueryOutput::new(value, &annotations.into_inner(), query))
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
        let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
        if step_ms <= 0 {
            return Err(PromqlError::Parse("zero or negative query resolution step widths are not accepted. Try a positive integer".into()));
        }
        if end < start {
            return Err(PromqlError::Parse(
                "end timestamp must not be before start time".into(),
            ));
        }
        if (end - start) / step_ms >= MAX_STEPS {
            return Err(PromqlError::Parse("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into()));
        }
        let expr = parse(query).map_err(|e| PromqlError::Parse(e.to_string()))?;
        let (positions, annotations) = (Positions::locate(query, &expr), RefCell::default());
        let ev = eval::Evaluator::new(db, (&positions, &annotations), self, start, end, step_ms);
        let value = ev.range(&expr)?;
        Ok(QueryOutput::new(value, &annotations.into_inner(), query))
    }
}
