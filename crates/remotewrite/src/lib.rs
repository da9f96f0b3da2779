//! The remote-write sender: Prometheus' queue manager for bongsu. Each `remote_write` endpoint
//! gets a queue that follows the TSDB's WAL (not the appenders), so a receiver outage or a
//! crash of bongsu loses nothing the WAL acknowledged: the queue's progress (the WAL position
//! before which every sample was sent or refused for good) is kept in a small file per queue
//! (`docs/format/remote-write-progress.md`), and the segments it still needs are pinned
//! against WAL truncation.
//!
//! - [`RemoteWrite`] (`manager.rs`): the set of queues, applied from the configuration.
//! - `queue.rs`: one queue's tasks and its bounded flush; `watcher.rs`: following the WAL;
//!   `shard.rs`: batching, sending and retrying; `reshard.rs`: the desired shard count;
//!   `tracker.rs`: which position is acknowledged; `progress.rs`: its file; `client.rs`: the
//!   HTTP request and the classification of answers; `request.rs`: protobuf 1.0 and 2.0
//!   bodies; `metrics.rs`: the `prometheus_remote_storage_*` families.
//!
//! Native histograms (the WAL's histogram and float-histogram records) are sent with
//! `send_native_histograms: true`, in 1.0 and 2.0 alike, except custom-bucket ones (NHCB) on
//! 1.0, dropped and counted in `prometheus_remote_storage_histograms_dropped_total` as
//! Prometheus does; they have their own `prometheus_remote_storage_histograms_*` counters
//! (`samples_pending` counts both kinds).
//!
//! Metric metadata (`metadata.rs`): 1.0 queues send what their [`MetadataSource`] gives (the
//! scrape targets' metadata) every `metadata_config.send_interval`, as Prometheus' metadata
//! watcher.
//!
//! Not here: exemplars (the WAL holds none yet, so `send_exemplars` has no effect), and
//! receiving remote write (`bongsu-ingest`).

mod client;
mod manager;
mod metadata;
mod metrics;
mod progress;
mod queue;
mod request;
mod reshard;
mod shard;
mod tracker;
mod watcher;

pub use manager::{RemoteWrite, FLUSH_DEADLINE, PROGRESS_DIR};
pub use metadata::{MetadataSource, MetricMetadata, MetricType};
pub use progress::{ProgressError, WalPosition};
