//! One series in the head: its labels, its full chunks (on disk) and its open chunk.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use bongsu_model::{Labels, Sample};

use super::chunk_disk::{ChunkDisk, DiskChunkRef};
use crate::chunk::{decode_xor, ChunkError, XorChunk};
use crate::{AppendError, TsdbError};

/// A chunk is cut after this many samples, as in Prometheus.
pub const SAMPLES_PER_CHUNK: usize = 120;

/// A full chunk: on disk, or kept in memory if writing it to disk failed.
///
/// The in-memory fallback is rare, so it is boxed twice: a thin pointer keeps this enum at 16
/// bytes and [`Closed`] at 32, where a `Box<[u8]>` (16 bytes) would make every closed chunk
/// of every series 40.
enum ClosedChunk {
    Disk(DiskChunkRef),
    Memory(Box<Box<[u8]>>),
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
}

/// A series held in the head.
pub struct MemSeries {
    pub sref: u32,
    pub labels: Labels,
    data: Mutex<SeriesData>,
    /// Whether a WAL series record for this series has been written.
    pub(super) wal_logged: AtomicBool,
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
            }),
            wal_logged: AtomicBool::new(false),
            removed: AtomicBool::new(false),
        }
    }

    /// Closed chunks plus the open one.
    pub fn num_chunks(&self) -> usize {
        let d = self.data.lock();
        d.closed.len() + usize::from(d.open.is_some())
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

    /// Appends a sample, cutting a new chunk when the open one is full or `t` reaches
    /// `boundary(open chunk's min time)`.
    pub fn append(
        &self,
        t: i64,
        v: f64,
        chunk_range: i64,
        disk: &ChunkDisk,
    ) -> Result<Appended, AppendError> {
        let mut d = self.data.lock();
        if !check(&d, t, v)? {
            return Ok(Appended::Duplicate);
        }
        let cut = match &d.open {
            None => true,
            Some(o) => {
                let boundary = (o.min_time.div_euclid(chunk_range) + 1).saturating_mul(chunk_range);
                o.chunk.num_samples() >= SAMPLES_PER_CHUNK || t >= boundary
            }
        };
        if cut {
            if let Some(full) = d.open.take() {
                let chunk = match disk.write(full.chunk.bytes(), full.max_time) {
                    Ok(r) => ClosedChunk::Disk(r),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot write head chunk to disk; keeping it in memory");
                        ClosedChunk::Memory(Box::new(full.chunk.bytes().into()))
                    }
                };
                // Exact growth: a series holds a few closed chunks (one per 120 samples until
                // the next compaction), and `Vec`'s first allocation of 4 entries would cost
                // 128 bytes for the single chunk most series have. One realloc per chunk cut is
                // nothing next to the chunk's disk write.
                d.closed.reserve_exact(1);
                d.closed.push(Closed {
                    min_time: full.min_time,
                    max_time: full.max_time,
                    chunk,
                });
            }
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

    /// Time range of the samples held, if any.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let d = self.data.lock();
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
        (removed, d.closed.is_empty() && d.open.is_none())
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

fn check(d: &SeriesData, t: i64, v: f64) -> Result<bool, AppendError> {
    if t > d.last_t || (d.open.is_none() && d.closed.is_empty()) {
        return Ok(true);
    }
    if t < d.last_t {
        return Err(AppendError::OutOfOrder);
    }
    if v.to_bits() == d.last_v {
        Ok(false)
    } else {
        Err(AppendError::DuplicateTimestamp)
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
        let disk = ChunkDisk::open(&dir.path().join("chunks_head")).unwrap();
        let s = MemSeries::new(1, Labels::from_pairs(&[("a", "b")]).unwrap());
        let range = 7_200_000;
        for i in 0..(3 * SAMPLES_PER_CHUNK as i64 + 1) {
            assert_ne!(
                s.append(i * 15_000, i as f64, range, &disk).unwrap(),
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
