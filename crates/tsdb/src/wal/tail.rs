//! Reading the WAL while it is written, for readers other than the head (the remote-write
//! queues): which files exist, a segment read from a record boundary, and the segment
//! numbers those readers still need ([`WalPins`]), which truncation leaves in place.
//!
//! Not here: following segments over time or remembering how far a reader got (the reader
//! does), and deciding what to checkpoint (the head does).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::reader::{read_checkpoint, read_segment_from, SegmentEnd};
use super::record::Record;
use super::segment::{checkpoint_name, list_dir, segment_name, HEADER_SIZE};
use super::WalError;

/// Offset of the first record in every segment: a reader starting a segment starts here.
pub const FIRST_RECORD_OFFSET: u64 = HEADER_SIZE;

/// The checkpoint and segments a WAL directory holds now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalFiles {
    /// The newest checkpoint: it covers the segments up to this index.
    pub checkpoint: Option<u32>,
    /// Segment indices, ascending (gaps possible after an interrupted truncation).
    pub segments: Vec<u32>,
}

/// Lists `dir` (a missing directory is empty).
pub fn wal_files(dir: &Path) -> Result<WalFiles, WalError> {
    let l = list_dir(dir)?;
    Ok(WalFiles {
        checkpoint: l.checkpoints.last().copied(),
        segments: l.segments,
    })
}

/// The path of segment `index` in `dir`.
pub fn segment_path(dir: &Path, index: u32) -> PathBuf {
    dir.join(segment_name(index))
}

/// Reads every record of checkpoint `index` in `dir`; damage in a checkpoint is an error.
pub fn read_checkpoint_records(
    dir: &Path,
    index: u32,
    mut f: impl FnMut(Record) -> Result<(), WalError>,
) -> Result<(), WalError> {
    read_checkpoint(&dir.join(checkpoint_name(index)), &mut f).map(|_| ())
}

/// Where reading a segment stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailStop {
    /// Just past the last good record: where the next read of this segment starts.
    pub offset: u64,
    /// `None` at the end of the file; otherwise why the bytes at `offset` are not a record
    /// (a record still being written looks the same as damage until the writer moves on).
    pub incomplete: Option<String>,
}

/// Reads the records of the segment at `path` from byte `offset` (a record boundary, or
/// [`FIRST_RECORD_OFFSET`]), calling `f` with each and the offset just past it.
pub fn read_segment_tail(
    path: &Path,
    offset: u64,
    mut f: impl FnMut(Record, u64) -> Result<(), WalError>,
) -> Result<TailStop, WalError> {
    let (offset, end) = read_segment_from(path, offset, &mut f)?;
    Ok(TailStop {
        offset,
        incomplete: match end {
            SegmentEnd::Clean => None,
            SegmentEnd::Corrupt { reason, .. } => Some(reason),
        },
    })
}

/// The oldest segment each WAL reader still needs; WAL truncation keeps every segment at or
/// after the lowest pin. Shared by the `Db` and its readers.
#[derive(Debug, Default)]
pub struct WalPins {
    pins: Mutex<HashMap<u64, u32>>,
    next_id: Mutex<u64>,
}

impl WalPins {
    /// Registers a reader that needs segments from `segment` on; dropping the pin releases it.
    pub fn pin(self: &Arc<Self>, segment: u32) -> WalPin {
        let id = {
            let mut n = self.next_id.lock();
            *n += 1;
            *n
        };
        self.pins.lock().insert(id, segment);
        WalPin {
            pins: self.clone(),
            id,
        }
    }

    /// The lowest segment any reader needs, if any reader is registered.
    pub fn floor(&self) -> Option<u32> {
        self.pins.lock().values().copied().min()
    }
}

/// One reader's hold on the WAL (see [`WalPins`]).
#[derive(Debug)]
pub struct WalPin {
    pins: Arc<WalPins>,
    id: u64,
}

impl WalPin {
    /// Moves the hold to `segment` (the reader no longer needs older ones).
    pub fn set(&self, segment: u32) {
        self.pins.pins.lock().insert(self.id, segment);
    }
}

impl Drop for WalPin {
    fn drop(&mut self) {
        self.pins.pins.lock().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::tests::batch;
    use crate::wal::{Wal, WalOptions};

    #[test]
    fn tail_reads_from_a_record_boundary_and_sees_later_appends() {
        let d = tempfile::tempdir().unwrap();
        let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
        w.log_samples(&batch(0)).unwrap();
        let path = segment_path(d.path(), 0);
        let mut ends = Vec::new();
        let stop = read_segment_tail(&path, FIRST_RECORD_OFFSET, |_, end| {
            ends.push(end);
            Ok(())
        })
        .unwrap();
        assert_eq!(stop.incomplete, None);
        assert_eq!(ends, vec![stop.offset]);
        w.log_samples(&batch(1)).unwrap();
        w.log_samples(&batch(2)).unwrap();
        let mut seen = Vec::new();
        let again = read_segment_tail(&path, stop.offset, |r, _| {
            if let Record::Samples(s) = r {
                seen.push(s[0].t);
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![batch(1)[0].t, batch(2)[0].t]);
        assert!(again.offset > stop.offset);
        assert_eq!(
            wal_files(d.path()).unwrap(),
            WalFiles {
                checkpoint: None,
                segments: vec![0]
            }
        );
    }

    #[test]
    fn a_half_written_record_is_incomplete_not_consumed() {
        let d = tempfile::tempdir().unwrap();
        let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
        w.log_samples(&batch(0)).unwrap();
        w.close().unwrap();
        let path = segment_path(d.path(), 0);
        let good = std::fs::metadata(&path).unwrap().len();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut f, &[1, 0, 0]).unwrap();
        let stop = read_segment_tail(&path, FIRST_RECORD_OFFSET, |_, _| Ok(())).unwrap();
        assert_eq!(stop.offset, good);
        assert!(stop.incomplete.is_some());
    }

    #[test]
    fn pins_hold_the_lowest_segment_until_dropped() {
        let pins = Arc::new(WalPins::default());
        assert_eq!(pins.floor(), None);
        let a = pins.pin(5);
        let b = pins.pin(3);
        assert_eq!(pins.floor(), Some(3));
        b.set(7);
        assert_eq!(pins.floor(), Some(5));
        drop(a);
        assert_eq!(pins.floor(), Some(7));
        drop(b);
        assert_eq!(pins.floor(), None);
    }
}
