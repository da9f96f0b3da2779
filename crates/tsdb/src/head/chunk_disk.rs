//! Full head chunks on disk, memory-mapped (the `chunks_head/` directory).
//!
//! When a head chunk is full it is written here and the series keeps only a reference, so the
//! resident memory of the head is mostly its open chunks and index; the kernel pages these files
//! in and out as queries touch them. Files are numbered, preallocated (sparse) up to
//! [`FILE_SIZE`] and mapped whole; records are written with positioned writes and become visible
//! through the shared mapping. The files are a cache of what the WAL already holds: they are
//! cleared at start-up and the WAL replay rebuilds the head (see `docs/format/head_chunks.md`).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use parking_lot::{Mutex, RwLock};

/// `file << 32 | offset` of a chunk record.
pub type DiskChunkRef = u64;

/// Size each file is preallocated to; a record never crosses files.
pub const FILE_SIZE: u64 = 128 * 1024 * 1024;
const MAGIC: [u8; 4] = *b"BGHC";
const VERSION: u8 = 1;
const HEADER_LEN: u64 = 8;
/// Per record: length u32 and crc32c u32 before the chunk bytes.
const RECORD_HEADER: u64 = 8;

struct MappedFile {
    mmap: Mmap,
    /// Newest sample time of any chunk in the file, to know when it can be deleted.
    max_time: i64,
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
}

impl ChunkDisk {
    /// Opens `dir`, removing files a previous run left (the WAL replay rebuilds their content).
    pub fn open(dir: &Path) -> io::Result<ChunkDisk> {
        if dir.exists() {
            fs::remove_dir_all(dir)?;
        }
        fs::create_dir_all(dir)?;
        Ok(ChunkDisk {
            dir: dir.to_path_buf(),
            files: RwLock::new(BTreeMap::new()),
            write: Mutex::new(WriteState {
                index: 0,
                file: None,
                offset: 0,
            }),
        })
    }

    fn roll(&self, w: &mut WriteState) -> io::Result<()> {
        w.index += 1;
        let path = self.dir.join(format!("{:06}", w.index));
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
            },
        );
        w.file = Some(file);
        w.offset = HEADER_LEN;
        Ok(())
    }

    /// Writes a chunk holding samples up to `max_time`; returns its reference.
    pub fn write(&self, bytes: &[u8], max_time: i64) -> io::Result<DiskChunkRef> {
        let need = RECORD_HEADER + bytes.len() as u64;
        if need + HEADER_LEN > FILE_SIZE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "chunk larger than a head chunk file",
            ));
        }
        let mut w = self.write.lock();
        if w.file.is_none() || w.offset + need > FILE_SIZE {
            self.roll(&mut w)?;
        }
        let at = w.offset;
        let mut rec = Vec::with_capacity(need as usize);
        rec.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        rec.extend_from_slice(&crc32c::crc32c(bytes).to_le_bytes());
        rec.extend_from_slice(bytes);
        let file = w
            .file
            .as_ref()
            .ok_or_else(|| io::Error::other("no open head chunk file"))?;
        file.write_all_at(&rec, at)?;
        w.offset += need;
        if let Some(f) = self.files.write().get_mut(&w.index) {
            f.max_time = f.max_time.max(max_time);
        }
        Ok((u64::from(w.index) << 32) | at)
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
        let start = off + RECORD_HEADER as usize;
        let bytes = file
            .mmap
            .get(start..start + len)
            .ok_or_else(|| bad("out of bounds"))?;
        if crc32c::crc32c(bytes) != crc {
            return Err(bad("checksum mismatch"));
        }
        Ok(f(bytes))
    }

    /// Deletes files whose chunks all end before `min_time`, except the one being written.
    pub fn truncate(&self, min_time: i64) -> io::Result<()> {
        let current = self.write.lock().index;
        let mut files = self.files.write();
        let doomed: Vec<u32> = files
            .iter()
            .filter(|(i, f)| **i != current && f.max_time < min_time)
            .map(|(i, _)| *i)
            .collect();
        for i in doomed {
            files.remove(&i);
            fs::remove_file(self.dir.join(format!("{i:06}")))?;
        }
        Ok(())
    }

    /// Bytes in use on disk (written part of each file).
    pub fn size(&self) -> u64 {
        let w = self.write.lock();
        let files = self.files.read();
        files
            .keys()
            .map(|i| if *i == w.index { w.offset } else { FILE_SIZE })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_truncate() {
        let dir = tempfile::tempdir().unwrap();
        let d = ChunkDisk::open(&dir.path().join("chunks_head")).unwrap();
        let a = d.write(b"abc", 10).unwrap();
        let b = d.write(b"defg", 20).unwrap();
        assert_eq!(d.with_chunk(a, |b| b.to_vec()).unwrap(), b"abc");
        assert_eq!(d.with_chunk(b, |b| b.to_vec()).unwrap(), b"defg");
        assert!(d.with_chunk(a + 1, |_| ()).is_err());
        // The file being written is never deleted.
        d.truncate(100).unwrap();
        assert!(d.with_chunk(a, |_| ()).is_ok());
    }
}
