//! The binary's side of rules on LogQL: the rules crate's [`LogQuerier`] over the log store
//! (with `logengine`), and the throwaway log stores of `bongsu test rules` ([`TempLogStores`]).
//!
//! The rules crate cannot reach the store (it must not depend on `tsdb`, which the store
//! reuses), so the binary, which owns both, connects them here.
//!
//! Not here: the rules themselves (`bongsu-rules`), LogQL evaluation (`bongsu-logengine`).

use std::sync::Arc;
use std::time::Duration;

use bongsu_logengine::{evaluate, LogqlValue, QueryRange};
use bongsu_logql::Expr;
use bongsu_logstore::{Direction, LogStore, LogStoreOptions};
use bongsu_model::log::LogStream;
use bongsu_model::Labels;
use bongsu_promql::{QueryValue, VectorSample};
use bongsu_rules::unittest::logs::{TestLogStore, TestLogStores};
use bongsu_rules::LogQuerier;

/// LogQL rule queries over the server's log store, as Loki's ruler runs them: an instant
/// query at the evaluation time.
pub struct StoreLogQuerier {
    pub store: Arc<LogStore>,
}

impl LogQuerier for StoreLogQuerier {
    fn instant_query(&self, expr: &Expr, at_ms: i64) -> Result<Vec<VectorSample>, String> {
        instant_query(&self.store, expr, at_ms)
    }
}

/// Runs `expr` at `at_ms`; errors in Loki's ruler's words.
fn instant_query(store: &LogStore, expr: &Expr, at_ms: i64) -> Result<Vec<VectorSample>, String> {
    let at = at_ms.saturating_mul(1_000_000);
    let r = QueryRange {
        start: at,
        end: at,
        step: 1,
        interval: 0,
        direction: Direction::Backward,
        limit: 0,
    };
    match evaluate(store, expr, &r) {
        Ok(LogqlValue::Metric(QueryValue::Vector(v))) => Ok(v),
        Ok(LogqlValue::Metric(QueryValue::Scalar(p))) => Ok(vec![VectorSample {
            labels: Labels::empty(),
            t: p.t,
            v: p.v,
            h: None,
        }]),
        Ok(_) => Err("rule result is not a vector or scalar".to_string()),
        Err(e) => Err(format!("rule evaluation failed: {e}")),
    }
}

/// Log stores for rule unit tests, each in its own temporary directory (deleted with it).
/// Test times start at 1970, so the store keeps every line: no retention, no out-of-order
/// window, no time-based head cut.
pub struct TempLogStores;

struct TempLogStore {
    // Dropped before the directory it lives in.
    store: LogStore,
    _dir: tempfile::TempDir,
}

impl TestLogStores for TempLogStores {
    fn create(&self) -> Result<Arc<dyn TestLogStore>, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("creating a log store: {e}"))?;
        let opts = LogStoreOptions {
            retention: Duration::MAX,
            out_of_order_window_ns: i64::MAX,
            head_max_span_ns: i64::MAX,
            ..LogStoreOptions::default()
        };
        let store = LogStore::open(dir.path(), opts)
            .map_err(|e| format!("opening a log store in {}: {e}", dir.path().display()))?;
        Ok(Arc::new(TempLogStore { store, _dir: dir }))
    }
}

impl LogQuerier for TempLogStore {
    fn instant_query(&self, expr: &Expr, at_ms: i64) -> Result<Vec<VectorSample>, String> {
        instant_query(&self.store, expr, at_ms)
    }
}

impl TestLogStore for TempLogStore {
    fn append(&self, streams: &[LogStream]) -> Result<(), String> {
        let report = self
            .store
            .append(streams)
            .map_err(|e| format!("storing input_logs: {e}"))?;
        match report.rejected.first() {
            None => Ok(()),
            Some((_, _, why)) => Err(format!("input_logs: a line was refused: {why}")),
        }
    }
}
