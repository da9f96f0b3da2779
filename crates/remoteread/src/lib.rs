//! The remote-read client (Prometheus' `remote_read`): each configured endpoint is asked, by
//! snappy-compressed protobuf over HTTP, for the series a query selects, and its answer
//! (`SAMPLES` or `STREAMED_XOR_CHUNKS`) is merged with local storage's.
//!
//! This crate owns the wire format ([`codec`], Prometheus' XOR chunks in `xor`), the HTTP
//! client and its metrics ([`client`], [`write_metrics`]), what each remote is asked
//! ([`remote`]) and the merged storage ([`fanout::Fanout`]) the PromQL engine, the series API
//! and rules read through. It does not serve remote read (`api` does) nor store anything.

pub mod client;
pub mod codec;
pub mod fanout;
mod metrics;
pub mod remote;
mod xor;

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use parking_lot::RwLock;
use thiserror::Error;

use bongsu_config::RemoteReadConfig;
use bongsu_model::Labels;

pub use fanout::{Fanout, Warnings};
pub use metrics::write_metrics;

/// Why a remote read failed; shown to users as a query warning.
#[derive(Debug, Error)]
pub enum ReadError {
    #[error("{0}")]
    Request(String),
    #[error("{0}")]
    Status(String),
    #[error("{0}")]
    Decode(String),
    #[error("{0}")]
    TooLarge(String),
    /// A streamed answer holds histogram chunks, which the client cannot decode yet: the
    /// query is asked again for `SAMPLES`.
    #[error("{0}")]
    HistogramChunks(String),
}

/// The local storage's start time in Unix milliseconds (Prometheus' `StartTime`).
pub type StartTime = Box<dyn Fn() -> i64 + Send + Sync>;

/// The configured remotes, replaced as a whole on reload.
pub struct RemoteReads {
    runtime: tokio::runtime::Handle,
    start_time: StartTime,
    remotes: RwLock<Arc<Vec<remote::Remote>>>,
}

impl RemoteReads {
    /// No remotes yet; requests run on `runtime`; `start_time` says from when local storage
    /// is complete (`read_recent: false` remotes are not asked after it).
    pub fn new(runtime: tokio::runtime::Handle, start_time: StartTime) -> RemoteReads {
        RemoteReads {
            runtime,
            start_time,
            remotes: RwLock::default(),
        }
    }

    /// Replaces the remotes by those of `configs`; on error the old ones stay.
    pub fn apply(&self, configs: &[RemoteReadConfig], external: &Labels) -> Result<(), String> {
        let mut remotes = Vec::with_capacity(configs.len());
        for cfg in configs {
            let name = match cfg.name.as_str() {
                "" => unnamed(cfg),
                n => n.to_string(),
            };
            let client = client::Client::new(cfg, &name, self.runtime.clone())
                .map_err(|e| format!("remote_read {name}: {e}"))?;
            remotes.push(remote::Remote::new(cfg, client, external));
        }
        *self.remotes.write() = Arc::new(remotes);
        Ok(())
    }

    /// Whether any remote is configured.
    pub fn is_empty(&self) -> bool {
        self.remotes.read().is_empty()
    }

    pub(crate) fn remotes(&self) -> Arc<Vec<remote::Remote>> {
        self.remotes.read().clone()
    }

    pub(crate) fn local_start(&self) -> i64 {
        (self.start_time)()
    }
}

/// An unnamed remote's name in metrics: six hex digits of a hash of its URL, as Prometheus
/// names it by a hash of its settings.
fn unnamed(cfg: &RemoteReadConfig) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    cfg.url.hash(&mut h);
    format!("{:016x}", h.finish())[..6].to_string()
}
