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
use super::record::{Record, RefSample, RefSeries, SeriesRef, MAX_SAMPLES_PER_RECORD};
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
}

/// Writes `dir/checkpoint.NNNNNNNN` (NNNNNNNN = `upto`, 8 digits) holding the previous
/// checkpoint's and segments [first..=upto]'s data filtered to: series records for which
/// `keep(sref)` is true, and samples of kept series with t >= min_time. Written to a temp dir,
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
        }
        Ok(())
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
