//! Rebuilding the head at start-up from the chunks earlier runs left in `chunks_head` and the
//! WAL, as Prometheus does: a series takes its full chunks from the head chunk files as its
//! WAL series record is replayed (memory-mapped, not decoded or re-encoded), and only the WAL
//! samples newer than the last of them are appended. A series whose chunks on disk cannot be
//! taken as they are (a histogram chunk, chunks out of time order or overlapping, as after a
//! start that rebuilt a series from the WAL and wrote its chunks again) takes none and is
//! rebuilt from the WAL alone; the WAL holds every sample the head holds, so that is always
//! possible.
//!
//! Not here: reading the WAL (`wal::replay`) and the chunk files (`chunk_disk`).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bongsu_model::HistogramValue;

use super::chunk_disk::{Loaded, MmapChunk};
use super::{Head, MemSeries};
use crate::chunk::Encoding;
use crate::wal::{Record, RefSeries};
use crate::TsdbError;

/// The state of a replay in progress: [`Head::start_replay`], [`Head::replay`] per WAL record,
/// then [`Head::finish_replay`].
pub struct Replay {
    /// Refs of series logged twice, to the series that holds their labels.
    aliases: HashMap<u64, u32>,
    /// Chunks from disk not yet taken by a series.
    mmapped: Loaded,
    /// Series that took chunks from disk.
    attached: Vec<Arc<MemSeries>>,
    /// The series of each WAL ref seen in a series record, indexed by ref (refs are handed
    /// out in sequence, so this is dense): a sample's series without a lock or a hash
    /// lookup, which took two thirds of a replay's time. Refs beyond the table's bound
    /// (see [`Replay::remember`]) are looked up in the head.
    by_ref: Vec<Option<Arc<MemSeries>>>,
    /// Series records seen, for the table's bound.
    series_seen: usize,
    summary: ReplaySummary,
}

/// How far past twice the series seen a ref may lie and still get a slot in `by_ref`.
const DENSE_SLACK: usize = 1 << 20;

impl Replay {
    /// Records that WAL ref `r` names series `s`.
    fn remember(&mut self, r: u32, s: &Arc<MemSeries>) {
        self.series_seen += 1;
        let i = r as usize;
        if i > self
            .series_seen
            .saturating_mul(2)
            .saturating_add(DENSE_SLACK)
        {
            return;
        }
        if i >= self.by_ref.len() {
            self.by_ref.resize(i + 1, None);
        }
        self.by_ref[i] = Some(s.clone());
    }
}

/// What a replay did, for the start-up log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReplaySummary {
    /// WAL samples that could not be applied (their series unknown, or refused).
    pub dropped: u64,
    /// Full chunks taken from the head chunk files.
    pub mmapped_chunks: u64,
    /// Series whose chunks on disk were not usable, rebuilt from the WAL alone.
    pub rebuilt_series: u64,
}

/// Whether a series' chunks from disk can be taken as they are: float chunks, each after
/// the one before.
fn usable(chunks: &[MmapChunk]) -> bool {
    chunks
        .iter()
        .all(|c| c.encoding == Encoding::Xor as u8 && c.min_time <= c.max_time)
        && chunks.windows(2).all(|w| w[0].max_time < w[1].min_time)
}

impl Head {
    /// Starts the replay, with the chunks found on disk when the head was created.
    pub fn start_replay(&self) -> Replay {
        Replay {
            aliases: HashMap::new(),
            mmapped: std::mem::take(&mut *self.loaded.lock()),
            attached: Vec::new(),
            by_ref: Vec::new(),
            series_seen: 0,
            summary: ReplaySummary::default(),
        }
    }

    /// Applies one WAL record during replay.
    pub fn replay(&self, record: Record, st: &mut Replay) {
        match record {
            Record::Series(series) => {
                for RefSeries { sref, labels } in series {
                    let Ok(r) = u32::try_from(sref) else {
                        st.summary.dropped += 1;
                        continue;
                    };
                    let hash = labels.stable_hash();
                    let labels = self.symbols.intern_labels(&labels);
                    self.next_ref
                        .fetch_max(r.saturating_add(1), Ordering::Relaxed);
                    if let Ok((s, _)) = self.insert(r, labels, hash) {
                        s.wal_logged.store(true, Ordering::Release);
                        st.remember(r, &s);
                        if s.sref != r {
                            st.aliases.insert(sref, s.sref);
                        } else if let Some(chunks) = st.mmapped.remove(&r) {
                            self.attach(s, chunks, st);
                        }
                    }
                }
            }
            Record::Samples(samples) => {
                let (mut min, mut max) = (i64::MAX, i64::MIN);
                let min_valid = self.min_valid_time();
                for rs in samples {
                    let known = usize::try_from(rs.sref)
                        .ok()
                        .and_then(|i| st.by_ref.get(i))
                        .and_then(Option::as_ref);
                    let looked_up;
                    let s = match known {
                        Some(s) => s,
                        None => {
                            let r = st
                                .aliases
                                .get(&rs.sref)
                                .copied()
                                .or_else(|| u32::try_from(rs.sref).ok());
                            let Some(s) = r.and_then(|r| self.series(r)) else {
                                st.summary.dropped += 1;
                                continue;
                            };
                            looked_up = s;
                            &looked_up
                        }
                    };
                    if rs.t < min_valid {
                        continue;
                    }
                    match s.replay_append(rs.t, rs.v, self.chunk_range, &self.disk) {
                        Ok(appended) => {
                            self.stats.count_chunk(appended);
                            min = min.min(rs.t);
                            max = max.max(rs.t);
                        }
                        Err(_) => st.summary.dropped += 1,
                    }
                }
                if min <= max {
                    self.note_times(min, max);
                }
            }
            Record::Tombstones(stones) => self.replay_tombstones(stones, &st.aliases),
            Record::HistogramSamples(hs) => {
                let hs = hs
                    .into_iter()
                    .map(|h| (h.sref, h.t, HistogramValue::Int(Arc::new(h.h))));
                st.summary.dropped += self.replay_histograms(hs, &st.aliases);
            }
            Record::FloatHistogramSamples(hs) => {
                let hs = hs
                    .into_iter()
                    .map(|h| (h.sref, h.t, HistogramValue::Float(Arc::new(h.h))));
                st.summary.dropped += self.replay_histograms(hs, &st.aliases);
            }
        }
    }

    /// Gives new series `s` its chunks from disk that the head still covers, if usable.
    fn attach(&self, s: Arc<MemSeries>, mut chunks: Vec<MmapChunk>, st: &mut Replay) {
        let min_valid = self.min_valid_time();
        chunks.retain(|c| c.max_time >= min_valid);
        let (Some(first), Some(last)) = (chunks.first(), chunks.last()) else {
            return;
        };
        if !usable(&chunks) {
            st.summary.rebuilt_series += 1;
            return;
        }
        let (min, max) = (first.min_time, last.max_time);
        s.attach_mmapped(&chunks);
        self.stats
            .chunks
            .fetch_add(chunks.len() as u64, Ordering::Relaxed);
        st.summary.mmapped_chunks += chunks.len() as u64;
        self.note_times(min, max);
        st.attached.push(s);
    }

    /// Ends the replay: series whose last sample is in a chunk from disk read its value (for
    /// duplicate detection), and chunk files that only hold chunks before the head's minimum
    /// valid time are deleted.
    pub fn finish_replay(&self, st: Replay) -> Result<ReplaySummary, TsdbError> {
        for s in &st.attached {
            s.load_last_value(&self.disk)?;
        }
        self.disk
            .truncate(self.min_valid_time())
            .map_err(|e| TsdbError::HeadChunk(e.to_string()))?;
        Ok(st.summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{open, samples, MIN};
    use crate::Db;
    use bongsu_model::Labels;
    use bongsu_storage::Appendable;
    use std::fs;

    const SERIES: [&str; 3] = ["a", "b", "c"];

    /// Five hundred samples a minute per series: four full chunks each and an open one.
    fn fill(db: &Db, from: i64, n: i64) {
        let mut app = db.appender();
        for i in from..from + n {
            for (k, s) in SERIES.iter().enumerate() {
                let l = Labels::from_pairs(&[("__name__", s)]).unwrap();
                app.append(&l, i * MIN, (i * 10 + k as i64) as f64).unwrap();
            }
        }
        app.commit().unwrap();
    }

    fn all(db: &Db) -> Vec<Vec<(i64, f64)>> {
        SERIES.iter().map(|s| samples(db, s)).collect()
    }

    #[test]
    fn restart_takes_full_chunks_from_disk_and_the_rest_from_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let (want, chunks, disk) = {
            let db = open(dir.path());
            fill(&db, 0, 500);
            let head = db.head();
            // Dropped without `close`, as by a crash.
            (
                all(&db),
                head.stats.chunks.load(Ordering::Relaxed),
                head.chunk_disk_size(),
            )
        };
        assert_eq!(chunks, 15);
        for _ in 0..2 {
            let db = open(dir.path());
            assert_eq!(all(&db), want);
            assert_eq!(db.head().stats.chunks.load(Ordering::Relaxed), chunks);
            assert_eq!(
                db.head().chunk_disk_size(),
                disk,
                "no full chunk written again"
            );
            db.close().unwrap();
        }
        // Appends go on after the chunks from disk, duplicates of the last sample included.
        let db = open(dir.path());
        let l = Labels::from_pairs(&[("__name__", "a")]).unwrap();
        {
            let mut app = db.appender();
            app.append(&l, 499 * MIN, 4990.0).unwrap();
            app.append(&l, 500 * MIN, 5000.0).unwrap();
            app.commit().unwrap();
        }
        {
            let mut app = db.appender();
            assert!(app.append(&l, 10 * MIN, 0.0).is_err(), "out of order");
        }
        fill(&db, 501, 200);
        let want: Vec<_> = (0..701).map(|i| (i * MIN, (i * 10) as f64)).collect();
        drop(db);
        let db = open(dir.path());
        assert_eq!(samples(&db, "a"), want);
    }

    #[test]
    fn damaged_chunk_files_fall_back_to_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let want = {
            let db = open(dir.path());
            fill(&db, 0, 500);
            all(&db)
        };
        let file = dir.path().join("chunks_head").join("000001");
        let mut bytes = fs::read(&file).unwrap();
        bytes[600] ^= 0x40;
        fs::write(&file, &bytes).unwrap();
        let db = open(dir.path());
        assert_eq!(all(&db), want);
        drop(db);
        // Version 1 files (no series refs) are dropped and rebuilt.
        let mut bytes = fs::read(&file).unwrap();
        bytes[4] = 1;
        fs::write(&file, &bytes).unwrap();
        for _ in 0..2 {
            let db = open(dir.path());
            assert_eq!(all(&db), want);
        }
    }

    fn c(min_time: i64, max_time: i64, encoding: Encoding) -> MmapChunk {
        MmapChunk {
            min_time,
            max_time,
            encoding: encoding as u8,
            r: 0,
        }
    }

    #[test]
    fn only_ordered_float_chunks_are_usable() {
        use Encoding::*;
        assert!(usable(&[c(0, 10, Xor), c(11, 20, Xor)]));
        assert!(!usable(&[c(0, 10, Xor), c(10, 20, Xor)]), "overlap");
        assert!(!usable(&[c(11, 20, Xor), c(0, 10, Xor)]), "order");
        assert!(!usable(&[c(0, 10, Xor), c(11, 20, Histogram)]), "histogram");
        assert!(!usable(&[c(5, 4, Xor)]), "empty range");
    }
}
