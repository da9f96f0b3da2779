//! Cursors: one stream's entries in time order, forward or backward, with needles and a limit.
//!
//! A stream's data is a list of *parts* (block chunks and the head snapshot) sorted by their
//! first timestamp. Parts whose time ranges overlap (out-of-order lines cut at different times)
//! form a group that is merged by timestamp; a group of one part (the usual case) is read in
//! place. Entries are borrowed from the decompressed chunk: a cursor is a lending iterator.
//! Exact duplicates (same timestamp and line) that ended up in two parts are yielded once.
//! Chunks whose filter proves no line holds a needle are not decompressed.
//!
//! Not here: what a selection holds (`read`), the column encodings (`block::chunk`).

use tracing::error;

use crate::block::chunk::{decode_ts, decompress, ChunkMeta, Lines, Metadata};
use crate::block::Block;
use crate::error::LogStoreError;
use crate::filter::ChunkFilter;
use crate::head::HeadSnapshot;
use crate::needle::Needle;
use crate::read::{Direction, EntryRef, MetaRef, Part, ScanOptions, ScanStats, SelectedStream};

/// Decompression state shared by the chunks a cursor loads.
#[derive(Default)]
pub(crate) struct Decoder {
    raw: Vec<u8>,
}

/// Most decoded-chunk buffers kept per thread for the next cursors.
const POOL_MAX: usize = 64;

thread_local! {
    /// Decoded-chunk buffers of finished cursors: a query opens a cursor per stream, and fresh
    /// buffers of a few hundred kilobytes cost page faults every time.
    static POOL: std::cell::RefCell<Vec<Loaded>> = const { std::cell::RefCell::new(Vec::new()) };
    /// One zstd decompression context per thread, shared by every cursor on it: a query opens
    /// a cursor per stream, and a context costs an allocation of some hundred kilobytes.
    static ZSTD: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { std::cell::RefCell::new(None) };
}

/// A part made readable: a decoded chunk, or the head snapshot read in place.
#[derive(Default)]
pub(crate) struct Loaded {
    pub(crate) ts: Vec<i64>,
    lines: Lines,
    meta: Metadata,
    head: Option<HeadSnapshot>,
}

impl Loaded {
    pub(crate) fn len(&self) -> usize {
        self.head.as_ref().map_or(self.ts.len(), HeadSnapshot::len)
    }
    fn ts(&self, i: usize) -> i64 {
        self.head.as_ref().map_or_else(|| self.ts[i], |h| h.ts(i))
    }
    fn line(&self, i: usize) -> &str {
        self.head
            .as_ref()
            .map_or_else(|| self.lines.get(i), |h| h.line(i))
    }
    pub(crate) fn entry(&self, i: usize) -> EntryRef<'_> {
        match &self.head {
            Some(h) => {
                let r = h.row(i);
                EntryRef {
                    ts: r.ts,
                    line: r.line,
                    meta: MetaRef::Head(r.metadata),
                }
            }
            None => EntryRef {
                ts: self.ts[i],
                line: self.lines.get(i),
                meta: MetaRef::Chunk(&self.meta, i),
            },
        }
    }
}

impl Decoder {
    /// Decodes a chunk's timestamps and, with `lines`, its lines and metadata.
    pub(crate) fn load(
        &mut self,
        b: &Block,
        c: &ChunkMeta,
        out: &mut Loaded,
        lines: bool,
    ) -> Result<(), LogStoreError> {
        ZSTD.with(|z| {
            let mut z = z.borrow_mut();
            let zstd = match &mut *z {
                Some(d) => d,
                None => z.insert(
                    zstd::bulk::Decompressor::new()
                        .map_err(|e| LogStoreError::io(std::path::Path::new("zstd"), e))?,
                ),
            };
            self.load_with(zstd, b, c, out, lines)
        })
    }

    fn load_with(
        &mut self,
        zstd: &mut zstd::bulk::Decompressor<'static>,
        b: &Block,
        c: &ChunkMeta,
        out: &mut Loaded,
        lines: bool,
    ) -> Result<(), LogStoreError> {
        out.head = None;
        let bytes = b.chunk_bytes(c);
        let (ts_f, rest) = bytes.split_at(c.ts_len as usize);
        let (lines_f, rest) = rest.split_at(c.lines_len as usize);
        let meta_f = &rest[..c.meta_len as usize];
        let bad =
            |why: String| LogStoreError::corrupt(&b.path, format!("chunk at {}: {why}", c.off));
        decode_ts(
            ts_f,
            c.count as usize,
            c.min_ts,
            zstd,
            &mut self.raw,
            &mut out.ts,
        )
        .map_err(|e| bad(e.to_string()))?;
        if out.ts.last().copied() != Some(c.max_ts) || !out.ts.windows(2).all(|w| w[0] <= w[1]) {
            return Err(bad("timestamps disagree with the index".into()));
        }
        out.meta.clear();
        if lines {
            let mut raw = std::mem::take(&mut out.lines.text).into_bytes();
            decompress(zstd, lines_f, &mut raw).map_err(bad)?;
            out.lines.decode(raw, &out.ts).map_err(bad)?;
            if !meta_f.is_empty() {
                decompress(zstd, meta_f, &mut self.raw).map_err(bad)?;
                out.meta
                    .decode(std::mem::take(&mut self.raw), c.count as usize)
                    .map_err(bad)?;
            }
        }
        Ok(())
    }
}

/// Whether a chunk may hold a line containing every needle (true when its filter is damaged:
/// the lines are then checked one by one, nothing is lost).
fn may_contain_all(b: &Block, c: &ChunkMeta, needles: &[Needle]) -> bool {
    if needles.iter().all(|n| n.probe.is_empty()) {
        return true;
    }
    let bytes = b.chunk_bytes(c);
    let f = &bytes[bytes.len() - c.filter_len as usize..];
    if crc32c::crc32c(f) != c.filter_crc {
        error!(block = %b.path.display(), chunk = c.off, "log chunk filter checksum mismatch; reading the chunk in full");
        return true;
    }
    match ChunkFilter::parse(f) {
        Ok(f) => needles.iter().all(|n| f.may_contain(&n.probe)),
        Err(e) => {
            error!(block = %b.path.display(), chunk = c.off, error = %e, "corrupt log chunk filter; reading the chunk in full");
            true
        }
    }
}

/// Walks one stream's entries in time order (see the module doc). A lending iterator: call
/// [`Cursor::next`] until it gives `None`.
pub struct Cursor<'s> {
    stream: &'s SelectedStream,
    start: i64,
    end: i64,
    opts: &'s ScanOptions,
    /// Groups of overlapping parts, as ranges of `stream.parts`, in scan order.
    groups: Vec<(usize, usize)>,
    next_group: usize,
    dec: Decoder,
    loaded: Vec<Loaded>,
    /// Rows of the current group in scan order, as (loaded index, row); only for groups of
    /// several parts. For one part, `range` walks its rows directly.
    order: Vec<(u32, u32)>,
    single: bool,
    range: (usize, usize),
    pending: Option<(usize, usize)>,
    /// Last yielded entry, to drop exact duplicates: its timestamp, its row while its group is
    /// loaded, and its line copied when the group is replaced.
    last_ts: Option<i64>,
    last_row: Option<(usize, usize)>,
    carry: Option<String>,
    yielded: usize,
    error_logged: bool,
    stats: ScanStats,
}

impl<'s> Cursor<'s> {
    pub(crate) fn new(
        stream: &'s SelectedStream,
        start: i64,
        end: i64,
        opts: &'s ScanOptions,
    ) -> Cursor<'s> {
        let mut groups = Vec::new();
        let mut i = 0;
        while i < stream.parts.len() {
            let mut max = stream.parts[i].max_ts();
            let mut j = i + 1;
            while j < stream.parts.len() && stream.parts[j].min_ts() <= max {
                max = max.max(stream.parts[j].max_ts());
                j += 1;
            }
            groups.push((i, j));
            i = j;
        }
        if opts.direction == Direction::Backward {
            groups.reverse();
        }
        Cursor {
            stream,
            start,
            end,
            opts,
            groups,
            next_group: 0,
            dec: Decoder::default(),
            loaded: Vec::new(),
            order: Vec::new(),
            single: true,
            range: (0, 0),
            pending: None,
            last_ts: None,
            last_row: None,
            carry: None,
            yielded: 0,
            error_logged: false,
            stats: ScanStats::default(),
        }
    }

    /// Loads the next group with anything to read; false at the end.
    fn load_group(&mut self) -> Result<bool, LogStoreError> {
        if let Some((k, r)) = self.last_row.take() {
            self.carry = Some(self.loaded[k].line(r).to_string());
        }
        while self.next_group < self.groups.len() {
            let (a, b) = self.groups[self.next_group];
            self.next_group += 1;
            let mut n = 0;
            for p in &self.stream.parts[a..b] {
                if n == self.loaded.len() {
                    self.loaded
                        .push(POOL.with(|p| p.borrow_mut().pop()).unwrap_or_default());
                }
                match p {
                    Part::Head(h) => {
                        self.loaded[n].head = Some(h.clone());
                        n += 1;
                    }
                    Part::Chunk(blk, c) => {
                        if !may_contain_all(blk, c, &self.opts.needles) {
                            self.stats.chunks_skipped += 1;
                            continue;
                        }
                        self.stats.chunks_read += 1;
                        self.stats.bytes_read += c.raw_bytes;
                        match self.dec.load(blk, c, &mut self.loaded[n], true) {
                            Ok(()) => n += 1,
                            Err(e) => {
                                // A damaged chunk is skipped, not fatal: the rest still reads.
                                if !self.error_logged {
                                    error!(error = %e, "skipping a corrupt log chunk");
                                    self.error_logged = true;
                                }
                            }
                        }
                    }
                }
            }
            if n == 0 {
                continue;
            }
            let fwd = self.opts.direction == Direction::Forward;
            let (start, end) = (self.start, self.end);
            if n == 1 {
                let l = &self.loaded[0];
                let lo = partition(l, |t| t < start);
                let hi = partition(l, |t| t <= end);
                self.single = true;
                self.range = if fwd { (lo, hi) } else { (hi, lo) };
            } else {
                self.single = false;
                self.order.clear();
                for (k, l) in self.loaded[..n].iter().enumerate() {
                    let lo = partition(l, |t| t < start);
                    let hi = partition(l, |t| t <= end);
                    self.order.extend((lo..hi).map(|r| (k as u32, r as u32)));
                }
                let loaded = &self.loaded;
                self.order
                    .sort_by_key(|&(k, r)| loaded[k as usize].ts(r as usize));
                if !fwd {
                    self.order.reverse();
                }
                self.range = (0, self.order.len());
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// The next row of the current group, without any check.
    fn step(&mut self) -> Option<(usize, usize)> {
        let (a, b) = self.range;
        if a == b {
            return None;
        }
        if self.single {
            if a < b {
                self.range.0 += 1;
                Some((0, a))
            } else {
                self.range.0 -= 1;
                Some((0, a - 1))
            }
        } else {
            self.range.0 += 1;
            let (k, r) = self.order[a];
            Some((k as usize, r as usize))
        }
    }

    /// Finds the next entry to yield and keeps it pending.
    fn find(&mut self) -> Result<Option<(usize, usize)>, LogStoreError> {
        if self.pending.is_some() {
            return Ok(self.pending);
        }
        if self.opts.limit.is_some_and(|l| self.yielded >= l) {
            return Ok(None);
        }
        loop {
            let Some((k, r)) = self.step() else {
                if !self.load_group()? {
                    return Ok(None);
                }
                continue;
            };
            let l = &self.loaded[k];
            let line = l.line(r);
            if !self.opts.needles.iter().all(|n| n.matches(line.as_bytes())) {
                continue;
            }
            let ts = l.ts(r);
            if self.last_ts == Some(ts) {
                let prev = match self.last_row {
                    Some((k2, r2)) => Some(self.loaded[k2].line(r2)),
                    None => self.carry.as_deref(),
                };
                if prev == Some(line) {
                    continue;
                }
            }
            self.last_ts = Some(ts);
            self.last_row = Some((k, r));
            self.pending = Some((k, r));
            return Ok(self.pending);
        }
    }

    /// What this cursor has done so far.
    pub fn stats(&self) -> ScanStats {
        self.stats
    }

    /// Timestamp of the entry [`Cursor::next`] would return.
    pub fn peek_ts(&mut self) -> Result<Option<i64>, LogStoreError> {
        Ok(self.find()?.map(|(k, r)| self.loaded[k].ts(r)))
    }

    /// The next entry, or `None` at the end (or at the limit).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<EntryRef<'_>>, LogStoreError> {
        let found = self.find()?;
        self.pending = None;
        Ok(found.map(|(k, r)| {
            self.yielded += 1;
            self.loaded[k].entry(r)
        }))
    }
}

impl Drop for Cursor<'_> {
    fn drop(&mut self) {
        POOL.with(|p| {
            let mut p = p.borrow_mut();
            for mut l in self.loaded.drain(..) {
                if p.len() >= POOL_MAX {
                    break;
                }
                l.head = None;
                p.push(l);
            }
        });
    }
}

/// First row index whose timestamp fails `pred` (rows are sorted by time).
fn partition(l: &Loaded, pred: impl Fn(i64) -> bool) -> usize {
    let (mut lo, mut hi) = (0, l.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if pred(l.ts(mid)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}
