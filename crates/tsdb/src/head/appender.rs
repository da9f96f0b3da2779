//! Batched writes into the head: validate on append, log to the WAL and apply on commit.

use std::collections::hash_map::Entry;
use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bongsu_model::{HistogramValue, Labels};
use bongsu_storage::{Appender, StorageError};

use super::{Head, MemSeries, RefHasher, RefMap};
use crate::wal::{RefSample, RefSeries};
use crate::{AppendError, CommitStats, SeriesRef, TsdbError};

/// A batch of samples for the head. Nothing is visible or durable until [`Appender::commit`].
pub(crate) struct HeadAppender<'h> {
    head: &'h Head,
    samples: Vec<(Arc<MemSeries>, i64, f64)>,
    /// Newest pending (time, value bits) per series, to catch disorder within the batch.
    pending: RefMap<(i64, u64)>,
}

impl<'h> HeadAppender<'h> {
    pub(super) fn new(head: &'h Head) -> HeadAppender<'h> {
        HeadAppender {
            head,
            samples: Vec::new(),
            pending: RefMap::default(),
        }
    }

    fn check_bounds(&self, t: i64) -> Result<(), AppendError> {
        if t < self.head.appendable_min_time() {
            self.head
                .stats
                .out_of_bounds
                .fetch_add(1, Ordering::Relaxed);
            return Err(AppendError::OutOfBounds);
        }
        Ok(())
    }

    fn push(&mut self, series: Arc<MemSeries>, t: i64, v: f64) -> Result<(), AppendError> {
        // One map probe per sample: the entry is looked up once and filled in place.
        let fresh = match self.pending.entry(series.sref) {
            Entry::Occupied(mut e) => {
                let (last_t, last_v) = *e.get();
                if t < last_t {
                    Err(AppendError::OutOfOrder)
                } else if t == last_t {
                    if v.to_bits() == last_v {
                        Ok(false)
                    } else {
                        Err(AppendError::DuplicateTimestamp)
                    }
                } else {
                    e.insert((t, v.to_bits()));
                    Ok(true)
                }
            }
            Entry::Vacant(e) => {
                let fresh = series.check(t, v);
                if let Ok(true) = fresh {
                    e.insert((t, v.to_bits()));
                }
                fresh
            }
        };
        match fresh {
            Ok(true) => {
                self.samples.push((series, t, v));
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(e) => {
                let counter = match e {
                    AppendError::OutOfOrder => &self.head.stats.out_of_order,
                    _ => &self.head.stats.duplicates,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }
}

impl Appender for HeadAppender<'_> {
    /// Adds a sample for the series with `labels`; returns the series' ref for
    /// [`Appender::append_ref`]. Errors are per sample: the batch stays usable.
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        self.check_bounds(t)?;
        let (series, _) = self.head.get_or_create(labels)?;
        let sref = series.sref;
        self.push(series, t, v)?;
        Ok(SeriesRef::from(sref))
    }

    /// Adds a sample for a series by the ref an earlier append returned.
    fn append_ref(&mut self, sref: SeriesRef, t: i64, v: f64) -> Result<(), AppendError> {
        self.check_bounds(t)?;
        let series = u32::try_from(sref)
            .ok()
            .and_then(|r| self.head.series(r))
            .ok_or(AppendError::UnknownSeries(sref))?;
        self.push(series, t, v)
    }

    fn append_histogram(
        &mut self,
        _labels: &Labels,
        _t: i64,
        _h: HistogramValue,
    ) -> Result<SeriesRef, AppendError> {
        Err(AppendError::InvalidHistogram(
            "native histograms are not stored yet".into(),
        ))
    }

    fn append_histogram_ref(
        &mut self,
        _sref: SeriesRef,
        _t: i64,
        _h: HistogramValue,
    ) -> Result<(), AppendError> {
        Err(AppendError::InvalidHistogram(
            "native histograms are not stored yet".into(),
        ))
    }

    fn get_ref(&self, pairs: &[(&str, &str)]) -> Option<SeriesRef> {
        self.head.find_ref(pairs)
    }

    /// Number of samples waiting for commit.
    fn len(&self) -> usize {
        self.samples.len()
    }

    /// Logs the batch to the WAL, then applies it to the head. Once this returns `Ok`, the
    /// samples survive a crash of the process. On a WAL error nothing is applied.
    fn commit(&mut self) -> Result<CommitStats, StorageError> {
        let mut stats = CommitStats::default();
        self.pending.clear();
        let mut samples = std::mem::take(&mut self.samples);
        if samples.is_empty() {
            return Ok(stats);
        }
        let head = self.head;
        let mut wal = head.wal.lock();
        // Garbage collection may have removed a series since it was looked up.
        for (series, _, _) in samples.iter_mut() {
            if series.is_removed() {
                let labels = series.labels.clone();
                *series = head
                    .get_or_create(&labels)
                    .map_err(|e| TsdbError::Append(e.to_string()))?
                    .0;
            }
        }
        if let Some(w) = wal.as_mut() {
            let mut seen: HashSet<u32, BuildHasherDefault<RefHasher>> = HashSet::default();
            let mut new_series = Vec::new();
            for (series, _, _) in &samples {
                if !series.wal_logged.load(Ordering::Acquire) && seen.insert(series.sref) {
                    new_series.push(RefSeries {
                        sref: u64::from(series.sref),
                        labels: series.labels.clone(),
                    });
                }
            }
            if !new_series.is_empty() {
                w.log_series(&new_series)?;
                for (series, _, _) in &samples {
                    series.wal_logged.store(true, Ordering::Release);
                }
                stats.new_series = new_series.len() as u64;
            }
            let records: Vec<RefSample> = samples
                .iter()
                .map(|(s, t, v)| RefSample {
                    sref: u64::from(s.sref),
                    t: *t,
                    v: *v,
                })
                .collect();
            w.log_samples(&records)?;
        }
        let (mut min, mut max) = (i64::MAX, i64::MIN);
        for (series, t, v) in &samples {
            match series.append(*t, *v, head.chunk_range, &head.disk) {
                Ok(appended) => {
                    head.stats.count_chunk(appended);
                    stats.samples += 1;
                    min = min.min(*t);
                    max = max.max(*t);
                }
                Err(_) => stats.dropped += 1,
            }
        }
        drop(wal);
        if min <= max {
            head.note_times(min, max);
        }
        head.stats
            .samples_appended
            .fetch_add(stats.samples, Ordering::Relaxed);
        Ok(stats)
    }

    fn rollback(&mut self) {
        self.samples.clear();
        self.pending.clear();
    }
}
