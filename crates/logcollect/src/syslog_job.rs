//! A scrape config's `syslog` target run as part of a collector: the listener on the runtime,
//! and a thread of its own that takes its entries, runs the job's pipeline and delivers them.
//! Syslog has no positions to keep, so delivery carries no checkpoint: a line is received once
//! and delivered at most once (a destination failure drops the batch, counted).

use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::config::{LimitsConfig, ScrapeConfig};
use crate::destination::{limit_and_group, rejection_reason, Destination};
use crate::metrics::{METRICS, SYSLOG};
use crate::pipeline::JobPipeline;
use crate::syslog::{SyslogConfig, SyslogTarget};
use crate::tail::now_ns;
use crate::{CollectError, Entry};

/// Entries waiting between the listener and the pipeline; when full, the listener stops
/// reading its sockets (back-pressure, nothing buffered without bound).
const CHANNEL_CAPACITY: usize = 10_000;
/// Most entries run and delivered as one batch.
const MAX_BATCH_ENTRIES: usize = 5_000;
/// How often a quiet target still flushes what its pipeline holds (`multiline`).
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// A running syslog target and its delivery thread.
pub(crate) struct SyslogJob {
    stop: watch::Sender<()>,
    listener: Option<JoinHandle<()>>,
    delivery: Option<JoinHandle<()>>,
}

impl SyslogJob {
    /// Binds the target of `sc` (whose `syslog` is `config`) and starts delivering its
    /// entries to `dest`. Fails when the block is invalid or the address cannot be bound.
    pub(crate) fn start(
        sc: &ScrapeConfig,
        config: SyslogConfig,
        limits: LimitsConfig,
        dest: Arc<dyn Destination>,
        runtime: &tokio::runtime::Handle,
    ) -> Result<SyslogJob, CollectError> {
        let mut pipeline = JobPipeline::new(sc).map_err(|e| CollectError::Config(e.to_string()))?;
        let (tx, mut rx) = mpsc::channel::<Entry>(CHANNEL_CAPACITY);
        let (stop, mut stopped) = watch::channel(());
        let (bound_tx, bound_rx) = std_mpsc::sync_channel(1);
        let (job, relabel) = (sc.job_name.clone(), sc.relabel_configs.clone());
        let rt = runtime.clone();
        let listener = std::thread::Builder::new()
            .name(format!("syslog-{job}"))
            .spawn(move || {
                rt.block_on(async move {
                    let target =
                        match SyslogTarget::bind(config, &job, relabel, SYSLOG.clone()).await {
                            Ok(t) => {
                                let _ = bound_tx.send(Ok(()));
                                t
                            }
                            Err(e) => {
                                let _ = bound_tx.send(Err(e));
                                return;
                            }
                        };
                    target
                        .run(tx, async move {
                            let _ = stopped.changed().await;
                        })
                        .await;
                })
            })
            .map_err(CollectError::Spawn)?;
        match bound_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = listener.join();
                return Err(CollectError::Config(e.to_string()));
            }
            Err(_) => {
                let _ = listener.join();
                return Err(CollectError::Config(
                    "the syslog listener stopped while binding".into(),
                ));
            }
        }
        let rt = runtime.clone();
        let delivery = std::thread::Builder::new()
            .name(format!("syslog-deliver-{}", sc.job_name))
            .spawn(move || loop {
                let mut entries = Vec::new();
                let first =
                    rt.block_on(async { tokio::time::timeout(FLUSH_EVERY, rx.recv()).await });
                let open = match first {
                    Ok(Some(e)) => {
                        pipeline.process(e, &mut entries);
                        true
                    }
                    Ok(None) => false,
                    Err(_) => true,
                };
                let mut taken = 1;
                while taken < MAX_BATCH_ENTRIES {
                    match rx.try_recv() {
                        Ok(e) => pipeline.process(e, &mut entries),
                        Err(_) => break,
                    }
                    taken += 1;
                }
                // At the end everything held goes out; otherwise what is due.
                let now = if open { now_ns() } else { i64::MAX };
                pipeline.flush(now, &mut entries);
                deliver(dest.as_ref(), entries, &limits);
                if !open {
                    return;
                }
            })
            .map_err(CollectError::Spawn)?;
        Ok(SyslogJob {
            stop,
            listener: Some(listener),
            delivery: Some(delivery),
        })
    }

    /// Stops listening, then delivers what was received.
    pub(crate) fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(());
        for t in [self.listener.take(), self.delivery.take()]
            .into_iter()
            .flatten()
        {
            if t.join().is_err() {
                tracing::error!("a syslog collector thread panicked");
            }
        }
    }
}

impl Drop for SyslogJob {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn deliver(dest: &dyn Destination, entries: Vec<Entry>, limits: &LimitsConfig) {
    let n = entries.len() as u64;
    let streams = limit_and_group(entries, limits);
    if streams.is_empty() {
        return;
    }
    match dest.deliver(&streams, None) {
        Ok(report) => {
            for (_, _, why) in &report.rejected {
                METRICS.dropped.with(&[rejection_reason(why)]).inc();
            }
        }
        Err(e) => {
            METRICS.append_failures.inc();
            METRICS.dropped.with(&["destination_failed"]).add(n);
            tracing::error!(error = %e, lines = n, "the log destination failed; syslog lines dropped");
        }
    }
}
