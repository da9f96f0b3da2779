//! Retention: deleting whole blocks that are too old, or the oldest ones while the data
//! directory is over its size limit.

use super::block::Block;
use super::db::Db;
use super::TsdbError;

pub(super) fn apply(db: &Db) -> Result<(), TsdbError> {
    let blocks = db.blocks();
    let opts = db.options();
    let newest = blocks
        .iter()
        .map(|b| b.meta().max_time)
        .max()
        .unwrap_or(i64::MIN)
        .max(db.head().max_time());
    let mut doomed = Vec::new();
    if opts.retention_ms > 0 {
        doomed.extend(
            blocks
                .iter()
                .filter(|b| newest.saturating_sub(b.meta().max_time) > opts.retention_ms)
                .cloned(),
        );
        if !doomed.is_empty() {
            db.counters().time_retentions.inc();
        }
    }
    if opts.retention_bytes > 0 {
        let stats = db.stats();
        let mut total = stats.blocks_bytes + stats.wal_bytes + stats.head_chunks_bytes;
        total -= doomed
            .iter()
            .map(|b: &std::sync::Arc<Block>| b.size())
            .sum::<u64>();
        let by_age = doomed.len();
        for b in &blocks {
            if total <= opts.retention_bytes {
                break;
            }
            if !doomed.iter().any(|d| d.meta().ulid == b.meta().ulid) {
                total = total.saturating_sub(b.size());
                doomed.push(b.clone());
            }
        }
        if doomed.len() > by_age {
            db.counters().size_retentions.inc();
        }
    }
    if doomed.is_empty() {
        return Ok(());
    }
    db.swap_blocks(Vec::new(), &doomed);
    for b in &doomed {
        tracing::info!(ulid = %b.meta().ulid, min_time = b.meta().min_time, max_time = b.meta().max_time, "deleting block beyond retention");
        Block::delete_dir(b.dir())?;
    }
    Ok(())
}
