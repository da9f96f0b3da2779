//! The set of running queues: started from the `remote_write` section, re-created on reload
//! when an endpoint's settings change, stopped on shutdown.
//!
//! A queue's identity is its `url` and `name`: its progress file is named after them, so a
//! queue whose other settings change (shards, relabelling, headers) is re-created and resumes
//! where the old one left off. A queue removed from the configuration forgets its progress.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bongsu_config::RemoteWriteConfig;
use bongsu_model::Labels;
use bongsu_telemetry::Encoder;
use bongsu_tsdb::wal::WalPins;
use bongsu_tsdb::Db;
use parking_lot::Mutex;
use tracing::warn;
use xxhash_rust::xxh3::xxh3_64;

use crate::metadata::MetadataSource;
use crate::metrics::{self, QueueMetrics};
use crate::queue::{Queue, QueueSpec};

/// How long a stopping queue may keep sending what it holds (Prometheus' flush deadline).
pub const FLUSH_DEADLINE: Duration = Duration::from_secs(60);

/// Directory under the data directory holding the queues' progress files.
pub const PROGRESS_DIR: &str = "remote_write";

struct Running {
    /// Hash of the settings the queue was started with.
    settings: u64,
    queue: Queue,
}

/// The remote-write queues of one server.
pub struct RemoteWrite {
    wal_dir: PathBuf,
    progress_dir: PathBuf,
    pins: Arc<WalPins>,
    flush: Duration,
    queues: tokio::sync::Mutex<HashMap<String, Running>>,
    /// What `/metrics` reads without waiting for a reload in progress: each queue's
    /// counters and its pending samples when last looked at.
    visible: Mutex<Vec<(Arc<QueueMetrics>, u64)>>,
    /// Where queues started from now on get the metadata they send.
    metadata: Mutex<Option<MetadataSource>>,
}

impl RemoteWrite {
    /// Queues that read `db`'s WAL and keep their progress under `db`'s directory.
    pub fn new(db: &Db) -> RemoteWrite {
        RemoteWrite::with_paths(db.wal_dir(), db.dir().join(PROGRESS_DIR), db.wal_pins())
    }

    /// Queues over the WAL in `wal_dir`, progress files in `progress_dir`.
    pub fn with_paths(wal_dir: PathBuf, progress_dir: PathBuf, pins: Arc<WalPins>) -> RemoteWrite {
        RemoteWrite {
            wal_dir,
            progress_dir,
            pins,
            flush: FLUSH_DEADLINE,
            queues: tokio::sync::Mutex::new(HashMap::new()),
            visible: Mutex::new(Vec::new()),
            metadata: Mutex::new(None),
        }
    }

    /// Gives the queues started from now on (set it before the first [`RemoteWrite::apply`])
    /// the metric metadata to send to 1.0 receivers.
    pub fn set_metadata_source(&self, source: MetadataSource) {
        *self.metadata.lock() = Some(source);
    }

    /// Sets how long stopping queues may flush (default [`FLUSH_DEADLINE`]).
    pub fn with_flush_deadline(mut self, flush: Duration) -> RemoteWrite {
        self.flush = flush;
        self
    }

    /// Makes the running queues those of `configs`: unchanged ones keep running, changed ones
    /// are re-created (keeping their progress), removed ones stop and forget their progress.
    /// An endpoint that cannot start (a bad TLS file) is reported; the others still apply.
    pub async fn apply(
        &self,
        configs: &[RemoteWriteConfig],
        external_labels: &Labels,
    ) -> Result<(), String> {
        let mut queues = self.queues.lock().await;
        let mut wanted: HashMap<String, (&RemoteWriteConfig, u64)> = HashMap::new();
        for cfg in configs {
            let key = identity(cfg);
            let settings = xxh3_64(format!("{cfg:?}{external_labels:?}").as_bytes());
            if wanted.insert(key, (cfg, settings)).is_some() {
                return Err(format!(
                    "duplicate remote write configs are not allowed, found duplicate for URL: {}",
                    bongsu_httpclient::redact_url(&cfg.url)
                ));
            }
        }
        let stale: Vec<String> = queues
            .iter()
            .filter(|(k, r)| wanted.get(*k).is_none_or(|(_, s)| *s != r.settings))
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            if let Some(r) = queues.remove(&key) {
                r.queue.stop(self.flush).await;
                if !wanted.contains_key(&key) {
                    let path = self.progress_path(&key);
                    if let Err(e) = std::fs::remove_file(&path) {
                        if e.kind() != std::io::ErrorKind::NotFound {
                            warn!(error = %e, path = %path.display(), "remote write: cannot remove a removed queue's progress");
                        }
                    }
                }
            }
        }
        let mut errors = Vec::new();
        for (key, (cfg, settings)) in wanted {
            if queues.contains_key(&key) {
                continue;
            }
            let name = if cfg.name.is_empty() {
                key[..6].to_string()
            } else {
                cfg.name.clone()
            };
            let spec = QueueSpec {
                config: cfg.clone(),
                name,
                external_labels: external_labels.clone(),
                wal_dir: self.wal_dir.clone(),
                progress_path: self.progress_path(&key),
                pins: self.pins.clone(),
                metadata: self.metadata.lock().clone(),
            };
            match Queue::start(spec) {
                Ok(queue) => {
                    queues.insert(key, Running { settings, queue });
                }
                Err(e) => errors.push(format!(
                    "remote write {}: {e}",
                    bongsu_httpclient::redact_url(&cfg.url)
                )),
            }
        }
        self.publish(&queues);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Stops every queue, each flushing for up to the flush deadline.
    pub async fn stop(&self) {
        let mut queues = self.queues.lock().await;
        let all: Vec<Running> = queues.drain().map(|(_, r)| r).collect();
        let stops = all.into_iter().map(|r| r.queue.stop(self.flush));
        for s in stops {
            s.await;
        }
        self.publish(&queues);
    }

    /// Writes the `prometheus_remote_storage_*` families.
    pub fn write_metrics(&self, enc: &mut Encoder<'_>) {
        if let Ok(queues) = self.queues.try_lock() {
            self.publish(&queues);
        }
        let visible = self.visible.lock();
        let rows: Vec<(&QueueMetrics, u64)> = visible.iter().map(|(m, p)| (&**m, *p)).collect();
        metrics::encode(enc, &rows);
    }

    fn publish(&self, queues: &HashMap<String, Running>) {
        let mut rows: Vec<(Arc<QueueMetrics>, u64)> = queues
            .values()
            .map(|r| (r.queue.metrics.clone(), r.queue.pending()))
            .collect();
        rows.sort_by(|(a, _), (b, _)| (&a.name, &a.url).cmp(&(&b.name, &b.url)));
        *self.visible.lock() = rows;
    }

    fn progress_path(&self, key: &str) -> PathBuf {
        progress_file(&self.progress_dir, key)
    }
}

/// A queue's identity: a hash of its `url` and `name`, in hex.
fn identity(cfg: &RemoteWriteConfig) -> String {
    format!(
        "{:016x}",
        xxh3_64(format!("{}\n{}", cfg.url, cfg.name).as_bytes())
    )
}

fn progress_file(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("progress-{key}"))
}
