//! Scraping's metric families, with Prometheus' `prometheus_target_*` and
//! `prometheus_sd_*` names: counts over all scrapes (one scrape manager per process, as
//! Prometheus has), and per pool (labelled `scrape_job`) read from the running pools, so a
//! removed job's series go with it.

use std::time::Duration;

use bongsu_telemetry::{
    Counter, Encoder, Family, Gauge, Histogram, Labeled, Summary, LATENCY_BUCKETS, TARGET_QUANTILES,
};

use super::append::{ScrapeError, ScrapeReport};
use super::fetch::FetchError;
use super::manager::{PoolState, ScrapeManager};

static POOLS: Family = Family::counter(
    "prometheus_target_scrape_pools_total",
    "Total number of scrape pool creation attempts.",
    &[],
);
static POOL_RELOADS: Family = Family::counter(
    "prometheus_target_scrape_pool_reloads_total",
    "Total number of scrape pool reloads.",
    &[],
);
static TARGET_LIMIT_HIT: Family = Family::counter(
    "prometheus_target_scrape_pool_exceeded_target_limit_total",
    "Total number of times scrape pools hit the target limit, during sync or config reload.",
    &[],
);
static LABEL_LIMITS_HIT: Family = Family::counter(
    "prometheus_target_scrape_pool_exceeded_label_limits_total",
    "Total number of times scrape pools hit the label limits, during sync or config reload.",
    &[],
);
static BODY_LIMIT_HIT: Family = Family::counter(
    "prometheus_target_scrapes_exceeded_body_size_limit_total",
    "Total number of scrapes that hit the body size limit",
    &[],
);
static SAMPLE_LIMIT_HIT: Family = Family::counter(
    "prometheus_target_scrapes_exceeded_sample_limit_total",
    "Total number of scrapes that hit the sample limit and were rejected.",
    &[],
);
static BUCKET_LIMIT_HIT: Family = Family::counter(
    "prometheus_target_scrapes_exceeded_native_histogram_bucket_limit_total",
    "Total number of scrapes that hit the native histogram bucket limit and were rejected.",
    &[],
);
static DUPLICATE: Family = Family::counter(
    "prometheus_target_scrapes_sample_duplicate_timestamp_total",
    "Total number of samples rejected due to duplicate timestamps but different values.",
    &[],
);
static OUT_OF_ORDER: Family = Family::counter(
    "prometheus_target_scrapes_sample_out_of_order_total",
    "Total number of samples rejected due to not being out of the expected order.",
    &[],
);
static OUT_OF_BOUNDS: Family = Family::counter(
    "prometheus_target_scrapes_sample_out_of_bounds_total",
    "Total number of samples rejected due to timestamp falling outside of the time bounds.",
    &[],
);
static INTERVAL_LENGTH: Family = Family::summary(
    "prometheus_target_interval_length_seconds",
    "Actual intervals between scrapes.",
    &["interval"],
);
static SYNC_LENGTH: Family = Family::summary(
    "prometheus_target_sync_length_seconds",
    "Actual interval to sync the scrape pool.",
    &["scrape_job"],
);
static SYNCS: Family = Family::counter(
    "prometheus_target_scrape_pool_sync_total",
    "Total number of syncs that were executed on a scrape pool.",
    &["scrape_job"],
);
static SYNC_FAILED: Family = Family::counter(
    "prometheus_target_sync_failed_total",
    "Total number of target sync failures.",
    &["scrape_job"],
);
static POOL_TARGETS: Family = Family::gauge(
    "prometheus_target_scrape_pool_targets",
    "Current number of targets in this scrape pool.",
    &["scrape_job"],
);
static POOL_TARGET_LIMIT: Family = Family::gauge(
    "prometheus_target_scrape_pool_target_limit",
    "Maximum number of targets allowed in this scrape pool.",
    &["scrape_job"],
);
static METADATA_ENTRIES: Family = Family::gauge(
    "prometheus_target_metadata_cache_entries",
    "Total number of metric metadata entries in the cache",
    &["scrape_job"],
);
static DISCOVERED: Family = Family::gauge(
    "prometheus_sd_discovered_targets",
    "Current number of discovered targets.",
    &["config", "name"],
);
static SCRAPE_DURATION: Family = Family::histogram(
    "bongsu_scrape_duration_seconds",
    "Duration of scrapes by scrape pool.",
    &["scrape_job"],
);

/// Counts over every scrape of the process.
pub(crate) struct ScrapeCounters {
    pub pools: Counter,
    pub pool_reloads: Counter,
    pub target_limit_hit: Counter,
    label_limits_hit: Counter,
    body_limit_hit: Counter,
    sample_limit_hit: Counter,
    bucket_limit_hit: Counter,
    duplicate: Counter,
    out_of_order: Counter,
    out_of_bounds: Counter,
    /// Time between a target's scrapes, by the pool's interval as Go prints it (`15s`, `1m0s`).
    interval_length: Labeled<Summary>,
    duration: Labeled<Histogram>,
}

pub(crate) static COUNTERS: ScrapeCounters = ScrapeCounters {
    pools: Counter::new(),
    pool_reloads: Counter::new(),
    target_limit_hit: Counter::new(),
    label_limits_hit: Counter::new(),
    body_limit_hit: Counter::new(),
    sample_limit_hit: Counter::new(),
    bucket_limit_hit: Counter::new(),
    duplicate: Counter::new(),
    out_of_order: Counter::new(),
    out_of_bounds: Counter::new(),
    interval_length: Labeled::new(|| Summary::new(TARGET_QUANTILES)),
    duration: Labeled::new(|| Histogram::new(LATENCY_BUCKETS)),
};

/// Why a scrape failed, as far as its counters care.
pub(crate) enum Failure<'a> {
    Fetch(&'a FetchError),
    Append(&'a ScrapeError),
}

impl ScrapeCounters {
    /// Counts a finished scrape of `pool`: how long it took and what the storage rejected.
    pub(crate) fn scraped(&self, pool: &str, took: Duration, report: &ScrapeReport) {
        self.duration.with(&[pool]).observe(took);
        self.duplicate.add(report.duplicate_timestamp);
        self.out_of_order.add(report.out_of_order);
        self.out_of_bounds.add(report.out_of_bounds);
    }

    /// Counts a failed scrape by the limit that failed it, if one did.
    pub(crate) fn failed(&self, failure: Failure<'_>) {
        match failure {
            Failure::Fetch(FetchError::BodyTooLarge(_)) => self.body_limit_hit.inc(),
            Failure::Append(ScrapeError::SampleLimit { .. }) => self.sample_limit_hit.inc(),
            Failure::Append(ScrapeError::BucketLimit) => self.bucket_limit_hit.inc(),
            Failure::Append(
                ScrapeError::LabelLimit { .. }
                | ScrapeError::LabelNameLength { .. }
                | ScrapeError::LabelValueLength { .. },
            ) => self.label_limits_hit.inc(),
            Failure::Fetch(_) | Failure::Append(_) => {}
        }
    }

    /// The time since the previous scrape of a target whose pool scrapes every `interval`.
    pub(crate) fn interval(&self, interval: Duration, since_last: Duration) {
        self.interval_length
            .with(&[&go_duration(interval)])
            .observe(since_last);
    }
}

/// Per-pool figures, kept in the pool's state.
#[derive(Debug)]
pub(crate) struct PoolMetrics {
    pub sync_length: Summary,
    pub syncs: Counter,
    /// Discovered targets whose labels could not be built.
    pub sync_failed: Counter,
    /// Targets from discovery, before relabeling, at the last sync.
    pub discovered: Gauge,
    /// The pool's `target_limit` (0: none).
    pub target_limit: Gauge,
}

impl Default for PoolMetrics {
    fn default() -> PoolMetrics {
        PoolMetrics {
            sync_length: Summary::new(TARGET_QUANTILES),
            syncs: Counter::new(),
            sync_failed: Counter::new(),
            discovered: Gauge::new(),
            target_limit: Gauge::new(),
        }
    }
}

/// A duration as Go's `time.Duration.String` prints it, which Prometheus uses as the
/// `interval` label: `500ms`, `15s`, `1m0s`, `1h30m0s`.
fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs_f64() % 60.0;
    let total_min = d.as_secs() / 60;
    let (h, m) = (total_min / 60, total_min % 60);
    let s = format!("{secs}s");
    match (h, m) {
        (0, 0) => s,
        (0, m) => format!("{m}m{s}"),
        (h, m) => format!("{h}h{m}m{s}"),
    }
}

impl ScrapeManager {
    /// Writes the scrape families: totals, then the running pools'.
    pub fn write_metrics(&self, enc: &mut Encoder<'_>) {
        let c = &COUNTERS;
        for (family, counter) in [
            (&POOLS, &c.pools),
            (&POOL_RELOADS, &c.pool_reloads),
            (&TARGET_LIMIT_HIT, &c.target_limit_hit),
            (&LABEL_LIMITS_HIT, &c.label_limits_hit),
            (&BODY_LIMIT_HIT, &c.body_limit_hit),
            (&SAMPLE_LIMIT_HIT, &c.sample_limit_hit),
            (&BUCKET_LIMIT_HIT, &c.bucket_limit_hit),
            (&DUPLICATE, &c.duplicate),
            (&OUT_OF_ORDER, &c.out_of_order),
            (&OUT_OF_BOUNDS, &c.out_of_bounds),
        ] {
            enc.single(family, counter.get() as f64);
        }
        c.interval_length.encode(&mut enc.family(&INTERVAL_LENGTH));
        c.duration.encode(&mut enc.family(&SCRAPE_DURATION));
        let pools = self.pools();
        let mut per_pool = |family: &Family, value: &dyn Fn(&PoolState) -> f64| {
            let mut f = enc.family(family);
            for p in &pools {
                f.sample(&[&p.job], value(p));
            }
        };
        per_pool(&SYNCS, &|p| p.metrics.syncs.get() as f64);
        per_pool(&SYNC_FAILED, &|p| p.metrics.sync_failed.get() as f64);
        per_pool(&POOL_TARGETS, &|p| p.active().len() as f64);
        per_pool(&POOL_TARGET_LIMIT, &|p| p.metrics.target_limit.get());
        per_pool(&METADATA_ENTRIES, &|p| {
            p.active().iter().map(|t| t.metadata().len()).sum::<usize>() as f64
        });
        let mut sync_length = enc.family(&SYNC_LENGTH);
        for p in &pools {
            sync_length.metric(&[&p.job], &p.metrics.sync_length);
        }
        let mut discovered = enc.family(&DISCOVERED);
        for p in &pools {
            discovered.sample(&[&p.job, "scrape"], p.metrics.discovered.get());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_does() {
        for (ms, want) in [
            (500, "500ms"),
            (1_000, "1s"),
            (15_000, "15s"),
            (1_500, "1.5s"),
            (60_000, "1m0s"),
            (90_000, "1m30s"),
            (3_600_000, "1h0m0s"),
            (5_430_000, "1h30m30s"),
        ] {
            assert_eq!(go_duration(Duration::from_millis(ms)), want);
        }
    }
}
