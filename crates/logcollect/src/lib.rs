//! Promtail's job inside bongsu: read a `promtail.yml` as it is, collect lines from the places
//! it names (tailed files, syslog listeners), run each scrape config's `pipeline_stages`, and hand
//! the lines to a destination — the local log store (exactly once) or remote Loki-push clients
//! (at least once). The `metrics` stage's series go to the TSDB through the storage traits.
//!
//! Owns the collection side only: it knows nothing of HTTP serving (push endpoints are in
//! `ingest`), of LogQL evaluation, or of the log store's files (it appends through
//! `bongsu_storage::logs::CheckpointedLogAppendable`).
//!
//! - [`Entry`]: one line on its way from a target through a pipeline to a destination.
//! - [`config`]: `promtail.yml` with Promtail's defaults and errors.
//! - [`tail`]: file tailing (globs, rotation, positions), on a thread of its own.
//! - [`syslog`]: syslog listeners (RFC 5424 and 3164 over UDP, TCP and TLS) as targets.
//! - [`stages`]: Promtail's pipeline stages ([`stages::Pipeline`]).
//! - [`destination`]: where batches go, with the checkpoint that makes the local store's
//!   copy exactly once.
//! - [`client`]: Loki-push clients (`clients:`) with batching, retries and backoff.
//! - `pipeline`: the seam where a job's stages run; `syslog_job`: a syslog target feeding its
//!   pipeline and the destination.
//! - [`Collector`]: one running configuration; [`write_metrics`]: its Promtail-named metrics.

pub mod client;
mod collector;
pub mod config;
pub mod destination;
mod entry;
mod metrics;
mod pipeline;
pub mod stages;
pub mod syslog;
mod syslog_job;
pub mod tail;

use thiserror::Error;

pub use collector::Collector;
pub use config::{LogConfig, LogConfigError};
pub use entry::Entry;
pub use metrics::{pipeline_metrics, write_metrics};

/// Why a collector could not start.
#[derive(Debug, Error)]
pub enum CollectError {
    /// A `pipeline_stages`, `syslog` or `clients` block that does not build, or a syslog
    /// address that cannot be bound.
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Positions(#[from] tail::PositionsError),
    #[error("starting the log collector's thread: {0}")]
    Spawn(std::io::Error),
}
