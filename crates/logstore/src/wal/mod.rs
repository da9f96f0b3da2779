//! The log write-ahead log: makes appended lines durable before `append_logs` returns, and gives
//! them back on restart.
//!
//! A directory of numbered segment files of CRC32C-framed records (stream definitions, entry
//! batches), the framing of `tsdb`'s WAL with its own magic; bytes in
//! `docs/format/logs-wal.md`. [`LogWal::append`] writes one batch with one `write` per segment
//! touched (fsynced with `fsync_on_commit`); [`replay`] reads the segments from a floor on;
//! a torn or corrupt tail is cut at the last good record on [`LogWal::open`], with a warning.
//!
//! There are no checkpoints: the store cuts its whole head into a block, rolls to a new
//! segment first, and the block records that segment as its `wal_floor`, below which nothing
//! needs replaying ([`LogWal::truncate`] deletes those segments).
//!
//! Not here: stream ids (the store's), which lines to accept, when to cut.

mod record;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;
use tracing::warn;

pub use record::{entry_len, Record, WalEntry, WalStream};

const MAGIC: [u8; 4] = *b"BSLW";
/// Written into new segments. Version 2 added checkpoint records; version-1 segments (which
/// cannot hold them) are read as they are.
const VERSION: u8 = 2;
const READABLE_VERSIONS: [u8; 2] = [1, 2];
pub(crate) const HEADER_SIZE: u64 = 8;
const FRAME_HEADER: usize = 9;
/// Largest record payload; batches are split to fit (one entry is bounded by the store's line
/// limit, far below this).
pub const MAX_RECORD_PAYLOAD: usize = 4 * 1024 * 1024;
const MAX_SEGMENT_INDEX: u32 = 99_999_999;
/// The write buffer is kept for the next append up to this capacity; a larger one (a big push,
/// a cut logging its kept lines again) is freed, so that one burst does not pin its size.
pub(crate) const BUF_KEEP: usize = 1024 * 1024;

#[derive(Debug, Error)]
pub enum WalError {
    #[error("log WAL I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "log WAL segment {path} has format version {version}, this build reads versions 1 and 2"
    )]
    UnsupportedVersion { path: PathBuf, version: u8 },
    #[error(
        "log WAL segment {path} is in an unknown state after a failed write; reopen the store"
    )]
    Poisoned { path: PathBuf },
    #[error("a log entry encodes to {size} bytes, over the WAL record limit of {max}")]
    RecordTooLarge { size: usize, max: usize },
    #[error("log WAL directory {0} has used up its segment numbers")]
    IndexExhausted(PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WalError + '_ {
    move |source| WalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn segment_name(i: u32) -> String {
    format!("{i:08}")
}

/// Segment indices present in `dir`, sorted.
pub fn segments(dir: &Path) -> Result<Vec<u32>, WalError> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_err(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        if let Some(name) = entry.file_name().to_str() {
            if name.len() == 8 && name.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(i) = name.parse() {
                    out.push(i);
                }
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io_err(dir))
}

/// How reading a segment ended.
enum SegmentEnd {
    Clean,
    /// Damage at `offset`: everything before it was good.
    Corrupt {
        offset: u64,
        reason: String,
    },
}

/// Reads the records of one segment into `f`, stopping at the first damaged one.
fn read_segment(path: &Path, f: &mut dyn FnMut(Record)) -> Result<SegmentEnd, WalError> {
    let data = fs::read(path).map_err(io_err(path))?;
    if data.len() < HEADER_SIZE as usize || data[..4] != MAGIC {
        return Ok(SegmentEnd::Corrupt {
            offset: 0,
            reason: "bad segment header".into(),
        });
    }
    if !READABLE_VERSIONS.contains(&data[4]) {
        return Err(WalError::UnsupportedVersion {
            path: path.to_path_buf(),
            version: data[4],
        });
    }
    let mut pos = HEADER_SIZE as usize;
    while pos < data.len() {
        let corrupt = |reason: String| {
            Ok(SegmentEnd::Corrupt {
                offset: pos as u64,
                reason,
            })
        };
        if data.len() - pos < FRAME_HEADER {
            return corrupt("torn frame header".into());
        }
        let len_bytes = [data[pos], data[pos + 1], data[pos + 2], data[pos + 3]];
        let len = u32::from_le_bytes(len_bytes) as usize;
        let crc = u32::from_le_bytes([data[pos + 4], data[pos + 5], data[pos + 6], data[pos + 7]]);
        let rtype = data[pos + 8];
        if len > MAX_RECORD_PAYLOAD || len > data.len() - pos - FRAME_HEADER {
            return corrupt(format!("frame length {len} past the end or over the limit"));
        }
        let payload = &data[pos + FRAME_HEADER..pos + FRAME_HEADER + len];
        if frame_crc(len_bytes, rtype, payload) != crc {
            return corrupt("checksum mismatch".into());
        }
        match record::decode(rtype, payload) {
            Ok(r) => f(r),
            Err(e) => return corrupt(format!("undecodable record: {e}")),
        }
        pos += FRAME_HEADER + len;
    }
    Ok(SegmentEnd::Clean)
}

fn frame_crc(len_bytes: [u8; 4], rtype: u8, payload: &[u8]) -> u32 {
    let crc = crc32c::crc32c_append(crc32c::crc32c(&len_bytes), &[rtype]);
    crc32c::crc32c_append(crc, payload)
}

/// Replays every record of the segments with index ≥ `floor`, in order, stopping at the first
/// damage (which [`LogWal::open`] repairs). Returns whether damage was found.
pub fn replay(dir: &Path, floor: u32, mut f: impl FnMut(Record)) -> Result<bool, WalError> {
    for i in segments(dir)?.into_iter().filter(|&i| i >= floor) {
        if let SegmentEnd::Corrupt { .. } = read_segment(&dir.join(segment_name(i)), &mut f)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// An open log WAL, appending to its newest segment.
pub struct LogWal {
    dir: PathBuf,
    file: File,
    path: PathBuf,
    index: u32,
    len: u64,
    segment_size: u64,
    fsync: bool,
    poisoned: bool,
    buf: Vec<u8>,
}

impl LogWal {
    /// Opens `dir` (created if needed): segments below `floor` are deleted (their lines are in
    /// blocks), a damaged tail is cut at its last good record and later segments removed, and
    /// appending starts in a new segment.
    pub fn open(
        dir: &Path,
        floor: u32,
        segment_size: u64,
        fsync: bool,
    ) -> Result<LogWal, WalError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let all = segments(dir)?;
        for &i in all.iter().filter(|&&i| i < floor) {
            let p = dir.join(segment_name(i));
            fs::remove_file(&p).map_err(io_err(&p))?;
        }
        let live: Vec<u32> = all.into_iter().filter(|&i| i >= floor).collect();
        for (pos, &i) in live.iter().enumerate() {
            let path = dir.join(segment_name(i));
            if let SegmentEnd::Corrupt { offset, reason } = read_segment(&path, &mut |_| {})? {
                warn!(segment = %path.display(), offset, reason, removed_later_segments = live.len() - pos - 1,
                    "repairing log WAL: cutting a torn or corrupt tail at the last good record");
                if offset < HEADER_SIZE {
                    fs::remove_file(&path).map_err(io_err(&path))?;
                } else {
                    let f = OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .map_err(io_err(&path))?;
                    f.set_len(offset).map_err(io_err(&path))?;
                    f.sync_all().map_err(io_err(&path))?;
                }
                for &j in &live[pos + 1..] {
                    let p = dir.join(segment_name(j));
                    fs::remove_file(&p).map_err(io_err(&p))?;
                }
                sync_dir(dir)?;
                break;
            }
        }
        let next = live.last().map_or(floor, |&l| l + 1).max(floor);
        let (file, path) = create_segment(dir, next)?;
        Ok(LogWal {
            dir: dir.to_path_buf(),
            file,
            path,
            index: next,
            len: HEADER_SIZE,
            segment_size,
            fsync,
            poisoned: false,
            buf: Vec::new(),
        })
    }

    /// The segment being written.
    #[cfg(test)]
    pub fn current(&self) -> u32 {
        self.index
    }

    /// Logs stream definitions and entries as one write per segment touched: on `Ok` they
    /// survive a kill of the process (and a power loss with `fsync`).
    pub fn append<E: WalEntry>(
        &mut self,
        streams: &[WalStream],
        entries: &[(u32, E)],
    ) -> Result<(), WalError> {
        self.append_with_checkpoint(streams, entries, None)
    }

    /// [`LogWal::append`] with a consumer's checkpoint `(consumer, bytes)` in the last frame,
    /// together with the entries that fit there: a batch that fits one frame (4 MiB) and its
    /// checkpoint are durable together or not at all, whatever tears the write.
    pub fn append_with_checkpoint<E: WalEntry>(
        &mut self,
        streams: &[WalStream],
        entries: &[(u32, E)],
        checkpoint: Option<(&str, &[u8])>,
    ) -> Result<(), WalError> {
        if self.poisoned {
            return Err(WalError::Poisoned {
                path: self.path.clone(),
            });
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let mut ends = Vec::new();
        if !streams.is_empty() {
            for chunk in streams.chunks(1024) {
                frame(&mut buf, record::RECORD_STREAMS, |b| {
                    record::encode_streams(b, chunk)
                });
                ends.push(buf.len());
            }
        }
        let mut start = 0;
        let mut size = 0;
        for (i, (_, e)) in entries.iter().enumerate() {
            let n = record::entry_len(e);
            if n > MAX_RECORD_PAYLOAD {
                return Err(WalError::RecordTooLarge {
                    size: n,
                    max: MAX_RECORD_PAYLOAD,
                });
            }
            if size + n > MAX_RECORD_PAYLOAD {
                frame(&mut buf, record::RECORD_ENTRIES, |b| {
                    record::encode_entries(b, &entries[start..i])
                });
                ends.push(buf.len());
                start = i;
                size = 0;
            }
            size += n;
        }
        if let Some((consumer, data)) = checkpoint {
            let cp = consumer.len() + data.len() + 20;
            if consumer.len() > record::MAX_CONSUMER_BYTES
                || data.len() > record::MAX_CHECKPOINT_BYTES
            {
                return Err(WalError::RecordTooLarge {
                    size: cp,
                    max: record::MAX_CHECKPOINT_BYTES,
                });
            }
            if start < entries.len() && size + cp > MAX_RECORD_PAYLOAD {
                frame(&mut buf, record::RECORD_ENTRIES, |b| {
                    record::encode_entries(b, &entries[start..])
                });
                ends.push(buf.len());
                start = entries.len();
            }
            frame(&mut buf, record::RECORD_CHECKPOINT, |b| {
                record::encode_checkpoint(b, consumer, data, &entries[start..])
            });
            ends.push(buf.len());
        } else if start < entries.len() {
            frame(&mut buf, record::RECORD_ENTRIES, |b| {
                record::encode_entries(b, &entries[start..])
            });
            ends.push(buf.len());
        }
        let r = self.write_frames(&buf, &ends);
        if buf.capacity() <= BUF_KEEP {
            self.buf = buf;
        }
        r?;
        if self.fsync && !ends.is_empty() {
            self.file.sync_data().map_err(io_err(&self.path))?;
        }
        Ok(())
    }

    fn write_frames(&mut self, buf: &[u8], ends: &[usize]) -> Result<(), WalError> {
        let (mut written, mut prev) = (0, 0);
        for &end in ends {
            let used = self.len + (prev - written) as u64;
            if used > HEADER_SIZE && used + (end - prev) as u64 > self.segment_size {
                self.write(&buf[written..prev])?;
                self.roll()?;
                written = prev;
            }
            prev = end;
        }
        self.write(&buf[written..prev])
    }

    /// One `write`; on failure the file is cut back to its last whole frame.
    fn write(&mut self, bytes: &[u8]) -> Result<(), WalError> {
        if bytes.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.file.write_all(bytes) {
            let restored = self
                .file
                .set_len(self.len)
                .and_then(|()| self.file.seek(SeekFrom::Start(self.len)).map(|_| ()));
            if restored.is_err() {
                self.poisoned = true;
                return Err(WalError::Poisoned {
                    path: self.path.clone(),
                });
            }
            return Err(io_err(&self.path)(e));
        }
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Syncs the current segment and starts the next; returns the new segment's index.
    pub fn roll(&mut self) -> Result<u32, WalError> {
        self.file.sync_data().map_err(io_err(&self.path))?;
        let (file, path) = create_segment(&self.dir, self.index + 1)?;
        self.file = file;
        self.path = path;
        self.index += 1;
        self.len = HEADER_SIZE;
        Ok(self.index)
    }

    /// Deletes the segments below `floor` (never the one being written).
    pub fn truncate(&mut self, floor: u32) -> Result<(), WalError> {
        for i in segments(&self.dir)? {
            if i >= floor.min(self.index) {
                break;
            }
            let p = self.dir.join(segment_name(i));
            fs::remove_file(&p).map_err(io_err(&p))?;
        }
        Ok(())
    }

    /// fsyncs the current segment.
    pub fn sync(&self) -> Result<(), WalError> {
        self.file.sync_data().map_err(io_err(&self.path))
    }

    /// Bytes of all segments (for size-based retention and stats); unreadable ones count zero.
    pub fn size_bytes(&self) -> u64 {
        segments(&self.dir)
            .unwrap_or_default()
            .iter()
            .map(|&i| fs::metadata(self.dir.join(segment_name(i))).map_or(0, |m| m.len()))
            .sum()
    }
}

fn frame(buf: &mut Vec<u8>, rtype: u8, encode: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    buf.extend_from_slice(&[0; FRAME_HEADER - 1]);
    buf.push(rtype);
    encode(buf);
    let len = (buf.len() - start - FRAME_HEADER) as u32;
    let crc = frame_crc(len.to_le_bytes(), rtype, &buf[start + FRAME_HEADER..]);
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn create_segment(dir: &Path, index: u32) -> Result<(File, PathBuf), WalError> {
    if index > MAX_SEGMENT_INDEX {
        return Err(WalError::IndexExhausted(dir.to_path_buf()));
    }
    let path = dir.join(segment_name(index));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(io_err(&path))?;
    let mut header = [0u8; HEADER_SIZE as usize];
    header[..4].copy_from_slice(&MAGIC);
    header[4] = VERSION;
    file.write_all(&header).map_err(io_err(&path))?;
    file.sync_all().map_err(io_err(&path))?;
    sync_dir(dir)?;
    Ok((file, path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::log::LogEntry;
    use bongsu_model::Labels;

    fn entry(ts: i64, line: &str) -> LogEntry {
        LogEntry {
            ts,
            line: line.into(),
            metadata: vec![("trace_id".into(), format!("t{ts}"))],
        }
    }

    fn read(dir: &Path) -> (Vec<Record>, bool) {
        let mut out = Vec::new();
        let bad = replay(dir, 0, |r| out.push(r)).unwrap();
        (out, bad)
    }

    #[test]
    fn append_replay_and_repair() {
        let d = tempfile::tempdir().unwrap();
        let s = WalStream {
            id: 7,
            labels: Labels::from_pairs(&[("job", "a")]).unwrap(),
        };
        let mut w = LogWal::open(d.path(), 0, 1024, false).unwrap();
        let es: Vec<LogEntry> = (0..100)
            .map(|i| entry(i, &"x".repeat(i as usize)))
            .collect();
        let refs: Vec<(u32, &LogEntry)> = es.iter().map(|e| (7, e)).collect();
        w.append(std::slice::from_ref(&s), &refs[..50]).unwrap();
        w.append(&[], &refs[50..]).unwrap();
        assert!(w.current() > 0, "small segments roll");
        drop(w);
        let (recs, bad) = read(d.path());
        assert!(!bad);
        assert_eq!(recs[0], Record::Streams(vec![s.clone()]));
        let got: Vec<LogEntry> = recs
            .iter()
            .filter_map(|r| match r {
                Record::Entries(e) => Some(e.iter().map(|(_, e)| e.clone())),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(got, es);

        // Tear the last segment with data: open cuts it, later appends replay after it.
        let last = *segments(d.path()).unwrap().iter().rev().nth(1).unwrap();
        let p = d.path().join(segment_name(last));
        let len = fs::metadata(&p).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let mut w = LogWal::open(d.path(), 0, 1024, false).unwrap();
        w.append(&[], &[(7, &entry(1000, "after"))]).unwrap();
        drop(w);
        let (recs, bad) = read(d.path());
        assert!(!bad);
        assert!(matches!(recs.last(), Some(Record::Entries(e)) if e[0].1.line == "after"));
    }

    #[test]
    fn garbage_segments_never_panic() {
        let d = tempfile::tempdir().unwrap();
        let mut w = LogWal::open(d.path(), 0, 1 << 20, false).unwrap();
        let e = entry(1, "hello");
        w.append(&[], &[(1, &e)]).unwrap();
        drop(w);
        let p = d.path().join(segment_name(0));
        let good = fs::read(&p).unwrap();
        for i in 0..good.len() {
            let mut b = good.clone();
            b[i] ^= 0x55;
            fs::write(&p, &b).unwrap();
            let _ = replay(d.path(), 0, |_| {});
        }
    }
}
