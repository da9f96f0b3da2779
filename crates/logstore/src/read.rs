//! Reading: a [`Selection`] of streams over a time range: counts, stats, volumes, and scans
//! merged over its streams by time. One stream's entries are walked by a `Cursor` (`cursor`).
//!
//! A selection is a consistent snapshot: the blocks it names stay mapped while it lives, and
//! each stream's head lines are shared or copied into it, so appends, cuts and merges after it
//! was taken change nothing it returns.
//!
//! Not here: matchers → streams (the registry, `select`), LogQL (the evaluator on top).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::ControlFlow;
use std::sync::Arc;

use bongsu_model::Labels;

use crate::block::chunk::{ChunkMeta, Metadata};
use crate::block::Block;
use crate::cursor::{Cursor, Decoder, Loaded};
use crate::error::LogStoreError;
use crate::head::HeadSnapshot;
use crate::needle::Needle;

/// Order of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Oldest first.
    #[default]
    Forward,
    /// Newest first.
    Backward,
}

/// What a scan returns: entries with `start <= ts <= end` containing every needle, in
/// `direction` order, at most `limit` of them.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    pub direction: Direction,
    pub limit: Option<usize>,
    pub needles: Vec<Needle>,
}

/// What a cursor did, for query statistics (Loki reports the same kind of figures).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Chunks decompressed.
    pub chunks_read: u64,
    /// Chunks skipped because their filter proved no line contains a needle.
    pub chunks_skipped: u64,
    /// Uncompressed bytes of the lines of the chunks read.
    pub bytes_read: u64,
}

/// One part of a stream's data.
#[derive(Clone)]
pub(crate) enum Part {
    Chunk(Arc<Block>, ChunkMeta),
    Head(HeadSnapshot),
}

impl Part {
    pub(crate) fn min_ts(&self) -> i64 {
        match self {
            Part::Chunk(_, c) => c.min_ts,
            Part::Head(h) => h.min_ts,
        }
    }
    pub(crate) fn max_ts(&self) -> i64 {
        match self {
            Part::Chunk(_, c) => c.max_ts,
            Part::Head(h) => h.max_ts,
        }
    }
    fn count(&self) -> u64 {
        match self {
            Part::Chunk(_, c) => u64::from(c.count),
            Part::Head(h) => h.len() as u64,
        }
    }
    fn bytes(&self) -> u64 {
        match self {
            Part::Chunk(_, c) => c.raw_bytes,
            Part::Head(h) => h.bytes() as u64,
        }
    }
}

/// A selected stream: its labels and its data in the selection's range.
pub struct SelectedStream {
    pub id: u32,
    pub labels: Labels,
    pub(crate) parts: Vec<Part>,
}

/// Loki's `index/stats` figures. Counted by whole chunks overlapping the range (as Loki's
/// index does), head lines exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexStats {
    pub streams: u64,
    pub chunks: u64,
    pub bytes: u64,
    pub entries: u64,
}

/// Streams matching some matchers with data in `[start, end]`, sorted by labels.
pub struct Selection {
    pub start: i64,
    pub end: i64,
    pub(crate) streams: Vec<SelectedStream>,
}

impl Selection {
    pub fn streams(&self) -> &[SelectedStream] {
        &self.streams
    }

    /// A cursor over stream `i` of [`Selection::streams`].
    pub fn cursor<'s>(&'s self, i: usize, opts: &'s ScanOptions) -> Cursor<'s> {
        Cursor::new(&self.streams[i], self.start, self.end, opts)
    }

    /// Lines in range, from chunk counts where a chunk lies wholly inside the range (no
    /// decompression), from timestamps otherwise.
    pub fn count(&self) -> Result<u64, LogStoreError> {
        let mut n = 0;
        let mut dec = Decoder::default();
        for s in &self.streams {
            for p in &s.parts {
                if p.min_ts() >= self.start && p.max_ts() <= self.end {
                    n += p.count();
                    continue;
                }
                match p {
                    Part::Chunk(b, c) => {
                        let mut l = Loaded::default();
                        if dec.load(b, c, &mut l, false).is_ok() {
                            n +=
                                l.ts.iter()
                                    .filter(|&&t| t >= self.start && t <= self.end)
                                    .count() as u64;
                        }
                    }
                    Part::Head(h) => {
                        n += (0..h.len())
                            .filter(|&i| (self.start..=self.end).contains(&h.ts(i)))
                            .count() as u64;
                    }
                }
            }
        }
        Ok(n)
    }

    /// Streams, chunks, bytes and entries of the selection.
    pub fn stats(&self) -> IndexStats {
        let mut st = IndexStats {
            streams: self.streams.len() as u64,
            ..IndexStats::default()
        };
        for p in self.streams.iter().flat_map(|s| &s.parts) {
            st.chunks += 1;
            st.bytes += p.bytes();
            st.entries += p.count();
        }
        st
    }

    /// Bytes and entries of each stream (Loki's `index/volume` before aggregation).
    pub fn volumes(&self) -> Vec<(&Labels, u64, u64)> {
        self.streams
            .iter()
            .map(|s| {
                (
                    &s.labels,
                    s.parts.iter().map(Part::bytes).sum(),
                    s.parts.iter().map(Part::count).sum(),
                )
            })
            .collect()
    }

    /// Bytes of each stream (in [`Selection::streams`] order) in each bucket (`buckets`:
    /// inclusive `[from, through]` ranges in ns, sorted, not overlapping), for Loki's
    /// `index/volume` and `volume_range`. Head lines are counted exactly; a chunk's bytes are
    /// shared out by the part of its time span each bucket covers, as Loki's index prorates a
    /// chunk that straddles the range (`GetFactorOfTime`), so nothing is decompressed.
    pub fn volume_buckets(&self, buckets: &[(i64, i64)]) -> Vec<Vec<u64>> {
        debug_assert!(buckets.windows(2).all(|w| w[0].1 < w[1].0));
        // The first bucket ending at or after `ts`.
        let first_at = |ts: i64| buckets.partition_point(|b| b.1 < ts);
        self.streams
            .iter()
            .map(|s| {
                let mut out = vec![0u64; buckets.len()];
                for p in &s.parts {
                    match p {
                        Part::Chunk(_, c) => {
                            let span = (c.max_ts - c.min_ts) as f64;
                            for (i, &(from, through)) in
                                buckets.iter().enumerate().skip(first_at(c.min_ts))
                            {
                                if from > c.max_ts {
                                    break;
                                }
                                let factor = if span <= 0.0 {
                                    1.0
                                } else {
                                    let lo = from.max(c.min_ts);
                                    let hi = through.min(c.max_ts);
                                    (hi - lo) as f64 / span
                                };
                                out[i] += (c.raw_bytes as f64 * factor) as u64;
                            }
                        }
                        Part::Head(h) => {
                            for j in 0..h.len() {
                                let e = h.row(j);
                                let i = first_at(e.ts);
                                if buckets.get(i).is_some_and(|b| b.0 <= e.ts) {
                                    out[i] += e.size() as u64;
                                }
                            }
                        }
                    }
                }
                out
            })
            .collect()
    }

    /// Every matching entry of every stream, merged into one time order (by `direction`; ties
    /// in stream order), at most `opts.limit`. `visit` gets the stream and the entry and may
    /// stop the scan.
    pub fn scan(
        &self,
        opts: &ScanOptions,
        mut visit: impl FnMut(&SelectedStream, EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), LogStoreError> {
        let all: Vec<usize> = (0..self.streams.len()).collect();
        self.scan_streams(&all, opts, |_, s, e| visit(s, e))
    }

    /// [`Selection::scan`] over some of the streams: `which` holds indexes into
    /// [`Selection::streams`], ascending (ties go to the lower index, as in a full scan), and
    /// `visit` gets the index too. Scans of disjoint sets may run on different threads; merged
    /// by (time, index), their entries come in the order of one scan over the union.
    pub fn scan_streams(
        &self,
        which: &[usize],
        opts: &ScanOptions,
        mut visit: impl FnMut(usize, &SelectedStream, EntryRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), LogStoreError> {
        debug_assert!(which.windows(2).all(|w| w[0] < w[1]));
        let mut cursors: Vec<Cursor<'_>> = which.iter().map(|&i| self.cursor(i, opts)).collect();
        // A min-heap on the key (ts, or -ts backward), then the stream index.
        let key = |ts: i64| {
            if opts.direction == Direction::Forward {
                ts
            } else {
                -ts.max(i64::MIN + 1)
            }
        };
        let mut heap = BinaryHeap::new();
        for (i, c) in cursors.iter_mut().enumerate() {
            if let Some(ts) = c.peek_ts()? {
                heap.push(Reverse((key(ts), i)));
            }
        }
        let mut left = opts.limit.unwrap_or(usize::MAX);
        while let Some(Reverse((_, i))) = heap.pop() {
            if left == 0 {
                break;
            }
            let c = &mut cursors[i];
            if let Some(e) = c.next()? {
                left -= 1;
                if visit(which[i], &self.streams[which[i]], e).is_break() {
                    break;
                }
            }
            if let Some(ts) = c.peek_ts()? {
                heap.push(Reverse((key(ts), i)));
            }
        }
        Ok(())
    }
}

/// One entry, borrowed from the cursor's buffers.
#[derive(Clone, Copy)]
pub struct EntryRef<'a> {
    pub ts: i64,
    pub line: &'a str,
    pub(crate) meta: MetaRef<'a>,
}

#[derive(Clone, Copy)]
pub(crate) enum MetaRef<'a> {
    Chunk(&'a Metadata, usize),
    Head(&'a [(Box<str>, Box<str>)]),
}

impl<'a> EntryRef<'a> {
    /// Structured metadata, sorted by name.
    pub fn metadata(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let (chunk, head) = match self.meta {
            MetaRef::Chunk(m, i) => (Some(m.pairs(i)), None),
            MetaRef::Head(h) => (None, Some(h.iter().map(|(k, v)| (&**k, &**v)))),
        };
        chunk
            .into_iter()
            .flatten()
            .chain(head.into_iter().flatten())
    }
}
