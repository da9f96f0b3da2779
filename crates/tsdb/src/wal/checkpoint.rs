//! Checkpoints: condensing the oldest segments to what the head still needs.
//!
//! `checkpoint.NNNNNNNN` is a directory of segment files in the WAL's own format holding the
//! data of the previous checkpoint and of the segments up to `NNNNNNNN`, filtered. It is built
//! in `checkpoint.NNNNNNNN.tmp`, synced, and renamed into place, so a crash leaves either the old
//! state or the new one. Deciding what to keep is the caller's business.

use std::fs;
use std::path::Path;

use tracing::{info, warn};

use super::reader::{plan, read_checkpoint, read_segment, SegmentEnd};
use super::record::{
    Record, RefSample, RefSeries, RefTombstone, SeriesRef, MAX_SAMPLES_PER_RECORD,
};
use super::segment::{
    checkpoint_name, checkpoint_tmp_name, io_err, segment_name, sync_dir, SegmentWriter,
};
use super::{WalError, DEFAULT_SEGMENT_SIZE};

/// Series buffered before they are written as one record.
const SERIES_PER_RECORD: usize = 4096;

/// What [`checkpoint`] read and kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    /// The previous checkpoint folded in, if any.
    pub previous: Option<u32>,
    /// WAL segments folded in.
    pub segments: u32,
    pub series_kept: u64,
    pub series_dropped: u64,
    pub samples_kept: u64,
    pub samples_dropped: u64,
    pub tombstones_kept: u64,
    pub tombstones_dropped: u64,
}

/// Writes `dir/checkpoint.NNNNNNNN` (NNNNNNNN = `upto`, 8 digits) holding the previous
/// checkpoint's and segments [first..=upto]'s data filtered to: series records for which
/// `keep(sref)` is true, samples of kept series with t >= min_time, and deletions of kept
/// series that end at or after min_time (they may still hide samples). Written to a temp dir,
/// fsynced, renamed atomically; older checkpoints deleted afterwards. The caller then calls
/// `Wal::truncate(upto + 1)`.
///
/// Segment `upto` must exist and be complete: call `Wal::next_segment` first so that it is no
/// longer being written. A damaged record in the input is an error (the WAL is repaired on
/// open, so damage here is new), and so is an `upto` not past the newest checkpoint.
pub fn checkpoint(
    dir: &Path,
    upto: u32,
    keep: impl Fn(SeriesRef) -> bool,
    min_time: i64,
) -> Result<CheckpointStats, WalError> {
    let plan = plan(dir)?;
    if let Some(c) = plan.checkpoint {
        if c >= upto {
            return Err(WalError::InvalidArgument(format!(
                "checkpoint up to segment {upto} requested, but checkpoint {c} already covers it"
            )));
        }
    }
    let segments: Vec<u32> = plan
        .segments
        .iter()
        .copied()
        .filter(|&i| i <= upto)
        .collect();
    if segments.last() != Some(&upto) {
        return Err(WalError::InvalidArgument(format!(
            "checkpoint up to segment {upto} requested, but {} has no such segment",
            dir.display()
        )));
    }

    let tmp = dir.join(checkpoint_tmp_name(upto));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    fs::create_dir(&tmp).map_err(io_err(&tmp))?;
    let built = build(dir, &tmp, plan.checkpoint, &segments, &keep, min_time);
    let stats = match built {
        Ok(s) => s,
        Err(e) => {
            if let Err(rm) = fs::remove_dir_all(&tmp) {
                warn!(path = %tmp.display(), error = %rm, "could not remove a failed checkpoint");
            }
            return Err(e);
        }
    };
    let dest = dir.join(checkpoint_name(upto));
    fs::rename(&tmp, &dest).map_err(io_err(&dest))?;
    sync_dir(dir)?;

    // The new checkpoint holds everything the older ones did.
    for c in plan.listing.checkpoints {
        let old = dir.join(checkpoint_name(c));
        fs::remove_dir_all(&old).map_err(io_err(&old))?;
    }
    info!(
        checkpoint = %dest.display(),
        series_kept = stats.series_kept,
        samples_kept = stats.samples_kept,
        "WAL checkpoint written"
    );
    Ok(stats)
}

fn build(
    dir: &Path,
    tmp: &Path,
    previous: Option<u32>,
    segments: &[u32],
    keep: &dyn Fn(SeriesRef) -> bool,
    min_time: i64,
) -> Result<CheckpointStats, WalError> {
    let mut out = Filter {
        writer: SegmentWriter::create(tmp, 0, DEFAULT_SEGMENT_SIZE, false)?,
        keep,
        min_time,
        series: Vec::new(),
        samples: Vec::new(),
        stats: CheckpointStats {
            previous,
            ..CheckpointStats::default()
        },
    };
    if let Some(c) = previous {
        read_checkpoint(&dir.join(checkpoint_name(c)), &mut |r| out.add(r))?;
    }
    for &i in segments {
        let path = dir.join(segment_name(i));
        if let SegmentEnd::Corrupt { offset, reason } = read_segment(&path, &mut |r| out.add(r))? {
            return Err(WalError::Corrupt {
                segment: path,
                offset,
                reason,
            });
        }
        out.stats.segments += 1;
    }
    out.flush()?;
    out.writer.sync()?;
    sync_dir(tmp)?;
    Ok(out.stats)
}

/// Filters records and re-batches what is kept, preserving order so that every series record
/// still comes before the samples that refer to it.
struct Filter<'a> {
    writer: SegmentWriter,
    keep: &'a dyn Fn(SeriesRef) -> bool,
    min_time: i64,
    series: Vec<RefSeries>,
    samples: Vec<RefSample>,
    stats: CheckpointStats,
}

impl Filter<'_> {
    fn add(&mut self, rec: Record) -> Result<(), WalError> {
        match rec {
            Record::Series(series) => {
                if !self.samples.is_empty() {
                    self.flush()?;
                }
                for s in series {
                    if (self.keep)(s.sref) {
                        self.stats.series_kept += 1;
                        self.series.push(s);
                    } else {
                        self.stats.series_dropped += 1;
                    }
                }
                if self.series.len() >= SERIES_PER_RECORD {
                    self.flush()?;
                }
            }
            Record::Tombstones(stones) => {
                // Written as they come, after what is buffered, so that they still follow
                // their series.
                self.flush()?;
                let before = stones.len() as u64;
                let kept: Vec<RefTombstone> = stones
                    .into_iter()
                    .filter(|t| t.maxt >= self.min_time && (self.keep)(t.sref))
                    .collect();
                self.stats.tombstones_kept += kept.len() as u64;
                self.stats.tombstones_dropped += before - kept.len() as u64;
                if !kept.is_empty() {
                    self.writer.log_tombstones(&kept)?;
                }
            }
            Record::Samples(samples) => {
                if !self.series.is_empty() {
                    self.flush()?;
                }
                for s in samples {
                    if s.t >= self.min_time && (self.keep)(s.sref) {
                        self.stats.samples_kept += 1;
                        self.samples.push(s);
                    } else {
                        self.stats.samples_dropped += 1;
                    }
                }
                if self.samples.len() >= MAX_SAMPLES_PER_RECORD {
                    self.flush()?;
                }
            }
            // Histograms are rare next to floats: written as they come, like deletions.
            Record::HistogramSamples(hs) => {
                self.flush()?;
                let kept = self.keep_histograms(hs, |h| (h.sref, h.t));
                if !kept.is_empty() {
                    self.writer.log_histograms(&kept)?;
                }
            }
            Record::FloatHistogramSamples(hs) => {
                self.flush()?;
                let kept = self.keep_histograms(hs, |h| (h.sref, h.t));
                if !kept.is_empty() {
                    self.writer.log_histograms(&kept)?;
                }
            }
        }
        Ok(())
    }

    /// The histogram samples still wanted, counted with the samples.
    fn keep_histograms<H>(&mut self, hs: Vec<H>, key: impl Fn(&H) -> (SeriesRef, i64)) -> Vec<H> {
        let before = hs.len() as u64;
        let kept: Vec<H> = hs
            .into_iter()
            .filter(|h| {
                let (sref, t) = key(h);
                t >= self.min_time && (self.keep)(sref)
            })
            .collect();
        self.stats.samples_kept += kept.len() as u64;
        self.stats.samples_dropped += before - kept.len() as u64;
        kept
    }

    fn flush(&mut self) -> Result<(), WalError> {
        if !self.series.is_empty() {
            self.writer.log_series(&self.series)?;
            self.series.clear();
        }
        if !self.samples.is_empty() {
            self.writer.log_samples(&self.samples)?;
            self.samples.clear();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::segment::list_dir;
    use crate::wal::{replay, Wal, WalOptions};
    use bongsu_model::Labels;

    fn series(srefs: std::ops::Range<u64>) -> Vec<RefSeries> {
        srefs
            .map(|sref| RefSeries {
                sref,
                labels: Labels::from_pairs(&[("i", &sref.to_string())]).unwrap(),
            })
            .collect()
    }

    /// One sample per series in `srefs` at time `t`, value bits derived from both.
    fn samples(t: i64, srefs: impl Iterator<Item = u64>) -> Vec<RefSample> {
        srefs
            .map(|sref| RefSample {
                sref,
                t,
                v: f64::from_bits(0xfff0_0000_0000_0001 + sref * 1000 + t as u64),
            })
            .collect()
    }

    /// Replays `dir` into (series refs in order, (sref, t) of samples in order), checking values.
    fn contents(dir: &Path) -> (Vec<u64>, Vec<(u64, i64)>) {
        let (srefs, points, _) = contents_with_tombstones(dir);
        (srefs, points)
    }

    /// [`contents`] and the deletions, in order.
    fn contents_with_tombstones(dir: &Path) -> (Vec<u64>, Vec<(u64, i64)>, Vec<RefTombstone>) {
        let (mut srefs, mut points, mut stones) = (Vec::new(), Vec::new(), Vec::new());
        replay(dir, |r| {
            match r {
                Record::Series(s) => srefs.extend(s.iter().map(|s| s.sref)),
                Record::Samples(s) => {
                    for x in s {
                        let want = 0xfff0_0000_0000_0001 + x.sref * 1000 + x.t as u64;
                        assert_eq!(x.v.to_bits(), want);
                        // Every sample must come after its series.
                        assert!(srefs.contains(&x.sref), "sample before series {}", x.sref);
                        points.push((x.sref, x.t));
                    }
                }
                Record::HistogramSamples(_) | Record::FloatHistogramSamples(_) => {}
                Record::Tombstones(t) => {
                    for x in &t {
                        assert!(
                            srefs.contains(&x.sref),
                            "tombstone before series {}",
                            x.sref
                        );
                    }
                    stones.extend(t);
                }
            }
            Ok(())
        })
        .unwrap();
        (srefs, points, stones)
    }

    #[test]
    fn checkpoint_keeps_deletions_of_kept_series_that_may_still_hide_samples() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        let mut w = Wal::open(dir, WalOptions::default()).unwrap();
        w.log_series(&series(0..4)).unwrap();
        w.log_samples(&samples(10, 0..4)).unwrap();
        let stone = |sref, mint, maxt| RefTombstone { sref, mint, maxt };
        w.log_tombstones(&[stone(0, 0, 15), stone(1, 5, 30), stone(2, 10, 40)])
            .unwrap();
        w.log_samples(&samples(20, 0..4)).unwrap();
        w.next_segment().unwrap();
        let stats = checkpoint(dir, 0, |s| s != 2, 20).unwrap();
        assert_eq!((stats.tombstones_kept, stats.tombstones_dropped), (1, 2));
        w.truncate(1).unwrap();
        let (srefs, points, stones) = contents_with_tombstones(dir);
        assert_eq!(srefs, vec![0, 1, 3]);
        assert_eq!(points, vec![(0, 20), (1, 20), (3, 20)]);
        assert_eq!(stones, vec![stone(1, 5, 30)]);
    }

    #[test]
    fn checkpoint_truncate_replay_keeps_only_wanted_data() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        let mut w = Wal::open(dir, WalOptions::default()).unwrap();
        w.log_series(&series(0..5)).unwrap();
        w.log_samples(&samples(10, 0..5)).unwrap();
        w.next_segment().unwrap();
        w.log_series(&series(5..10)).unwrap();
        w.log_samples(&samples(20, 0..10)).unwrap();
        w.next_segment().unwrap();
        w.log_samples(&samples(30, 0..10)).unwrap();
        assert_eq!(w.next_segment().unwrap(), 3);
        // The head dropped the odd series, so no new samples refer to them.
        w.log_samples(&samples(40, (0..10).step_by(2))).unwrap();

        let even = |s: SeriesRef| s.is_multiple_of(2);
        let stats = checkpoint(dir, 2, even, 20).unwrap();
        assert_eq!(stats.segments, 3);
        assert_eq!((stats.series_kept, stats.series_dropped), (5, 5));
        assert_eq!((stats.samples_kept, stats.samples_dropped), (10, 15));
        w.truncate(3).unwrap();
        assert_eq!(w.segment_range(), (3, 3));
        assert!(w.size_bytes() > 0);

        let (srefs, points) = contents(dir);
        assert_eq!(srefs, vec![0, 2, 4, 6, 8]);
        let mut want: Vec<(u64, i64)> = [20, 30]
            .iter()
            .flat_map(|&t| (0..10).step_by(2).map(move |s| (s, t)))
            .collect();
        want.extend((0..10).step_by(2).map(|s| (s, 40)));
        assert_eq!(points, want);

        // A second checkpoint folds the first one in and replaces it.
        w.next_segment().unwrap();
        let stats = checkpoint(dir, 3, |s| s < 4, 0).unwrap();
        assert_eq!(stats.previous, Some(2));
        w.truncate(4).unwrap();
        let l = list_dir(dir).unwrap();
        assert_eq!(l.checkpoints, vec![3]);
        assert_eq!(l.segments, vec![4]);
        let (srefs, points) = contents(dir);
        assert_eq!(srefs, vec![0, 2]);
        assert_eq!(
            points,
            vec![(0, 20), (2, 20), (0, 30), (2, 30), (0, 40), (2, 40)]
        );
        w.close().unwrap();

        // Reopening continues after the last segment, and the data is unchanged.
        let w = Wal::open(dir, WalOptions::default()).unwrap();
        assert_eq!(w.segment_range(), (4, 5));
        assert_eq!(contents(dir).0, vec![0, 2]);
    }

    #[test]
    fn checkpoint_rejects_bad_ranges() {
        let d = tempfile::tempdir().unwrap();
        let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
        w.log_series(&series(0..2)).unwrap();
        w.next_segment().unwrap();
        assert!(matches!(
            checkpoint(d.path(), 5, |_| true, 0),
            Err(WalError::InvalidArgument(_))
        ));
        checkpoint(d.path(), 0, |_| true, 0).unwrap();
        assert!(matches!(
            checkpoint(d.path(), 0, |_| true, 0),
            Err(WalError::InvalidArgument(_))
        ));
    }

    #[test]
    fn open_after_checkpoint_with_no_segments_left_continues_numbering() {
        let d = tempfile::tempdir().unwrap();
        let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
        w.log_series(&series(0..3)).unwrap();
        w.close().unwrap();
        checkpoint(d.path(), 0, |_| true, 0).unwrap();
        fs::remove_file(d.path().join(segment_name(0))).unwrap();
        // An interrupted checkpoint is ignored by replay and removed by open.
        fs::create_dir(d.path().join(checkpoint_tmp_name(7))).unwrap();
        assert_eq!(contents(d.path()).0, vec![0, 1, 2]);
        let w = Wal::open(d.path(), WalOptions::default()).unwrap();
        assert_eq!(w.segment_range(), (1, 1));
        assert!(list_dir(d.path()).unwrap().tmp.is_empty());
    }

    #[test]
    fn corrupt_checkpoint_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
        w.log_series(&series(0..3)).unwrap();
        w.close().unwrap();
        checkpoint(d.path(), 0, |_| true, 0).unwrap();
        let seg = d.path().join(checkpoint_name(0)).join(segment_name(0));
        let mut bytes = fs::read(&seg).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&seg, bytes).unwrap();
        assert!(matches!(
            replay(d.path(), |_| Ok(())),
            Err(WalError::Corrupt { .. })
        ));
    }
}
