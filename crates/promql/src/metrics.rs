//! The query engine's metric families, with Prometheus' `prometheus_engine_*` names. Every
//! query the engine runs counts, from the API and from rule evaluation alike, as in
//! Prometheus; the API adds the time a query waited for a concurrency slot.

use std::time::Duration;

use bongsu_telemetry::{Counter, Encoder, Family, Gauge, Summary, ENGINE_QUANTILES};

use super::Engine;

static QUERY_DURATION: Family = Family::summary(
    "prometheus_engine_query_duration_seconds",
    "Query timings",
    &["slice"],
);
static QUERIES: Family = Family::gauge(
    "prometheus_engine_queries",
    "The current number of queries being executed or waiting.",
    &[],
);
static CONCURRENT_MAX: Family = Family::gauge(
    "prometheus_engine_queries_concurrent_max",
    "The max number of concurrent queries.",
    &[],
);
static SAMPLES: Family = Family::counter(
    "prometheus_engine_query_samples_total",
    "The total number of samples loaded by all queries.",
    &[],
);

/// Timings and load of the queries of one engine (and its clones).
#[derive(Debug)]
pub struct EngineMetrics {
    queue_time: Summary,
    prepare_time: Summary,
    inner_eval: Summary,
    result_sort: Summary,
    queries: Gauge,
    concurrent_max: Gauge,
    samples: Counter,
}

impl Default for EngineMetrics {
    fn default() -> EngineMetrics {
        let concurrent_max = Gauge::new();
        // Prometheus' value when no limit on concurrent queries is set.
        concurrent_max.set(-1.0);
        EngineMetrics {
            queue_time: Summary::new(ENGINE_QUANTILES),
            prepare_time: Summary::new(ENGINE_QUANTILES),
            inner_eval: Summary::new(ENGINE_QUANTILES),
            result_sort: Summary::new(ENGINE_QUANTILES),
            queries: Gauge::new(),
            concurrent_max,
            samples: Counter::new(),
        }
    }
}

/// Counts a query in `prometheus_engine_queries` while it lives.
pub struct Active<'a>(&'a Gauge);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.add(-1.0);
    }
}

impl EngineMetrics {
    /// The limit on queries evaluated at once (`--query.max-concurrency`), enforced by the
    /// caller that queues queries.
    pub fn set_concurrency_limit(&self, n: usize) {
        self.concurrent_max.set(n as f64);
    }

    /// Marks a query as waiting or running until the result is dropped.
    pub fn active(&self) -> Active<'_> {
        self.queries.add(1.0);
        Active(&self.queries)
    }

    /// How long a query waited for a concurrency slot.
    pub fn observe_queue(&self, d: Duration) {
        self.queue_time.observe(d);
    }

    /// A finished evaluation: parsing, evaluation, sorting of a range result, samples read.
    pub(crate) fn observe_query(
        &self,
        prepare: Duration,
        inner_eval: Duration,
        sort: Option<Duration>,
        samples: u64,
    ) {
        self.prepare_time.observe(prepare);
        self.inner_eval.observe(inner_eval);
        if let Some(sort) = sort {
            self.result_sort.observe(sort);
        }
        self.samples.add(samples);
    }
}

impl Engine {
    /// Writes the engine's metric families.
    pub fn write_metrics(&self, enc: &mut Encoder<'_>) {
        let m = &self.metrics;
        enc.family(&QUERY_DURATION)
            .metric(&["inner_eval"], &m.inner_eval)
            .metric(&["prepare_time"], &m.prepare_time)
            .metric(&["queue_time"], &m.queue_time)
            .metric(&["result_sort"], &m.result_sort);
        enc.single(&QUERIES, m.queries.get());
        enc.single(&CONCURRENT_MAX, m.concurrent_max.get());
        enc.single(&SAMPLES, m.samples.get() as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_storage::memory::MemStorage;

    #[test]
    fn queries_are_timed_by_slice_and_range_results_sorted() {
        let db = MemStorage::new();
        let engine = Engine::default();
        let clone = engine.clone();
        engine.instant_query(&db, "vector(1)", 0).unwrap();
        clone
            .range_query(&db, "vector(1)", 0, 60_000, Duration::from_secs(15))
            .unwrap();
        let mut out = String::new();
        engine.write_metrics(&mut Encoder::new(&mut out));
        for line in [
            "prometheus_engine_query_duration_seconds_count{slice=\"inner_eval\"} 2",
            "prometheus_engine_query_duration_seconds_count{slice=\"prepare_time\"} 2",
            "prometheus_engine_query_duration_seconds_count{slice=\"queue_time\"} 0",
            "prometheus_engine_query_duration_seconds_count{slice=\"result_sort\"} 1",
            "prometheus_engine_queries 0",
            "prometheus_engine_queries_concurrent_max -1",
        ] {
            assert!(out.lines().any(|l| l == line), "{line} in\n{out}");
        }
        let active = engine.metrics.active();
        let mut out = String::new();
        clone.write_metrics(&mut Encoder::new(&mut out));
        assert!(out.contains("\nprometheus_engine_queries 1\n"), "{out}");
        drop(active);
    }
}
