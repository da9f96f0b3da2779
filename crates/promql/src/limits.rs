//! Query limits and statistics: a deadline (`--query.timeout`, the API's `timeout`), a
//! budget of samples one query may load (`--query.max-samples`) and one shared by all running
//! queries (`--query.max-samples-total`), checked where evaluation loads samples from storage
//! or materialises subquery steps, plus the counters behind the API's `stats`. The
//! concurrency limit lives in the API, which queues queries before they start.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::PromqlError;

/// Prometheus' default `--query.max-samples`.
pub const DEFAULT_MAX_SAMPLES: usize = 50_000_000;

/// Default `--query.max-samples-total`: four queries at the per-query limit (about 3 GB of
/// samples), whatever `--query.max-concurrency` lets run. Prometheus has no such bound, and
/// concurrent wide queries can grow it until the kernel kills it.
pub const DEFAULT_MAX_SAMPLES_TOTAL: usize = 4 * DEFAULT_MAX_SAMPLES;

/// Samples held by all running queries, against a limit: each query charges what it holds
/// and gives it back when it ends.
#[derive(Debug)]
pub struct SampleBudget {
    limit: usize,
    in_use: AtomicUsize,
}

impl SampleBudget {
    pub fn new(limit: usize) -> SampleBudget {
        SampleBudget {
            limit,
            in_use: AtomicUsize::new(0),
        }
    }

    /// Samples charged by the queries running now.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Relaxed)
    }

    /// Takes `n` samples; refuses (taking nothing) when that would pass the limit.
    fn take(&self, n: usize) -> bool {
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, n: usize) {
        self.in_use.fetch_sub(n, Ordering::AcqRel);
    }
}

/// Prometheus' default `--query.timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Options of one query, beyond the engine's settings.
#[derive(Debug, Clone, Default)]
pub struct QueryOpts {
    /// When evaluation must stop with a timeout error; `None` means the engine's timeout from
    /// the start of evaluation.
    pub deadline: Option<Instant>,
    /// Overrides the engine's lookback delta (the API's `lookback_delta`).
    pub lookback_ms: Option<i64>,
}

/// What a query cost, for the API's `stats`.
#[derive(Debug, Clone, Default)]
pub struct QueryStats {
    /// Parsing and preparing the query.
    pub preparation: Duration,
    /// Evaluating the expression.
    pub inner_eval: Duration,
    /// Sorting a range query's series by labels (part of `inner_eval`); zero for instant
    /// queries, as Prometheus reports it.
    pub result_sort: Duration,
    /// Samples loaded from storage.
    pub samples_read: u64,
    /// Samples charged against the `--query.max-samples` budget over the whole query: those
    /// loaded from storage, one per step and series of instant selectors, and the steps of
    /// subqueries. Unlike Prometheus, which counts the points held at one time, this counts
    /// what this engine holds: every raw sample in a selector's range is decoded at once.
    pub peak_samples: u64,
}

/// The limits and counters of one running query; shared by all evaluators of the query.
pub(super) struct QueryCtx {
    deadline: Instant,
    max_samples: usize,
    read: Cell<u64>,
    charged: Cell<usize>,
    /// The budget of all running queries, charged alongside this query's own.
    shared: Option<Arc<SampleBudget>>,
    /// Set once a range result was sorted.
    sort: Cell<Option<Duration>>,
}

impl QueryCtx {
    pub(super) fn new(
        deadline: Instant,
        max_samples: usize,
        shared: Option<Arc<SampleBudget>>,
    ) -> QueryCtx {
        QueryCtx {
            deadline,
            max_samples,
            read: Cell::new(0),
            charged: Cell::new(0),
            shared,
            sort: Cell::new(None),
        }
    }

    /// Fails once the deadline has passed.
    pub(super) fn check_deadline(&self) -> Result<(), PromqlError> {
        if Instant::now() >= self.deadline {
            return Err(PromqlError::Timeout("expression evaluation"));
        }
        Ok(())
    }

    /// Counts `n` samples loaded from storage against the budget.
    pub(super) fn loaded(&self, n: usize) -> Result<(), PromqlError> {
        self.read.set(self.read.get().saturating_add(n as u64));
        self.charge(n)
    }

    /// Counts `n` samples held in memory against the budget.
    pub(super) fn charge(&self, n: usize) -> Result<(), PromqlError> {
        if let Some(shared) = &self.shared {
            if !shared.take(n) {
                return Err(PromqlError::ServerBusy);
            }
        }
        let total = self.charged.get().saturating_add(n);
        self.charged.set(total);
        if total > self.max_samples {
            return Err(PromqlError::TooManySamples("query execution"));
        }
        self.check_deadline()
    }

    /// Counts time spent sorting the result.
    pub(super) fn sorted(&self, took: Duration) {
        self.sort
            .set(Some(self.sort.get().unwrap_or_default() + took));
    }

    /// Time spent sorting the result; `None` when nothing was (an instant query).
    pub(super) fn sort_time(&self) -> Option<Duration> {
        self.sort.get()
    }

    pub(super) fn samples_read(&self) -> u64 {
        self.read.get()
    }

    pub(super) fn samples_charged(&self) -> u64 {
        self.charged.get() as u64
    }
}

impl Drop for QueryCtx {
    /// The query's samples are freed with it: they go back to the shared budget.
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            shared.give_back(self.charged.get());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;
    use bongsu_model::Labels;
    use bongsu_storage::memory::MemStorage;
    use bongsu_storage::Appendable;

    #[test]
    fn engine_enforces_limits_and_counts_samples() {
        let db = MemStorage::new();
        let mut app = db.appender();
        for i in 0..3 {
            let labels = Labels::from_pairs(&[("__name__", "m"), ("i", &i.to_string())]).unwrap();
            for t in 0..100 {
                app.append(&labels, t * 10_000, t as f64).unwrap();
            }
        }
        app.commit().unwrap();
        let engine = Engine {
            max_samples: 350,
            ..Engine::default()
        };
        let t = 990_000;
        let opts = QueryOpts::default();
        let (_, stats) = engine
            .instant_query_with(&db, "sum(count_over_time(m[5m]))", t, &opts)
            .unwrap();
        assert_eq!(
            stats.samples_read, 90,
            "30 samples of each series in the window"
        );
        let err = engine
            .instant_query_with(
                &db,
                "count_over_time(m[1h]) + count_over_time(m[1h])",
                t,
                &opts,
            )
            .unwrap_err();
        assert!(matches!(err, PromqlError::TooManySamples(_)), "{err}");
        // 3 series × 100 steps of an instant selector are charged besides the 300 samples.
        let err = engine
            .range_query_with(&db, "m", 0, t, std::time::Duration::from_secs(10), &opts)
            .unwrap_err();
        assert!(matches!(err, PromqlError::TooManySamples(_)), "{err}");
        let late = QueryOpts {
            deadline: Some(Instant::now()),
            lookback_ms: None,
        };
        let err = engine.instant_query_with(&db, "m", t, &late).unwrap_err();
        assert!(matches!(err, PromqlError::Timeout(_)), "{err}");
        // A lookback of 5 s finds nothing 9 s after the last sample.
        let short = QueryOpts {
            deadline: None,
            lookback_ms: Some(5_000),
        };
        let (v, _) = engine
            .instant_query_with(&db, "m", t + 9_000, &short)
            .unwrap();
        assert!(matches!(v.value, crate::QueryValue::Vector(ref s) if s.is_empty()));
    }

    #[test]
    fn the_shared_budget_refuses_beyond_its_limit_and_is_given_back() {
        let shared = Arc::new(SampleBudget::new(10));
        let later = Instant::now() + Duration::from_secs(60);
        let a = QueryCtx::new(later, 100, Some(shared.clone()));
        let b = QueryCtx::new(later, 100, Some(shared.clone()));
        assert!(a.loaded(6).is_ok());
        assert!(matches!(b.loaded(5), Err(PromqlError::ServerBusy)));
        assert!(b.loaded(4).is_ok());
        assert_eq!(shared.in_use(), 10);
        drop(a);
        assert_eq!(shared.in_use(), 4);
        assert!(b.charge(6).is_ok());
        drop(b);
        assert_eq!(shared.in_use(), 0);
    }

    #[test]
    fn budget_and_deadline() {
        let ctx = QueryCtx::new(Instant::now() + Duration::from_secs(60), 10, None);
        assert!(ctx.loaded(6).is_ok());
        assert!(ctx.charge(4).is_ok());
        assert!(matches!(
            ctx.loaded(1),
            Err(PromqlError::TooManySamples("query execution"))
        ));
        assert_eq!(ctx.samples_read(), 7);
        let late = QueryCtx::new(Instant::now(), usize::MAX, None);
        let err = late.check_deadline().unwrap_err();
        assert_eq!(err.to_string(), "query timed out in expression evaluation");
        assert_eq!(
            PromqlError::TooManySamples("query execution").to_string(),
            "query processing would load too many samples into memory in query execution"
        );
    }
}
