//! The head: lines appended since the last cut, per stream, in memory, until the store cuts them
//! into a block (by size or time span, see `LogStoreOptions`).
//!
//! Lines are kept in arrival order in immutable pieces of [`PIECE_ENTRIES`] (shared with readers
//! by `Arc`, so a query copies at most one open piece per stream) and sorted when read or cut.
//! Exact duplicates (same timestamp and line in a stream) are found with a set of
//! `(ts, line hash)` and dropped, as Loki's ingesters drop them.
//!
//! Not here: durability (the WAL), the out-of-order and retention rules (the store checks them
//! against the stream registry, which also outlives cuts).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use xxhash_rust::xxh3::xxh3_64;

/// Entries per sealed piece.
pub const PIECE_ENTRIES: usize = 128;

/// One line in the head. Metadata is sorted by name, one value per name (see the crate docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadEntry {
    pub ts: i64,
    pub line: Box<str>,
    pub metadata: Box<[(Box<str>, Box<str>)]>,
}

impl HeadEntry {
    /// Bytes of line and metadata, the figure limits and stats use.
    pub fn size(&self) -> usize {
        self.line.len()
            + self
                .metadata
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
    }
}

/// A stream's head lines.
#[derive(Default)]
pub struct HeadStream {
    pieces: Vec<Arc<[HeadEntry]>>,
    open: Vec<HeadEntry>,
    seen: HashSet<(i64, u64)>,
    /// Every entry so far came at or after the previous one.
    in_order: bool,
    pub min_ts: i64,
    pub max_ts: i64,
    pub bytes: usize,
}

impl HeadStream {
    /// Adds a line unless it duplicates one already here; returns whether it was added.
    pub fn push(&mut self, e: HeadEntry) -> bool {
        if !self.seen.insert((e.ts, xxh3_64(e.line.as_bytes()))) {
            return false;
        }
        if self.len() == 0 {
            self.in_order = true;
            self.min_ts = e.ts;
            self.max_ts = e.ts;
        } else {
            self.in_order &= e.ts >= self.max_ts;
            self.min_ts = self.min_ts.min(e.ts);
            self.max_ts = self.max_ts.max(e.ts);
        }
        self.bytes += e.size();
        self.open.push(e);
        if self.open.len() >= PIECE_ENTRIES {
            self.pieces.push(Arc::from(std::mem::take(&mut self.open)));
        }
        true
    }

    pub fn len(&self) -> usize {
        self.pieces.len() * PIECE_ENTRIES + self.open.len()
    }

    /// A reader's copy: shares the sealed pieces, copies the open one, sorted order given.
    pub fn snapshot(&self) -> HeadSnapshot {
        let mut pieces = self.pieces.clone();
        if !self.open.is_empty() {
            pieces.push(Arc::from(self.open.clone()));
        }
        HeadSnapshot::new(pieces, self.in_order, self.min_ts, self.max_ts)
    }

    /// All entries, sorted by time (arrival order among equal timestamps); for a cut.
    pub fn sorted(&self) -> Vec<&HeadEntry> {
        let mut all: Vec<&HeadEntry> = self
            .pieces
            .iter()
            .flat_map(|p| p.iter())
            .chain(self.open.iter())
            .collect();
        if !self.in_order {
            all.sort_by_key(|e| e.ts);
        }
        all
    }
}

/// The lines of one stream's head as a reader sees them: time-ordered access by index.
#[derive(Clone)]
pub struct HeadSnapshot {
    pieces: Vec<Arc<[HeadEntry]>>,
    /// `(piece, index)` in time order when arrival order was not; empty when it was.
    order: Arc<[(u32, u32)]>,
    len: usize,
    pub min_ts: i64,
    pub max_ts: i64,
}

impl HeadSnapshot {
    fn new(
        pieces: Vec<Arc<[HeadEntry]>>,
        in_order: bool,
        min_ts: i64,
        max_ts: i64,
    ) -> HeadSnapshot {
        let len = pieces.iter().map(|p| p.len()).sum();
        let order: Arc<[(u32, u32)]> = if in_order {
            Arc::from(Vec::new())
        } else {
            let mut o: Vec<(u32, u32)> = pieces
                .iter()
                .enumerate()
                .flat_map(|(p, es)| (0..es.len()).map(move |i| (p as u32, i as u32)))
                .collect();
            o.sort_by_key(|&(p, i)| pieces[p as usize][i as usize].ts);
            Arc::from(o)
        };
        HeadSnapshot {
            pieces,
            order,
            len,
            min_ts,
            max_ts,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The `i`-th entry in time order (`i < len`).
    pub fn get(&self, i: usize) -> &HeadEntry {
        if self.order.is_empty() {
            &self.pieces[i / PIECE_ENTRIES][i % PIECE_ENTRIES]
        } else {
            let (p, j) = self.order[i];
            &self.pieces[p as usize][j as usize]
        }
    }

    /// Bytes of lines and metadata.
    pub fn bytes(&self) -> usize {
        self.pieces
            .iter()
            .flat_map(|p| p.iter())
            .map(HeadEntry::size)
            .sum()
    }
}

/// Every stream's head lines, by stream id.
#[derive(Default)]
pub struct Head {
    pub streams: HashMap<u32, HeadStream>,
    pub bytes: usize,
    pub entries: usize,
    pub min_ts: i64,
    pub max_ts: i64,
}

impl Head {
    /// Adds a line to stream `id`; false for a duplicate.
    pub fn push(&mut self, id: u32, e: HeadEntry) -> bool {
        let (ts, size) = (e.ts, e.size());
        if !self.streams.entry(id).or_default().push(e) {
            return false;
        }
        if self.entries == 0 {
            (self.min_ts, self.max_ts) = (ts, ts);
        } else {
            self.min_ts = self.min_ts.min(ts);
            self.max_ts = self.max_ts.max(ts);
        }
        self.bytes += size;
        self.entries += 1;
        true
    }

    /// Whether stream `id` already holds this exact line.
    pub fn contains(&self, id: u32, ts: i64, line: &str) -> bool {
        self.streams
            .get(&id)
            .is_some_and(|s| s.seen.contains(&(ts, xxh3_64(line.as_bytes()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(ts: i64, line: &str) -> HeadEntry {
        HeadEntry {
            ts,
            line: line.into(),
            metadata: Box::new([]),
        }
    }

    #[test]
    fn duplicates_dropped_and_snapshots_sorted() {
        let mut h = Head::default();
        for i in (0..300).rev() {
            assert!(h.push(1, e(i, "x")));
        }
        assert!(!h.push(1, e(5, "x")));
        assert!(h.push(1, e(5, "y")));
        assert_eq!(h.entries, 301);
        let s = h.streams[&1].snapshot();
        assert_eq!(s.len(), 301);
        let ts: Vec<i64> = (0..s.len()).map(|i| s.get(i).ts).collect();
        assert!(ts.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!((s.min_ts, s.max_ts), (0, 299));
    }
}
