//! Batched writes into the head: validate on append, log to the WAL and apply on commit.
//!
//! A commit frames its WAL records without any lock, queues them for a group write
//! ([`super::group_commit`]), and once they are written applies its samples to the head,
//! again without the WAL lock: two committers encode, and apply, on two cores. Samples of one
//! series are applied in the order the WAL holds them (turns, [`MemSeries::take_turn`]), so
//! the head takes or drops exactly what a replay of the WAL would.

use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bongsu_model::{FloatHistogram, Histogram, HistogramValue, Labels};
use bongsu_storage::{Appender, StorageError};

use super::hist_validate::validate;
use super::{Head, MemSeries, RefHasher, RefMap};
use crate::wal::{
    RefFloatHistogramSample, RefHistogramSample, RefSample, RefSeries, WalBatch, WalError,
};
use crate::{AppendError, CommitStats, SeriesRef, TsdbError};

/// A batch of samples for the head. Nothing is visible or durable until [`Appender::commit`].
pub(crate) struct HeadAppender<'h> {
    head: &'h Head,
    samples: Vec<(Arc<MemSeries>, i64, f64)>,
    /// Histogram samples, each with the number of float samples appended before it, so that
    /// commit applies (and logs) both kinds in the order they were appended.
    histograms: Vec<(Arc<MemSeries>, i64, HistogramValue, usize)>,
    /// Newest pending (time, value bits) per series, to catch disorder within the batch
    /// ([`HISTOGRAM_MARK`] for a histogram).
    pending: RefMap<(i64, u64)>,
    /// The series the last [`Appender::get_ref`] found, which the caller appends to next by
    /// its ref: kept so that this append skips a second lookup (in `by_ref`).
    found: RefCell<Option<Arc<MemSeries>>>,
}

/// Stands for a pending histogram in `pending`: a NaN payload no producer uses.
const HISTOGRAM_MARK: u64 = 0x7ff4_2b5e_0000_0018;

impl<'h> HeadAppender<'h> {
    pub(super) fn new(head: &'h Head) -> HeadAppender<'h> {
        HeadAppender {
            head,
            samples: Vec::new(),
            histograms: Vec::new(),
            pending: RefMap::default(),
            found: RefCell::new(None),
        }
    }

    /// The series with ref `sref`: the one [`Appender::get_ref`] just found, or looked up.
    fn series(&mut self, sref: SeriesRef) -> Result<Arc<MemSeries>, AppendError> {
        let found = self.found.get_mut().take();
        if let Some(s) = found.filter(|s| SeriesRef::from(s.sref) == sref) {
            return Ok(s);
        }
        u32::try_from(sref)
            .ok()
            .and_then(|r| self.head.series(r))
            .ok_or(AppendError::UnknownSeries(sref))
    }

    fn check_bounds(&self, t: i64) -> Result<(), AppendError> {
        self.check_bounds_of(t, &self.head.stats.out_of_bounds)
    }

    /// Refuses `t` if its range is already in a block, counting it in `counter`.
    fn check_bounds_of(
        &self,
        t: i64,
        counter: &std::sync::atomic::AtomicU64,
    ) -> Result<(), AppendError> {
        if t < self.head.appendable_min_time() {
            counter.fetch_add(1, Ordering::Relaxed);
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
            Err(e) => Err(self.count_rejected(e)),
        }
    }

    /// A float sample, except that a stale marker for a series whose last sample is a
    /// histogram becomes a histogram stale marker of that kind, as in Prometheus.
    fn push_float(&mut self, series: Arc<MemSeries>, t: i64, v: f64) -> Result<(), AppendError> {
        if bongsu_model::is_stale_nan(v) {
            if let Some(float) = series.last_histogram_kind() {
                let h = if float {
                    HistogramValue::Float(Arc::new(FloatHistogram {
                        sum: v,
                        ..FloatHistogram::default()
                    }))
                } else {
                    HistogramValue::Int(Arc::new(Histogram {
                        sum: v,
                        ..Histogram::default()
                    }))
                };
                return self.push_histogram(series, t, h);
            }
        }
        self.push(series, t, v)
    }

    fn count_rejected(&self, e: AppendError) -> AppendError {
        let counter = match e {
            AppendError::OutOfOrder => &self.head.stats.out_of_order,
            _ => &self.head.stats.duplicates,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        e
    }

    fn count_rejected_histogram(&self, e: AppendError) -> AppendError {
        let counter = match e {
            AppendError::OutOfOrder => &self.head.stats.out_of_order_histograms,
            _ => &self.head.stats.duplicates,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        e
    }

    fn push_histogram(
        &mut self,
        series: Arc<MemSeries>,
        t: i64,
        h: HistogramValue,
    ) -> Result<(), AppendError> {
        validate(&h).map_err(AppendError::InvalidHistogram)?;
        if let Some(size) = crate::wal::histogram_over_record_limit(&h) {
            return Err(AppendError::InvalidHistogram(format!(
                "histogram too large: it would take up to {size} bytes in the WAL, over the {} byte record limit",
                crate::wal::MAX_RECORD_PAYLOAD
            )));
        }
        let fresh = match self.pending.entry(series.sref) {
            Entry::Occupied(mut e) => {
                let (last_t, _) = *e.get();
                if t < last_t {
                    Err(AppendError::OutOfOrder)
                } else if t == last_t {
                    Err(AppendError::DuplicateTimestamp)
                } else {
                    e.insert((t, HISTOGRAM_MARK));
                    Ok(true)
                }
            }
            Entry::Vacant(e) => {
                let fresh = series.check_histogram(t, &h);
                if let Ok(true) = fresh {
                    e.insert((t, HISTOGRAM_MARK));
                }
                fresh
            }
        };
        match fresh {
            Ok(true) => {
                let pos = self.samples.len();
                self.histograms.push((series, t, h, pos));
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(e) => Err(self.count_rejected_histogram(e)),
        }
    }
}

/// Frames the batch's samples and histograms in the order they were appended: runs of floats
/// as samples records, runs of histograms as histogram records.
fn frame_batch(
    w: &mut WalBatch,
    samples: &[(Arc<MemSeries>, i64, f64)],
    histograms: &[(Arc<MemSeries>, i64, HistogramValue, usize)],
) -> Result<(), WalError> {
    let mut records: Vec<RefSample> = Vec::new();
    let mut frame_floats = |w: &mut WalBatch, part: &[(Arc<MemSeries>, i64, f64)]| {
        if part.is_empty() {
            return;
        }
        records.clear();
        records.extend(part.iter().map(|(s, t, v)| RefSample {
            sref: u64::from(s.sref),
            t: *t,
            v: *v,
        }));
        w.add_samples(&records);
    };
    let mut done = 0;
    let mut i = 0;
    while i < histograms.len() {
        let pos = histograms[i].3;
        frame_floats(w, &samples[done..pos]);
        done = pos;
        let mut j = i;
        while j < histograms.len() && histograms[j].3 == pos {
            j += 1;
        }
        let (mut ints, mut floats) = (Vec::new(), Vec::new());
        for (s, t, h, _) in &histograms[i..j] {
            let sref = u64::from(s.sref);
            match h {
                HistogramValue::Int(h) => ints.push(RefHistogramSample {
                    sref,
                    t: *t,
                    h: (**h).clone(),
                }),
                HistogramValue::Float(h) => floats.push(RefFloatHistogramSample {
                    sref,
                    t: *t,
                    h: (**h).clone(),
                }),
            }
        }
        if !ints.is_empty() {
            w.add_histograms(&ints)?;
        }
        if !floats.is_empty() {
            w.add_histograms(&floats)?;
        }
        i = j;
    }
    frame_floats(w, &samples[done..]);
    Ok(())
}

/// One sample of a batch in apply order: the float at an index, or the histogram at one.
#[derive(Clone, Copy)]
enum Step {
    Float(usize),
    Histogram(usize),
}

/// The batch's samples in the order they were appended (each histogram carries the number of
/// floats appended before it).
fn steps(floats: usize, histograms: &[(Arc<MemSeries>, i64, HistogramValue, usize)]) -> Vec<Step> {
    let mut steps = Vec::with_capacity(floats + histograms.len());
    let mut h = 0;
    for i in 0..floats {
        while h < histograms.len() && histograms[h].3 <= i {
            steps.push(Step::Histogram(h));
            h += 1;
        }
        steps.push(Step::Float(i));
    }
    steps.extend((h..histograms.len()).map(Step::Histogram));
    steps
}

impl Appender for HeadAppender<'_> {
    /// Adds a sample for the series with `labels`; returns the series' ref for
    /// [`Appender::append_ref`]. Errors are per sample: the batch stays usable.
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        self.check_bounds(t)?;
        let (series, _) = self.head.get_or_create(labels)?;
        let sref = series.sref;
        self.push_float(series, t, v)?;
        Ok(SeriesRef::from(sref))
    }

    /// Adds a sample for a series by the ref an earlier append returned.
    fn append_ref(&mut self, sref: SeriesRef, t: i64, v: f64) -> Result<(), AppendError> {
        self.check_bounds(t)?;
        let series = self.series(sref)?;
        self.push_float(series, t, v)
    }

    /// Adds a native histogram sample (validated first) for the series with `labels`.
    fn append_histogram(
        &mut self,
        labels: &Labels,
        t: i64,
        h: HistogramValue,
    ) -> Result<SeriesRef, AppendError> {
        self.check_bounds_of(t, &self.head.stats.out_of_bounds_histograms)?;
        let (series, _) = self.head.get_or_create(labels)?;
        let sref = series.sref;
        self.push_histogram(series, t, h)?;
        Ok(SeriesRef::from(sref))
    }

    /// Adds a native histogram sample by series ref.
    fn append_histogram_ref(
        &mut self,
        sref: SeriesRef,
        t: i64,
        h: HistogramValue,
    ) -> Result<(), AppendError> {
        self.check_bounds_of(t, &self.head.stats.out_of_bounds_histograms)?;
        let series = self.series(sref)?;
        self.push_histogram(series, t, h)
    }

    fn get_ref(&self, pairs: &[(&str, &str)]) -> Option<SeriesRef> {
        let series = self.head.find_by_pairs(pairs)?;
        let sref = SeriesRef::from(series.sref);
        *self.found.borrow_mut() = Some(series);
        Some(sref)
    }

    fn reserve(&mut self, samples: usize) {
        self.samples.reserve(samples);
        self.pending.reserve(samples);
    }

    /// Number of samples waiting for commit.
    fn len(&self) -> usize {
        self.samples.len() + self.histograms.len()
    }

    /// Logs the batch to the WAL, then applies it to the head. Once this returns `Ok`, the
    /// samples survive a crash of the process. On a WAL error nothing is applied.
    fn commit(&mut self) -> Result<CommitStats, StorageError> {
        let mut stats = CommitStats::default();
        self.pending.clear();
        let mut samples = std::mem::take(&mut self.samples);
        let mut histograms = std::mem::take(&mut self.histograms);
        if samples.is_empty() && histograms.is_empty() {
            return Ok(stats);
        }
        let head = self.head;
        let _in_flight = head.commits.read();
        // Garbage collection may have removed a series since it was looked up; it cannot
        // remove more until this commit has applied its samples.
        let series_iter = samples
            .iter_mut()
            .map(|(s, _, _)| s)
            .chain(histograms.iter_mut().map(|(s, _, _, _)| s));
        for series in series_iter {
            if series.is_removed() {
                let labels = series.labels.clone();
                *series = head
                    .get_or_create(&labels)
                    .map_err(|e| TsdbError::Append(e.to_string()))?
                    .0;
            }
        }
        // A series another commit is logging right now may be logged twice, which replay
        // takes as once; a series marked logged is in the WAL before this batch.
        let mut seen: HashSet<u32, BuildHasherDefault<RefHasher>> = HashSet::default();
        let mut new_series = Vec::new();
        let all = || {
            samples
                .iter()
                .map(|(s, _, _)| s)
                .chain(histograms.iter().map(|(s, _, _, _)| s))
        };
        for series in all() {
            if !series.wal_logged.load(Ordering::Acquire) && seen.insert(series.sref) {
                new_series.push(RefSeries {
                    sref: u64::from(series.sref),
                    labels: series.labels.clone(),
                });
            }
        }
        let mut batch = WalBatch::default();
        batch.add_series(&new_series).map_err(TsdbError::from)?;
        frame_batch(&mut batch, &samples, &histograms).map_err(TsdbError::from)?;
        let steps = steps(samples.len(), &histograms);
        let mut turns = Vec::with_capacity(steps.len());
        let seq = head.group.enqueue(batch, || {
            turns.extend(steps.iter().map(|step| match *step {
                Step::Float(i) => samples[i].0.take_turn(),
                Step::Histogram(i) => histograms[i].0.take_turn(),
            }))
        });
        // From here on every turn taken must be applied or skipped, or later commits to the
        // same series would wait for it forever.
        let written = head.group.write(&head.wal, seq);
        if written.is_err() {
            for (step, &turn) in steps.iter().zip(&turns) {
                match *step {
                    Step::Float(i) => samples[i].0.skip_turn(turn),
                    Step::Histogram(i) => histograms[i].0.skip_turn(turn),
                }
            }
        }
        written?;
        if !new_series.is_empty() {
            for series in all() {
                series.wal_logged.store(true, Ordering::Release);
            }
            stats.new_series = new_series.len() as u64;
        }
        let (mut min, mut max) = (i64::MAX, i64::MIN);
        let mut histograms_ok = 0u64;
        for (step, &turn) in steps.iter().zip(&turns) {
            let (t, result) = match *step {
                Step::Float(i) => {
                    let (s, t, v) = &samples[i];
                    (
                        *t,
                        s.append_in_turn(turn, *t, *v, head.chunk_range, &head.disk),
                    )
                }
                Step::Histogram(i) => {
                    let (s, t, h, _) = &histograms[i];
                    let r = s.append_histogram_in_turn(turn, *t, h, head.chunk_range, &head.disk);
                    histograms_ok += u64::from(r.is_ok());
                    (*t, r)
                }
            };
            match result {
                Ok(appended) => {
                    head.stats.count_chunk(appended);
                    stats.samples += 1;
                    min = min.min(t);
                    max = max.max(t);
                }
                Err(_) => stats.dropped += 1,
            }
        }
        if min <= max {
            head.note_times(min, max);
        }
        head.stats
            .samples_appended
            .fetch_add(stats.samples - histograms_ok, Ordering::Relaxed);
        head.stats
            .histograms_appended
            .fetch_add(histograms_ok, Ordering::Relaxed);
        Ok(stats)
    }

    fn rollback(&mut self) {
        self.samples.clear();
        self.histograms.clear();
        self.pending.clear();
    }
}
