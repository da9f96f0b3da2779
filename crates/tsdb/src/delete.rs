//! Deleting samples by series matchers and time range ([`Db::delete`]), and rewriting the
//! blocks that hold deleted samples without them ([`Db::clean_tombstones`]): the operations
//! behind Prometheus' `delete_series` and `clean_tombstones` admin endpoints.
//!
//! A deletion writes tombstones only (the head's through the WAL, a block's in its
//! `tombstones` file), so it is quick and durable when it returns; the samples leave the disk
//! when compaction or [`Db::clean_tombstones`] rewrites their block.
//!
//! Not here: the tombstones themselves and their file (`tombstones`), and leaving deleted
//! samples out of reads (`querier`, the head) and of compaction output (`compact`).

use std::sync::Arc;

use bongsu_model::Matcher;

use super::block::{Block, BlockError};
use super::db::Db;
use super::postings::postings_for_matchers;
use super::tombstones::Interval;
use super::{compact, TsdbError};

impl Db {
    /// Deletes the samples in `[mint, maxt]` (ms, both inclusive) of the series matching every
    /// matcher, in the head and in each block overlapping the range. Queries stop returning
    /// them at once, and they stay deleted across restarts (and a crash: the head's deletions
    /// are in the WAL). As in Prometheus, no matchers select nothing, and each series'
    /// deletion is clamped to the samples it has, so later appends are not hidden. Waits for a
    /// running compaction, so that no block being merged misses a deletion. Each block's
    /// deletion, and the head's, is atomic; a failure part-way keeps those done before it (as
    /// in Prometheus).
    pub fn delete(&self, mint: i64, maxt: i64, matchers: &[Matcher]) -> Result<(), TsdbError> {
        if matchers.is_empty() || mint > maxt {
            return Ok(());
        }
        let _m = self.maintenance();
        for block in self.blocks() {
            if block.meta().overlaps(mint, maxt) {
                delete_in_block(&block, mint, maxt, matchers)?;
            }
        }
        self.head().delete(mint, maxt, matchers)
    }

    /// Rewrites every block that has tombstones without its deleted samples, with the same
    /// range, level and sources (a block left with no samples is removed), as Prometheus'
    /// `CleanTombstones`. The head keeps its deletions until it is compacted. Returns the
    /// number of blocks rewritten or removed.
    pub fn clean_tombstones(&self) -> Result<usize, TsdbError> {
        let _m = self.maintenance();
        let mut cleaned = 0;
        for block in self.blocks() {
            if block.tombstones().is_empty() {
                continue;
            }
            let old = std::slice::from_ref(&block);
            let compaction = &block.meta().compaction;
            let new = compact::rewrite(self, old, compaction.level, compaction.sources.clone())?;
            tracing::info!(
                block = %block.meta().ulid,
                replaced_by = new.as_ref().map_or("nothing", |b| b.meta().ulid.as_str()),
                "rewrote a block without its deleted samples"
            );
            self.swap_blocks(new.into_iter().collect(), old);
            Block::delete_dir(block.dir())?;
            cleaned += 1;
        }
        Ok(cleaned)
    }
}

/// Adds tombstones to `block` for the matching series that have samples in `[mint, maxt]`,
/// each clamped to the series' own range.
fn delete_in_block(
    block: &Arc<Block>,
    mint: i64,
    maxt: i64,
    matchers: &[Matcher],
) -> Result<(), BlockError> {
    let index = block.index();
    let (mut metas, mut hmetas) = (Vec::new(), Vec::new());
    let mut stones = Vec::new();
    for id in postings_for_matchers(index, matchers)? {
        index.series_with_histograms(id, &mut metas, Some(&mut hmetas))?;
        // Float and histogram chunks together: (min, max) of each.
        let ranges = metas
            .iter()
            .map(|c| (c.min_time, c.max_time))
            .chain(hmetas.iter().map(|c| (c.min_time, c.max_time)));
        let (Some(first), Some(last)) = (
            ranges.clone().map(|r| r.0).min(),
            ranges.clone().map(|r| r.1).max(),
        ) else {
            continue;
        };
        if !ranges.clone().any(|(lo, hi)| lo <= maxt && hi >= mint) {
            continue;
        }
        if let Some(iv) = Interval::new(mint, maxt).clamp(first, last) {
            stones.push((id, iv));
        }
    }
    block.add_tombstones(&stones)
}

#[cfg(test)]
mod tests {
    use bongsu_model::{Labels, Matcher};
    use bongsu_storage::{Appendable, Queryable};

    use crate::test_support::{minutes, open, samples, HOUR, MIN};
    use crate::tombstones::TOMBSTONES_FILE;
    use crate::{Db, DbOptions};

    fn name(n: &str) -> Labels {
        Labels::from_pairs(&[("__name__", n)]).unwrap()
    }

    /// One sample a minute in `[from, to)` for each series.
    fn fill(db: &Db, series: &[&str], from: i64, to: i64) {
        let mut app = db.appender();
        for t in (from..to).step_by(MIN as usize) {
            for s in series {
                app.append(&name(s), t, (t / MIN) as f64).unwrap();
            }
        }
        app.commit().unwrap();
    }

    /// The timestamps of series `n`, each sample's value checked against what `fill` wrote.
    fn times(db: &Db, n: &str) -> Vec<i64> {
        samples(db, n)
            .into_iter()
            .map(|(t, v)| {
                assert_eq!(v, (t / MIN) as f64);
                t
            })
            .collect()
    }

    fn delete(db: &Db, re: &str, mint: i64, maxt: i64) {
        let m = Matcher::new(bongsu_model::MatchOp::Regex, "__name__", re).unwrap();
        db.delete(mint, maxt, &[m]).unwrap();
    }

    fn has_tombstones(db: &Db) -> Vec<bool> {
        db.block_metas()
            .iter()
            .map(|m| db.dir().join(&m.ulid).join(TOMBSTONES_FILE).exists())
            .collect()
    }

    #[test]
    fn deletions_hide_samples_in_head_and_blocks_and_survive_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let check = |db: &Db| {
            assert_eq!(times(db, "a"), minutes(0, 5 * HOUR, &[(HOUR, 3 * HOUR)]));
            assert_eq!(times(db, "b"), minutes(0, 5 * HOUR, &[]));
            // Deleted up to its last sample, so the sample appended later shows.
            assert_eq!(times(db, "c"), vec![6 * HOUR]);
            // A series whose samples in a range are all deleted is not listed for it.
            let q = db.querier(HOUR + 30 * MIN, 2 * HOUR + 30 * MIN).unwrap();
            let re = Matcher::new(bongsu_model::MatchOp::Regex, "__name__", "a|b").unwrap();
            assert_eq!(
                q.series_labels(std::slice::from_ref(&re)).unwrap(),
                vec![name("b")]
            );
            assert_eq!(q.select(&[re]).unwrap().len(), 1);
        };
        {
            let db = open(dir.path());
            fill(&db, &["a", "b", "c"], 0, 5 * HOUR);
            db.compact().unwrap();
            assert_eq!(
                db.block_metas().len(),
                1,
                "[0, 2h) in a block, the rest in the head"
            );
            delete(&db, "a", HOUR, 3 * HOUR);
            delete(&db, "c", i64::MIN, i64::MAX);
            assert_eq!(times(&db, "c"), Vec::<i64>::new());
            let mut app = db.appender();
            app.append(&name("c"), 6 * HOUR, 360.0).unwrap();
            app.commit().unwrap();
            assert_eq!(has_tombstones(&db), vec![true]);
            check(&db);
            // Dropped without `close`, as by a crash: the head's deletions are in the WAL.
        }
        let db = open(dir.path());
        check(&db);
        db.close().unwrap();
        drop(db);
        let db = open(dir.path());
        check(&db);
        // No matchers and an empty range delete nothing.
        db.delete(i64::MIN, i64::MAX, &[]).unwrap();
        delete(&db, "b", 2 * HOUR, HOUR);
        assert_eq!(times(&db, "b"), minutes(0, 5 * HOUR, &[]));
    }

    #[test]
    fn compaction_leaves_deleted_samples_out() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = open(dir.path());
            fill(&db, &["a", "b"], 0, 5 * HOUR);
            db.compact().unwrap();
            delete(&db, "a", HOUR, 3 * HOUR);
            fill(&db, &["a", "b"], 5 * HOUR, 9 * HOUR);
            // Cuts [2h, 4h) and [4h, 6h) from the head, then merges the three blocks of [0, 6h).
            db.compact().unwrap();
            let metas = db.block_metas();
            assert_eq!(metas.len(), 1, "{metas:?}");
            assert_eq!((metas[0].min_time, metas[0].max_time), (0, 6 * HOUR));
            let deleted = (2 * HOUR / MIN + 1) as u64;
            assert_eq!(metas[0].stats.num_samples, 2 * 360 - deleted);
            assert_eq!(has_tombstones(&db), vec![false]);
            assert_eq!(times(&db, "a"), minutes(0, 9 * HOUR, &[(HOUR, 3 * HOUR)]));
            db.close().unwrap();
        }
        let db = open(dir.path());
        assert_eq!(times(&db, "a"), minutes(0, 9 * HOUR, &[(HOUR, 3 * HOUR)]));
        assert_eq!(times(&db, "b"), minutes(0, 9 * HOUR, &[]));
    }

    #[test]
    fn clean_tombstones_rewrites_blocks_without_deleted_samples() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        fill(&db, &["a", "b"], 0, 7 * HOUR);
        db.compact().unwrap();
        let before = db.block_metas();
        assert_eq!(before.len(), 2);
        delete(&db, "a", 30 * MIN, HOUR);
        delete(&db, "a|b", 2 * HOUR, 4 * HOUR - 1);
        assert_eq!(has_tombstones(&db), vec![true, true]);
        let want_a = minutes(0, 7 * HOUR, &[(30 * MIN, HOUR), (2 * HOUR, 4 * HOUR - 1)]);
        let want_b = minutes(0, 7 * HOUR, &[(2 * HOUR, 4 * HOUR - 1)]);

        // The first block is rewritten without 31 samples of `a`; the second, all deleted, goes.
        assert_eq!(db.clean_tombstones().unwrap(), 2);
        let after = db.block_metas();
        assert_eq!(after.len(), 1, "{after:?}");
        assert_ne!(after[0].ulid, before[0].ulid);
        assert_eq!((after[0].min_time, after[0].max_time), (0, 2 * HOUR));
        assert_eq!(after[0].compaction, before[0].compaction);
        assert_eq!(after[0].stats.num_samples, 2 * 120 - 31);
        assert_eq!(has_tombstones(&db), vec![false]);
        for old in &before {
            assert!(!dir.path().join(&old.ulid).exists());
        }
        assert_eq!(
            (times(&db, "a"), times(&db, "b")),
            (want_a.clone(), want_b.clone())
        );
        assert_eq!(db.clean_tombstones().unwrap(), 0);
        db.close().unwrap();
        drop(db);
        let db = open(dir.path());
        assert_eq!((times(&db, "a"), times(&db, "b")), (want_a, want_b));
    }

    #[test]
    fn a_damaged_tombstones_file_stops_the_start_naming_the_block() {
        let dir = tempfile::tempdir().unwrap();
        let ulid = {
            let db = open(dir.path());
            fill(&db, &["a"], 0, 5 * HOUR);
            db.compact().unwrap();
            delete(&db, "a", HOUR, 2 * HOUR);
            db.close().unwrap();
            db.block_metas()[0].ulid.clone()
        };
        let file = dir.path().join(&ulid).join(TOMBSTONES_FILE);
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..bytes.len() - 2]).unwrap();
        let opts = DbOptions::default();
        let err = Db::open(dir.path(), opts).err().unwrap().to_string();
        assert!(
            err.contains(&ulid) && err.contains("bad tombstones file"),
            "{err}"
        );
    }
}
