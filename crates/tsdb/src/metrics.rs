//! The database's metric families, with Prometheus' `prometheus_tsdb_*` names, types and
//! HELP texts so its dashboards and alerts read them unchanged: head and block figures read
//! when `/metrics` is rendered, and the counters of maintenance (compactions, reloads,
//! retention) kept where it happens.
//!
//! Not here: the head's append counters (`head::HeadStats`, counted on the append path).

use bongsu_telemetry::{Counter, Encoder, Family, Gauge};

use crate::Db;

/// Samples are floats only (no native histograms yet): the `type` label of per-type families.
const FLOAT: &[&str] = &["float"];
const HISTOGRAM: &[&str] = &["histogram"];

static HEAD_SERIES: Family = Family::gauge(
    "prometheus_tsdb_head_series",
    "Total number of series in the head block.",
    &[],
);
static SERIES_CREATED: Family = Family::counter(
    "prometheus_tsdb_head_series_created_total",
    "Total number of series created in the head",
    &[],
);
static SERIES_REMOVED: Family = Family::counter(
    "prometheus_tsdb_head_series_removed_total",
    "Total number of series removed in the head",
    &[],
);
static SAMPLES_APPENDED: Family = Family::counter(
    "prometheus_tsdb_head_samples_appended_total",
    "Total number of appended samples.",
    &["type"],
);
static OUT_OF_BOUND: Family = Family::counter(
    "prometheus_tsdb_out_of_bound_samples_total",
    "Total number of out of bound samples ingestion failed attempts with out of order support disabled.",
    &["type"],
);
static OUT_OF_ORDER: Family = Family::counter(
    "prometheus_tsdb_out_of_order_samples_total",
    "Total number of out of order samples ingestion failed attempts due to out of order being disabled.",
    &["type"],
);
static HEAD_CHUNKS: Family = Family::gauge(
    "prometheus_tsdb_head_chunks",
    "Total number of chunks in the head block.",
    &[],
);
static HEAD_MIN_TIME: Family = Family::gauge(
    "prometheus_tsdb_head_min_time",
    "Minimum time bound of the head block. The unit is decided by the library consumer.",
    &[],
);
static HEAD_MAX_TIME: Family = Family::gauge(
    "prometheus_tsdb_head_max_time",
    "Maximum timestamp of the head block. The unit is decided by the library consumer.",
    &[],
);
static HEAD_CHUNKS_BYTES: Family = Family::gauge(
    "prometheus_tsdb_head_chunks_storage_size_bytes",
    "Size of the chunks_head directory.",
    &[],
);
static BLOCKS_LOADED: Family = Family::gauge(
    "prometheus_tsdb_blocks_loaded",
    "Number of currently loaded data blocks",
    &[],
);
static BLOCKS_BYTES: Family = Family::gauge(
    "prometheus_tsdb_storage_blocks_bytes",
    "The number of bytes that are currently used for local storage by all blocks.",
    &[],
);
static LOWEST_TIMESTAMP: Family = Family::gauge(
    "prometheus_tsdb_lowest_timestamp",
    "Lowest timestamp value stored in the database. The unit is decided by the library consumer.",
    &[],
);
static RETENTION_BYTES: Family = Family::gauge(
    "prometheus_tsdb_retention_limit_bytes",
    "Max number of bytes to be retained in the tsdb blocks, configured 0 means disabled",
    &[],
);
static RETENTION_SECONDS: Family = Family::gauge(
    "prometheus_tsdb_retention_limit_seconds",
    "How long to retain samples in storage.",
    &[],
);
static WAL_BYTES: Family = Family::gauge(
    "prometheus_tsdb_wal_storage_size_bytes",
    "Size of the write log directory.",
    &[],
);
static WAL_SEGMENT: Family = Family::gauge(
    "prometheus_tsdb_wal_segment_current",
    "Write log segment index that TSDB is currently writing to.",
    &[],
);
static WAL_CORRUPTIONS: Family = Family::counter(
    "prometheus_tsdb_wal_corruptions_total",
    "Total number of WAL corruptions.",
    &[],
);
static RELOADS: Family = Family::counter(
    "prometheus_tsdb_reloads_total",
    "Number of times the database reloaded block data from disk.",
    &[],
);
static RELOADS_FAILED: Family = Family::counter(
    "prometheus_tsdb_reloads_failures_total",
    "Number of times the database failed to reloadBlocks block data from disk.",
    &[],
);
static COMPACTIONS_TRIGGERED: Family = Family::counter(
    "prometheus_tsdb_compactions_triggered_total",
    "Total number of triggered compactions for the partition.",
    &[],
);
static COMPACTIONS: Family = Family::counter(
    "prometheus_tsdb_compactions_total",
    "Total number of compactions that were executed for the partition.",
    &[],
);
static COMPACTIONS_FAILED: Family = Family::counter(
    "prometheus_tsdb_compactions_failed_total",
    "Total number of compactions that failed for the partition.",
    &[],
);
static TIME_RETENTIONS: Family = Family::counter(
    "prometheus_tsdb_time_retentions_total",
    "The number of times that blocks were deleted because the maximum time limit was exceeded.",
    &[],
);
static SIZE_RETENTIONS: Family = Family::counter(
    "prometheus_tsdb_size_retentions_total",
    "The number of times that blocks were deleted because the maximum number of bytes was exceeded.",
    &[],
);
static CLEAN_START: Family = Family::gauge(
    "prometheus_tsdb_clean_start",
    "-1: lockfile is disabled. 0: a lockfile from a previous execution was replaced. 1: lockfile creation was clean",
    &[],
);

/// Counts of the database's maintenance since it was opened.
#[derive(Debug, Default)]
pub(crate) struct DbCounters {
    /// Calls of [`Db::compact`].
    pub compactions_triggered: Counter,
    /// Blocks written by head compaction or block merges.
    pub compactions: Counter,
    pub compactions_failed: Counter,
    /// Calls of [`Db::reload_blocks`].
    pub reloads: Counter,
    pub reloads_failed: Counter,
    /// Runs of retention that deleted blocks for their age, or for the size limit.
    pub time_retentions: Counter,
    pub size_retentions: Counter,
    /// Damaged WAL tails found (and cut) when the database opened.
    pub wal_corruptions: Counter,
    /// 1 if no lock file was left by a previous process, 0 if one was (it did not close).
    pub clean_start: Gauge,
}

impl Db {
    /// Writes the database's metric families.
    pub fn write_metrics(&self, enc: &mut Encoder<'_>) {
        let s = self.stats();
        let c = self.counters();
        let head = self.head();
        enc.single(&HEAD_SERIES, s.head_series as f64);
        enc.single(&SERIES_CREATED, s.series_created as f64);
        enc.single(&SERIES_REMOVED, s.series_removed as f64);
        enc.family(&SAMPLES_APPENDED)
            .sample(FLOAT, s.samples_appended as f64)
            .sample(HISTOGRAM, s.histograms_appended as f64);
        enc.family(&OUT_OF_BOUND)
            .sample(FLOAT, s.out_of_bounds_samples as f64)
            .sample(HISTOGRAM, s.out_of_bounds_histograms as f64);
        enc.family(&OUT_OF_ORDER)
            .sample(FLOAT, s.out_of_order_samples as f64)
            .sample(HISTOGRAM, s.out_of_order_histograms as f64);
        enc.single(&HEAD_CHUNKS, s.head_chunks as f64);
        enc.single(&HEAD_MIN_TIME, s.head_min_time as f64);
        enc.single(&HEAD_MAX_TIME, s.head_max_time as f64);
        enc.single(&HEAD_CHUNKS_BYTES, s.head_chunks_bytes as f64);
        enc.single(&BLOCKS_LOADED, s.blocks as f64);
        enc.single(&BLOCKS_BYTES, s.blocks_bytes as f64);
        // With nothing stored, Prometheus reports the empty head's minimum.
        enc.single(
            &LOWEST_TIMESTAMP,
            s.min_time.unwrap_or(s.head_min_time) as f64,
        );
        let opts = self.options();
        enc.single(&RETENTION_BYTES, opts.retention_bytes as f64);
        enc.single(&RETENTION_SECONDS, opts.retention_ms as f64 / 1000.0);
        enc.single(&WAL_BYTES, s.wal_bytes as f64);
        if let Some(w) = head.wal().as_ref() {
            enc.single(&WAL_SEGMENT, f64::from(w.segment_range().1));
        }
        enc.single(&WAL_CORRUPTIONS, c.wal_corruptions.get() as f64);
        enc.single(&RELOADS, c.reloads.get() as f64);
        enc.single(&RELOADS_FAILED, c.reloads_failed.get() as f64);
        enc.single(&COMPACTIONS_TRIGGERED, c.compactions_triggered.get() as f64);
        enc.single(&COMPACTIONS, c.compactions.get() as f64);
        enc.single(&COMPACTIONS_FAILED, c.compactions_failed.get() as f64);
        enc.single(&TIME_RETENTIONS, c.time_retentions.get() as f64);
        enc.single(&SIZE_RETENTIONS, c.size_retentions.get() as f64);
        enc.single(&CLEAN_START, c.clean_start.get());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DbOptions;

    fn metrics(db: &Db) -> String {
        let mut out = String::new();
        db.write_metrics(&mut Encoder::new(&mut out));
        out
    }

    fn value(out: &str, series: &str) -> f64 {
        out.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{series} in\n{out}"))
    }

    #[test]
    fn maintenance_is_counted_and_a_start_after_a_crash_is_not_clean() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        let out = metrics(&db);
        assert_eq!(value(&out, "prometheus_tsdb_clean_start"), 1.0);
        assert_eq!(
            value(&out, "prometheus_tsdb_compactions_triggered_total"),
            0.0
        );
        assert_eq!(
            value(
                &out,
                "prometheus_tsdb_head_samples_appended_total{type=\"float\"}"
            ),
            0.0
        );
        db.compact().unwrap();
        db.reload_blocks().unwrap();
        let out = metrics(&db);
        assert_eq!(
            value(&out, "prometheus_tsdb_compactions_triggered_total"),
            1.0
        );
        assert_eq!(value(&out, "prometheus_tsdb_compactions_failed_total"), 0.0);
        assert_eq!(value(&out, "prometheus_tsdb_reloads_total"), 1.0);
        assert_eq!(
            value(&out, "prometheus_tsdb_retention_limit_seconds"),
            1_296_000.0
        );

        // Head chunks are counted as appends cut them and truncation drops them: the count
        // agrees with a walk of the head, before and after a compaction.
        let labels = bongsu_model::Labels::from_pairs(&[("__name__", "m")]).unwrap();
        {
            let mut app = bongsu_storage::Appendable::appender(&db);
            for i in 0..960 {
                app.append(&labels, i * 15_000, i as f64).unwrap();
            }
            app.commit().unwrap();
        }
        let chunks = |db: &Db| value(&metrics(db), "prometheus_tsdb_head_chunks");
        let before = chunks(&db);
        assert!(before > 3.0, "{before}");
        assert_eq!(before, db.head_cardinality(1).chunk_count as f64);
        db.compact().unwrap();
        let after = chunks(&db);
        assert!(after < before, "{after} after compaction, {before} before");
        assert_eq!(after, db.head_cardinality(1).chunk_count as f64);
        assert_eq!(
            value(&metrics(&db), "prometheus_tsdb_compactions_total"),
            1.0
        );

        // Closed: the next start is clean. Dropped without closing (a crash): it is not.
        db.close().unwrap();
        drop(db);
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        assert_eq!(value(&metrics(&db), "prometheus_tsdb_clean_start"), 1.0);
        drop(db);
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        assert_eq!(value(&metrics(&db), "prometheus_tsdb_clean_start"), 0.0);
    }
}
