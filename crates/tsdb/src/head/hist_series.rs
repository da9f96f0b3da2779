//! The native histogram part of a head series: its histogram chunks (integer or float, one
//! encoding per chunk) and the chunk-cutting rules of Prometheus' `memSeries.appendHistogram`
//! (`histogramsAppendPreprocessor`): a new chunk on a kind change, when the chunk reaches its
//! computed end time or twice the target size (after at least 10 histograms, or at the chunk
//! range boundary), and whenever the chunk encoding asks for one (counter reset, schema
//! change, …).
//!
//! Full histogram chunks go to the head chunk files (`chunks_head`) like float chunks.

use std::collections::HashMap;

use bongsu_model::{HistogramSample, HistogramValue};

use super::chunk_disk::{ChunkDisk, ChunkMeta};
use super::series::ClosedChunk;
use crate::chunk::histogram_meta::{
    MIN_SAMPLES_PER_HISTOGRAM_CHUNK, TARGET_BYTES_PER_HISTOGRAM_CHUNK,
};
use crate::chunk::{
    decode_histograms, ChunkError, Encoding, FloatHistogramChunk, HistogramAppend, HistogramChunk,
    MAX_CHUNK_SAMPLES,
};
use crate::TsdbError;

/// An open histogram chunk of either kind.
pub(crate) enum HChunk {
    Int(HistogramChunk),
    Float(FloatHistogramChunk),
}

impl HChunk {
    fn encoding(&self) -> Encoding {
        match self {
            HChunk::Int(_) => Encoding::Histogram,
            HChunk::Float(_) => Encoding::FloatHistogram,
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            HChunk::Int(c) => c.bytes(),
            HChunk::Float(c) => c.bytes(),
        }
    }

    fn num_samples(&self) -> usize {
        match self {
            HChunk::Int(c) => c.num_samples(),
            HChunk::Float(c) => c.num_samples(),
        }
    }
}

/// A full histogram chunk, in the head chunk files like the float ones (its encoding is kept
/// here too, so that reads need not look at the record).
pub(crate) struct HClosed {
    pub min_time: i64,
    pub max_time: i64,
    pub encoding: Encoding,
    pub chunk: ClosedChunk,
}

pub(crate) struct HOpen {
    pub min_time: i64,
    pub max_time: i64,
    pub chunk: HChunk,
}

/// A series' histogram chunks and the state of its chunk cutting.
#[derive(Default)]
pub(crate) struct HistData {
    pub closed: Vec<HClosed>,
    pub open: Option<HOpen>,
    /// The series' last sample, when it is a histogram (for duplicate detection).
    pub last: Option<HistogramValue>,
    next_at: i64,
    computed_end: bool,
}

/// Prometheus' `rangeForTimestamp`: the end of the chunk range holding `t` (Go division).
fn range_for(t: i64, width: i64) -> i64 {
    (t / width).saturating_mul(width).saturating_add(width)
}

/// Prometheus' `computeChunkEndTime`: an end time that spreads the rest of the range over
/// chunks of about the target size.
fn compute_end(start: i64, cur: i64, max_t: i64, ratio_to_full: f64) -> i64 {
    let n = (max_t - start) as f64 / ((cur - start + 1) as f64 * ratio_to_full);
    if n <= 1.0 {
        return max_t;
    }
    (start as f64 + (max_t - start) as f64 / n.floor()) as i64
}

/// Whether two histograms are the same sample (a duplicate append is ignored), as Prometheus'
/// `Equals`; an integer and a float histogram never are.
pub(crate) fn same_histogram(a: &HistogramValue, b: &HistogramValue) -> bool {
    match (a, b) {
        (HistogramValue::Int(x), HistogramValue::Int(y)) => x.equals(y),
        (HistogramValue::Float(x), HistogramValue::Float(y)) => x.equals(y),
        _ => false,
    }
}

impl HistData {
    /// Closes the open chunk of series `sref` (the series moves on to floats, or a new chunk
    /// starts).
    pub fn close_open(&mut self, disk: &ChunkDisk, sref: u32) {
        if let Some(o) = self.open.take() {
            let meta = ChunkMeta {
                sref,
                min_time: o.min_time,
                max_time: o.max_time,
                encoding: o.chunk.encoding() as u8,
            };
            self.closed.reserve_exact(1);
            self.closed.push(HClosed {
                min_time: o.min_time,
                max_time: o.max_time,
                encoding: o.chunk.encoding(),
                chunk: ClosedChunk::write(disk, meta, o.chunk.bytes()),
            });
        }
    }

    /// Whether `t` of encoding `want` needs a new chunk before any chunk-level decision.
    fn should_cut(&mut self, t: i64, want: Encoding, chunk_range: i64) -> bool {
        let Some(o) = &self.open else {
            return true;
        };
        if o.chunk.encoding() != want {
            return true;
        }
        let num = o.chunk.num_samples();
        let bytes = o.chunk.bytes().len();
        let next_range_start = if self.computed_end {
            range_for(o.min_time, chunk_range)
        } else {
            self.next_at
        };
        if !self.computed_end && bytes >= TARGET_BYTES_PER_HISTOGRAM_CHUNK / 4 {
            let ratio = TARGET_BYTES_PER_HISTOGRAM_CHUNK as f64 / bytes as f64;
            self.next_at = compute_end(o.min_time, o.max_time, self.next_at, ratio);
            self.computed_end = true;
        }
        ((t >= self.next_at || bytes >= 2 * TARGET_BYTES_PER_HISTOGRAM_CHUNK)
            && (num >= MIN_SAMPLES_PER_HISTOGRAM_CHUNK || t >= next_range_start))
            || num + 1 >= MAX_CHUNK_SAMPLES
    }

    /// Appends a histogram known to be newer than the last sample of series `sref`. Returns
    /// whether a new chunk was started.
    pub fn append(
        &mut self,
        t: i64,
        h: &HistogramValue,
        chunk_range: i64,
        disk: &ChunkDisk,
        sref: u32,
    ) -> bool {
        let want = match h {
            HistogramValue::Int(_) => Encoding::Histogram,
            HistogramValue::Float(_) => Encoding::FloatHistogram,
        };
        self.last = Some(h.clone());
        if self.should_cut(t, want, chunk_range) {
            let prev = self.open.take();
            let prev_chunk = prev.as_ref().map(|o| &o.chunk);
            let chunk = match h {
                HistogramValue::Int(h) => {
                    let mut c = HistogramChunk::new();
                    let p = match prev_chunk {
                        Some(HChunk::Int(p)) => Some(p),
                        _ => None,
                    };
                    c.append(p, t, h);
                    HChunk::Int(c)
                }
                HistogramValue::Float(h) => {
                    let mut c = FloatHistogramChunk::new();
                    let p = match prev_chunk {
                        Some(HChunk::Float(p)) => Some(p),
                        _ => None,
                    };
                    c.append(p, t, h);
                    HChunk::Float(c)
                }
            };
            self.open = prev;
            self.start(t, chunk, chunk_range, disk, sref);
            self.computed_end = false;
            return true;
        }
        let Some(open) = self.open.as_mut() else {
            return false;
        };
        let new = match (&mut open.chunk, h) {
            (HChunk::Int(c), HistogramValue::Int(h)) => match c.append(None, t, h) {
                HistogramAppend::NewChunk(n) => Some(HChunk::Int(n)),
                _ => None,
            },
            (HChunk::Float(c), HistogramValue::Float(h)) => match c.append(None, t, h) {
                HistogramAppend::NewChunk(n) => Some(HChunk::Float(n)),
                _ => None,
            },
            // should_cut starts a new chunk on a kind change.
            _ => None,
        };
        match new {
            None => {
                open.max_time = t;
                false
            }
            Some(chunk) => {
                self.start(t, chunk, chunk_range, disk, sref);
                true
            }
        }
    }

    /// Closes the open chunk and opens `chunk`, which holds the sample at `t`.
    fn start(&mut self, t: i64, chunk: HChunk, chunk_range: i64, disk: &ChunkDisk, sref: u32) {
        self.close_open(disk, sref);
        self.open = Some(HOpen {
            min_time: t,
            max_time: t,
            chunk,
        });
        self.next_at = range_for(t, chunk_range);
    }

    /// Appends the histograms in `[mint, maxt]` to `out`, in time order. The outer error is
    /// the chunk files', the inner one a chunk that does not decode.
    pub fn read(
        &self,
        mint: i64,
        maxt: i64,
        disk: &ChunkDisk,
        out: &mut Vec<HistogramSample>,
    ) -> Result<Result<(), ChunkError>, TsdbError> {
        let start = out.len();
        for c in self
            .closed
            .iter()
            .filter(|c| c.max_time >= mint && c.min_time <= maxt)
        {
            if let Err(e) = c
                .chunk
                .with_bytes(disk, |b| decode_histograms(c.encoding, b, out))?
            {
                return Ok(Err(e));
            }
        }
        if let Some(o) = self
            .open
            .as_ref()
            .filter(|o| o.max_time >= mint && o.min_time <= maxt)
        {
            if let Err(e) = decode_histograms(o.chunk.encoding(), o.chunk.bytes(), out) {
                return Ok(Err(e));
            }
        }
        let got = &out[start..];
        let (lo, hi) = (
            got.partition_point(|s| s.t < mint),
            got.partition_point(|s| s.t <= maxt),
        );
        out.truncate(start + hi);
        out.drain(start..start + lo);
        Ok(Ok(()))
    }

    /// Time range of the histograms held.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let min = self
            .closed
            .first()
            .map(|c| c.min_time)
            .or(self.open.as_ref().map(|o| o.min_time))?;
        let max = self
            .open
            .as_ref()
            .map(|o| o.max_time)
            .or(self.closed.last().map(|c| c.max_time))?;
        Some((min, max))
    }

    /// Drops chunks that end before `min_time`; returns how many.
    pub fn truncate(&mut self, min_time: i64) -> usize {
        let before = self.closed.len();
        self.closed.retain(|c| c.max_time >= min_time);
        let mut removed = before - self.closed.len();
        if self.open.as_ref().is_some_and(|o| o.max_time < min_time) {
            self.open = None;
            self.last = None;
            removed += 1;
        }
        removed
    }

    pub fn is_empty(&self) -> bool {
        self.closed.is_empty() && self.open.is_none()
    }

    pub fn num_chunks(&self) -> usize {
        self.closed.len() + usize::from(self.open.is_some())
    }
}

impl super::Head {
    /// Applies replayed histogram samples; returns how many could not be applied.
    pub(super) fn replay_histograms(
        &self,
        hs: impl Iterator<Item = (u64, i64, HistogramValue)>,
        aliases: &HashMap<u64, u32>,
    ) -> u64 {
        let (mut min, mut max, mut dropped) = (i64::MAX, i64::MIN, 0);
        for (sref, t, h) in hs {
            let r = aliases
                .get(&sref)
                .copied()
                .or_else(|| u32::try_from(sref).ok());
            let Some(s) = r.and_then(|r| self.series(r)) else {
                dropped += 1;
                continue;
            };
            if t < self.min_valid_time() {
                continue;
            }
            match s.append_histogram(t, &h, self.chunk_range, &self.disk) {
                Ok(appended) => {
                    self.stats.count_chunk(appended);
                    min = min.min(t);
                    max = max.max(t);
                }
                Err(_) => dropped += 1,
            }
        }
        if min <= max {
            self.note_times(min, max);
        }
        dropped
    }
}

#[cfg(test)]
#[path = "hist_series_tests.rs"]
mod tests;
