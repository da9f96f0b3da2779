//! Promtail's job inside bongsu: read a `promtail.yml` as it is, collect lines from the places
//! it names (tailed files, syslog listeners), run each scrape config's `pipeline_stages`, and hand
//! the lines to a destination — the local log store (exactly once) or remote Loki-push clients
//! (at least once). The `metrics` stage's series go to the TSDB through the storage traits.
//!
//! Owns the collection side only: it knows nothing of HTTP serving (push endpoints are in
//! `ingest`), of LogQL evaluation, or of the log store's files (it appends through
//! `bongsu_storage::logs::LogAppendable`).
//!
//! - [`Entry`]: one line on its way from a target through a pipeline to a destination.
//! - [`config`]: `promtail.yml` with Promtail's defaults and errors.

pub mod config;
mod entry;

pub use config::{LogConfig, LogConfigError};
pub use entry::Entry;
