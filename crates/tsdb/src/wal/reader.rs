//! Reading segments back: frame validation, deciding which files to replay, and [`replay`].
//!
//! Reading never changes files; cutting a corrupt tail is done by `Wal::open`. Both use
//! [`read_segment`], so replay and repair agree on where the last good record is; at start-up
//! `Wal::replay_and_open` lets the replay find that record, so each segment is read once.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use tracing::warn;

use super::record::{decode, Record, MAX_RECORD_PAYLOAD};
use super::segment::{
    checkpoint_name, frame_crc, io_err, list_dir, segment_name, Listing, FRAME_HEADER_SIZE,
    HEADER_SIZE, MAGIC, MIN_READ_VERSION, VERSION,
};
use super::WalError;

const READ_BUFFER: usize = 256 * 1024;

/// How reading a segment ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SegmentEnd {
    /// Every byte belonged to a good record.
    Clean,
    /// The record at `offset` is torn or corrupt; everything before it is good.
    Corrupt { offset: u64, reason: String },
}

/// Reads every record of the segment at `path`, calling `f` for each, until the end or the first
/// bad record. An unsupported version is an error, not corruption: the file may be good data
/// from a newer bongsu, and must not be cut.
pub(crate) fn read_segment(
    path: &Path,
    f: &mut dyn FnMut(Record) -> Result<(), WalError>,
) -> Result<SegmentEnd, WalError> {
    read_segment_from(path, HEADER_SIZE, &mut |rec, _| f(rec)).map(|(_, end)| end)
}

/// Like [`read_segment`], from the frame that starts at byte `start` (a record boundary
/// returned earlier, or `HEADER_SIZE`); `f` also gets the offset just past each record.
/// Returns where reading stopped (the end of the last good record) and why.
pub(crate) fn read_segment_from(
    path: &Path,
    start: u64,
    f: &mut dyn FnMut(Record, u64) -> Result<(), WalError>,
) -> Result<(u64, SegmentEnd), WalError> {
    let file = File::open(path).map_err(io_err(path))?;
    let file_len = file.metadata().map_err(io_err(path))?.len();
    let mut r = BufReader::with_capacity(READ_BUFFER, file);

    if file_len < HEADER_SIZE {
        return Ok((
            0,
            SegmentEnd::Corrupt {
                offset: 0,
                reason: format!("segment header is torn ({file_len} of {HEADER_SIZE} bytes)"),
            },
        ));
    }
    let mut header = [0u8; HEADER_SIZE as usize];
    r.read_exact(&mut header).map_err(io_err(path))?;
    if header[..4] != MAGIC {
        return Ok((
            0,
            SegmentEnd::Corrupt {
                offset: 0,
                reason: "bad segment magic".into(),
            },
        ));
    }
    if !(MIN_READ_VERSION..=VERSION).contains(&header[4]) {
        return Err(WalError::UnsupportedVersion {
            path: path.into(),
            version: header[4],
        });
    }

    let mut offset = start.max(HEADER_SIZE);
    if offset > file_len {
        return Ok((
            offset,
            SegmentEnd::Corrupt {
                offset,
                reason: format!("start offset {offset} is past the end ({file_len} bytes)"),
            },
        ));
    }
    if offset > HEADER_SIZE {
        r.seek(SeekFrom::Start(offset)).map_err(io_err(path))?;
    }
    let mut payload = Vec::new();
    loop {
        let remaining = file_len - offset;
        if remaining == 0 {
            return Ok((offset, SegmentEnd::Clean));
        }
        let corrupt = |reason: String| Ok((offset, SegmentEnd::Corrupt { offset, reason }));
        if remaining < FRAME_HEADER_SIZE as u64 {
            return corrupt(format!("torn record header ({remaining} bytes left)"));
        }
        let mut fh = [0u8; FRAME_HEADER_SIZE];
        r.read_exact(&mut fh).map_err(io_err(path))?;
        let len_bytes = [fh[0], fh[1], fh[2], fh[3]];
        let len = u32::from_le_bytes(len_bytes) as usize;
        let crc = u32::from_le_bytes([fh[4], fh[5], fh[6], fh[7]]);
        let rtype = fh[8];
        if len > MAX_RECORD_PAYLOAD {
            return corrupt(format!(
                "record length {len} exceeds the maximum {MAX_RECORD_PAYLOAD}"
            ));
        }
        if len as u64 > remaining - FRAME_HEADER_SIZE as u64 {
            return corrupt(format!(
                "record of {len} bytes runs past the end of the segment (torn write)"
            ));
        }
        payload.resize(len, 0);
        r.read_exact(&mut payload).map_err(io_err(path))?;
        let want = frame_crc(len_bytes, rtype, &payload);
        if crc != want {
            return corrupt(format!(
                "checksum mismatch: stored {crc:#010x}, computed {want:#010x}"
            ));
        }
        let end = offset + (FRAME_HEADER_SIZE + len) as u64;
        match decode(rtype, &payload) {
            Ok(rec) => f(rec, end)?,
            Err(e) => return corrupt(e.0),
        }
        offset = end;
    }
}

/// Which files a replay reads, worked out from a directory listing.
#[derive(Debug)]
pub(crate) struct Plan {
    pub listing: Listing,
    /// The newest checkpoint.
    pub checkpoint: Option<u32>,
    /// Segments after the checkpoint, contiguous, ascending.
    pub segments: Vec<u32>,
}

/// Plans a replay of `dir`: the newest checkpoint, then the run of consecutive segments that ends
/// at the last segment and starts after the checkpoint.
///
/// Segments in front of a gap are leftovers of an interrupted `truncate` (which deletes oldest
/// first, but whose deletions a crash may reorder); they are skipped with a warning.
pub(crate) fn plan(dir: &Path) -> Result<Plan, WalError> {
    let listing = list_dir(dir)?;
    let checkpoint = listing.checkpoints.last().copied();
    let after: Vec<u32> = listing
        .segments
        .iter()
        .copied()
        .filter(|&i| checkpoint.is_none_or(|c| i > c))
        .collect();
    let mut start = after.len().saturating_sub(1);
    while start > 0 && after[start - 1] + 1 == after[start] {
        start -= 1;
    }
    if start > 0 {
        warn!(
            dir = %dir.display(),
            skipped_from = after[0],
            skipped_to = after[start - 1],
            resume = after[start],
            "WAL segments are not consecutive; skipping the ones before the gap"
        );
    }
    let segments = after[start..].to_vec();
    if let (Some(c), Some(&first)) = (checkpoint, segments.first()) {
        if first != c + 1 {
            warn!(
                dir = %dir.display(),
                checkpoint = c,
                first_segment = first,
                "WAL segments between the checkpoint and the first segment are missing"
            );
        }
    }
    Ok(Plan {
        listing,
        checkpoint,
        segments,
    })
}

/// Reads every segment of checkpoint directory `cp_dir`. A checkpoint is written whole and
/// renamed into place, so any damage in it is an error rather than a tail to cut.
pub(crate) fn read_checkpoint(
    cp_dir: &Path,
    f: &mut dyn FnMut(Record) -> Result<(), WalError>,
) -> Result<u32, WalError> {
    let listing = list_dir(cp_dir)?;
    for (want, &i) in listing.segments.iter().enumerate() {
        let path = cp_dir.join(segment_name(i));
        if i as usize != want {
            return Err(WalError::Corrupt {
                segment: path,
                offset: 0,
                reason: format!("checkpoint segment {want} is missing"),
            });
        }
        if let SegmentEnd::Corrupt { offset, reason } = read_segment(&path, f)? {
            return Err(WalError::Corrupt {
                segment: path,
                offset,
                reason,
            });
        }
    }
    Ok(listing.segments.len() as u32)
}

/// What [`replay`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Records passed to the callback.
    pub records: u64,
    /// Series in those records.
    pub series: u64,
    /// Samples in those records.
    pub samples: u64,
    /// Deletions in those records.
    pub tombstones: u64,
    /// Histogram samples (integer and float) in those records.
    pub histograms: u64,
    /// Whether replay stopped early at a torn or corrupt record.
    pub corrupt_tail: bool,
    /// Where the bad record is, when `corrupt_tail`.
    pub corrupt_at: Option<(PathBuf, u64)>,
    /// The checkpoint replayed first, if any.
    pub checkpoint: Option<u32>,
    /// WAL segments read (not counting checkpoint segments).
    pub segments: u32,
}

/// Replays the newest checkpoint (if any), then every segment after it, in order, calling `f`
/// per record.
///
/// A torn or corrupt record ends the replay there (`corrupt_tail` is set and a warning logged);
/// later segments are not read, matching what `Wal::open` keeps. Files are never changed, so
/// this may run before `Wal::open` on the same directory. A missing or empty `dir` replays
/// nothing. An error from `f` stops the replay and is returned.
pub fn replay(
    dir: &Path,
    f: impl FnMut(Record) -> Result<(), WalError>,
) -> Result<ReplayStats, WalError> {
    let plan = plan(dir)?;
    replay_planned(dir, &plan, f).map(|(stats, _)| stats)
}

/// Where a replay stopped at a bad record: the position of its segment in `Plan::segments`,
/// the offset of the record and why it is bad.
pub(crate) struct BadTail {
    pub pos: usize,
    pub offset: u64,
    pub reason: String,
}

/// [`replay`] of the files `plan` lists; also returns where it found a bad record, which is
/// where `Wal::open` cuts the log.
pub(crate) fn replay_planned(
    dir: &Path,
    plan: &Plan,
    mut f: impl FnMut(Record) -> Result<(), WalError>,
) -> Result<(ReplayStats, Option<BadTail>), WalError> {
    let mut stats = ReplayStats {
        checkpoint: plan.checkpoint,
        ..ReplayStats::default()
    };
    let mut counted = |rec: Record| {
        stats.records += 1;
        match &rec {
            Record::Series(s) => stats.series += s.len() as u64,
            Record::Samples(s) => stats.samples += s.len() as u64,
            Record::Tombstones(t) => stats.tombstones += t.len() as u64,
            Record::HistogramSamples(h) => stats.histograms += h.len() as u64,
            Record::FloatHistogramSamples(h) => stats.histograms += h.len() as u64,
        }
        f(rec)
    };
    if let Some(c) = plan.checkpoint {
        read_checkpoint(&dir.join(checkpoint_name(c)), &mut counted)?;
    }
    let mut corrupt_at = None;
    let mut bad = None;
    let mut segments = 0;
    for (pos, &i) in plan.segments.iter().enumerate() {
        let path = dir.join(segment_name(i));
        segments += 1;
        if let SegmentEnd::Corrupt { offset, reason } = read_segment(&path, &mut counted)? {
            warn!(
                segment = %path.display(),
                offset,
                reason,
                "WAL replay stopped at a torn or corrupt record; later records are ignored"
            );
            corrupt_at = Some((path, offset));
            bad = Some(BadTail {
                pos,
                offset,
                reason,
            });
            break;
        }
    }
    stats.segments = segments;
    stats.corrupt_tail = corrupt_at.is_some();
    stats.corrupt_at = corrupt_at;
    Ok((stats, bad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::tests::{batch, batches, read_all};
    use crate::wal::{Wal, WalOptions};
    use std::fs;

    #[test]
    fn empty_and_missing_dir_replay_nothing() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read_all(d.path()).1, ReplayStats::default());
        assert_eq!(read_all(&d.path().join("nope")).1, ReplayStats::default());
        // Open creates the directory and one empty segment, which replays as nothing.
        let w = Wal::open(&d.path().join("new"), WalOptions::default()).unwrap();
        assert_eq!(w.segment_range(), (0, 0));
        assert_eq!(read_all(w.dir()).1.records, 0);
    }

    #[test]
    fn unknown_version_is_an_error_not_a_repair() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join(segment_name(0)), b"BSWL\x09\0\0\0").unwrap();
        assert!(matches!(
            replay(d.path(), |_| Ok(())),
            Err(WalError::UnsupportedVersion { version: 9, .. })
        ));
        assert!(Wal::open(d.path(), WalOptions::default()).is_err());
        assert_eq!(
            fs::metadata(d.path().join(segment_name(0))).unwrap().len(),
            8
        );
    }

    #[test]
    fn version_1_and_2_segments_still_replay() {
        let d = tempfile::tempdir().unwrap();
        let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
        w.log_samples(&batch(0)).unwrap();
        w.close().unwrap();
        let seg = d.path().join(segment_name(0));
        let mut bytes = fs::read(&seg).unwrap();
        assert_eq!(&bytes[..5], b"BSWL\x03", "new segments are version 3");
        for version in [1, 2] {
            bytes[4] = version;
            fs::write(&seg, &bytes).unwrap();
            assert_eq!(batches(&read_all(d.path()).0), vec![0]);
        }
        drop(Wal::open(d.path(), WalOptions::default()).unwrap());
        assert_eq!(fs::read(&seg).unwrap(), bytes, "not repaired");
    }

    #[test]
    fn huge_or_torn_lengths_are_corruption_without_allocating() {
        let d = tempfile::tempdir().unwrap();
        let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
        w.log_samples(&batch(0)).unwrap();
        w.close().unwrap();
        let seg = d.path().join(segment_name(0));
        let good = fs::read(&seg).unwrap();
        let end = good.len() as u64;
        for (len, why) in [(u32::MAX, "exceeds the maximum"), (1000, "past the end")] {
            let mut bytes = good.clone();
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(&[0; 5]);
            fs::write(&seg, &bytes).unwrap();
            let (recs, stats) = read_all(d.path());
            assert_eq!(batches(&recs), vec![0]);
            assert_eq!(stats.corrupt_at, Some((seg.clone(), end)));
            match read_segment(&seg, &mut |_| Ok(())).unwrap() {
                SegmentEnd::Corrupt { reason, .. } => assert!(reason.contains(why), "{reason}"),
                SegmentEnd::Clean => panic!("len {len} not detected"),
            }
        }
    }

    #[test]
    fn callback_errors_stop_replay() {
        let d = tempfile::tempdir().unwrap();
        let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
        w.log_samples(&batch(0)).unwrap();
        w.log_samples(&batch(1)).unwrap();
        w.close().unwrap();
        let mut seen = 0;
        let err = replay(d.path(), |_| {
            seen += 1;
            Err(WalError::Other("head is full".into()))
        })
        .unwrap_err();
        assert_eq!(seen, 1);
        assert_eq!(err.to_string(), "head is full");
    }
}
