//! Compaction: cutting the head's oldest range into a block, and merging blocks.
//!
//! Head compaction follows Prometheus: once the head spans more than 1.5 block ranges, its
//! oldest aligned range becomes a block, the head drops that range, and the WAL is checkpointed
//! and truncated. Block compaction merges overlapping blocks (e.g. after a backfill), and blocks
//! that together fill an aligned window of 3×, 9×, 27×… the block range, up to
//! [`MAX_BLOCK_DURATION_MS`] or a tenth of the retention, once that window is older than the head.
//! Deleted samples (tombstones of the head or of the blocks merged) are left out of every block
//! written here.

use std::collections::BTreeMap;
use std::sync::Arc;

use bongsu_model::{HistogramSample, Labels, Sample};

use super::block::{Block, BlockWriter, ChunkScratch};
use super::db::{Db, WAL_DIR};
use super::querier::{merge_histograms_into, merge_into};
use super::{wal, TsdbError};

/// The largest block compaction makes: 31 days, as in Prometheus.
pub const MAX_BLOCK_DURATION_MS: i64 = 31 * 24 * 3600 * 1000;

pub(super) fn compact_head(db: &Db) -> Result<(), TsdbError> {
    let head = db.head();
    let range = db.options().block_range_ms;
    loop {
        let (hmin, hmax) = (head.min_time(), head.max_time());
        if hmin > hmax || hmax.saturating_sub(hmin) <= range / 2 * 3 {
            return Ok(());
        }
        let mint = hmin.div_euclid(range) * range;
        let maxt = mint + range;
        let mut w = BlockWriter::new(db.dir(), mint, maxt, 1, Vec::new())?;
        let written = head.for_each_in_range(mint, maxt - 1, |labels, samples, hists| {
            w.add_series_with_histograms(labels.clone(), samples, hists)
                .map_err(TsdbError::from)
        });
        if let Err(e) = written {
            w.abort();
            return Err(e);
        }
        if let Some(meta) = w.finish()? {
            db.counters().compactions.inc();
            let block = Block::open(&db.dir().join(&meta.ulid), db.symbols())?;
            tracing::info!(ulid = %meta.ulid, mint, maxt, series = meta.stats.num_series, samples = meta.stats.num_samples, "wrote block from head");
            db.swap_blocks(vec![Arc::new(block)], &[]);
        }
        head.truncate(maxt)?;
        checkpoint_wal(db, maxt)?;
    }
}

/// Rewrites the WAL's closed segments into a checkpoint holding only what the head still
/// needs, then deletes them. Appends continue meanwhile in a fresh segment.
fn checkpoint_wal(db: &Db, min_time: i64) -> Result<(), TsdbError> {
    let head = db.head();
    let last = {
        let mut guard = head.wal();
        let Some(w) = guard.as_mut() else {
            return Ok(());
        };
        let next = w.next_segment()?;
        match next.checked_sub(1) {
            Some(last) => last,
            None => return Ok(()),
        }
    };
    let dir = db.dir().join(WAL_DIR);
    wal::checkpoint(&dir, last, |r| head.contains_ref(r), min_time)?;
    // Segments a remote-write queue has not sent yet stay until it has.
    let upto = db
        .wal_pins()
        .floor()
        .map_or(last + 1, |pin| pin.min(last + 1));
    if let Some(w) = head.wal().as_mut() {
        w.truncate(upto)?;
    }
    Ok(())
}

pub(super) fn compact_blocks(db: &Db) -> Result<(), TsdbError> {
    while let Some(group) = plan(db) {
        let merged = merge(db, &group)?;
        db.swap_blocks(merged.into_iter().collect(), &group);
        for b in &group {
            Block::delete_dir(b.dir())?;
        }
    }
    Ok(())
}

/// The next set of blocks to merge, if any.
fn plan(db: &Db) -> Option<Vec<Arc<Block>>> {
    let blocks = db.blocks();
    // Overlapping blocks first: queries over them must merge samples on every read.
    for (i, b) in blocks.iter().enumerate() {
        let mut group = vec![b.clone()];
        let mut end = b.meta().max_time;
        for other in &blocks[i + 1..] {
            if other.meta().min_time < end {
                end = end.max(other.meta().max_time);
                group.push(other.clone());
            }
        }
        if group.len() > 1 {
            return Some(group);
        }
    }
    let range = db.options().block_range_ms;
    let retention = db.options().retention_ms;
    let max_duration = if retention > 0 {
        MAX_BLOCK_DURATION_MS.min(retention / 10)
    } else {
        MAX_BLOCK_DURATION_MS
    };
    let limit = db.head().min_time().min(blocks.last()?.meta().max_time);
    let mut window = range.saturating_mul(3);
    while window <= max_duration {
        let mut groups: BTreeMap<i64, Vec<Arc<Block>>> = BTreeMap::new();
        for b in &blocks {
            let start = b.meta().min_time.div_euclid(window) * window;
            if b.meta().max_time <= start + window {
                groups.entry(start).or_default().push(b.clone());
            }
        }
        for (start, group) in groups {
            if group.len() > 1 && start + window <= limit {
                return Some(group);
            }
        }
        window = window.saturating_mul(3);
    }
    None
}

fn merge(db: &Db, group: &[Arc<Block>]) -> Result<Option<Arc<Block>>, TsdbError> {
    let level = group
        .iter()
        .map(|b| b.meta().compaction.level)
        .max()
        .unwrap_or(0)
        + 1;
    let mut sources: Vec<String> = group
        .iter()
        .flat_map(|b| b.meta().compaction.sources.clone())
        .collect();
    sources.sort();
    sources.dedup();
    let merged = rewrite(db, group, level, sources)?;
    if let Some(b) = &merged {
        tracing::info!(ulid = %b.meta().ulid, level, sources = group.len(), "merged blocks");
    }
    Ok(merged)
}

/// Writes the samples of `group` that are not deleted as one block over the group's whole
/// range, with `level` and `sources` in its meta, and opens it. `None` when nothing is left.
/// The caller swaps it in and deletes the group.
pub(super) fn rewrite(
    db: &Db,
    group: &[Arc<Block>],
    level: u32,
    sources: Vec<String>,
) -> Result<Option<Arc<Block>>, TsdbError> {
    let mint = group.iter().map(|b| b.meta().min_time).min().unwrap_or(0);
    let maxt = group.iter().map(|b| b.meta().max_time).max().unwrap_or(0);
    let tombstones: Vec<_> = group.iter().map(|b| b.tombstones()).collect();
    let mut all: BTreeMap<Labels, Vec<(usize, u32)>> = BTreeMap::new();
    let mut metas = Vec::new();
    for (bi, b) in group.iter().enumerate() {
        for id in 0..b.index().num_series() {
            let labels = b.index().series(id, &mut metas)?;
            all.entry(labels).or_default().push((bi, id));
        }
    }
    let mut w = BlockWriter::new(db.dir(), mint, maxt, level, sources)?;
    let written = (|| {
        let (mut scratch, mut buf) = (ChunkScratch::default(), Vec::<Sample>::new());
        let (mut hmetas, mut hbuf) = (Vec::new(), Vec::<HistogramSample>::new());
        let (mut merged, mut hmerged) = (Vec::new(), Vec::new());
        for (labels, refs) in all {
            merged.clear();
            hmerged.clear();
            for (bi, id) in refs {
                let b = &group[bi];
                let deleted = tombstones[bi].get(id);
                b.index()
                    .series_with_histograms(id, &mut metas, Some(&mut hmetas))?;
                buf.clear();
                for c in &metas {
                    if !deleted.is_some_and(|d| d.covers(c.min_time, c.max_time)) {
                        b.read_chunk(c, &mut buf, &mut scratch)?;
                    }
                }
                if let Some(d) = deleted {
                    d.remove_deleted(&mut buf, 0);
                }
                merge_into(&mut merged, &buf);
                hbuf.clear();
                for c in &hmetas {
                    if !deleted.is_some_and(|d| d.covers(c.min_time, c.max_time)) {
                        b.read_histogram_chunk(c, &mut hbuf)?;
                    }
                }
                if let Some(d) = deleted {
                    hbuf.retain(|h| !d.contains(h.t));
                }
                merge_histograms_into(&mut hmerged, &mut hbuf);
            }
            w.add_series_with_histograms(labels, &merged, &hmerged)?;
        }
        Ok::<(), TsdbError>(())
    })();
    if let Err(e) = written {
        w.abort();
        return Err(e);
    }
    let Some(meta) = w.finish()? else {
        return Ok(None);
    };
    db.counters().compactions.inc();
    Ok(Some(Arc::new(Block::open(
        &db.dir().join(&meta.ulid),
        db.symbols(),
    )?)))
}
