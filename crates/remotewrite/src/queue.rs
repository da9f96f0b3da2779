//! One remote-write queue: its watcher (a blocking thread following the WAL), the dispatcher
//! that routes samples to shards by series and reshards every 10 seconds, the shards, and the
//! progress writer that persists the acknowledged WAL position and moves the queue's WAL pin.
//!
//! Stopping is Prometheus' bounded flush: the watcher stops reading, the shards send what they
//! hold for up to the flush deadline, then whatever is unsent is abandoned (unacknowledged, so
//! read again on the next start).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bongsu_config::{ProtobufMessage, RemoteWriteConfig};
use bongsu_model::Labels;
use bongsu_tsdb::wal::{self, WalPin, WalPins};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::client::Endpoint;
use crate::metadata::{self, MetadataSource, MetadataTask};
use crate::metrics::QueueMetrics;
use crate::progress::{self, WalPosition};
use crate::reshard::{ShardCalculator, Totals, SHARD_UPDATE_INTERVAL};
use crate::shard::{self, now_ms, until_stopped, SendStats, ShardContext};
use crate::tracker::Tracker;
use crate::watcher::{Entry, Watcher, WatcherConfig};

/// WAL records (each up to 16,384 samples) read ahead of the dispatcher.
const RECORDS_READ_AHEAD: usize = 4;
/// How often the acknowledged position is written to the progress file.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// Everything a queue is started from.
pub(crate) struct QueueSpec {
    pub config: RemoteWriteConfig,
    pub name: String,
    pub external_labels: Labels,
    pub wal_dir: PathBuf,
    pub progress_path: PathBuf,
    pub pins: Arc<WalPins>,
    /// Metric metadata to send periodically (1.0 queues with `metadata_config.send`).
    pub metadata: Option<MetadataSource>,
}

/// A running queue.
pub(crate) struct Queue {
    pub metrics: Arc<QueueMetrics>,
    tracker: Arc<Tracker>,
    stop_watcher: Arc<AtomicBool>,
    hard_stop: watch::Sender<bool>,
    stop_progress: watch::Sender<bool>,
    watcher: JoinHandle<()>,
    dispatcher: JoinHandle<()>,
    progress: JoinHandle<()>,
    /// The metadata sender, when the queue sends metadata.
    metadata: Option<(watch::Sender<bool>, JoinHandle<()>)>,
}

impl Queue {
    /// Starts the queue: resumes from its progress file, or from the end of the WAL when it has
    /// none. A damaged progress file is reported and the queue resends from the oldest segment
    /// (duplicates, which receivers ignore, rather than losses).
    pub(crate) fn start(spec: QueueSpec) -> Result<Queue, String> {
        let cfg = &spec.config;
        let endpoint = Endpoint::new(cfg)?;
        let resume = match progress::read(&spec.progress_path) {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, "remote write: resending from the oldest WAL segment");
                Some(WalPosition {
                    segment: 0,
                    offset: 0,
                })
            }
        };
        let first_pin = match resume {
            Some(p) => p.segment,
            None => wal::wal_files(&spec.wal_dir)
                .ok()
                .and_then(|f| f.segments.last().copied())
                .unwrap_or(0),
        };
        let pin = spec.pins.pin(first_pin);
        let metrics = Arc::new(QueueMetrics::new(spec.name.clone(), cfg.url.clone()));
        let q = &cfg.queue_config;
        let (min, max) = (q.min_shards as usize, q.max_shards as usize);
        metrics.shards_min.set(min as f64);
        metrics.shards_max.set(max as f64);
        metrics.capacity.set(q.capacity as f64);
        metrics.max_per_send.set(q.max_samples_per_send as f64);
        let tracker = Arc::new(Tracker::new(resume));
        let ctx = Arc::new(ShardContext {
            endpoint,
            tracker: tracker.clone(),
            metrics: metrics.clone(),
            max_per_send: q.max_samples_per_send as usize,
            batch_send_deadline: q.batch_send_deadline,
            min_backoff: q.min_backoff,
            max_backoff: q.max_backoff,
            sample_age_limit: q.sample_age_limit,
            stats: SendStats::default(),
        });
        let (tx, rx) = mpsc::channel(RECORDS_READ_AHEAD);
        let stop_watcher = Arc::new(AtomicBool::new(false));
        let watcher = Watcher::new(
            WatcherConfig {
                wal_dir: spec.wal_dir.clone(),
                resume,
                start_ms: now_ms(),
                external_labels: spec.external_labels.clone(),
                relabel: cfg.write_relabel_configs.clone(),
                send_histograms: cfg.send_native_histograms,
                send_nhcb: cfg.protobuf_message == ProtobufMessage::V2,
            },
            tracker.clone(),
            tx,
            metrics.clone(),
            stop_watcher.clone(),
        );
        let watcher = tokio::task::spawn_blocking(move || watcher.run());
        let (hard_stop, hard_rx) = watch::channel(false);
        let dispatcher = tokio::spawn(dispatch(
            rx,
            ctx,
            Shape {
                min,
                max,
                capacity: q.capacity as usize,
            },
            hard_rx,
        ));
        let (stop_progress, progress_rx) = watch::channel(false);
        let progress = tokio::spawn(persist_progress(
            tracker.clone(),
            spec.progress_path.clone(),
            pin,
            progress_rx,
        ));
        let metadata = match &spec.metadata {
            Some(source)
                if cfg.metadata_config.send && cfg.protobuf_message == ProtobufMessage::V1 =>
            {
                let (stop, stopped) = watch::channel(false);
                let task = MetadataTask {
                    endpoint: Endpoint::new(cfg)?,
                    config: cfg.metadata_config.clone(),
                    source: source.clone(),
                    metrics: metrics.clone(),
                    min_backoff: q.min_backoff,
                    max_backoff: q.max_backoff,
                };
                Some((stop, tokio::spawn(metadata::run(task, stopped))))
            }
            _ => None,
        };
        info!(remote_name = %spec.name, url = %bongsu_httpclient::redact_url(&cfg.url), resume = ?resume, "starting remote-write queue");
        Ok(Queue {
            metadata,
            metrics,
            tracker,
            stop_watcher,
            hard_stop,
            stop_progress,
            watcher,
            dispatcher,
            progress,
        })
    }

    /// Samples read from the WAL and not yet settled.
    pub(crate) fn pending(&self) -> u64 {
        self.tracker.outstanding()
    }

    /// Stops reading, gives the shards up to `flush` to send what they hold, abandons the
    /// rest, and writes the final progress.
    pub(crate) async fn stop(self, flush: Duration) {
        if let Some((stop, task)) = self.metadata {
            let _ = stop.send(true);
            let _ = task.await;
        }
        self.stop_watcher.store(true, Ordering::Relaxed);
        let mut dispatcher = self.dispatcher;
        if tokio::time::timeout(flush, &mut dispatcher).await.is_err() {
            warn!(remote_name = %self.metrics.name, pending = self.tracker.outstanding(), "remote write: flush deadline passed; unsent samples will be sent after the next start");
            let _ = self.hard_stop.send(true);
            let _ = dispatcher.await;
        }
        let _ = self.watcher.await;
        let _ = self.stop_progress.send(true);
        let _ = self.progress.await;
    }
}

/// The shard settings the dispatcher works within.
#[derive(Debug, Clone, Copy)]
struct Shape {
    min: usize,
    max: usize,
    capacity: usize,
}

struct Shards {
    senders: Vec<mpsc::Sender<Vec<Entry>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Shards {
    fn start(
        n: usize,
        shape: Shape,
        ctx: &Arc<ShardContext>,
        hard: &watch::Receiver<bool>,
    ) -> Shards {
        let mut senders = Vec::with_capacity(n);
        let mut tasks = Vec::with_capacity(n);
        // A shard's channel carries its share of each WAL record (one wake-up per record, not
        // per sample); `capacity` samples are counted as batches of `max_samples_per_send`.
        let chunks = (shape.capacity / ctx.max_per_send).max(1);
        for _ in 0..n {
            let (tx, rx) = mpsc::channel(chunks);
            senders.push(tx);
            tasks.push(tokio::spawn(shard::run(ctx.clone(), rx, hard.clone())));
        }
        ctx.metrics.shards.set(n as f64);
        Shards { senders, tasks }
    }

    /// Closes the shards' channels and waits for them to send what they hold.
    async fn close(self) {
        drop(self.senders);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Routes samples to shards by series until the watcher is done, resharding as the shard
/// calculation asks, then closes the shards.
async fn dispatch(
    mut rx: mpsc::Receiver<Vec<Entry>>,
    ctx: Arc<ShardContext>,
    shape: Shape,
    hard: watch::Receiver<bool>,
) {
    let mut n = shape.min;
    let mut shards = Shards::start(n, shape, &ctx, &hard);
    ctx.metrics.shards_desired.set(n as f64);
    let mut calc = ShardCalculator::default();
    let mut tick = tokio::time::interval(SHARD_UPDATE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut stopped = hard.clone();
    let mut stopped_while_routing = hard.clone();
    loop {
        tokio::select! {
            chunk = rx.recv() => {
                let Some(entries) = chunk else { break };
                let mut parts: Vec<Vec<Entry>> = vec![Vec::new(); n];
                for e in entries {
                    parts[(e.sref % n as u64) as usize].push(e);
                }
                for (shard, part) in shards.senders.iter().zip(parts) {
                    if part.is_empty() {
                        continue;
                    }
                    tokio::select! {
                        r = shard.send(part) => if r.is_err() { return },
                        () = until_stopped(&mut stopped_while_routing) => return,
                    }
                }
            }
            _ = tick.tick() => {
                let desired = calc.desired(totals(&ctx), n, shape.min, shape.max);
                ctx.metrics.shards_desired.set(desired as f64);
                // As Prometheus: no resharding while sends fail, as the shards could not flush.
                let recent = now_ms() - ctx.stats.last_success_ms.load(Ordering::Relaxed)
                    < 2 * ctx.batch_send_deadline.as_millis() as i64 + SHARD_UPDATE_INTERVAL.as_millis() as i64;
                if desired != n && recent {
                    info!(remote_name = %ctx.metrics.name, from = n, to = desired, "remote write: resharding");
                    shards.close().await;
                    n = desired;
                    shards = Shards::start(n, shape, &ctx, &hard);
                }
            }
            () = until_stopped(&mut stopped) => return,
        }
    }
    shards.close().await;
}

fn totals(ctx: &ShardContext) -> Totals {
    let m = &ctx.metrics;
    let delay = match (m.highest_read_ms(), m.highest_sent_ms()) {
        (Some(r), Some(s)) => (r - s) as f64 / 1000.0,
        _ => 0.0,
    };
    Totals {
        samples_in: m.samples_in.get(),
        samples_dropped: m.samples_dropped.get(),
        samples_out: ctx.stats.samples_out.load(Ordering::Relaxed),
        send_seconds: ctx.stats.nanos_out.load(Ordering::Relaxed) as f64 / 1e9,
        delay_seconds: delay,
    }
}

/// Writes the acknowledged position when it moves (at most every [`PROGRESS_INTERVAL`], and
/// once more when stopped), and moves the WAL pin to its segment.
async fn persist_progress(
    tracker: Arc<Tracker>,
    path: PathBuf,
    pin: WalPin,
    mut stop: watch::Receiver<bool>,
) {
    let mut written: Option<WalPosition> = None;
    loop {
        let stopping = tokio::select! {
            () = tokio::time::sleep(PROGRESS_INTERVAL) => false,
            () = until_stopped(&mut stop) => true,
        };
        let acked = tracker.acked();
        if let Some(pos) = acked.filter(|&p| Some(p) != written) {
            let p = path.clone();
            match tokio::task::spawn_blocking(move || progress::write(&p, pos)).await {
                Ok(Ok(())) => {
                    written = Some(pos);
                    pin.set(pos.segment);
                }
                Ok(Err(e)) => warn!(error = %e, "remote write: cannot save the queue's progress"),
                Err(e) => warn!(error = %e, "remote write: saving the queue's progress failed"),
            }
        }
        if stopping {
            return;
        }
    }
}
