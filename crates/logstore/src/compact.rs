//! Moving data to blocks and away: head cuts, block merges, retention.
//!
//! - A **cut** rolls the WAL to a new segment `S`, logs into `S` again the lines it keeps in
//!   the head (each growing stream's last, partial chunk, so blocks hold full chunks), writes
//!   the rest into one block whose `wal_floor` is `S`, publishes it, and deletes the segments
//!   below `S`. A crash before the block's rename replays the old segments (the kept lines
//!   twice: the head drops the second copy); after it, `open` skips and deletes them (the
//!   floor is in the block). One block per cut keeps this atomic.
//! - A **merge** puts all blocks starting in one partition (a UTC day by default) into one
//!   block: chunks are copied (recompressed if a cut wrote them at a lower level), except runs
//!   of a stream's chunks that overlap in time (lines that arrived out of order across cuts)
//!   or are small (a slow stream cut into pieces by head cuts): those are decoded, merged by
//!   time with exact duplicates dropped, and encoded again into full chunks, so merged blocks
//!   hold few, disjoint chunks. It names its sources in `replaces`; they are deleted after it
//!   is published (and by `open`, after a crash).
//! - **Retention** deletes blocks whose newest line is older than the retention time, then the
//!   oldest blocks while the store is over its size limit, and forgets streams left without
//!   data.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::ops::Range;
use std::sync::Arc;

use bongsu_model::Labels;
use tracing::{error, info};
use xxhash_rust::xxh3::xxh3_64;

use crate::block::chunk::ChunkEncoder;
use crate::block::{chunk_bounds, Block, BlockWriter, ChunkMeta, MergeItem};
use crate::cursor::{Decoder, Loaded};
use crate::error::LogStoreError;
use crate::head::{Head, HeadEntry, HeadStream, Row};
use crate::store::{now_ns, LogStore};
use crate::wal::{entry_len, LogWal, WalStream, BUF_KEEP};

/// A partition with this many blocks is merged even while still open for writes.
pub const MAX_BLOCKS_PER_PARTITION: usize = 8;

/// Most chunks' worth of lines (`chunk_max_lines`, `chunk_max_bytes`) a merge decodes at once
/// to put overlapping or small chunks of a stream together; overlaps beyond it stay (readers
/// merge overlapping chunks anyway).
const MERGE_RUN_MAX_CHUNKS: u64 = 16;

/// What [`LogStore::compact`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactStats {
    pub cut_entries: u64,
    pub merged_blocks: usize,
    pub deleted_blocks: usize,
}

impl LogStore {
    /// Cuts the whole head into a block now (if it holds anything), on the writer thread.
    pub fn cut(&self) -> Result<u64, LogStoreError> {
        self.writer.run(|| {
            let mut wal = self.wal.lock();
            self.cut_locked(&mut wal, false)
        })
    }

    /// Writes the head to a block. With `keep_tails`, the last, partial chunk of each stream
    /// that is still growing stays in the head (logged again into the new WAL segment before
    /// the block that moves the WAL floor past its old records is published), so blocks hold
    /// full chunks. Returns the entries written.
    pub(crate) fn cut_locked(
        &self,
        wal: &mut LogWal,
        keep_tails: bool,
    ) -> Result<u64, LogStoreError> {
        let (max_lines, max_bytes) = (self.opts.chunk_max_lines, self.opts.chunk_max_bytes);
        let st = self.state.read();
        if st.head.entries == 0 {
            return Ok(0);
        }
        // A tail is kept only if it is young and all kept tails stay small, so that the new
        // head is far from its own cut limits.
        let young = st
            .head
            .max_ts
            .saturating_sub(self.opts.head_max_span_ns / 2);
        let mut budget = if keep_tails {
            self.opts.head_max_bytes / 2
        } else {
            0
        };
        // Each stream's split: lines before it (in time order) are written, the rest kept. The
        // sorted lines are not kept between the two passes: they would double the head's
        // bookkeeping at the moment its memory peaks.
        let mut plan: Vec<(&Labels, u32, &HeadStream, usize)> = Vec::new();
        for (&id, hs) in &st.head.streams {
            let Some(info) = st.registry.get(id) else {
                continue;
            };
            let sorted = hs.sorted();
            let mut split = sorted.len();
            if let Some(&(start, _, false)) = chunk_bounds(&sorted, max_lines, max_bytes).last() {
                let bytes: usize = sorted[start..].iter().map(Row::size).sum();
                if sorted[start].ts >= young && bytes <= budget {
                    budget -= bytes;
                    split = start;
                }
            }
            plan.push((&info.labels, id, hs, split));
        }
        plan.sort_by(|a, b| a.0.cmp(b.0));
        let written: u64 = plan.iter().map(|p| p.3 as u64).sum();
        if written == 0 {
            return Ok(0);
        }
        let floor = wal.roll()?;
        // Only the writer thread cuts, so this lock is never contended; the encoder is kept
        // from cut to cut rather than its compression contexts allocated every time.
        let mut enc = self.cut_encoder.lock();
        let enc = match &mut *enc {
            Some(e) => e,
            None => enc.insert(
                ChunkEncoder::new(self.opts.cut_zstd_level)
                    .map_err(|e| LogStoreError::io(&self.blocks_dir(), e))?,
            ),
        };
        let mut w = BlockWriter::create(&self.blocks_dir(), enc, max_lines, max_bytes)?;
        let mut head = Head::default();
        let mut tails = TailLog::default();
        for &(labels, id, hs, split) in &plan {
            let sorted = hs.sorted();
            w.add_stream(labels, &sorted[..split])?;
            if split < sorted.len() {
                tails.add(wal, id, labels, &sorted[split..])?;
                for r in &sorted[split..] {
                    head.push(id, r.ts, r.line, r.metadata.into());
                }
            }
        }
        tails.flush(wal)?;
        // The segments below `floor` (and the checkpoint records in them) go once the block is
        // published: log every consumer's checkpoint again above it.
        for (consumer, data) in self.checkpoints.lock().iter() {
            wal.append_with_checkpoint::<Row>(&[], &[], Some((consumer, data)))?;
        }
        wal.sync()?;
        let block = w.finish(floor, &[])?;
        let kept_ids: Vec<u32> = head.streams.keys().copied().collect();
        drop(plan);
        drop(st);

        let mut st = self.state.write();
        if let Some(mut b) = block {
            b.ids = b
                .streams
                .iter()
                .map(|s| st.registry.get_or_insert(&s.labels))
                .collect();
            insert_sorted(&mut st.blocks, Arc::new(b));
        }
        st.head = head;
        st.gen = floor;
        for id in kept_ids {
            if let Some(info) = st.registry.get_mut(id) {
                info.logged_gen = Some(floor);
            }
        }
        drop(st);
        wal.truncate(floor)?;
        Ok(written)
    }

    /// Merges the blocks of each partition that has several: partitions that closed (their end
    /// plus the out-of-order window is behind the newest line) or hold
    /// [`MAX_BLOCKS_PER_PARTITION`] blocks; with `all`, every partition with two or more.
    pub fn merge(&self, all: bool) -> Result<usize, LogStoreError> {
        let _c = self.compaction.lock();
        let (groups, newest) = {
            let st = self.state.read();
            let mut groups: BTreeMap<i64, Vec<Arc<Block>>> = BTreeMap::new();
            for b in &st.blocks {
                groups
                    .entry(b.min_ts.div_euclid(self.opts.partition_ns))
                    .or_default()
                    .push(b.clone());
            }
            let newest = st
                .blocks
                .iter()
                .map(|b| b.max_ts)
                .max()
                .unwrap_or(i64::MIN)
                .max(st.head.max_ts);
            (groups, newest)
        };
        let mut merged = 0;
        for (p, blocks) in groups {
            let closed = (p + 1)
                .saturating_mul(self.opts.partition_ns)
                .saturating_add(self.opts.out_of_order_window_ns)
                < newest;
            // A lone block is rewritten too if a cut compressed it at a lower level.
            let low = blocks
                .iter()
                .any(|b| b.zstd_level < self.opts.merge_zstd_level);
            let worth = blocks.len() >= 2 || low;
            if !worth || !(all || closed || blocks.len() >= MAX_BLOCKS_PER_PARTITION) {
                continue;
            }
            self.merge_group(&blocks)?;
            merged += blocks.len();
        }
        Ok(merged)
    }

    fn merge_group(&self, blocks: &[Arc<Block>]) -> Result<(), LogStoreError> {
        let mut streams: BTreeMap<&Labels, Vec<(&Block, &ChunkMeta)>> = BTreeMap::new();
        for b in blocks {
            for s in &b.streams {
                streams
                    .entry(&s.labels)
                    .or_default()
                    .extend(s.chunks.iter().map(|c| (&**b, c)));
            }
        }
        let (max_lines, max_bytes) = (self.opts.chunk_max_lines, self.opts.chunk_max_bytes);
        let mut enc = ChunkEncoder::new(self.opts.merge_zstd_level)
            .map_err(|e| LogStoreError::io(&self.blocks_dir(), e))?;
        let mut w = BlockWriter::create(&self.blocks_dir(), &mut enc, max_lines, max_bytes)?;
        let mut dec = Decoder::default();
        for (labels, mut chunks) in streams {
            chunks.sort_by_key(|(_, c)| c.min_ts);
            // Runs are decoded one at a time, as the writer takes them.
            let runs = self.merge_runs(&chunks);
            let items = runs
                .into_iter()
                .flat_map(|r| self.merge_run(&chunks[r], &mut dec));
            w.add_merged(labels, items)?;
        }
        let floor = blocks.iter().map(|b| b.wal_floor).max().unwrap_or(0);
        let sources: Vec<_> = blocks.iter().map(|b| b.ulid).collect();
        let Some(mut merged) = w.finish(floor, &sources)? else {
            return Ok(());
        };
        let gone: HashSet<_> = sources.iter().copied().collect();
        {
            let mut st = self.state.write();
            merged.ids = merged
                .streams
                .iter()
                .map(|s| st.registry.get_or_insert(&s.labels))
                .collect();
            st.blocks.retain(|b| !gone.contains(&b.ulid));
            insert_sorted(&mut st.blocks, Arc::new(merged));
        }
        for b in blocks {
            // Mappings held by running queries stay valid after the unlink.
            fs::remove_file(&b.path).map_err(|e| LogStoreError::io(&b.path, e))?;
        }
        info!(sources = blocks.len(), "merged log blocks");
        Ok(())
    }

    /// How a merge treats a stream's chunks (sorted by `min_ts`): as runs, each a range of
    /// them. A chunk joins the run before it if it overlaps the run in time (lines that arrived
    /// out of order across head cuts) or if the two fit in one chunk (a slow stream cut into
    /// pieces by head cuts), as long as the run stays within [`MERGE_RUN_MAX_CHUNKS`] chunks'
    /// worth of lines; a run of one chunk is copied, a longer one encoded again.
    fn merge_runs(&self, chunks: &[(&Block, &ChunkMeta)]) -> Vec<Range<usize>> {
        let (max_lines, max_bytes) = (
            self.opts.chunk_max_lines as u64,
            self.opts.chunk_max_bytes as u64,
        );
        let cap_lines = max_lines.saturating_mul(MERGE_RUN_MAX_CHUNKS);
        let cap_bytes = max_bytes.saturating_mul(MERGE_RUN_MAX_CHUNKS);
        let mut runs = Vec::new();
        let mut i = 0;
        while i < chunks.len() {
            let c = chunks[i].1;
            let (mut j, mut lines, mut bytes, mut max_ts) =
                (i + 1, u64::from(c.count), c.raw_bytes, c.max_ts);
            while j < chunks.len() {
                let c = chunks[j].1;
                let (l, b) = (lines + u64::from(c.count), bytes + c.raw_bytes);
                let overlaps = c.min_ts <= max_ts;
                let fits = l <= max_lines && b <= max_bytes;
                if !(overlaps || fits) || l > cap_lines || b > cap_bytes {
                    break;
                }
                (lines, bytes, max_ts) = (l, b, max_ts.max(c.max_ts));
                j += 1;
            }
            runs.push(i..j);
            i = j;
        }
        runs
    }

    /// The merge items of one run (see [`LogStore::merge_runs`]): its chunks decoded, merged
    /// by time and deduplicated into entries to encode again, or, for a run of one chunk or one
    /// that does not decode, its chunks copied (recompressed if written at a lower level).
    fn merge_run<'a>(
        &self,
        run: &[(&'a Block, &'a ChunkMeta)],
        dec: &mut Decoder,
    ) -> Vec<MergeItem<'a>> {
        if run.len() > 1 {
            if let Some(entries) = decode_all(run, dec) {
                return vec![MergeItem::Encode(entries)];
            }
        }
        run.iter()
            .map(|&(b, c)| {
                if b.zstd_level < self.opts.merge_zstd_level {
                    MergeItem::Recompress(b, c)
                } else {
                    MergeItem::Copy(b, c)
                }
            })
            .collect()
    }

    /// Deletes blocks past the retention time, then the oldest while over the size limit.
    pub fn apply_retention(&self) -> Result<usize, LogStoreError> {
        let _c = self.compaction.lock();
        let oldest_ok = now_ns()
            .saturating_sub(i64::try_from(self.opts.retention.as_nanos()).unwrap_or(i64::MAX));
        let wal_bytes = self.wal.lock().size_bytes();
        let mut st = self.state.write();
        let mut doomed: Vec<Arc<Block>> = Vec::new();
        let mut total: u64 = st.blocks.iter().map(|b| b.size()).sum::<u64>() + wal_bytes;
        let mut by_age: Vec<Arc<Block>> = st.blocks.clone();
        by_age.sort_by_key(|b| b.max_ts);
        for b in by_age {
            let over = self.opts.retention_bytes.is_some_and(|max| total > max);
            if b.max_ts < oldest_ok || over {
                total -= b.size();
                doomed.push(b);
            }
        }
        if doomed.is_empty() {
            return Ok(0);
        }
        let gone: HashSet<_> = doomed.iter().map(|b| b.ulid).collect();
        st.blocks.retain(|b| !gone.contains(&b.ulid));
        // Streams with no block and no head lines left are forgotten.
        let live: HashSet<u32> = st
            .blocks
            .iter()
            .flat_map(|b| b.ids.iter().copied())
            .chain(st.head.streams.keys().copied())
            .collect();
        let dead: Vec<u32> = st.registry.ids().filter(|id| !live.contains(id)).collect();
        for id in dead {
            st.registry.remove(id);
        }
        drop(st);
        for b in &doomed {
            if let Err(e) = fs::remove_file(&b.path) {
                error!(block = %b.path.display(), error = %e, "could not delete a log block past retention");
            }
        }
        Ok(doomed.len())
    }

    /// The periodic maintenance (the binary runs it every minute): cut the head if its oldest
    /// line is older than the head's time span by the wall clock (appends cut by size and by
    /// the span between lines; this catches a head that stopped growing), merge closed
    /// partitions, apply retention.
    pub fn compact(&self) -> Result<CompactStats, LogStoreError> {
        let stale = {
            let st = self.state.read();
            st.head.entries > 0
                && now_ns().saturating_sub(st.head.min_ts) >= self.opts.head_max_span_ns
        };
        Ok(CompactStats {
            cut_entries: if stale { self.cut()? } else { 0 },
            merged_blocks: self.merge(false)?,
            deleted_blocks: self.apply_retention()?,
        })
    }

    /// Cuts the head and merges every partition: everything in compact blocks (for a clean
    /// shutdown, imports and benchmarks).
    pub fn flush(&self) -> Result<CompactStats, LogStoreError> {
        Ok(CompactStats {
            cut_entries: self.cut()?,
            merged_blocks: self.merge(true)?,
            deleted_blocks: self.apply_retention()?,
        })
    }
}

/// The entries of some chunks of one stream in time order (arrival order among equal
/// timestamps: the chunks' order), exact duplicates (same timestamp and line) dropped as the
/// head drops them; `None` if one does not decode.
fn decode_all(chunks: &[(&Block, &ChunkMeta)], dec: &mut Decoder) -> Option<Vec<HeadEntry>> {
    let mut out: Vec<HeadEntry> = Vec::new();
    let mut l = Loaded::default();
    let mut sorted = true;
    for &(b, c) in chunks {
        if let Err(e) = dec.load(b, c, &mut l, true) {
            error!(error = %e, "merging a log chunk that does not decode as it is");
            return None;
        }
        sorted &= out.last().is_none_or(|e| e.ts <= c.min_ts);
        out.extend((0..l.len()).map(|i| {
            let e = l.entry(i);
            HeadEntry {
                ts: e.ts,
                line: e.line.into(),
                metadata: e.metadata().map(|(k, v)| (k.into(), v.into())).collect(),
            }
        }));
    }
    if !sorted {
        out.sort_by_key(|e| e.ts);
    }
    // Duplicates share a timestamp: each line is looked up among those of its timestamp by
    // hash (a group can be large: logs with second timestamps), by text on a collision.
    let mut kept: Vec<HeadEntry> = Vec::with_capacity(out.len());
    let mut group: HashMap<u64, usize> = HashMap::new();
    let mut same_ts = 0;
    for e in out {
        if kept.last().is_none_or(|k| k.ts != e.ts) {
            same_ts = kept.len();
            group.clear();
        }
        let h = xxh3_64(e.line.as_bytes());
        let dup = match group.get(&h) {
            Some(&i) => kept[i].line == e.line || kept[same_ts..].iter().any(|k| k.line == e.line),
            None => false,
        };
        if !dup {
            group.entry(h).or_insert(kept.len());
            kept.push(e);
        }
    }
    Some(kept)
}

/// The lines a cut keeps, logged again into the new WAL segment in appends small enough for the
/// WAL to keep reusing its write buffer, however many lines are kept.
#[derive(Default)]
struct TailLog<'a> {
    defs: Vec<WalStream>,
    entries: Vec<(u32, Row<'a>)>,
    bytes: usize,
}

impl<'a> TailLog<'a> {
    fn add(
        &mut self,
        wal: &mut LogWal,
        id: u32,
        labels: &Labels,
        rows: &[Row<'a>],
    ) -> Result<(), LogStoreError> {
        self.defs.push(WalStream {
            id,
            labels: labels.clone(),
        });
        for r in rows {
            self.entries.push((id, *r));
            self.bytes += entry_len(r);
            if self.bytes >= BUF_KEEP / 2 {
                self.flush(wal)?;
            }
        }
        Ok(())
    }

    fn flush(&mut self, wal: &mut LogWal) -> Result<(), LogStoreError> {
        if !self.defs.is_empty() || !self.entries.is_empty() {
            wal.append(&self.defs, &self.entries)?;
        }
        self.defs.clear();
        self.entries.clear();
        self.bytes = 0;
        Ok(())
    }
}

fn insert_sorted(blocks: &mut Vec<Arc<Block>>, b: Arc<Block>) {
    let i = blocks.partition_point(|x| (x.min_ts, x.ulid) < (b.min_ts, b.ulid));
    blocks.insert(i, b);
}

/// Figures about the store's blocks and head, copied out (for `/metrics` and benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub blocks: usize,
    pub chunks: usize,
    pub block_entries: u64,
    pub head_entries: u64,
    pub head_bytes: u64,
    pub streams: usize,
    /// Bytes on disk of the blocks' timestamp, line, metadata and filter sections; the rest of
    /// the block files (headers, indexes, footers) is `block_bytes` minus these.
    pub ts_bytes: u64,
    pub line_bytes: u64,
    pub metadata_bytes: u64,
    pub filter_bytes: u64,
    pub block_bytes: u64,
}

impl LogStore {
    pub fn store_stats(&self) -> StoreStats {
        let st = self.state.read();
        let mut s = StoreStats {
            blocks: st.blocks.len(),
            head_entries: st.head.entries as u64,
            head_bytes: st.head.bytes as u64,
            streams: st.registry.len(),
            ..StoreStats::default()
        };
        for b in &st.blocks {
            s.chunks += b.chunks;
            s.block_entries += b.entries;
            s.block_bytes += b.size();
            for c in b.streams.iter().flat_map(|x| &x.chunks) {
                s.ts_bytes += u64::from(c.ts_len);
                s.line_bytes += u64::from(c.lines_len);
                s.metadata_bytes += u64::from(c.meta_len);
                s.filter_bytes += u64::from(c.filter_len);
            }
        }
        s
    }
}
