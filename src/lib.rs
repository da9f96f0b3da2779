//! bongsu: a single-binary, Prometheus-compatible monitoring system.
//!
//! Data flows one way through the modules: `exposition` → `tsdb` → `promql` → `api`, with
//! `ingest` (remote write) beside `promql` under `api`. Lower layers never import higher ones. See `ARCHITECTURE.md` at the repository root.

pub mod alertmanager;
pub mod api;
pub mod backfill;
pub mod config;
pub mod exposition;
pub mod ingest;
pub mod model;
pub mod notifier;
pub mod promql;
pub mod relabel;
pub mod rules;
pub mod scrape;
pub mod telemetry;
pub mod template;
pub mod tsdb;
