//! `/metrics`: bongsu's own internals in the Prometheus text format.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use bongsu_ingest::Reason;
use bongsu_telemetry::{HTTP_REQUEST_DURATION, SCRAPE_DURATION};

use super::ApiState;

pub(super) async fn handler(State(s): State<ApiState>) -> Response {
    let db = match s.db() {
        Ok(db) => db,
        Err(e) => return e.into_response(),
    };
    let stats = db.stats();
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
        stats.samples_appended as f64,
    );
    metric(
        "bongsu_tsdb_out_of_order_samples_total",
        "counter",
        "Samples rejected as out of order.",
        stats.out_of_order_samples as f64,
    );
    metric(
        "bongsu_tsdb_out_of_bounds_samples_total",
        "counter",
        "Samples rejected as out of bounds.",
        stats.out_of_bounds_samples as f64,
    );
    metric(
        "bongsu_tsdb_head_series_created_total",
        "counter",
        "Series created in the head.",
        stats.series_created as f64,
    );
    metric(
        "bongsu_tsdb_head_series_removed_total",
        "counter",
        "Series removed from the head.",
        stats.series_removed as f64,
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
    if let Some(rw) = &s.0.remote_write {
        remote_write_metrics(&mut out, rw.stats());
    }
    if let Some(n) = s.notifier() {
        n.render_metrics(&mut out);
    }
    HTTP_REQUEST_DURATION.render(
        &mut out,
        "bongsu_http_request_duration_seconds",
        "Latency of HTTP requests by handler.",
    );
    SCRAPE_DURATION.render(
        &mut out,
        "bongsu_scrape_duration_seconds",
        "Duration of scrapes by scrape pool.",
    );
    if let Some(am) = s.0.alertmanager.get() {
        am.render_metrics(&mut out);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// The receiver's counters; labelled families are written here, one `# HELP`/`# TYPE` each.
fn remote_write_metrics(out: &mut String, rw: &bongsu_ingest::Stats) {
    let mut family = |name: &str, help: &str, series: &[(String, u64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (labels, v) in series {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    let requests: Vec<(String, u64)> = rw
        .requests()
        .into_iter()
        .map(|((proto, code), n)| (format!("{{code=\"{code}\",proto=\"{proto}\"}}"), n))
        .collect();
    family(
        "bongsu_remote_write_requests_total",
        "Remote-write requests by protocol (v1, v2, unknown) and status code.",
        &requests,
    );
    family(
        "bongsu_remote_write_samples_received_total",
        "Samples (float and histogram) decoded from remote-write requests.",
        &[(String::new(), rw.samples_received())],
    );
    family(
        "bongsu_remote_write_samples_written_total",
        "Remote-write samples committed to storage.",
        &[(String::new(), rw.samples_written())],
    );
    let rejected: Vec<(String, u64)> = Reason::ALL
        .iter()
        .map(|r| (format!("{{reason=\"{}\"}}", r.as_str()), rw.rejected(*r)))
        .collect();
    family(
        "bongsu_remote_write_samples_rejected_total",
        "Remote-write samples not written, by reason.",
        &rejected,
    );
    family(
        "bongsu_remote_write_exemplars_discarded_total",
        "Remote-write exemplars accepted and dropped (no exemplar storage yet).",
        &[(String::new(), rw.exemplars_discarded())],
    );
}
