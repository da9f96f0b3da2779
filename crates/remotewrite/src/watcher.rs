//! The WAL watcher of one queue: follows the TSDB's WAL segments as they are written, keeps the
//! series refs it has seen (with the labels to send, after external labels and
//! `write_relabel_configs`), and hands the samples past its start position to the queue, each
//! samples record registered with the [`Tracker`] so its position is acknowledged once sent.
//!
//! Start: the checkpoint's and every segment's series are read; samples are sent from the
//! resume position on (the progress file's), or for a new queue from its start time on (the
//! samples already in the WAL are not sent). A segment is left for the next once a later one exists: the
//! writer fsyncs a segment before starting the next, so nothing more comes to it.
//!
//! Not here: batching and sending (the shards), writing the progress file (the queue).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bongsu_model::{HistogramValue, Labels};
use bongsu_relabel::RelabelConfig;
use bongsu_tsdb::wal::{self, Record, WalError, FIRST_RECORD_OFFSET};
use tokio::sync::mpsc;
use tracing::warn;

use crate::metrics::QueueMetrics;
use crate::progress::WalPosition;
use crate::tracker::Tracker;

/// How often the watcher looks for new records once it has read everything.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// One sample on its way to a receiver.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The series' ref in the WAL: shards are chosen by it, so a series' samples stay in order.
    pub sref: u64,
    pub labels: Labels,
    pub t: i64,
    /// The float value; unused for a histogram.
    pub v: f64,
    /// A native histogram sample (integer or float, as in the WAL) instead of a float.
    pub h: Option<HistogramValue>,
    /// The tracker sequence number of the WAL record it came from.
    pub seq: u64,
}

/// What a watcher reads and how it turns series into the labels sent.
pub(crate) struct WatcherConfig {
    pub wal_dir: PathBuf,
    /// Where sending resumes; `None` for a new queue (from the end of the WAL).
    pub resume: Option<WalPosition>,
    /// For a new queue: when it started (milliseconds); samples from then on are sent even if
    /// the watcher reads them before it has reached the end of the WAL once.
    pub start_ms: i64,
    pub external_labels: Labels,
    pub relabel: Vec<RelabelConfig>,
    /// `send_native_histograms`: histogram records are skipped without it.
    pub send_histograms: bool,
    /// Whether the protocol carries custom-bucket histograms (NHCB): 2.0 does; on 1.0 they
    /// are dropped and counted, as Prometheus' queue manager does.
    pub send_nhcb: bool,
}

pub(crate) struct Watcher {
    cfg: WatcherConfig,
    series: HashMap<u64, Option<Labels>>,
    sending: bool,
    tracker: Arc<Tracker>,
    out: mpsc::Sender<Vec<Entry>>,
    metrics: Arc<QueueMetrics>,
    stop: Arc<AtomicBool>,
}

/// Why a record could not be handed on: the queue has stopped.
#[derive(Debug, thiserror::Error)]
#[error("the remote-write queue has stopped")]
struct Closed;

impl Watcher {
    pub(crate) fn new(
        cfg: WatcherConfig,
        tracker: Arc<Tracker>,
        out: mpsc::Sender<Vec<Entry>>,
        metrics: Arc<QueueMetrics>,
        stop: Arc<AtomicBool>,
    ) -> Watcher {
        Watcher {
            cfg,
            series: HashMap::new(),
            sending: false,
            tracker,
            out,
            metrics,
            stop,
        }
    }

    /// Follows the WAL until the stop flag is set or the queue closes. Runs on a blocking thread.
    pub(crate) fn run(mut self) {
        let stop = self.stop.clone();
        let dir = self.cfg.wal_dir.clone();
        let mut seg: Option<u32> = None;
        let mut offset = FIRST_RECORD_OFFSET;
        // A queue dropped without being stopped closes the channel: stop then too.
        while !stop.load(Ordering::Relaxed) && !self.out.is_closed() {
            let files = match wal::wal_files(&dir) {
                Ok(f) => f,
                Err(e) => {
                    warn!(error = %e, "remote write: cannot list the WAL");
                    std::thread::sleep(POLL_INTERVAL);
                    continue;
                }
            };
            let current = match seg {
                Some(s) => s,
                None => {
                    let Some(&first) = files.segments.first() else {
                        std::thread::sleep(POLL_INTERVAL);
                        continue;
                    };
                    if let Some(c) = files.checkpoint {
                        if let Err(e) = self.read_checkpoint(&dir, c) {
                            warn!(error = %e, checkpoint = c, "remote write: cannot read the WAL checkpoint");
                        }
                    }
                    if let Some(r) = self.cfg.resume {
                        if r.segment < first {
                            warn!(
                                progress_segment = r.segment,
                                first_segment = first,
                                "remote write: the segments after the queue's progress are gone; sending from the oldest left"
                            );
                            self.sending = true;
                        }
                    }
                    seg = Some(first);
                    first
                }
            };
            if !files.segments.contains(&current) {
                match files.segments.iter().find(|&&s| s > current) {
                    Some(&next) => {
                        seg = Some(next);
                        offset = FIRST_RECORD_OFFSET;
                    }
                    None => std::thread::sleep(POLL_INTERVAL),
                }
                continue;
            }
            let later = files.segments.last().is_some_and(|&l| l > current);
            let path = wal::segment_path(&dir, current);
            let read = wal::read_segment_tail(&path, offset, |rec, end| {
                self.handle(
                    rec,
                    WalPosition {
                        segment: current,
                        offset: end,
                    },
                )
            });
            match read {
                Ok(stopped) => {
                    offset = stopped.offset;
                    if later {
                        if let Some(reason) = stopped.incomplete {
                            warn!(segment = %path.display(), offset, reason, "remote write: skipping a damaged WAL tail");
                        }
                        seg = files.segments.iter().find(|&&s| s > current).copied();
                        offset = FIRST_RECORD_OFFSET;
                        continue;
                    }
                    if !self.sending && self.cfg.resume.is_none() {
                        // A new queue sends what is written from now on.
                        self.sending = true;
                        self.tracker.push(
                            WalPosition {
                                segment: current,
                                offset,
                            },
                            0,
                        );
                    }
                }
                Err(WalError::Other(_)) => return,
                Err(e) => {
                    warn!(error = %e, segment = %path.display(), "remote write: cannot read a WAL segment");
                }
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn read_checkpoint(&mut self, dir: &std::path::Path, c: u32) -> Result<(), WalError> {
        wal::read_checkpoint_records(dir, c, |rec| {
            if let Record::Series(series) = rec {
                for s in series {
                    self.add_series(s.sref, &s.labels);
                }
            }
            Ok(())
        })
    }

    fn add_series(&mut self, sref: u64, labels: &Labels) {
        let out = with_external(labels, &self.cfg.external_labels)
            .and_then(|l| bongsu_relabel::relabel(&l, &self.cfg.relabel))
            .filter(|l| !l.is_empty());
        self.series.insert(sref, out);
    }

    fn handle(&mut self, rec: Record, end: WalPosition) -> Result<(), WalError> {
        let samples: Vec<(u64, i64, Value)> = match rec {
            Record::Series(series) => {
                for s in series {
                    self.add_series(s.sref, &s.labels);
                }
                return Ok(());
            }
            Record::Samples(s) => s
                .into_iter()
                .map(|s| (s.sref, s.t, Value::Float(s.v)))
                .collect(),
            Record::Tombstones(_) => return Ok(()),
            Record::HistogramSamples(_) | Record::FloatHistogramSamples(_)
                if !self.cfg.send_histograms =>
            {
                return Ok(())
            }
            Record::HistogramSamples(hs) => hs
                .into_iter()
                .map(|h| {
                    let v = HistogramValue::Int(Arc::new(h.h));
                    (h.sref, h.t, Value::Histogram(v))
                })
                .collect(),
            Record::FloatHistogramSamples(hs) => hs
                .into_iter()
                .map(|h| {
                    let v = HistogramValue::Float(Arc::new(h.h));
                    (h.sref, h.t, Value::Histogram(v))
                })
                .collect(),
        };
        if self.stop.load(Ordering::Relaxed) {
            return Err(WalError::Other(Box::new(Closed)));
        }
        // Before the resume position nothing is sent; a new queue sends samples from its start
        // time on (those written before it started are not its business).
        let min_t = if self.sending {
            i64::MIN
        } else {
            match self.cfg.resume {
                Some(r) if end > r => {
                    self.sending = true;
                    i64::MIN
                }
                Some(_) => return Ok(()),
                None => self.cfg.start_ms,
            }
        };
        let mut entries = Vec::with_capacity(samples.len());
        let (mut dropped, mut histograms_dropped, mut histograms) = (0u64, 0u64, 0u64);
        let mut highest = i64::MIN;
        for (sref, t, value) in samples.into_iter().filter(|s| s.1 >= min_t) {
            highest = highest.max(t);
            let (v, h) = match value {
                Value::Float(v) => (v, None),
                Value::Histogram(h) => {
                    histograms += 1;
                    (0.0, Some(h))
                }
            };
            let nhcb = h.as_ref().is_some_and(uses_custom_buckets);
            match self.series.get(&sref) {
                Some(Some(labels)) if !nhcb || self.cfg.send_nhcb => entries.push(Entry {
                    sref,
                    labels: labels.clone(),
                    t,
                    v,
                    h,
                    seq: 0,
                }),
                // Dropped by relabelling, a series whose record is gone, or an NHCB on 1.0.
                _ if h.is_some() => histograms_dropped += 1,
                _ => dropped += 1,
            }
        }
        let floats_in = entries.len() as u64 + dropped + histograms_dropped - histograms;
        self.metrics.samples_in.add(floats_in);
        self.metrics.samples_dropped.add(dropped);
        self.metrics.histograms_in.add(histograms);
        self.metrics.histograms_dropped.add(histograms_dropped);
        self.metrics.observe_highest_read(highest);
        let seq = self.tracker.push(end, entries.len() as u64);
        if entries.is_empty() {
            return Ok(());
        }
        for e in &mut entries {
            e.seq = seq;
        }
        self.out
            .blocking_send(entries)
            .map_err(|_| WalError::Other(Box::new(Closed)))
    }
}

/// A WAL value: a float sample or a histogram.
enum Value {
    Float(f64),
    Histogram(HistogramValue),
}

fn uses_custom_buckets(h: &HistogramValue) -> bool {
    match h {
        HistogramValue::Int(h) => h.uses_custom_buckets(),
        HistogramValue::Float(h) => h.uses_custom_buckets(),
    }
}

/// Adds the external labels a series does not have itself, as Prometheus does before
/// relabelling; `None` if the result is not a valid label set.
fn with_external(labels: &Labels, external: &Labels) -> Option<Labels> {
    if external.is_empty() {
        return Some(labels.clone());
    }
    let mut b = labels.builder();
    for l in external.iter() {
        if labels.get(&l.name).is_none() {
            b.set(l.name.clone(), l.value.clone());
        }
    }
    b.build().ok()
}
