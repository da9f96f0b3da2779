//! The head: lines appended since the last cut, per stream, in memory, until the store cuts them
//! into a block (by size or time span, see `LogStoreOptions`).
//!
//! Lines are kept in arrival order in pieces of up to [`PIECE_ENTRIES`] lines, each piece a few
//! allocations (timestamps, line ends, the lines' text back to back, the metadata of the lines
//! that have some) rather than some per line: a head holds hundreds of thousands of lines, and
//! per-line allocations cost their headers and leave the allocator's arenas fragmented after a
//! cut frees them. Sealed pieces are shared with readers by `Arc`, so a query copies at most
//! one open piece per stream; lines are sorted when read or cut. Exact duplicates (same
//! timestamp and line in a stream) are found with a set of `(ts, line hash)` and dropped, as
//! Loki's ingesters drop them.
//!
//! Not here: durability (the WAL), the out-of-order and retention rules (the store checks them
//! against the stream registry, which also outlives cuts).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use xxhash_rust::xxh3::xxh3_64;

/// Most lines in one piece.
pub const PIECE_ENTRIES: usize = 128;

/// Structured metadata of one line: sorted by name, one value per name (see the crate docs).
pub type MetaPairs = Box<[(Box<str>, Box<str>)]>;

/// One line, borrowed from a head piece or a decoded chunk: what chunks are encoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row<'a> {
    pub ts: i64,
    pub line: &'a str,
    pub metadata: &'a [(Box<str>, Box<str>)],
}

impl Row<'_> {
    /// Bytes of line and metadata, the figure limits and stats use.
    pub fn size(&self) -> usize {
        self.line.len() + meta_size(self.metadata)
    }
}

fn meta_size(m: &[(Box<str>, Box<str>)]) -> usize {
    m.iter().map(|(k, v)| k.len() + v.len()).sum()
}

/// An owned line (chunks decoded again by a merge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadEntry {
    pub ts: i64,
    pub line: Box<str>,
    pub metadata: MetaPairs,
}

impl HeadEntry {
    pub fn row(&self) -> Row<'_> {
        Row {
            ts: self.ts,
            line: &self.line,
            metadata: &self.metadata,
        }
    }
}

/// Up to [`PIECE_ENTRIES`] lines of one stream in arrival order.
#[derive(Clone, Default)]
pub struct Piece {
    ts: Vec<i64>,
    /// End of line `i` in `text`; line `i` starts where line `i - 1` ends.
    ends: Vec<u32>,
    text: String,
    /// `(line index, pairs)` of the lines that have metadata, by index.
    meta: Vec<(u32, MetaPairs)>,
}

impl Piece {
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// Whether the line fits: a piece holds [`PIECE_ENTRIES`] lines and its text stays
    /// addressable by `u32` (an empty piece takes any line the store accepts).
    fn fits(&self, line: &str) -> bool {
        self.ts.len() < PIECE_ENTRIES
            && (self.ts.is_empty() || self.text.len() + line.len() <= u32::MAX as usize)
    }

    fn push(&mut self, ts: i64, line: &str, metadata: MetaPairs) {
        if self.ts.is_empty() {
            self.ts.reserve_exact(PIECE_ENTRIES);
            self.ends.reserve_exact(PIECE_ENTRIES);
        }
        self.text.push_str(line);
        self.ts.push(ts);
        // `fits` keeps the text within u32 but for a first line over 4 GiB, which the store's
        // line limit refuses long before.
        self.ends
            .push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
        if !metadata.is_empty() {
            self.meta.push(((self.ts.len() - 1) as u32, metadata));
        }
    }

    /// The piece with no spare capacity, for keeping.
    fn sealed(mut self) -> Piece {
        self.text.shrink_to_fit();
        self.meta.shrink_to_fit();
        self
    }

    pub fn ts(&self, i: usize) -> i64 {
        self.ts[i]
    }

    pub fn line(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        // Ends are pushed at whole lines, so this never falls back.
        self.text.get(start..self.ends[i] as usize).unwrap_or("")
    }

    pub fn metadata(&self, i: usize) -> &[(Box<str>, Box<str>)] {
        match self.meta.binary_search_by_key(&(i as u32), |(j, _)| *j) {
            Ok(k) => &self.meta[k].1,
            Err(_) => &[],
        }
    }

    pub fn row(&self, i: usize) -> Row<'_> {
        Row {
            ts: self.ts(i),
            line: self.line(i),
            metadata: self.metadata(i),
        }
    }

    fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        (0..self.len()).map(|i| self.row(i))
    }
}

/// A stream's head lines.
#[derive(Default)]
pub struct HeadStream {
    pieces: Vec<Arc<Piece>>,
    open: Piece,
    seen: HashSet<(i64, u64)>,
    /// Every entry so far came at or after the previous one.
    in_order: bool,
    /// Every sealed piece holds [`PIECE_ENTRIES`] lines (so line `i` is found by division).
    uniform: bool,
    len: usize,
    pub min_ts: i64,
    pub max_ts: i64,
    pub bytes: usize,
}

impl HeadStream {
    /// Adds a line unless it duplicates one already here; returns whether it was added.
    pub fn push(&mut self, ts: i64, line: &str, metadata: MetaPairs) -> bool {
        if !self.seen.insert((ts, xxh3_64(line.as_bytes()))) {
            return false;
        }
        if self.len == 0 {
            self.in_order = true;
            self.uniform = true;
            self.min_ts = ts;
            self.max_ts = ts;
        } else {
            self.in_order &= ts >= self.max_ts;
            self.min_ts = self.min_ts.min(ts);
            self.max_ts = self.max_ts.max(ts);
        }
        if !self.open.fits(line) {
            self.seal();
        }
        self.bytes += line.len() + meta_size(&metadata);
        self.len += 1;
        // The next piece's text is reserved at about the last one's size, so that it grows
        // without copying itself over and over.
        if self.open.ts.is_empty() {
            if let Some(last) = self.pieces.last() {
                self.open
                    .text
                    .reserve(last.text.len() + last.text.len() / 8);
            }
        }
        self.open.push(ts, line, metadata);
        if self.open.len() == PIECE_ENTRIES {
            self.seal();
        }
        true
    }

    fn seal(&mut self) {
        if self.open.ts.is_empty() {
            return;
        }
        self.uniform &= self.open.len() == PIECE_ENTRIES;
        let piece = std::mem::take(&mut self.open).sealed();
        self.pieces.push(Arc::new(piece));
    }

    /// A reader's copy: shares the sealed pieces, copies the open one, sorted order given.
    pub fn snapshot(&self) -> HeadSnapshot {
        let mut pieces = self.pieces.clone();
        if !self.open.ts.is_empty() {
            pieces.push(Arc::new(self.open.clone()));
        }
        HeadSnapshot::new(
            pieces,
            self.in_order,
            self.uniform,
            self.min_ts,
            self.max_ts,
        )
    }

    /// All lines, sorted by time (arrival order among equal timestamps); for a cut.
    pub fn sorted(&self) -> Vec<Row<'_>> {
        let mut all: Vec<Row<'_>> = self
            .pieces
            .iter()
            .flat_map(|p| p.rows())
            .chain(self.open.rows())
            .collect();
        if !self.in_order {
            all.sort_by_key(|r| r.ts);
        }
        all
    }
}

/// The lines of one stream's head as a reader sees them: time-ordered access by index.
#[derive(Clone)]
pub struct HeadSnapshot {
    pieces: Vec<Arc<Piece>>,
    /// `(piece, index)` of each line in time order, when neither arrival order nor piece sizes
    /// allow finding the `i`-th line directly; empty otherwise.
    order: Arc<[(u32, u32)]>,
    len: usize,
    pub min_ts: i64,
    pub max_ts: i64,
}

impl HeadSnapshot {
    fn new(
        pieces: Vec<Arc<Piece>>,
        in_order: bool,
        uniform: bool,
        min_ts: i64,
        max_ts: i64,
    ) -> HeadSnapshot {
        let len = pieces.iter().map(|p| p.len()).sum();
        let order: Arc<[(u32, u32)]> = if in_order && uniform {
            Arc::from(Vec::new())
        } else {
            let mut o: Vec<(u32, u32)> = pieces
                .iter()
                .enumerate()
                .flat_map(|(p, es)| (0..es.len()).map(move |i| (p as u32, i as u32)))
                .collect();
            if !in_order {
                o.sort_by_key(|&(p, i)| pieces[p as usize].ts(i as usize));
            }
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

    fn at(&self, i: usize) -> (&Piece, usize) {
        if self.order.is_empty() {
            (&self.pieces[i / PIECE_ENTRIES], i % PIECE_ENTRIES)
        } else {
            let (p, j) = self.order[i];
            (&self.pieces[p as usize], j as usize)
        }
    }

    /// The `i`-th line in time order (`i < len`).
    pub fn row(&self, i: usize) -> Row<'_> {
        let (p, j) = self.at(i);
        p.row(j)
    }

    pub fn ts(&self, i: usize) -> i64 {
        let (p, j) = self.at(i);
        p.ts(j)
    }

    pub fn line(&self, i: usize) -> &str {
        let (p, j) = self.at(i);
        p.line(j)
    }

    /// Bytes of lines and metadata.
    pub fn bytes(&self) -> usize {
        self.pieces
            .iter()
            .map(|p| p.text.len() + p.meta.iter().map(|(_, m)| meta_size(m)).sum::<usize>())
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
    pub fn push(&mut self, id: u32, ts: i64, line: &str, metadata: MetaPairs) -> bool {
        let size = line.len() + meta_size(&metadata);
        if !self.streams.entry(id).or_default().push(ts, line, metadata) {
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

    fn meta(v: &str) -> MetaPairs {
        vec![("k".into(), v.into())].into()
    }

    #[test]
    fn duplicates_dropped_and_snapshots_sorted() {
        let mut h = Head::default();
        for i in (0..300).rev() {
            assert!(h.push(1, i, "x", Box::new([])));
        }
        assert!(!h.push(1, 5, "x", Box::new([])));
        assert!(h.push(1, 5, "y", meta("m")));
        assert_eq!(h.entries, 301);
        let s = h.streams[&1].snapshot();
        assert_eq!(s.len(), 301);
        let ts: Vec<i64> = (0..s.len()).map(|i| s.ts(i)).collect();
        assert!(ts.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!((s.min_ts, s.max_ts), (0, 299));
        let y: Vec<Row<'_>> = (0..s.len())
            .map(|i| s.row(i))
            .filter(|r| r.line == "y")
            .collect();
        assert_eq!(y.len(), 1);
        assert_eq!((y[0].ts, y[0].metadata), (5, &meta("m")[..]));
        assert_eq!(s.bytes(), 301 + 2);
    }

    /// Lines in order are found by position, through full pieces and the open one; their text,
    /// timestamps and metadata come back as pushed.
    #[test]
    fn rows_come_back_in_order() {
        let mut hs = HeadStream::default();
        let lines: Vec<String> = (0..PIECE_ENTRIES * 2 + 7)
            .map(|i| format!("line {i} {}", "é".repeat(i % 5)))
            .collect();
        for (i, l) in lines.iter().enumerate() {
            let m = if i % 9 == 0 {
                meta(&i.to_string())
            } else {
                Box::new([])
            };
            assert!(hs.push(i as i64, l, m));
        }
        let s = hs.snapshot();
        assert!(s.order.is_empty());
        for (i, l) in lines.iter().enumerate() {
            let r = s.row(i);
            assert_eq!((r.ts, r.line), (i as i64, l.as_str()));
            assert_eq!(r.metadata.len(), usize::from(i % 9 == 0));
        }
        let sorted = hs.sorted();
        assert_eq!(sorted.len(), lines.len());
        assert_eq!(sorted[PIECE_ENTRIES].line, lines[PIECE_ENTRIES]);
    }
}
