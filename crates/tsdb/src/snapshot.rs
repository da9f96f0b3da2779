//! Snapshots ([`Db::snapshot`]): the blocks of the data directory and, if asked, the head
//! written out as one more block, in another directory that opens as a data directory of its
//! own (Prometheus' `snapshot` admin endpoint).
//!
//! Block files are hard-linked, or copied where the file system cannot link. Linking is safe
//! because a block's files are never changed in place: a deletion replaces `tombstones` by a
//! rename, which leaves the snapshot's link on the old file. So a snapshot takes almost no space
//! until compaction or retention deletes the originals.
//!
//! Not here: naming the snapshot directory (the API does, as Prometheus).

use std::fs;
use std::io;
use std::path::Path;

use super::block::{sync_dir, BlockWriter, META_FILE, TMP_CREATION_SUFFIX};
use super::db::Db;
use super::tombstones::TOMBSTONES_FILE;
use super::TsdbError;

/// The files of a block directory besides `chunks/`; the last one is optional.
const BLOCK_FILES: [&str; 3] = [META_FILE, "index", TOMBSTONES_FILE];

impl Db {
    /// Fills `dir` (created if needed) with a link to every block and, with `with_head`, the
    /// head's samples (deleted ones left out) as a block of their own. Waits for a running
    /// compaction, so no block disappears while it is linked.
    pub fn snapshot(&self, dir: &Path, with_head: bool) -> Result<(), TsdbError> {
        fs::create_dir_all(dir).map_err(|e| TsdbError::io(dir, e))?;
        let _m = self.maintenance();
        for block in self.blocks() {
            link_block(block.dir(), &dir.join(&block.meta().ulid))?;
        }
        if with_head {
            write_head(self, dir)?;
        }
        Ok(sync_dir(dir)?)
    }
}

/// Links the block at `src` to `dst`, through a temporary directory renamed at the end (as a
/// block being written), so an interrupted snapshot holds no half block.
fn link_block(src: &Path, dst: &Path) -> Result<(), TsdbError> {
    let mut tmp = dst.as_os_str().to_owned();
    tmp.push(TMP_CREATION_SUFFIX);
    let tmp = std::path::PathBuf::from(tmp);
    let chunks = tmp.join("chunks");
    fs::create_dir_all(&chunks).map_err(|e| TsdbError::io(&chunks, e))?;
    for name in BLOCK_FILES {
        let from = src.join(name);
        if name == TOMBSTONES_FILE && !from.exists() {
            continue;
        }
        link_or_copy(&from, &tmp.join(name))?;
    }
    let src_chunks = src.join("chunks");
    for entry in fs::read_dir(&src_chunks).map_err(|e| TsdbError::io(&src_chunks, e))? {
        let entry = entry.map_err(|e| TsdbError::io(&src_chunks, e))?;
        link_or_copy(&entry.path(), &chunks.join(entry.file_name()))?;
    }
    sync_dir(&chunks)?;
    sync_dir(&tmp)?;
    fs::rename(&tmp, dst).map_err(|e| TsdbError::io(dst, e))
}

fn link_or_copy(from: &Path, to: &Path) -> Result<(), TsdbError> {
    if fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    let copied = fs::copy(from, to).and_then(|_| fs::File::open(to)?.sync_all());
    copied.map_err(|e: io::Error| TsdbError::io(to, e))
}

/// Writes the head's samples as one block in `dir` (nothing for an empty head).
fn write_head(db: &Db, dir: &Path) -> Result<(), TsdbError> {
    let head = db.head();
    let (mint, maxt) = (head.min_time(), head.max_time());
    if mint > maxt {
        return Ok(());
    }
    let mut w = BlockWriter::new(dir, mint, maxt.saturating_add(1), 1, Vec::new())?;
    let written = head.for_each_in_range(mint, maxt, |labels, samples, hists| {
        w.add_series_with_histograms(labels.clone(), samples, hists)
            .map_err(TsdbError::from)
    });
    if let Err(e) = written {
        w.abort();
        return Err(e);
    }
    w.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    use bongsu_model::{Labels, MatchOp, Matcher};
    use bongsu_storage::Appendable;

    use crate::test_support::{minutes, open, samples, HOUR, MIN};
    use crate::Db;

    fn times(db: &Db, n: &str) -> Vec<i64> {
        samples(db, n).into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn snapshots_open_as_data_directories() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir.path().join("data"));
        let mut app = db.appender();
        for t in (0..5 * HOUR).step_by(MIN as usize) {
            for n in ["a", "b"] {
                let l = Labels::from_pairs(&[("__name__", n)]).unwrap();
                app.append(&l, t, 1.0).unwrap();
            }
        }
        app.commit().unwrap();
        db.compact().unwrap();
        let a = |re: &str| vec![Matcher::new(MatchOp::Regex, "__name__", re).unwrap()];
        db.delete(HOUR, 3 * HOUR, &a("a")).unwrap();
        let (with_head, without) = (dir.path().join("full"), dir.path().join("blocks"));
        db.snapshot(&with_head, true).unwrap();
        db.snapshot(&without, false).unwrap();
        // Later deletions do not reach the snapshots: the block's tombstones file is replaced.
        db.delete(0, 30 * MIN, &a("a|b")).unwrap();

        let block = &db.block_metas()[0].ulid;
        let index = |d: &Path| {
            std::fs::metadata(d.join(block).join("index"))
                .unwrap()
                .ino()
        };
        assert_eq!(
            index(&with_head),
            index(db.dir()),
            "block files are hard links"
        );

        let snap = open(&with_head);
        assert_eq!(snap.block_metas().len(), 2, "the block and the head's");
        assert_eq!(times(&snap, "a"), minutes(0, 5 * HOUR, &[(HOUR, 3 * HOUR)]));
        assert_eq!(times(&snap, "b"), minutes(0, 5 * HOUR, &[]));
        let snap = open(&without);
        assert_eq!(times(&snap, "a"), minutes(0, 2 * HOUR, &[(HOUR, 3 * HOUR)]));
        assert_eq!(times(&snap, "b"), minutes(0, 2 * HOUR, &[]));
        assert_eq!(times(&db, "b"), minutes(0, 5 * HOUR, &[(0, 30 * MIN)]));
    }
}
