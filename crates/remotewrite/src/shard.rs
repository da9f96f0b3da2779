//! A shard: one of the queue's parallel senders. It collects samples into a batch of up to
//! `max_samples_per_send`, sends it when full or after `batch_send_deadline`, and retries a
//! recoverable failure with backoff (`min_backoff` doubling to `max_backoff`, or the
//! receiver's `Retry-After`) until it succeeds or the queue is stopped hard. A batch counts as
//! settled (its WAL position may be acknowledged) once sent, or once refused for good.
//!
//! Not here: which shard a sample goes to and how many shards there are (the queue).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, watch};
use tracing::{error, warn};

use crate::client::{Endpoint, SendError};
use crate::metrics::QueueMetrics;
use crate::request;
use crate::tracker::Tracker;
use crate::watcher::Entry;

/// What every shard of a queue shares.
pub(crate) struct ShardContext {
    pub endpoint: Endpoint,
    pub tracker: Arc<Tracker>,
    pub metrics: Arc<QueueMetrics>,
    pub max_per_send: usize,
    pub batch_send_deadline: Duration,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Samples older than this are dropped instead of (re)sent; zero keeps all.
    pub sample_age_limit: Duration,
    pub stats: SendStats,
}

/// Send totals the shard calculation reads.
#[derive(Debug, Default)]
pub(crate) struct SendStats {
    pub samples_out: AtomicU64,
    pub nanos_out: AtomicU64,
    /// Milliseconds since the epoch of the last successful send.
    pub last_success_ms: AtomicI64,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Resolves once `stop` turns true (or its sender is gone).
pub(crate) async fn until_stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; drop it here.
    let _ = stop.wait_for(|s| *s).await;
}

/// Runs a shard until its channel closes (then sends what it holds) or `hard_stop` turns true
/// (then gives up on what is unsent: it stays unacknowledged and is read again next start).
pub(crate) async fn run(
    ctx: Arc<ShardContext>,
    mut rx: mpsc::Receiver<Vec<Entry>>,
    mut hard_stop: watch::Receiver<bool>,
) {
    let mut batch: Vec<Entry> = Vec::with_capacity(ctx.max_per_send);
    let mut enc = request::Encoder::new(ctx.endpoint.proto());
    let deadline = tokio::time::sleep(ctx.batch_send_deadline);
    tokio::pin!(deadline);
    // The select below waits on its own receiver; `hard_stop` is lent to `send`.
    let mut stopped = hard_stop.clone();
    loop {
        tokio::select! {
            chunk = rx.recv() => match chunk {
                Some(chunk) => {
                    if batch.is_empty() {
                        deadline.as_mut().reset(tokio::time::Instant::now() + ctx.batch_send_deadline);
                    }
                    batch.extend(chunk);
                    while batch.len() >= ctx.max_per_send {
                        let rest = batch.split_off(ctx.max_per_send);
                        if !send(&ctx, &mut enc, &mut batch, &mut hard_stop).await {
                            return;
                        }
                        batch = rest;
                        if !batch.is_empty() {
                            deadline.as_mut().reset(tokio::time::Instant::now() + ctx.batch_send_deadline);
                        }
                    }
                }
                None => {
                    send(&ctx, &mut enc, &mut batch, &mut hard_stop).await;
                    return;
                }
            },
            () = &mut deadline, if !batch.is_empty() => {
                if !send(&ctx, &mut enc, &mut batch, &mut hard_stop).await {
                    return;
                }
            }
            () = until_stopped(&mut stopped) => return,
        }
    }
}

/// Sends `batch` (retrying), then clears it. `false` when stopped hard before it was settled.
async fn send(
    ctx: &ShardContext,
    enc: &mut request::Encoder,
    batch: &mut Vec<Entry>,
    hard_stop: &mut watch::Receiver<bool>,
) -> bool {
    let mut backoff = ctx.min_backoff;
    loop {
        if !ctx.sample_age_limit.is_zero() {
            let oldest = now_ms() - ctx.sample_age_limit.as_millis() as i64;
            let (old, keep): (Vec<Entry>, Vec<Entry>) = batch.drain(..).partition(|e| e.t < oldest);
            let old_histograms = histograms_in(&old);
            ctx.metrics
                .samples_dropped
                .add(old.len() as u64 - old_histograms);
            ctx.metrics.histograms_dropped.add(old_histograms);
            settle(&ctx.tracker, &old);
            *batch = keep;
        }
        if batch.is_empty() {
            return true;
        }
        let n = batch.len() as u64;
        // Floats and histograms are counted apart, as Prometheus' metrics and headers do.
        let hn = histograms_in(batch);
        let fl = n - hn;
        let body = match enc.encode(batch) {
            Ok(b) => b,
            Err(e) => {
                error!(error = %e, samples = n, "remote write: cannot encode a batch; dropping it");
                ctx.metrics.samples_failed.add(fl);
                ctx.metrics.histograms_failed.add(hn);
                settle(&ctx.tracker, batch);
                batch.clear();
                return true;
            }
        };
        let started = Instant::now();
        let result = tokio::select! {
            r = ctx.endpoint.send(body.clone()) => r,
            () = until_stopped(hard_stop) => return false,
        };
        let took = started.elapsed();
        ctx.metrics.send_duration.observe(took);
        ctx.stats.nanos_out.fetch_add(
            took.as_nanos().min(u128::from(u64::MAX)) as u64,
            Ordering::Relaxed,
        );
        match result {
            Ok(written) => {
                if let Some(w) = written.filter(|&w| w < fl) {
                    warn!(sent = fl, written = w, url = %ctx.metrics.url, "remote write: the receiver wrote fewer samples than sent");
                }
                ctx.metrics.samples_sent.add(fl);
                ctx.metrics.histograms_sent.add(hn);
                ctx.metrics.bytes.add(body.len() as u64);
                if let Some(t) = batch.iter().map(|e| e.t).max() {
                    ctx.metrics.observe_highest_sent(t);
                }
                ctx.stats.samples_out.fetch_add(n, Ordering::Relaxed);
                ctx.stats.last_success_ms.store(now_ms(), Ordering::Relaxed);
                settle(&ctx.tracker, batch);
                batch.clear();
                return true;
            }
            Err(SendError::Permanent(reason)) => {
                error!(url = %ctx.metrics.url, samples = n, error = %reason, "remote write: non-recoverable error; dropping the batch");
                ctx.metrics.samples_failed.add(fl);
                ctx.metrics.histograms_failed.add(hn);
                settle(&ctx.tracker, batch);
                batch.clear();
                return true;
            }
            Err(SendError::Recoverable {
                reason,
                retry_after,
            }) => {
                ctx.metrics.samples_retried.add(fl);
                ctx.metrics.histograms_retried.add(hn);
                let wait = retry_after.unwrap_or(backoff);
                warn!(url = %ctx.metrics.url, samples = n, error = %reason, retry_in = ?wait, "remote write: failed to send batch, retrying");
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = until_stopped(hard_stop) => return false,
                }
                backoff = (backoff * 2).min(ctx.max_backoff);
            }
        }
    }
}

/// How many of `entries` are histograms.
fn histograms_in(entries: &[Entry]) -> u64 {
    entries.iter().filter(|e| e.h.is_some()).count() as u64
}

/// Settles the samples of `entries` in the tracker, one call per run of the same record.
fn settle(tracker: &Tracker, entries: &[Entry]) {
    let mut i = 0;
    while i < entries.len() {
        let seq = entries[i].seq;
        let run = entries[i..].iter().take_while(|e| e.seq == seq).count();
        tracker.settle(seq, run as u64);
        i += run;
    }
}
