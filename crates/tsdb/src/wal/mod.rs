//! The write-ahead log: makes series and samples durable before the head acknowledges them, and
//! gives them back on restart.
//!
//! The WAL is a directory of numbered segment files (`00000000`, `00000001`, …) holding
//! CRC32C-framed records, plus at most one live `checkpoint.NNNNNNNN` directory that condenses
//! the segments up to `NNNNNNNN`. The byte layout is in `docs/format/wal.md`.
//!
//! - [`Wal`] appends records ([`Wal::log_series`], [`Wal::log_samples`],
//!   [`Wal::log_histograms`], [`Wal::log_float_histograms`], [`Wal::log_tombstones`]); each
//!   call is one
//!   `write` per segment touched, so an `Ok` survives a kill of the process (and, with
//!   [`WalOptions::fsync_on_commit`], a power loss).
//! - [`WalBatch`] frames records without the `Wal`, for [`Wal::write_batches`] to write
//!   later: committers frame concurrently and write together (group commit).
//! - [`replay`] reads the checkpoint and the segments after it back as [`Record`]s;
//!   [`Wal::replay_and_open`] does that and opens the log, reading each segment once.
//! - [`read_segment_tail`], [`wal_files`] and [`WalPins`] serve readers that follow the log
//!   as it is written (remote write); truncation keeps the segments they pin.
//! - [`checkpoint`] condenses old segments to the series, samples and deletions still wanted,
//!   after which
//!   [`Wal::truncate`] deletes those segments.
//!
//! A torn or corrupt tail (a crash mid-write, a flipped bit) is never fatal: replay stops at the
//! last good record and [`Wal::open`] cuts the log there, with a warning.
//!
//! Not here: deciding which series to keep or when to checkpoint (the head does), series ids
//! (the head assigns them), and concurrency (a `Wal` is used through `&mut`; wrap it in a lock to
//! share it).

mod checkpoint;
mod hist_record;
mod reader;
mod record;
mod segment;
mod tail;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;
use tracing::{info, warn};

pub use checkpoint::{checkpoint, CheckpointStats};
pub use hist_record::{histogram_over_record_limit, MAX_HISTOGRAMS_PER_RECORD};
pub use reader::{replay, ReplayStats};
pub use record::{
    series_over_record_limit, Record, RefFloatHistogramSample, RefHistogramSample, RefSample,
    RefSeries, RefTombstone, SeriesRef, MAX_RECORD_PAYLOAD, MAX_SAMPLES_PER_RECORD,
};

pub use tail::{
    read_checkpoint_records, read_segment_tail, segment_path, wal_files, TailStop, WalFiles,
    WalPin, WalPins, FIRST_RECORD_OFFSET,
};

use reader::{plan, read_segment, replay_planned, BadTail, Plan, SegmentEnd};
pub use segment::WalBatch;
use segment::{checkpoint_name, io_err, list_dir, segment_name, sync_dir, SegmentWriter};

/// Default size at which the WAL moves on to a new segment.
pub const DEFAULT_SEGMENT_SIZE: u64 = 128 * 1024 * 1024;

/// Everything that can go wrong in the WAL.
#[derive(Debug, Error)]
pub enum WalError {
    #[error("WAL I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Damaged data that cannot be cut off as a tail: inside a checkpoint, or in a segment that
    /// `checkpoint` was asked to fold in. (A damaged tail is repaired, not reported.)
    #[error("WAL segment {segment} is corrupt at offset {offset}: {reason}")]
    Corrupt {
        segment: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("WAL segment {path} has format version {version}, this build reads versions 1 to 3")]
    UnsupportedVersion { path: PathBuf, version: u8 },
    #[error("a single series encodes to {size} bytes, over the WAL record limit of {max}")]
    RecordTooLarge { size: usize, max: usize },
    #[error(
        "WAL segment {path} is in an unknown state after a failed write ({source}); reopen the WAL"
    )]
    Poisoned {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("WAL directory {dir} has used up its segment numbers")]
    IndexExhausted { dir: PathBuf },
    #[error("invalid WAL request: {0}")]
    InvalidArgument(String),
    /// An error raised by a [`replay`] or [`checkpoint`] callback, passed through.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// How a [`Wal`] writes.
#[derive(Debug, Clone)]
pub struct WalOptions {
    /// Size at which a segment is closed and the next one started; a single oversized write
    /// still goes whole into one segment. Default 128 MiB.
    pub segment_size: u64,
    /// fsync after every `log_*` call: acknowledged data then survives power loss, not only a
    /// process crash. Default off.
    pub fsync_on_commit: bool,
}

impl Default for WalOptions {
    fn default() -> WalOptions {
        WalOptions {
            segment_size: DEFAULT_SEGMENT_SIZE,
            fsync_on_commit: false,
        }
    }
}

/// An open write-ahead log, appending to its newest segment.
pub struct Wal {
    dir: PathBuf,
    writer: SegmentWriter,
    first: u32,
}

impl Wal {
    /// Opens (creating `dir` if needed). Repairs a torn or corrupt tail: the segment holding the
    /// first bad record is truncated at the last good record and any later segments are
    /// removed, with a `tracing::warn!` naming segment and offset. Never panics on bad data.
    /// Starts appending in a NEW segment after the last existing one (never appends into an
    /// old, possibly repaired, segment).
    pub fn open(dir: &Path, opts: WalOptions) -> Result<Wal, WalError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let plan = plan(dir)?;
        let mut bad = None;
        for (pos, &i) in plan.segments.iter().enumerate() {
            let path = dir.join(segment_name(i));
            if let SegmentEnd::Corrupt { offset, reason } = read_segment(&path, &mut |_| Ok(()))? {
                bad = Some(BadTail {
                    pos,
                    offset,
                    reason,
                });
                break;
            }
        }
        Wal::open_planned(dir, opts, &plan, bad)
    }

    /// [`replay`]s `dir` into `f`, then opens it as [`Wal::open`] does, reading every segment
    /// once: the replay finds the torn or corrupt tail that `open` would otherwise scan for.
    /// Nothing else may change `dir` in between (the database holds its lock).
    pub fn replay_and_open(
        dir: &Path,
        opts: WalOptions,
        f: impl FnMut(Record) -> Result<(), WalError>,
    ) -> Result<(Wal, ReplayStats), WalError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let plan = plan(dir)?;
        let (stats, bad) = replay_planned(dir, &plan, f)?;
        Ok((Wal::open_planned(dir, opts, &plan, bad)?, stats))
    }

    /// Opens `dir`, whose files are those `plan` lists and whose first bad record is `bad`.
    fn open_planned(
        dir: &Path,
        opts: WalOptions,
        plan: &Plan,
        bad: Option<BadTail>,
    ) -> Result<Wal, WalError> {
        // A checkpoint that never got renamed into place is incomplete; the segments it was
        // built from are still here.
        for tmp in &plan.listing.tmp {
            info!(path = %tmp.display(), "removing an interrupted WAL checkpoint");
            fs::remove_dir_all(tmp).map_err(io_err(tmp))?;
        }
        if let Some(BadTail {
            pos,
            offset,
            reason,
        }) = bad
        {
            let path = dir.join(segment_name(plan.segments[pos]));
            repair(dir, &path, offset, &reason, &plan.segments[pos + 1..])?;
        }
        let listing = list_dir(dir)?;
        let next = [
            listing.segments.last().map(|&i| i + 1),
            plan.checkpoint.map(|c| c + 1),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
        let writer = SegmentWriter::create(dir, next, opts.segment_size, opts.fsync_on_commit)?;
        Ok(Wal {
            dir: dir.to_path_buf(),
            writer,
            first: listing.segments.first().copied().unwrap_or(next),
        })
    }

    /// Logs series definitions. One `write` per segment touched, so on `Ok` the data survives a
    /// kill of the process (and is fsynced with `fsync_on_commit`). Large inputs are split into
    /// several records; rolls to a new segment when the current one would exceed the size limit.
    pub fn log_series(&mut self, series: &[RefSeries]) -> Result<(), WalError> {
        self.writer.log_series(series)
    }

    /// Logs samples; same durability and splitting as [`Wal::log_series`]. Their series must
    /// have been logged before.
    pub fn log_samples(&mut self, samples: &[RefSample]) -> Result<(), WalError> {
        self.writer.log_samples(samples)
    }

    /// Logs integer histogram samples, as [`Wal::log_samples`] (custom-bucket ones in records
    /// of their own type).
    pub fn log_histograms(&mut self, hs: &[RefHistogramSample]) -> Result<(), WalError> {
        self.writer.log_histograms(hs)
    }

    /// Logs float histogram samples, as [`Wal::log_histograms`].
    pub fn log_float_histograms(&mut self, hs: &[RefFloatHistogramSample]) -> Result<(), WalError> {
        self.writer.log_histograms(hs)
    }

    /// Logs deletions in the head; same durability and splitting as [`Wal::log_series`].
    /// Their series must have been logged before.
    pub fn log_tombstones(&mut self, stones: &[RefTombstone]) -> Result<(), WalError> {
        self.writer.log_tombstones(stones)
    }

    /// Writes records framed beforehand, in order, with the durability of one `log_*` call:
    /// one `write` per segment touched, and one fsync with `fsync_on_commit`.
    pub fn write_batches(&mut self, batches: &[WalBatch]) -> Result<(), WalError> {
        self.writer.write_batches(batches)
    }

    /// fsyncs the current segment.
    pub fn sync(&mut self) -> Result<(), WalError> {
        self.writer.sync()
    }

    /// Syncs and closes.
    pub fn close(self) -> Result<(), WalError> {
        self.writer.sync()
    }

    /// Closes the current segment and starts the next; returns the new segment's index.
    pub fn next_segment(&mut self) -> Result<u32, WalError> {
        self.writer.roll()
    }

    /// First and last segment index present (the last is the one being written).
    pub fn segment_range(&self) -> (u32, u32) {
        (self.first, self.writer.index())
    }

    /// Total bytes of segments and checkpoints, from the file system; unreadable entries count
    /// as zero, as this only feeds metrics and size-based retention.
    pub fn size_bytes(&self) -> u64 {
        let Ok(listing) = list_dir(&self.dir) else {
            return 0;
        };
        let file_len = |p: PathBuf| fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mut total: u64 = listing
            .segments
            .iter()
            .map(|&i| file_len(self.dir.join(segment_name(i))))
            .sum();
        for &c in &listing.checkpoints {
            let cp = self.dir.join(checkpoint_name(c));
            if let Ok(inner) = list_dir(&cp) {
                total += inner
                    .segments
                    .iter()
                    .map(|&i| file_len(cp.join(segment_name(i))))
                    .sum::<u64>();
            }
        }
        total
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Deletes segments with index < `upto`, oldest first. The segment being written is never
    /// deleted, whatever `upto` says.
    pub fn truncate(&mut self, upto: u32) -> Result<(), WalError> {
        let upto = upto.min(self.writer.index());
        for i in list_dir(&self.dir)?.segments {
            if i >= upto {
                break;
            }
            let path = self.dir.join(segment_name(i));
            fs::remove_file(&path).map_err(io_err(&path))?;
        }
        self.first = self.first.max(upto);
        Ok(())
    }
}

/// Cuts segment `path` at `offset` (removing it if not even its header is good) and removes the
/// `later` segments, whose records come after the damage and so cannot be replayed in order.
fn repair(
    dir: &Path,
    path: &Path,
    offset: u64,
    reason: &str,
    later: &[u32],
) -> Result<(), WalError> {
    warn!(
        segment = %path.display(),
        offset,
        reason,
        removed_later_segments = later.len(),
        "repairing WAL: cutting a torn or corrupt tail at the last good record"
    );
    if offset < segment::HEADER_SIZE {
        fs::remove_file(path).map_err(io_err(path))?;
    } else {
        let f = fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        f.set_len(offset).map_err(io_err(path))?;
        f.sync_all().map_err(io_err(path))?;
    }
    for &i in later {
        let p = dir.join(segment_name(i));
        fs::remove_file(&p).map_err(io_err(&p))?;
    }
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::{Labels, STALE_NAN};
    use std::sync::{Arc, Mutex};

    /// Ten samples whose encoding has the same size for every `i` < 1000, so that record
    /// boundaries are predictable.
    pub(super) fn batch(i: u64) -> Vec<RefSample> {
        (0..10)
            .map(|k| RefSample {
                sref: k + 1,
                t: 1_000_000 + (i * 100 + k) as i64,
                v: if k == 3 {
                    STALE_NAN
                } else {
                    f64::from_bits(0x7ff8_0000_0000_0000 ^ (i << 8) ^ k)
                },
            })
            .collect()
    }

    fn series(n: u64) -> Vec<RefSeries> {
        (1..=n)
            .map(|sref| RefSeries {
                sref,
                labels: Labels::from_pairs(&[("__name__", "m"), ("i", &sref.to_string())]).unwrap(),
            })
            .collect()
    }

    pub(super) fn read_all(dir: &Path) -> (Vec<Record>, ReplayStats) {
        let mut recs = Vec::new();
        let stats = replay(dir, |r| {
            recs.push(r);
            Ok(())
        })
        .unwrap();
        (recs, stats)
    }

    /// The batch numbers of the `batch` samples records, checking each is bit-exact.
    pub(super) fn batches(recs: &[Record]) -> Vec<u64> {
        recs.iter()
            .filter_map(|r| match r {
                Record::Samples(s) if s[0].t >= 1_000_000 => {
                    let i = (s[0].t as u64 - 1_000_000) / 100;
                    let want = batch(i);
                    assert_eq!(s.len(), want.len());
                    for (a, b) in s.iter().zip(&want) {
                        assert_eq!((a.sref, a.t, a.v.to_bits()), (b.sref, b.t, b.v.to_bits()));
                    }
                    Some(i)
                }
                _ => None,
            })
            .collect()
    }

    fn opts(segment_size: u64) -> WalOptions {
        WalOptions {
            segment_size,
            fsync_on_commit: false,
        }
    }

    /// Size of one framed `batch` record.
    fn batch_record_size() -> u64 {
        let d = tempfile::tempdir().unwrap();
        let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
        w.log_samples(&batch(0)).unwrap();
        w.size_bytes() - segment::HEADER_SIZE
    }

    fn segments(dir: &Path) -> Vec<u32> {
        list_dir(dir).unwrap().segments
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Runs `f` and returns what it logged.
    fn logs_of<T>(f: impl FnOnce() -> T) -> (T, String) {
        let out = Captured::default();
        let w = out.clone();
        let sub = tracing_subscriber::fmt()
            .with_writer(move || w.clone())
            .with_ansi(false)
            .finish();
        let r = tracing::subscriber::with_default(sub, f);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        (r, text)
    }

    #[test]
    fn log_and_replay() {
        let d = tempfile::tempdir().unwrap();
        let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
        w.log_series(&series(10)).unwrap();
        for i in 0..5 {
            w.log_samples(&batch(i)).unwrap();
        }
        w.log_samples(&[]).unwrap();
        w.close().unwrap();
        let (recs, stats) = read_all(d.path());
        match &recs[0] {
            Record::Series(s) => assert_eq!(s, &series(10)),
            other => panic!("expected series first, got {other:?}"),
        }
        assert_eq!(batches(&recs), vec![0, 1, 2, 3, 4]);
        assert_eq!((stats.records, stats.series, stats.samples), (6, 10, 50));
        assert!(!stats.corrupt_tail);
    }

    #[test]
    fn large_inputs_split_and_rollover() {
        let d = tempfile::tempdir().unwrap();
        let mut w = Wal::open(d.path(), opts(64 * 1024)).unwrap();
        let big_value = "x".repeat(10_000);
        let big: Vec<RefSeries> = (0..300)
            .map(|sref| RefSeries {
                sref,
                labels: Labels::from_pairs(&[("v", &big_value)]).unwrap(),
            })
            .collect();
        w.log_series(&big).unwrap();
        let many: Vec<RefSample> = (0..40_000)
            .map(|i| RefSample {
                sref: i % 7,
                t: i as i64,
                v: i as f64,
            })
            .collect();
        w.log_samples(&many).unwrap();
        for i in 0..200 {
            w.log_samples(&batch(i)).unwrap();
        }
        let (first, last) = w.segment_range();
        assert_eq!(first, 0);
        assert!(last >= 4, "expected several segments, got {last}");
        assert_eq!(segments(d.path()), (0..=last).collect::<Vec<_>>());
        w.close().unwrap();
        let (recs, stats) = read_all(d.path());
        assert!(
            stats.records > 200 + 3 + 2,
            "records were not split: {stats:?}"
        );
        assert_eq!(stats.series, 300);
        assert_eq!(stats.samples, 40_000 + 2000);
        assert_eq!(batches(&recs), (0..200).collect::<Vec<_>>());

        let huge = RefSeries {
            sref: 1,
            labels: Labels::from_pairs(&[("v", &"y".repeat(MAX_RECORD_PAYLOAD))]).unwrap(),
        };
        let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
        assert!(matches!(
            w.log_series(&[huge]),
            Err(WalError::RecordTooLarge { .. })
        ));
    }

    #[test]
    fn torn_tail_at_every_offset_is_repaired() {
        let r = batch_record_size();
        for cut in 0..r {
            let d = tempfile::tempdir().unwrap();
            let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
            w.log_series(&series(10)).unwrap();
            for i in 0..3 {
                w.log_samples(&batch(i)).unwrap();
            }
            w.close().unwrap();
            let seg = d.path().join(segment_name(0));
            let len = fs::metadata(&seg).unwrap().len();
            let good = len - r;
            fs::OpenOptions::new()
                .write(true)
                .open(&seg)
                .unwrap()
                .set_len(good + cut)
                .unwrap();

            let (recs, stats) = read_all(d.path());
            assert_eq!(batches(&recs), vec![0, 1], "cut at {cut}");
            assert_eq!(stats.corrupt_tail, cut > 0, "cut at {cut}");

            let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
            assert_eq!(fs::metadata(&seg).unwrap().len(), good);
            assert_eq!(w.segment_range(), (0, 1));
            w.log_samples(&batch(7)).unwrap();
            w.close().unwrap();
            let (recs, stats) = read_all(d.path());
            assert_eq!(batches(&recs), vec![0, 1, 7], "cut at {cut}");
            assert!(!stats.corrupt_tail);
        }
    }

    #[test]
    fn garbage_after_the_last_record_is_cut() {
        for garbage in [
            vec![0u8; 100],
            vec![0xab; 3],
            b"not a record at all".to_vec(),
        ] {
            let d = tempfile::tempdir().unwrap();
            let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
            w.log_samples(&batch(0)).unwrap();
            w.close().unwrap();
            let seg = d.path().join(segment_name(0));
            let good = fs::metadata(&seg).unwrap().len();
            let mut f = fs::OpenOptions::new().append(true).open(&seg).unwrap();
            io::Write::write_all(&mut f, &garbage).unwrap();

            let (recs, stats) = read_all(d.path());
            assert_eq!(batches(&recs), vec![0]);
            assert!(stats.corrupt_tail);
            assert_eq!(stats.corrupt_at, Some((seg.clone(), good)));
            drop(Wal::open(d.path(), WalOptions::default()).unwrap());
            assert_eq!(fs::metadata(&seg).unwrap().len(), good);
        }
    }

    #[test]
    fn torn_segment_header_is_removed() {
        let d = tempfile::tempdir().unwrap();
        let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
        w.log_samples(&batch(0)).unwrap();
        w.close().unwrap();
        fs::write(d.path().join(segment_name(1)), b"BSW").unwrap();
        assert_eq!(batches(&read_all(d.path()).0), vec![0]);
        let w = Wal::open(d.path(), WalOptions::default()).unwrap();
        assert_eq!(w.segment_range(), (0, 1));
        assert_eq!(
            fs::metadata(d.path().join(segment_name(1))).unwrap().len(),
            8
        );
    }

    #[test]
    fn bit_flip_in_a_middle_segment_drops_everything_after_it() {
        // Repaired the same whether `open` scans for the damage or the replay found it.
        for replay_first in [false, true] {
            bit_flip_in_a_middle_segment(replay_first);
        }
    }

    fn bit_flip_in_a_middle_segment(replay_first: bool) {
        let r = batch_record_size();
        let d = tempfile::tempdir().unwrap();
        // Exactly five records per segment.
        let mut w = Wal::open(d.path(), opts(segment::HEADER_SIZE + 5 * r)).unwrap();
        for i in 0..20 {
            w.log_samples(&batch(i)).unwrap();
        }
        assert_eq!(w.segment_range(), (0, 3));
        w.close().unwrap();

        // Flip one bit in the middle of the third record of segment 1 (batch 7).
        let seg1 = d.path().join(segment_name(1));
        let mut bytes = fs::read(&seg1).unwrap();
        let cut = segment::HEADER_SIZE + 2 * r;
        bytes[(cut + r / 2) as usize] ^= 0x10;
        fs::write(&seg1, &bytes).unwrap();

        let (recs, stats) = read_all(d.path());
        assert_eq!(batches(&recs), (0..7).collect::<Vec<_>>());
        assert_eq!(stats.corrupt_at, Some((seg1.clone(), cut)));

        let (w, logs) = logs_of(|| {
            if replay_first {
                let mut replayed = Vec::new();
                let (w, stats) = Wal::replay_and_open(d.path(), WalOptions::default(), |r| {
                    replayed.push(r);
                    Ok(())
                })
                .unwrap();
                assert_eq!(batches(&replayed), (0..7).collect::<Vec<_>>());
                assert_eq!(stats.corrupt_at, Some((seg1.clone(), cut)));
                w
            } else {
                Wal::open(d.path(), WalOptions::default()).unwrap()
            }
        });
        assert!(logs.contains("WARN"), "no warning logged: {logs}");
        assert!(logs.contains(&format!("offset={cut}")), "{logs}");
        assert!(logs.contains("00000001"), "{logs}");
        assert_eq!(segments(d.path()), vec![0, 1, 2]);
        assert_eq!(fs::metadata(&seg1).unwrap().len(), cut);
        let mut w = w;
        assert_eq!(w.segment_range(), (0, 2));
        w.log_samples(&batch(100)).unwrap();
        w.close().unwrap();
        let mut want: Vec<u64> = (0..7).collect();
        want.push(100);
        assert_eq!(batches(&read_all(d.path()).0), want);
    }

    #[test]
    fn truncate_keeps_the_active_segment_and_open_skips_gaps() {
        let d = tempfile::tempdir().unwrap();
        let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
        for i in 0..4 {
            w.log_samples(&batch(i)).unwrap();
            w.next_segment().unwrap();
        }
        assert_eq!(w.segment_range(), (0, 4));
        w.truncate(2).unwrap();
        assert_eq!(w.segment_range(), (2, 4));
        assert_eq!(batches(&read_all(d.path()).0), vec![2, 3]);
        w.truncate(100).unwrap();
        assert_eq!(w.segment_range(), (4, 4));
        assert_eq!(segments(d.path()), vec![4]);
        w.close().unwrap();

        // A gap left by a crash during truncate: the segments before it are skipped.
        let d = tempfile::tempdir().unwrap();
        let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
        for i in 0..3 {
            w.log_samples(&batch(i)).unwrap();
            w.next_segment().unwrap();
        }
        w.close().unwrap();
        fs::remove_file(d.path().join(segment_name(1))).unwrap();
        assert_eq!(batches(&read_all(d.path()).0), vec![2]);
    }
}
