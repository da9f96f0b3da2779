//! Segment files: naming, the file header, record framing with CRC32C, and the writers.
//!
//! A segment is `dir/NNNNNNNN` (8-digit index): an 8-byte header (magic, version) followed by
//! frames, each `len u32 LE | crc32c u32 LE | type u8 | payload`. Reading frames back is in
//! `reader.rs`; what a payload holds is in `record.rs`. The layout is documented byte by byte in
//! `docs/format/wal.md`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::hist_record::{encode_histograms, record_type, split_runs, WalHistogram};
use super::record::{
    encode_samples, encode_series, encode_tombstones, series_encoded_len, series_payload_bound,
    RefSample, RefSeries, RefTombstone, MAX_RECORD_PAYLOAD, MAX_SAMPLES_PER_RECORD,
    MAX_TOMBSTONES_PER_RECORD, RECORD_SAMPLES, RECORD_SERIES, RECORD_TOMBSTONES,
};
use super::WalError;

/// First bytes of every segment file.
pub(crate) const MAGIC: [u8; 4] = *b"BSWL";
/// Format version written in the segment header. Version 2 added the tombstones record and
/// version 3 the histogram records; older segments read the same way, and any other version
/// is refused.
pub(crate) const VERSION: u8 = 3;
/// The oldest version this build reads.
pub(crate) const MIN_READ_VERSION: u8 = 1;
/// Magic (4), version (1), reserved zeros (3).
pub(crate) const HEADER_SIZE: u64 = 8;
/// Length (4), CRC (4), type (1).
pub(crate) const FRAME_HEADER_SIZE: usize = 9;
/// Highest index an 8-digit name can carry.
pub(crate) const MAX_SEGMENT_INDEX: u32 = 99_999_999;

const CHECKPOINT_PREFIX: &str = "checkpoint.";
const TMP_SUFFIX: &str = ".tmp";

pub(crate) fn segment_name(index: u32) -> String {
    format!("{index:08}")
}

pub(crate) fn checkpoint_name(index: u32) -> String {
    format!("{CHECKPOINT_PREFIX}{index:08}")
}

pub(crate) fn checkpoint_tmp_name(index: u32) -> String {
    format!("{CHECKPOINT_PREFIX}{index:08}{TMP_SUFFIX}")
}

fn parse_index(s: &str) -> Option<u32> {
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Turns an `io::Error` into a [`WalError::Io`] naming `path`.
pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WalError + '_ {
    move |source| WalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a WAL directory (or a checkpoint directory) holds, indices ascending.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub segments: Vec<u32>,
    pub checkpoints: Vec<u32>,
    /// Leftover temporary checkpoint directories of an interrupted checkpoint.
    pub tmp: Vec<PathBuf>,
}

/// Lists `dir`; a missing directory is empty. Unrelated files are ignored.
pub(crate) fn list_dir(dir: &Path) -> Result<Listing, WalError> {
    let mut l = Listing::default();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(l),
        Err(e) => return Err(io_err(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(i) = parse_index(name) {
            l.segments.push(i);
        } else if let Some(rest) = name.strip_prefix(CHECKPOINT_PREFIX) {
            if let Some(i) = parse_index(rest) {
                l.checkpoints.push(i);
            } else if rest
                .strip_suffix(TMP_SUFFIX)
                .and_then(parse_index)
                .is_some()
            {
                l.tmp.push(entry.path());
            }
        }
    }
    l.segments.sort_unstable();
    l.checkpoints.sort_unstable();
    Ok(l)
}

/// Makes entries created, renamed or removed in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io_err(dir))
}

fn begin_frame(buf: &mut Vec<u8>, rtype: u8) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&[0; FRAME_HEADER_SIZE - 1]);
    buf.push(rtype);
    start
}

/// Fills in the length and the CRC, which covers the length, the type and the payload, so a
/// corrupt length is caught as surely as a corrupt payload.
fn finish_frame(buf: &mut [u8], start: usize) {
    let len = buf.len() - start - FRAME_HEADER_SIZE;
    debug_assert!(len <= MAX_RECORD_PAYLOAD);
    buf[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&buf[start..start + 4]), &buf[start + 8..]);
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// The CRC a frame with this length, type and payload must carry.
pub(crate) fn frame_crc(len_bytes: [u8; 4], rtype: u8, payload: &[u8]) -> u32 {
    let crc = crc32c::crc32c_append(crc32c::crc32c(&len_bytes), &[rtype]);
    crc32c::crc32c_append(crc, payload)
}

/// Appends series records to `buf`, split so that no payload exceeds [`MAX_RECORD_PAYLOAD`],
/// and pushes each frame's end offset to `ends`.
fn frame_series(
    buf: &mut Vec<u8>,
    ends: &mut Vec<usize>,
    series: &[RefSeries],
) -> Result<(), WalError> {
    let mut start = 0;
    let mut entries = 0;
    for (i, s) in series.iter().enumerate() {
        let n = series_encoded_len(s);
        if series_payload_bound(n) > MAX_RECORD_PAYLOAD {
            return Err(WalError::RecordTooLarge {
                size: n,
                max: MAX_RECORD_PAYLOAD,
            });
        }
        if series_payload_bound(entries + n) > MAX_RECORD_PAYLOAD {
            let f = begin_frame(buf, RECORD_SERIES);
            encode_series(buf, &series[start..i]);
            finish_frame(buf, f);
            ends.push(buf.len());
            start = i;
            entries = 0;
        }
        entries += n;
    }
    if start < series.len() {
        let f = begin_frame(buf, RECORD_SERIES);
        encode_series(buf, &series[start..]);
        finish_frame(buf, f);
        ends.push(buf.len());
    }
    Ok(())
}

fn frame_samples(buf: &mut Vec<u8>, ends: &mut Vec<usize>, samples: &[RefSample]) {
    for chunk in samples.chunks(MAX_SAMPLES_PER_RECORD) {
        let f = begin_frame(buf, RECORD_SAMPLES);
        encode_samples(buf, chunk);
        finish_frame(buf, f);
        ends.push(buf.len());
    }
}

fn frame_tombstones(buf: &mut Vec<u8>, ends: &mut Vec<usize>, stones: &[RefTombstone]) {
    for chunk in stones.chunks(MAX_TOMBSTONES_PER_RECORD) {
        let f = begin_frame(buf, RECORD_TOMBSTONES);
        encode_tombstones(buf, chunk);
        finish_frame(buf, f);
        ends.push(buf.len());
    }
}

/// Appends histogram records: exponential-bucket histograms first, then the custom-bucket ones
/// in records of their own type (as Prometheus splits them), each kept in input order.
fn frame_histograms<H: WalHistogram>(
    buf: &mut Vec<u8>,
    ends: &mut Vec<usize>,
    hs: &[H],
) -> Result<(), WalError> {
    for custom in [false, true] {
        let part: Vec<&H> = hs.iter().filter(|h| h.custom() == custom).collect();
        let runs = split_runs(&part).map_err(|size| WalError::RecordTooLarge {
            size,
            max: MAX_RECORD_PAYLOAD,
        })?;
        let mut start = 0;
        for end in runs {
            let f = begin_frame(buf, record_type::<H>(custom));
            encode_histograms(buf, &part[start..end]);
            finish_frame(buf, f);
            ends.push(buf.len());
            start = end;
        }
    }
    Ok(())
}

/// Records framed ahead of the write: framing (encoding and CRCs) is most of the cost of
/// logging, so committers frame their records concurrently and hold the WAL only to write them
/// ([`super::Wal::write_batches`]).
#[derive(Default)]
pub struct WalBatch {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl WalBatch {
    /// Whether no record was added.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Adds series records, split as [`super::Wal::log_series`] splits them.
    pub fn add_series(&mut self, series: &[RefSeries]) -> Result<(), WalError> {
        frame_series(&mut self.buf, &mut self.ends, series)
    }

    /// Adds samples records.
    pub fn add_samples(&mut self, samples: &[RefSample]) {
        frame_samples(&mut self.buf, &mut self.ends, samples);
    }

    /// Adds integer or float histogram records; a histogram too large for one record fails
    /// the call.
    pub(crate) fn add_histograms<H: WalHistogram>(&mut self, hs: &[H]) -> Result<(), WalError> {
        frame_histograms(&mut self.buf, &mut self.ends, hs)
    }
}

/// One segment file open for appending.
struct SegmentFile {
    file: File,
    path: PathBuf,
    index: u32,
    /// Bytes known to be in the file: the header plus complete frames.
    len: u64,
}

impl SegmentFile {
    /// Creates segment `index` in `dir` (it must not exist) and makes its header durable.
    fn create(dir: &Path, index: u32) -> Result<SegmentFile, WalError> {
        if index > MAX_SEGMENT_INDEX {
            return Err(WalError::IndexExhausted { dir: dir.into() });
        }
        let path = dir.join(segment_name(index));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let mut header = [0u8; HEADER_SIZE as usize];
        header[..4].copy_from_slice(&MAGIC);
        header[4] = VERSION;
        file.write_all(&header).map_err(io_err(&path))?;
        file.sync_all().map_err(io_err(&path))?;
        sync_dir(dir)?;
        Ok(SegmentFile {
            file,
            path,
            index,
            len: HEADER_SIZE,
        })
    }

    /// One `write` of whole frames. If it fails, the file is cut back to its last complete
    /// frame so that no garbage is left in front of later records; if even that fails the
    /// error is [`WalError::Poisoned`] and the caller must stop appending.
    fn append(&mut self, frames: &[u8]) -> Result<(), WalError> {
        if let Err(e) = self.file.write_all(frames) {
            let restored = self
                .file
                .set_len(self.len)
                .and_then(|()| self.file.seek(SeekFrom::Start(self.len)).map(|_| ()));
            return Err(match restored {
                Ok(()) => io_err(&self.path)(e),
                Err(_) => WalError::Poisoned {
                    path: self.path.clone(),
                    source: e,
                },
            });
        }
        self.len += frames.len() as u64;
        Ok(())
    }

    fn sync(&self) -> Result<(), WalError> {
        self.file.sync_data().map_err(io_err(&self.path))
    }
}

/// Appends records to a numbered sequence of segments in one directory, rolling to the next
/// segment at a size limit. Used by the live WAL and by checkpoints.
pub(crate) struct SegmentWriter {
    dir: PathBuf,
    seg: SegmentFile,
    segment_size: u64,
    fsync_on_commit: bool,
    poisoned: bool,
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl SegmentWriter {
    /// Starts writing at a new segment `index` in `dir`.
    pub(crate) fn create(
        dir: &Path,
        index: u32,
        segment_size: u64,
        fsync_on_commit: bool,
    ) -> Result<SegmentWriter, WalError> {
        Ok(SegmentWriter {
            dir: dir.to_path_buf(),
            seg: SegmentFile::create(dir, index)?,
            segment_size,
            fsync_on_commit,
            poisoned: false,
            buf: Vec::new(),
            ends: Vec::new(),
        })
    }

    pub(crate) fn index(&self) -> u32 {
        self.seg.index
    }

    /// Writes the framed records of `batches`, in order, as if they were one: one `write` per
    /// segment touched and, with `fsync_on_commit`, one fsync for all of them.
    pub(crate) fn write_batches(&mut self, batches: &[WalBatch]) -> Result<(), WalError> {
        self.buf.clear();
        self.ends.clear();
        for b in batches {
            let offset = self.buf.len();
            self.buf.extend_from_slice(&b.buf);
            self.ends.extend(b.ends.iter().map(|end| end + offset));
        }
        self.write_frames()
    }

    pub(crate) fn log_series(&mut self, series: &[RefSeries]) -> Result<(), WalError> {
        self.buf.clear();
        self.ends.clear();
        frame_series(&mut self.buf, &mut self.ends, series)?;
        self.write_frames()
    }

    pub(crate) fn log_samples(&mut self, samples: &[RefSample]) -> Result<(), WalError> {
        self.buf.clear();
        self.ends.clear();
        frame_samples(&mut self.buf, &mut self.ends, samples);
        self.write_frames()
    }

    pub(crate) fn log_tombstones(&mut self, stones: &[RefTombstone]) -> Result<(), WalError> {
        self.buf.clear();
        self.ends.clear();
        frame_tombstones(&mut self.buf, &mut self.ends, stones);
        self.write_frames()
    }

    /// Logs integer or float histogram samples; a histogram too large for one record fails the
    /// whole call before anything is written.
    pub(crate) fn log_histograms<H: WalHistogram>(&mut self, hs: &[H]) -> Result<(), WalError> {
        self.buf.clear();
        self.ends.clear();
        frame_histograms(&mut self.buf, &mut self.ends, hs)?;
        self.write_frames()
    }

    /// Writes the frames in `buf`: one `write` per segment touched, rolling first whenever the
    /// next frame would push a non-empty segment past the size limit.
    fn write_frames(&mut self) -> Result<(), WalError> {
        if self.poisoned {
            return Err(WalError::Poisoned {
                path: self.seg.path.clone(),
                source: io::Error::other("an earlier write failed and could not be undone"),
            });
        }
        let buf = std::mem::take(&mut self.buf);
        let result = self.write_split(&buf);
        self.buf = buf;
        if let Err(WalError::Poisoned { .. }) = &result {
            self.poisoned = true;
        }
        result?;
        if self.fsync_on_commit && !self.ends.is_empty() {
            self.seg.sync()?;
        }
        Ok(())
    }

    fn write_split(&mut self, buf: &[u8]) -> Result<(), WalError> {
        let mut pending = 0;
        let mut prev = 0;
        for i in 0..self.ends.len() {
            let end = self.ends[i];
            let used = self.seg.len + (prev - pending) as u64;
            if used > HEADER_SIZE && used + (end - prev) as u64 > self.segment_size {
                if prev > pending {
                    self.seg.append(&buf[pending..prev])?;
                }
                self.roll()?;
                pending = prev;
            }
            prev = end;
        }
        if prev > pending {
            self.seg.append(&buf[pending..prev])?;
        }
        Ok(())
    }

    /// Syncs the current segment and starts the next one. Full segments are always synced, so
    /// after a crash only the last segments can be torn.
    pub(crate) fn roll(&mut self) -> Result<u32, WalError> {
        self.seg.sync()?;
        self.seg = SegmentFile::create(&self.dir, self.seg.index + 1)?;
        Ok(self.seg.index)
    }

    pub(crate) fn sync(&self) -> Result<(), WalError> {
        self.seg.sync()
    }
}
