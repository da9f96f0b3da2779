//! `/metrics`: bongsu's own internals in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::ApiState;

pub(super) async fn handler(State(s): State<ApiState>) -> Response {
    let db = match s.db() {
        Ok(db) => db,
        Err(e) => return e.into_response(),
    };
    let stats = db.stats();
    let hs = &db.head().stats;
    let mut out = String::with_capacity(2048);
    let mut metric = |name: &str, kind: &str, help: &str, v: f64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
        );
    };
    metric(
        "bongsu_tsdb_head_series",
        "gauge",
        "Series in the head.",
        stats.head_series as f64,
    );
    metric(
        "bongsu_tsdb_head_samples_appended_total",
        "counter",
        "Samples appended to the head.",
        hs.samples_appended.load(Ordering::Relaxed) as f64,
    );
    metric(
        "bongsu_tsdb_out_of_order_samples_total",
        "counter",
        "Samples rejected as out of order.",
        hs.out_of_order.load(Ordering::Relaxed) as f64,
    );
    metric(
        "bongsu_tsdb_out_of_bounds_samples_total",
        "counter",
        "Samples rejected as out of bounds.",
        hs.out_of_bounds.load(Ordering::Relaxed) as f64,
    );
    metric(
        "bongsu_tsdb_head_series_created_total",
        "counter",
        "Series created in the head.",
        hs.series_created.load(Ordering::Relaxed) as f64,
    );
    metric(
        "bongsu_tsdb_head_series_removed_total",
        "counter",
        "Series removed from the head.",
        hs.series_removed.load(Ordering::Relaxed) as f64,
    );
    metric(
        "bongsu_tsdb_blocks_loaded",
        "gauge",
        "Blocks loaded.",
        stats.blocks as f64,
    );
    metric(
        "bongsu_tsdb_storage_blocks_bytes",
        "gauge",
        "Bytes of all blocks on disk.",
        stats.blocks_bytes as f64,
    );
    metric(
        "bongsu_tsdb_wal_storage_size_bytes",
        "gauge",
        "Bytes of the write-ahead log.",
        stats.wal_bytes as f64,
    );
    metric(
        "bongsu_tsdb_head_chunks_storage_size_bytes",
        "gauge",
        "Bytes of memory-mapped head chunks.",
        stats.head_chunks_bytes as f64,
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
