//! `/metrics`: bongsu's own internals in the Prometheus text format, under Prometheus' and
//! Alertmanager's names where the meaning is theirs, so their dashboards and the
//! prometheus-mixin alerts work unchanged. Each part writes its own families (declared next to
//! what it counts); this handler asks each in turn and adds the server's own: build, readiness,
//! configuration reloads, HTTP requests and the remote-write receiver.
//!
//! Served before the database is open, as Prometheus serves it while replaying the WAL; the
//! storage families appear once it is.

use std::time::UNIX_EPOCH;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use bongsu_ingest::Reason;
use bongsu_telemetry::{build_info, process, Encoder, Family, BUILD_INFO_LABELS};

use super::{instrument, status, ApiState};

static BUILD_INFO: Family = Family::gauge(
    "prometheus_build_info",
    "A metric with a constant '1' value labeled by version, revision, branch, goversion from which prometheus was built, and the goos and goarch for the build.",
    BUILD_INFO_LABELS,
);
static READY: Family = Family::gauge(
    "prometheus_ready",
    "Whether Prometheus startup was fully completed and the server is ready for normal operation.",
    &[],
);
static RELOAD_SUCCESSFUL: Family = Family::gauge(
    "prometheus_config_last_reload_successful",
    "Whether the last configuration reload attempt was successful.",
    &[],
);
static RELOAD_SUCCESS_TIME: Family = Family::gauge(
    "prometheus_config_last_reload_success_timestamp_seconds",
    "Timestamp of the last successful configuration reload.",
    &[],
);
static RW_REQUESTS: Family = Family::counter(
    "bongsu_remote_write_requests_total",
    "Remote-write requests by protocol (v1, v2, unknown) and status code.",
    &["code", "proto"],
);
static RW_RECEIVED: Family = Family::counter(
    "bongsu_remote_write_samples_received_total",
    "Samples (float and histogram) decoded from remote-write requests.",
    &[],
);
static RW_WRITTEN: Family = Family::counter(
    "bongsu_remote_write_samples_written_total",
    "Remote-write samples committed to storage.",
    &[],
);
static RW_REJECTED: Family = Family::counter(
    "bongsu_remote_write_samples_rejected_total",
    "Remote-write samples not written, by reason.",
    &["reason"],
);
static RW_EXEMPLARS_DISCARDED: Family = Family::counter(
    "bongsu_remote_write_exemplars_discarded_total",
    "Remote-write exemplars accepted and dropped (no exemplar storage yet).",
    &[],
);

pub(super) async fn handler(State(s): State<ApiState>) -> Response {
    let mut out = String::with_capacity(16 * 1024);
    let mut enc = Encoder::new(&mut out);
    process::encode(&mut enc);
    build_info(&mut enc, &BUILD_INFO, &status::BUILD);
    let db = s.0.db.get();
    enc.single(&READY, if db.is_some() { 1.0 } else { 0.0 });
    let (reload_success, last_config) = {
        let c = s.0.config.lock();
        (c.reload_success, c.last_config_time)
    };
    enc.single(&RELOAD_SUCCESSFUL, if reload_success { 1.0 } else { 0.0 });
    let since_epoch = last_config.duration_since(UNIX_EPOCH).unwrap_or_default();
    enc.single(&RELOAD_SUCCESS_TIME, since_epoch.as_secs_f64());
    instrument::write_metrics(&mut enc);
    s.0.engine.write_metrics(&mut enc);
    if let Some(db) = db {
        db.write_metrics(&mut enc);
    }
    if let Some(rules) = s.0.rules.get() {
        rules.write_metrics(&mut enc);
    }
    if let Some(scrape) = s.0.scrape.get() {
        scrape.write_metrics(&mut enc);
    }
    if let Some(n) = s.notifier() {
        n.write_metrics(&mut enc);
    }
    if let Some(rw) = &s.0.remote_write {
        remote_write_metrics(&mut enc, rw.stats());
    }
    if let Some(am) = s.0.alertmanager.get() {
        am.write_metrics(&mut enc);
    }
    for source in s.metrics_sources() {
        source(&mut enc);
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

/// The remote-write receiver's counters: bongsu's own names, as Prometheus' receiver has
/// no metrics of this meaning.
fn remote_write_metrics(enc: &mut Encoder<'_>, rw: &bongsu_ingest::Stats) {
    let mut requests = enc.family(&RW_REQUESTS);
    for ((proto, code), n) in rw.requests() {
        requests.sample(&[&code.to_string(), proto], n as f64);
    }
    enc.single(&RW_RECEIVED, rw.samples_received() as f64);
    enc.single(&RW_WRITTEN, rw.samples_written() as f64);
    let mut rejected = enc.family(&RW_REJECTED);
    for r in Reason::ALL.iter().copied() {
        rejected.sample(&[r.as_str()], rw.rejected(r) as f64);
    }
    enc.single(&RW_EXEMPLARS_DISCARDED, rw.exemplars_discarded() as f64);
}
