//! One series in the head: its labels, its full chunks (on disk) and its open chunk.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use parking_lot::{Mutex, MutexGuard};

use bongsu_model::{HistogramSample, HistogramValue, Labels, Sample};

use super::chunk_disk::{ChunkDisk, ChunkMeta, DiskChunkRef, MmapChunk};
use super::hist_series::{same_histogram, HistData};
use crate::chunk::{decode_xor, ChunkError, Encoding, XorChunk};
use crate::{AppendError, TsdbError};

/// A chunk is cut after this many samples, as in Prometheus.
pub const SAMPLES_PER_CHUNK: usize = 120;

/// A full chunk: on disk, or kept in memory if writing it to disk failed.
///
/// The in-memory fallback is rare, so it is boxed twice: a thin pointer keeps this enum at 16
/// bytes and [`Closed`] at 32, where a `Box<[u8]>` (16 bytes) would make every closed chunk
/// of every series 40.
pub(super) enum ClosedChunk {
    Disk(DiskChunkRef),
    Memory(Box<Box<[u8]>>),
}

impl ClosedChunk {
    /// Writes a full chunk to the head chunk files, or keeps it in memory if that fails.
    pub(super) fn write(disk: &ChunkDisk, meta: ChunkMeta, bytes: &[u8]) -> ClosedChunk {
        match disk.write(meta, bytes) {
            Ok(r) => ClosedChunk::Disk(r),
            Err(e) => {
                tracing::error!(error = %e, "cannot write head chunk to disk; keeping it in memory");
                ClosedChunk::Memory(Box::new(bytes.into()))
            }
        }
    }

    /// Calls `f` with the chunk's bytes.
    pub(super) fn with_bytes<T>(
        &self,
        disk: &ChunkDisk,
        f: impl FnOnce(&[u8]) -> T,
    ) -> Result<T, TsdbError> {
        match self {
            ClosedChunk::Memory(b) => Ok(f(b)),
            ClosedChunk::Disk(r) => disk
                .with_chunk(*r, f)
                .map_err(|e| TsdbError::HeadChunk(e.to_string())),
        }
    }
}

struct Closed {
    min_time: i64,
    max_time: i64,
    chunk: ClosedChunk,
}

struct Open {
    min_time: i64,
    max_time: i64,
    chunk: XorChunk,
}

struct SeriesData {
    closed: Vec<Closed>,
    open: Option<Open>,
    last_t: i64,
    last_v: u64,
    /// Native histogram chunks, for the few series that have them.
    hist: Option<Box<HistData>>,
    /// Turns of committed samples applied so far (see [`MemSeries::take_turn`]).
    applied: u32,
}

impl SeriesData {
    fn is_empty(&self) -> bool {
        self.open.is_none()
            && self.closed.is_empty()
            && self.hist.as_ref().is_none_or(|h| h.is_empty())
    }

    /// Whether the last sample is a histogram.
    fn last_is_histogram(&self) -> bool {
        self.hist.as_ref().is_some_and(|h| h.last.is_some())
    }

    /// Moves the open float chunk of series `sref` to the closed ones (to disk when possible).
    fn close_float(&mut self, disk: &ChunkDisk, sref: u32) {
        if let Some(full) = self.open.take() {
            let meta = ChunkMeta {
                sref,
                min_time: full.min_time,
                max_time: full.max_time,
                encoding: Encoding::Xor as u8,
            };
            let chunk = ClosedChunk::write(disk, meta, full.chunk.bytes());
            // Exact growth: a series holds a few closed chunks (one per 120 samples until
            // the next compaction), and `Vec`'s first allocation of 4 entries would cost
            // 128 bytes for the single chunk most series have. One realloc per chunk cut is
            // nothing next to the chunk's disk write.
            self.closed.reserve_exact(1);
            self.closed.push(Closed {
                min_time: full.min_time,
                max_time: full.max_time,
                chunk,
            });
        }
    }
}

/// A series held in the head.
pub struct MemSeries {
    pub sref: u32,
    pub labels: Labels,
    data: Mutex<SeriesData>,
    /// Whether a WAL series record for this series has been written.
    pub(super) wal_logged: AtomicBool,
    /// Turns handed out to committed samples, in WAL order (see [`MemSeries::take_turn`]).
    turns: AtomicU32,
    /// Set when garbage collection removed the series; appenders then look it up again.
    pub(super) removed: AtomicBool,
}

impl MemSeries {
    pub fn new(sref: u32, labels: Labels) -> MemSeries {
        MemSeries {
            sref,
            labels,
            data: Mutex::new(SeriesData {
                closed: Vec::new(),
                open: None,
                last_t: i64::MIN,
                last_v: 0,
                hist: None,
                applied: 0,
            }),
            wal_logged: AtomicBool::new(false),
            turns: AtomicU32::new(0),
            removed: AtomicBool::new(false),
        }
    }

    /// Closed chunks plus the open one.
    pub fn num_chunks(&self) -> usize {
        let d = self.data.lock();
        d.closed.len()
            + usize::from(d.open.is_some())
            + d.hist.as_ref().map_or(0, |h| h.num_chunks())
    }

    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }

    /// Checks whether `(t, v)` could be appended now; `Ok(false)` for an exact duplicate of the
    /// last sample, which is accepted and ignored as in Prometheus.
    pub fn check(&self, t: i64, v: f64) -> Result<bool, AppendError> {
        let d = self.data.lock();
        check(&d, t, v)
    }

    /// The next turn for a committed sample of this series. Commits take turns in the order
    /// their records go into the WAL and apply in turn ([`MemSeries::append_in_turn`]), so
    /// the head takes or refuses a series' samples exactly as a replay of the WAL does, while
    /// commits touching other series apply in parallel.
    pub(super) fn take_turn(&self) -> u32 {
        self.turns.fetch_add(1, Ordering::Relaxed)
    }

    /// The series' data once every earlier turn has been applied, marking `turn` applied.
    /// An earlier turn belongs to a commit already past the WAL write, which applies without
    /// waiting on later commits, so the wait is short and cannot deadlock.
    fn lock_turn(&self, turn: u32) -> MutexGuard<'_, SeriesData> {
        loop {
            let mut d = self.data.lock();
            if d.applied == turn {
                d.applied = turn.wrapping_add(1);
                return d;
            }
            drop(d);
            std::thread::yield_now();
        }
    }

    /// Gives up `turn` without appending (its commit failed to reach the WAL).
    pub(super) fn skip_turn(&self, turn: u32) {
        drop(self.lock_turn(turn));
    }

    /// [`MemSeries::append`] in `turn`.
    pub(super) fn append_in_turn(
        &self,
        turn: u32,
        t: i64,
        v: f64,
        chunk_range: i64,
        disk: &ChunkDisk,
    ) -> Result<Appended, AppendError> {
        append_float(
            &mut self.lock_turn(turn),
            self.sref,
            t,
            v,
            chunk_range,
            disk,
        )
    }

    /// [`MemSeries::append_histogram`] in `turn`.
    pub(super) fn append_histogram_in_turn(
        &self,
        turn: u32,
        t: i64,
        h: &HistogramValue,
        chunk_range: i64,
        disk: &ChunkDisk,
    ) -> Result<Appended, AppendError> {
        append_histogram(
            &mut self.lock_turn(turn),
            self.sref,
            t,
            h,
            chunk_range,
            disk,
        )
    }

    /// The WAL replay's append: as a commit's (a new chunk is cut when the open one is full or
    /// `t` reaches the chunk range's boundary), except that a sample already in the chunks
    /// taken from disk ([`MemSeries::attach_mmapped`]) is skipped, as a duplicate.
    pub(super) fn replay_append(
        &self,
        t: i64,
        v: f64,
        chunk_range: i64,
        disk: &ChunkDisk,
    ) -> Result<Appended, AppendError> {
        let mut d = self.data.lock();
        // Only attached chunks leave closed float chunks and nothing open: a cut always
        // opens the next chunk.
        if t <= d.last_t && d.open.is_none() && d.hist.is_none() && !d.closed.is_empty() {
            return Ok(Appended::Duplicate);
        }
        append_float(&mut d, self.sref, t, v, chunk_range, disk)
    }

    /// Takes float chunks an earlier run wrote to the head chunk files (XOR, in time order,
    /// on a series that holds nothing yet); the WAL replay then only appends what is newer.
    pub(super) fn attach_mmapped(&self, chunks: &[MmapChunk]) {
        let mut d = self.data.lock();
        debug_assert!(d.is_empty());
        d.closed = chunks
            .iter()
            .map(|c| Closed {
                min_time: c.min_time,
                max_time: c.max_time,
                chunk: ClosedChunk::Disk(c.r),
            })
            .collect();
        if let Some(c) = chunks.last() {
            d.last_t = c.max_time;
        }
    }

    /// After the WAL replay, for a series whose last sample is in a chunk taken from disk:
    /// reads that sample's value, which the next append compares with for duplicates.
    pub(super) fn load_last_value(&self, disk: &ChunkDisk) -> Result<(), TsdbError> {
        let mut d = self.data.lock();
        if d.open.is_some() || d.hist.is_some() {
            return Ok(());
        }
        let Some(c) = d.closed.last() else {
            return Ok(());
        };
        let mut out = Vec::new();
        c.chunk
            .with_bytes(disk, |b| decode_xor(b, &mut out))?
            .map_err(|e| TsdbError::HeadChunk(format!("series {}: {e}", self.labels)))?;
        if let Some(last) = out.last() {
            d.last_t = last.t;
            d.last_v = last.v.to_bits();
        }
        Ok(())
    }

    /// Appends the samples in `[mint, maxt]` to `out`, in time order.
    pub fn samples(
        &self,
        mint: i64,
        maxt: i64,
        disk: &ChunkDisk,
        out: &mut Vec<Sample>,
    ) -> Result<(), TsdbError> {
        let d = self.data.lock();
        let start = out.len();
        let bad = |e: ChunkError| TsdbError::HeadChunk(format!("series {}: {e}", self.labels));
        for c in d
            .closed
            .iter()
            .filter(|c| c.max_time >= mint && c.min_time <= maxt)
        {
            match &c.chunk {
                ClosedChunk::Memory(b) => decode_xor(b, out).map_err(bad)?,
                ClosedChunk::Disk(r) => disk
                    .with_chunk(*r, |b| decode_xor(b, out))
                    .map_err(|e| TsdbError::HeadChunk(e.to_string()))?
                    .map_err(bad)?,
            }
        }
        if let Some(o) = d
            .open
            .as_ref()
            .filter(|o| o.max_time >= mint && o.min_time <= maxt)
        {
            decode_xor(o.chunk.bytes(), out).map_err(bad)?;
        }
        // Chunks overlapping the range may hold samples outside it, at either end only.
        let got = &out[start..];
        let (lo, hi) = (
            got.partition_point(|s| s.t < mint),
            got.partition_point(|s| s.t <= maxt),
        );
        out.truncate(start + hi);
        out.drain(start..start + lo);
        Ok(())
    }

    /// The kind of the series' last sample when it is a histogram: `Some(true)` for a float
    /// histogram, `Some(false)` for an integer one, `None` for a float sample or no sample.
    pub fn last_histogram_kind(&self) -> Option<bool> {
        let d = self.data.lock();
        match d.hist.as_ref()?.last.as_ref()? {
            HistogramValue::Int(_) => Some(false),
            HistogramValue::Float(_) => Some(true),
        }
    }

    /// Checks whether histogram `h` at `t` could be appended now; `Ok(false)` for an exact
    /// duplicate of the last sample.
    pub fn check_histogram(&self, t: i64, h: &HistogramValue) -> Result<bool, AppendError> {
        let d = self.data.lock();
        check_histogram(&d, t, h)
    }

    /// Appends a native histogram sample (see `hist_series.rs` for when chunks are cut).
    pub fn append_histogram(
        &self,
        t: i64,
        h: &HistogramValue,
        chunk_range: i64,
        disk: &ChunkDisk,
    ) -> Result<Appended, AppendError> {
        append_histogram(&mut self.data.lock(), self.sref, t, h, chunk_range, disk)
    }

    /// Appends the histogram samples in `[mint, maxt]` to `out`, in time order.
    pub fn histograms(
        &self,
        mint: i64,
        maxt: i64,
        disk: &ChunkDisk,
        out: &mut Vec<HistogramSample>,
    ) -> Result<(), TsdbError> {
        let d = self.data.lock();
        if let Some(h) = &d.hist {
            h.read(mint, maxt, disk, out)?
                .map_err(|e| TsdbError::HeadChunk(format!("series {}: {e}", self.labels)))?;
        }
        Ok(())
    }

    /// Time range of the samples held, if any.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let d = self.data.lock();
        let floats = float_range(&d);
        let hists = d.hist.as_ref().and_then(|h| h.time_range());
        match (floats, hists) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        }
    }
}

fn float_range(d: &SeriesData) -> Option<(i64, i64)> {
    let min = d
        .closed
        .first()
        .map(|c| c.min_time)
        .or(d.open.as_ref().map(|o| o.min_time))?;
    let max = d
        .open
        .as_ref()
        .map(|o| o.max_time)
        .or(d.closed.last().map(|c| c.max_time))?;
    Some((min, max))
}

impl MemSeries {
    /// Drops chunks that end before `min_time`; returns how many, and whether the series is
    /// now empty.
    pub fn truncate(&self, min_time: i64) -> (usize, bool) {
        let mut d = self.data.lock();
        let before = d.closed.len();
        d.closed.retain(|c| c.max_time >= min_time);
        let mut removed = before - d.closed.len();
        if removed > 0 {
            d.closed.shrink_to_fit();
        }
        if d.open.as_ref().is_some_and(|o| o.max_time < min_time) {
            d.open = None;
            removed += 1;
        }
        if let Some(h) = d.hist.as_mut() {
            removed += h.truncate(min_time);
            if h.is_empty() {
                d.hist = None;
            }
        }
        (removed, d.is_empty())
    }
}

/// What [`MemSeries::append`] did with a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// An exact duplicate of the last sample: accepted and ignored, as in Prometheus.
    Duplicate,
    Sample,
    /// The sample started a new chunk.
    NewChunk,
}

fn append_float(
    d: &mut SeriesData,
    sref: u32,
    t: i64,
    v: f64,
    chunk_range: i64,
    disk: &ChunkDisk,
) -> Result<Appended, AppendError> {
    if !check(d, t, v)? {
        return Ok(Appended::Duplicate);
    }
    let cut = match &d.open {
        None => true,
        Some(o) => {
            let boundary = (o.min_time.div_euclid(chunk_range) + 1).saturating_mul(chunk_range);
            o.chunk.num_samples() >= SAMPLES_PER_CHUNK || t >= boundary
        }
    };
    // A float after histograms starts a new chunk, as a kind change does in Prometheus.
    let cut = cut || d.last_is_histogram();
    if let Some(h) = d.hist.as_mut() {
        h.close_open(disk, sref);
        h.last = None;
    }
    if cut {
        d.close_float(disk, sref);
        d.open = Some(Open {
            min_time: t,
            max_time: t,
            chunk: XorChunk::new(),
        });
    }
    if let Some(o) = d.open.as_mut() {
        o.chunk.append(t, v);
        o.max_time = t;
    }
    d.last_t = t;
    d.last_v = v.to_bits();
    Ok(if cut {
        Appended::NewChunk
    } else {
        Appended::Sample
    })
}

fn append_histogram(
    d: &mut SeriesData,
    sref: u32,
    t: i64,
    h: &HistogramValue,
    chunk_range: i64,
    disk: &ChunkDisk,
) -> Result<Appended, AppendError> {
    if !check_histogram(d, t, h)? {
        return Ok(Appended::Duplicate);
    }
    d.close_float(disk, sref);
    let new = d
        .hist
        .get_or_insert_with(Default::default)
        .append(t, h, chunk_range, disk, sref);
    d.last_t = t;
    Ok(if new {
        Appended::NewChunk
    } else {
        Appended::Sample
    })
}

fn check(d: &SeriesData, t: i64, v: f64) -> Result<bool, AppendError> {
    if t > d.last_t || d.is_empty() {
        return Ok(true);
    }
    if t < d.last_t {
        return Err(AppendError::OutOfOrder);
    }
    if v.to_bits() == d.last_v && !d.last_is_histogram() {
        Ok(false)
    } else {
        Err(AppendError::DuplicateTimestamp)
    }
}

fn check_histogram(d: &SeriesData, t: i64, h: &HistogramValue) -> Result<bool, AppendError> {
    if t > d.last_t || d.is_empty() {
        return Ok(true);
    }
    if t < d.last_t {
        return Err(AppendError::OutOfOrder);
    }
    match d.hist.as_ref().and_then(|x| x.last.as_ref()) {
        Some(last) if same_histogram(last, h) => Ok(false),
        _ => Err(AppendError::DuplicateTimestamp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every series holds one of these per closed chunk: keep it small.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn closed_chunk_entry_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Closed>(), 32);
    }

    #[test]
    fn closed_chunks_use_exact_capacity() {
        let dir = tempfile::tempdir().unwrap();
        let (disk, _) = ChunkDisk::open(&dir.path().join("chunks_head")).unwrap();
        let s = MemSeries::new(1, Labels::from_pairs(&[("a", "b")]).unwrap());
        let range = 7_200_000;
        for i in 0..(3 * SAMPLES_PER_CHUNK as i64 + 1) {
            assert_ne!(
                s.replay_append(i * 15_000, i as f64, range, &disk).unwrap(),
                Appended::Duplicate
            );
        }
        {
            let d = s.data.lock();
            assert_eq!(d.closed.len(), 3);
            assert_eq!(d.closed.capacity(), 3);
        }
        let mut out = Vec::new();
        s.samples(i64::MIN, i64::MAX, &disk, &mut out).unwrap();
        assert_eq!(out.len(), 3 * SAMPLES_PER_CHUNK + 1);
        // Dropping the first chunk gives its capacity back.
        assert_eq!(s.truncate(SAMPLES_PER_CHUNK as i64 * 15_000), (1, false));
        let d = s.data.lock();
        assert_eq!((d.closed.len(), d.closed.capacity()), (2, 2));
    }
}
