//! Full head chunks on disk, memory-mapped (the `chunks_head/` directory).
//!
//! When a head chunk is full it is written here and the series keeps only a reference, so the
//! resident memory of the head is mostly its open chunks and index; the kernel pages these files
//! in and out as queries touch them. Files are numbered, preallocated (sparse) up to
//! [`FILE_SIZE`] and mapped whole; records are written with positioned writes and become visible
//! through the shared mapping. Each record names its series and time range, so that at start-up
//! [`ChunkDisk::open`] gives the chunks back ([`MmapChunk`]) and the WAL replay only rebuilds
//! what came after them, as Prometheus does (see `docs/format/head_chunks.md`).
//!
//! Not here: which loaded chunks a series takes (the head decides, during the WAL replay).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use memmap2::{Mmap, UncheckedAdvice};
use parking_lot::{Mutex, RwLock};

use super::RefMap;

/// `file << 32 | offset` of a chunk record.
pub type DiskChunkRef = u64;

/// Size each file is preallocated to; a record never crosses files.
pub const FILE_SIZE: u64 = 128 * 1024 * 1024;
const MAGIC: [u8; 4] = *b"BGHC";
/// 2: records name their series, time range and encoding. Files of version 1 (which did not)
/// are deleted at start-up, and the WAL replay rebuilds their chunks.
const VERSION: u8 = 2;
const HEADER_LEN: u64 = 8;
/// Per record, before the chunk bytes: length u32, crc32c u32, series ref u32, min time i64,
/// max time i64, encoding u8. The CRC covers everything after it.
const RECORD_HEADER: u64 = 29;
/// Where the part the CRC covers starts in a record.
const CRC_FROM: usize = 8;
/// Holds the head's minimum time as of its last truncation: chunks ending before it are
/// not the head's any more (a block holds them, or held them before retention or a
/// tombstone clean-up deleted it) even where their file is still here.
const MIN_TIME_FILE: &str = "min_time";
const MIN_TIME_TMP: &str = "min_time.tmp";

/// What a chunk record says about its chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    pub sref: u32,
    pub min_time: i64,
    pub max_time: i64,
    /// The chunk's encoding byte (`chunk::Encoding`).
    pub encoding: u8,
}

/// A chunk found on disk at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MmapChunk {
    pub min_time: i64,
    pub max_time: i64,
    pub encoding: u8,
    pub r: DiskChunkRef,
}

/// The chunks found at start-up by series ref, each list in the order written (which is time
/// order for one series).
pub type Loaded = RefMap<Vec<MmapChunk>>;

struct MappedFile {
    mmap: Mmap,
    /// Newest sample time of any chunk in the file, to know when it can be deleted.
    max_time: i64,
    /// Bytes written (header and records).
    len: u64,
}

struct WriteState {
    index: u32,
    file: Option<File>,
    offset: u64,
}

/// Writes and reads full head chunks.
pub struct ChunkDisk {
    dir: PathBuf,
    files: RwLock<BTreeMap<u32, MappedFile>>,
    write: Mutex<WriteState>,
    /// The value in [`MIN_TIME_FILE`].
    min_time: Mutex<i64>,
    /// Set by a failed write: the files were unlinked (mappings stay valid) and every later
    /// chunk stays in memory, so the next start replays the whole WAL instead of finding a
    /// chunk missing between two on disk.
    failed: AtomicBool,
}

fn path_of(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("{index:06}"))
}

fn file_indexes(dir: &Path) -> io::Result<Vec<u32>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == MIN_TIME_FILE || name == MIN_TIME_TMP {
            continue;
        }
        match name.to_str().and_then(|n| n.parse().ok()) {
            Some(i) => out.push(i),
            None => {
                tracing::warn!(path = %entry.path().display(), "ignoring a foreign file in chunks_head")
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// How reading one file's records ended.
enum FileEnd {
    Clean,
    /// A torn or corrupt record at `offset`: the file is good up to there.
    Corrupt {
        offset: u64,
        reason: String,
    },
}

/// Reads the records of a mapped file, calling `f` with each chunk's metadata and offset.
/// Returns how it ended and the end of the last good record.
fn scan(mmap: &[u8], f: impl FnMut(ChunkMeta, u64)) -> (FileEnd, u64) {
    let mut end = HEADER_LEN;
    let how = scan_records(mmap, f, &mut end);
    (how, end)
}

fn scan_records(mmap: &[u8], mut f: impl FnMut(ChunkMeta, u64), good: &mut u64) -> FileEnd {
    if mmap.len() < HEADER_LEN as usize || mmap[..4] != MAGIC {
        return FileEnd::Corrupt {
            offset: 0,
            reason: "bad file header".into(),
        };
    }
    if mmap[4] != VERSION {
        return FileEnd::Corrupt {
            offset: 0,
            reason: format!("version {} is not {VERSION}", mmap[4]),
        };
    }
    let mut off = HEADER_LEN as usize;
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let i64_at = |b: &[u8], at: usize| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&b[at..at + 8]);
        i64::from_le_bytes(x)
    };
    loop {
        let Some(head) = mmap.get(off..off + RECORD_HEADER as usize) else {
            // Too little room left for a record: the end of a full file.
            return FileEnd::Clean;
        };
        let len = u32_at(head, 0) as usize;
        if len == 0 {
            // The zeros of the unwritten, preallocated rest of the file.
            return FileEnd::Clean;
        }
        let end = off + RECORD_HEADER as usize + len;
        let corrupt = |reason: &str| FileEnd::Corrupt {
            offset: off as u64,
            reason: reason.into(),
        };
        let Some(rec) = mmap.get(off..end) else {
            return corrupt("record runs past the end of the file");
        };
        if crc32c::crc32c(&rec[CRC_FROM..]) != u32_at(head, 4) {
            return corrupt("checksum mismatch");
        }
        let meta = ChunkMeta {
            sref: u32_at(head, 8),
            min_time: i64_at(head, 12),
            max_time: i64_at(head, 20),
            encoding: head[28],
        };
        f(meta, off as u64);
        off = end;
        *good = end as u64;
    }
}

/// The time in `dir`'s [`MIN_TIME_FILE`]: `i64::MIN` when there is none, `None` when it is
/// damaged. Layout: min time i64, crc32c u32 of those 8 bytes.
fn read_min_time(dir: &Path) -> io::Result<Option<i64>> {
    let bytes = match fs::read(dir.join(MIN_TIME_FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some(i64::MIN)),
        Err(e) => return Err(e),
    };
    let (Some(t), Some(crc)) = (bytes.get(..8), bytes.get(8..12)) else {
        return Ok(None);
    };
    if bytes.len() != 12
        || crc32c::crc32c(t) != u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]])
    {
        return Ok(None);
    }
    let mut x = [0u8; 8];
    x.copy_from_slice(t);
    Ok(Some(i64::from_le_bytes(x)))
}

/// Replaces `dir`'s [`MIN_TIME_FILE`] (written aside, synced, renamed into place).
fn write_min_time(dir: &Path, t: i64) -> io::Result<()> {
    let mut bytes = t.to_le_bytes().to_vec();
    bytes.extend_from_slice(&crc32c::crc32c(&t.to_le_bytes()).to_le_bytes());
    let tmp = dir.join(MIN_TIME_TMP);
    let f = File::create(&tmp)?;
    f.write_all_at(&bytes, 0)?;
    f.sync_all()?;
    fs::rename(&tmp, dir.join(MIN_TIME_FILE))?;
    File::open(dir)?.sync_all()
}

impl ChunkDisk {
    /// Opens `dir` (creating it) and reads back the chunks earlier runs wrote. A file with a
    /// torn or corrupt record is cut there and every later file deleted, with a warning: the
    /// chunks of a series then stay a prefix of what was written, and the WAL holds the rest.
    /// New chunks go to a new file after the last one.
    pub fn open(dir: &Path) -> io::Result<(ChunkDisk, Loaded)> {
        fs::create_dir_all(dir)?;
        let mut files = BTreeMap::new();
        let mut loaded = Loaded::default();
        let mut indexes = file_indexes(dir)?;
        let min_time = match read_min_time(dir)? {
            Some(t) => t,
            None => {
                tracing::warn!(dir = %dir.display(), "damaged head chunk min_time file: dropping the head chunk files; the WAL replay rebuilds them");
                for i in indexes.drain(..) {
                    fs::remove_file(path_of(dir, i))?;
                }
                fs::remove_file(dir.join(MIN_TIME_FILE))?;
                i64::MIN
            }
        };
        let mut last = 0;
        for (pos, &index) in indexes.iter().enumerate() {
            let path = path_of(dir, index);
            let file = File::open(&path)?;
            // SAFETY: files in chunks_head are written only by this process (the data
            // directory is locked), and this one is not written to again.
            let mmap = unsafe { Mmap::map(&file)? };
            let mut max_time = i64::MIN;
            let (end, len) = scan(&mmap, |m, off| {
                max_time = max_time.max(m.max_time);
                if m.max_time < min_time {
                    return;
                }
                loaded.entry(m.sref).or_default().push(MmapChunk {
                    min_time: m.min_time,
                    max_time: m.max_time,
                    encoding: m.encoding,
                    r: (u64::from(index) << 32) | off,
                });
            });
            // The scan paged the whole file in; let those pages go, as queries touch few of
            // them (they stay in the page cache).
            // SAFETY: a read-only shared mapping of a file that is not written any more:
            // MADV_DONTNEED drops the pages from this mapping only, and the next read faults
            // them in again from the page cache or the file.
            if let Err(e) = unsafe { mmap.unchecked_advise(UncheckedAdvice::DontNeed) } {
                tracing::debug!(error = %e, "madvise(DONTNEED) on a head chunk file failed");
            }
            last = index;
            if let FileEnd::Corrupt { offset, reason } = end {
                let later = &indexes[pos + 1..];
                tracing::warn!(
                    file = %path.display(),
                    offset,
                    reason,
                    removed_later_files = later.len(),
                    "head chunk file is damaged: keeping the chunks before the damage; the WAL replay rebuilds the rest"
                );
                drop(mmap);
                if offset < HEADER_LEN {
                    fs::remove_file(&path)?;
                } else {
                    OpenOptions::new()
                        .write(true)
                        .open(&path)?
                        .set_len(offset)?;
                    let file = File::open(&path)?;
                    // SAFETY: as above.
                    let mmap = unsafe { Mmap::map(&file)? };
                    files.insert(
                        index,
                        MappedFile {
                            mmap,
                            max_time,
                            len,
                        },
                    );
                }
                for &i in later {
                    fs::remove_file(path_of(dir, i))?;
                }
                break;
            }
            files.insert(
                index,
                MappedFile {
                    mmap,
                    max_time,
                    len,
                },
            );
        }
        let disk = ChunkDisk {
            dir: dir.to_path_buf(),
            files: RwLock::new(files),
            write: Mutex::new(WriteState {
                index: last,
                file: None,
                offset: 0,
            }),
            min_time: Mutex::new(min_time),
            failed: AtomicBool::new(false),
        };
        Ok((disk, loaded))
    }

    fn roll(&self, w: &mut WriteState) -> io::Result<()> {
        w.index += 1;
        let path = path_of(&self.dir, w.index);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        file.set_len(FILE_SIZE)?;
        let mut header = [0u8; HEADER_LEN as usize];
        header[..4].copy_from_slice(&MAGIC);
        header[4] = VERSION;
        file.write_all_at(&header, 0)?;
        // SAFETY: the mapping is read only at offsets whose records were completely written
        // before their reference was handed out, and this process is the only writer.
        let mmap = unsafe { Mmap::map(&file)? };
        self.files.write().insert(
            w.index,
            MappedFile {
                mmap,
                max_time: i64::MIN,
                len: HEADER_LEN,
            },
        );
        w.file = Some(file);
        w.offset = HEADER_LEN;
        Ok(())
    }

    /// Writes chunk `bytes` described by `meta`; returns its reference. After a failed write
    /// every later one fails too (see `failed`).
    pub fn write(&self, meta: ChunkMeta, bytes: &[u8]) -> io::Result<DiskChunkRef> {
        if self.failed.load(Ordering::Relaxed) {
            return Err(io::Error::other(
                "an earlier head chunk write failed; keeping chunks in memory until restart",
            ));
        }
        let mut w = self.write.lock();
        let result = self.write_locked(&mut w, meta, bytes);
        if result.is_err() && !self.failed.swap(true, Ordering::Relaxed) {
            self.unlink_all();
        }
        result
    }

    fn write_locked(
        &self,
        w: &mut WriteState,
        meta: ChunkMeta,
        bytes: &[u8],
    ) -> io::Result<DiskChunkRef> {
        let need = RECORD_HEADER + bytes.len() as u64;
        if need + HEADER_LEN > FILE_SIZE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "chunk larger than a head chunk file",
            ));
        }
        if w.file.is_none() || w.offset + need > FILE_SIZE {
            self.roll(w)?;
        }
        let at = w.offset;
        let mut rec = Vec::with_capacity(need as usize);
        rec.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        rec.extend_from_slice(&[0; 4]);
        rec.extend_from_slice(&meta.sref.to_le_bytes());
        rec.extend_from_slice(&meta.min_time.to_le_bytes());
        rec.extend_from_slice(&meta.max_time.to_le_bytes());
        rec.push(meta.encoding);
        rec.extend_from_slice(bytes);
        let crc = crc32c::crc32c(&rec[CRC_FROM..]);
        rec[4..8].copy_from_slice(&crc.to_le_bytes());
        let file = w
            .file
            .as_ref()
            .ok_or_else(|| io::Error::other("no open head chunk file"))?;
        file.write_all_at(&rec, at)?;
        w.offset += need;
        if let Some(f) = self.files.write().get_mut(&w.index) {
            f.max_time = f.max_time.max(meta.max_time);
            f.len = w.offset;
        }
        Ok((u64::from(w.index) << 32) | at)
    }

    /// After a failed write: removes every file (their mappings, and so the chunks already
    /// referenced, stay readable) so that the next start does not find later chunks of a
    /// series on disk while an earlier one was only in memory.
    fn unlink_all(&self) {
        tracing::error!(
            dir = %self.dir.display(),
            "a head chunk write failed: removing the head chunk files; later chunks stay in memory and the next start replays the whole WAL"
        );
        for i in self.files.read().keys() {
            let path = path_of(&self.dir, *i);
            if let Err(e) = fs::remove_file(&path) {
                tracing::error!(path = %path.display(), error = %e, "cannot remove head chunk file");
            }
        }
    }

    /// Calls `f` with the bytes of chunk `r`, checked against their checksum.
    pub fn with_chunk<T>(&self, r: DiskChunkRef, f: impl FnOnce(&[u8]) -> T) -> io::Result<T> {
        let files = self.files.read();
        let (index, off) = ((r >> 32) as u32, (r & 0xffff_ffff) as usize);
        let bad = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("head chunk {r:#x}: {what}"),
            )
        };
        let file = files.get(&index).ok_or_else(|| bad("file is gone"))?;
        let head = file
            .mmap
            .get(off..off + RECORD_HEADER as usize)
            .ok_or_else(|| bad("out of bounds"))?;
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let rec = file
            .mmap
            .get(off..off + RECORD_HEADER as usize + len)
            .ok_or_else(|| bad("out of bounds"))?;
        if crc32c::crc32c(&rec[CRC_FROM..]) != crc {
            return Err(bad("checksum mismatch"));
        }
        Ok(f(&rec[RECORD_HEADER as usize..]))
    }

    /// Deletes files whose chunks all end before `min_time`, except the one being written,
    /// and records `min_time` (when newer) so that a start ignores older chunks left in files.
    pub fn truncate(&self, min_time: i64) -> io::Result<()> {
        {
            let mut recorded = self.min_time.lock();
            if min_time > *recorded {
                write_min_time(&self.dir, min_time)?;
                *recorded = min_time;
            }
        }
        let current = self.write.lock().index;
        let mut files = self.files.write();
        let doomed: Vec<u32> = files
            .iter()
            .filter(|(i, f)| **i != current && f.max_time < min_time)
            .map(|(i, _)| *i)
            .collect();
        for i in doomed {
            files.remove(&i);
            match fs::remove_file(path_of(&self.dir, i)) {
                // Already removed after a failed write.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                r => r?,
            }
        }
        Ok(())
    }

    /// Bytes in use on disk (written part of each file).
    pub fn size(&self) -> u64 {
        self.files.read().values().map(|f| f.len).sum()
    }
}

#[cfg(test)]
#[path = "chunk_disk_tests.rs"]
mod tests;
