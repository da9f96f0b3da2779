//! Moving data to blocks and away: head cuts, block merges, retention.
//!
//! - A **cut** rolls the WAL to a new segment `S`, writes the whole head into one block whose
//!   `wal_floor` is `S`, publishes it, empties the head and deletes the segments below `S`. A
//!   crash before the block's rename replays the old segments; after it, `open` skips and
//!   deletes them (the floor is in the block). One block per cut keeps this atomic.
//! - A **merge** copies the chunks of all blocks starting in one partition (a UTC day by
//!   default) into one block, without recompressing, naming the sources in its `replaces`;
//!   the sources are deleted after it is published (and by `open`, after a crash).
//! - **Retention** deletes blocks whose newest line is older than the retention time, then the
//!   oldest blocks while the store is over its size limit, and forgets streams left without
//!   data.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::sync::Arc;

use bongsu_model::Labels;
use tracing::{error, info};

use crate::block::{Block, BlockWriter, ChunkMeta};
use crate::error::LogStoreError;
use crate::head::Head;
use crate::store::{now_ns, LogStore};
use crate::wal::LogWal;

/// A partition with this many blocks is merged even while still open for writes.
pub const MAX_BLOCKS_PER_PARTITION: usize = 8;

/// What [`LogStore::compact`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactStats {
    pub cut_entries: u64,
    pub merged_blocks: usize,
    pub deleted_blocks: usize,
}

impl LogStore {
    /// Cuts the head into a block now (if it holds anything).
    pub fn cut(&self) -> Result<u64, LogStoreError> {
        let mut wal = self.wal.lock();
        self.cut_locked(&mut wal)
    }

    pub(crate) fn cut_locked(&self, wal: &mut LogWal) -> Result<u64, LogStoreError> {
        if self.state.read().head.entries == 0 {
            return Ok(0);
        }
        let floor = wal.roll()?;
        let block = {
            let st = self.state.read();
            let mut ids: Vec<(&Labels, u32)> = st
                .head
                .streams
                .keys()
                .filter_map(|&id| st.registry.get(id).map(|s| (&s.labels, id)))
                .collect();
            ids.sort();
            let mut w = BlockWriter::create(
                &self.blocks_dir(),
                self.opts.zstd_level,
                self.opts.chunk_max_lines,
                self.opts.chunk_max_bytes,
            )?;
            for (labels, id) in ids {
                w.add_stream(labels, &st.head.streams[&id].sorted())?;
            }
            w.finish(floor, &[])?
        };
        let mut st = self.state.write();
        let n = st.head.entries as u64;
        if let Some(mut b) = block {
            b.ids = b
                .streams
                .iter()
                .map(|s| st.registry.get_or_insert(&s.labels))
                .collect();
            insert_sorted(&mut st.blocks, Arc::new(b));
        }
        st.head = Head::default();
        st.gen = floor;
        drop(st);
        wal.truncate(floor)?;
        Ok(n)
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
            if blocks.len() < 2 || !(all || closed || blocks.len() >= MAX_BLOCKS_PER_PARTITION) {
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
        let mut w = BlockWriter::create(
            &self.blocks_dir(),
            self.opts.zstd_level,
            self.opts.chunk_max_lines,
            self.opts.chunk_max_bytes,
        )?;
        for (labels, mut chunks) in streams {
            chunks.sort_by_key(|(_, c)| c.min_ts);
            w.copy_stream(labels, &chunks)?;
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
