//! A running log collector: the targets of one loaded `promtail.yml` feeding one destination,
//! on threads of its own. A reload stops the running collector (its last batch delivered, its
//! positions file written) and starts one with the new file; positions carry over through the
//! destination's checkpoint.

use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use bongsu_storage::logs::CheckpointedLogAppendable;

use crate::config::LogConfig;
use crate::destination::{Destination, LocalStore};
use crate::pipeline::JobPipeline;
use crate::tail::Tailer;
use crate::CollectError;

/// The collector of one configuration.
pub struct Collector {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Collector {
    /// Starts collecting what `cfg` names into the local store `store` (a file without
    /// `clients`). Fails on what bongsu cannot run yet, and on an unreadable positions file or
    /// checkpoint.
    pub fn start(
        cfg: LogConfig,
        store: Arc<dyn CheckpointedLogAppendable>,
    ) -> Result<Collector, CollectError> {
        if !cfg.clients.is_empty() {
            return Err(CollectError::Unsupported("clients"));
        }
        if cfg.scrape_configs.iter().any(|sc| sc.syslog.is_some()) {
            return Err(CollectError::Unsupported("syslog"));
        }
        let pipelines = cfg
            .scrape_configs
            .iter()
            .map(JobPipeline::new)
            .collect::<Result<Vec<_>, _>>()?;
        let dest: Arc<dyn Destination> = Arc::new(LocalStore(store));
        let tailer = Tailer::new(cfg, dest, pipelines)?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("logcollect-files".into())
            .spawn(move || tailer.run(rx))
            .map_err(CollectError::Spawn)?;
        Ok(Collector {
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    /// Stops collecting: the round under way finishes, the positions file is written.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!("the log collector's thread panicked");
            }
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.shutdown();
    }
}
