//! A running log collector: the targets of one loaded `promtail.yml` (tailed files, syslog
//! listeners) feeding one destination, on threads of its own. A reload stops the running
//! collector (its last batch delivered, its positions file written, its clients flushed) and
//! starts one with the new file; positions carry over through the destination's checkpoint.

use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use bongsu_storage::logs::CheckpointedLogAppendable;

use crate::client::Client;
use crate::config::LogConfig;
use crate::destination::{Destination, LocalStore, RemoteClients};
use crate::metrics::CLIENTS;
use crate::pipeline::JobPipeline;
use crate::syslog_job::SyslogJob;
use crate::tail::Tailer;
use crate::CollectError;

/// The collector of one configuration.
pub struct Collector {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    syslog: Vec<SyslogJob>,
    /// The clients to flush at stop (agent mode), and the runtime they run on.
    clients: Option<(Arc<RemoteClients>, tokio::runtime::Handle)>,
}

impl Collector {
    /// Starts collecting what `cfg` names: into its `clients` if it has any (at least once),
    /// else into the local store `store` (files exactly once). Syslog targets and clients run
    /// on the tokio runtime this is called from (a blocking thread of it). Fails on an invalid
    /// block, an address that cannot be bound, or an unreadable positions file or checkpoint.
    pub fn start(
        cfg: LogConfig,
        store: Arc<dyn CheckpointedLogAppendable>,
    ) -> Result<Collector, CollectError> {
        let needs_runtime =
            !cfg.clients.is_empty() || cfg.scrape_configs.iter().any(|sc| sc.syslog.is_some());
        let runtime = if needs_runtime {
            Some(tokio::runtime::Handle::try_current().map_err(|_| {
                CollectError::Config("syslog targets and clients need a tokio runtime".into())
            })?)
        } else {
            None
        };
        let mut clients = None;
        let dest: Arc<dyn Destination> = match &runtime {
            Some(rt) if !cfg.clients.is_empty() => {
                let _entered = rt.enter();
                let mut started = Vec::new();
                for config in &cfg.clients {
                    started.push(
                        Client::new(config.clone(), CLIENTS.clone())
                            .map_err(|e| CollectError::Config(e.to_string()))?,
                    );
                }
                let remote = Arc::new(RemoteClients {
                    clients: started,
                    runtime: rt.clone(),
                });
                clients = Some((remote.clone(), rt.clone()));
                remote
            }
            _ => Arc::new(LocalStore(store)),
        };
        let mut syslog = Vec::new();
        for sc in &cfg.scrape_configs {
            let (Some(config), Some(rt)) = (&sc.syslog, &runtime) else {
                continue;
            };
            syslog.push(SyslogJob::start(
                sc,
                config.clone(),
                cfg.limits.clone(),
                dest.clone(),
                rt,
            )?);
        }
        let pipelines = cfg
            .scrape_configs
            .iter()
            .map(|sc| JobPipeline::new(sc).map_err(|e| CollectError::Config(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let tailer = Tailer::new(cfg, dest, pipelines)?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("logcollect-files".into())
            .spawn(move || tailer.run(rx))
            .map_err(CollectError::Spawn)?;
        Ok(Collector {
            stop: Some(tx),
            thread: Some(thread),
            syslog,
            clients,
        })
    }

    /// Stops collecting: listeners close, the round under way finishes, the positions file is
    /// written, clients send what they hold.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        for job in self.syslog.drain(..) {
            job.stop();
        }
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!("the log collector's thread panicked");
            }
        }
        if let Some((remote, rt)) = self.clients.take() {
            // The tailer and the syslog jobs, which held the other references, have ended.
            match Arc::try_unwrap(remote) {
                Ok(remote) => rt.block_on(async move {
                    for c in remote.clients {
                        c.stop().await;
                    }
                }),
                Err(_) => tracing::error!("log clients still in use at stop; not flushed"),
            }
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.shutdown();
    }
}
