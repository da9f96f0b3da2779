//! A block's `chunks/` directory: numbered segment files of checksummed blobs.
//!
//! A blob is one column of a chunk (a timestamps column or a values column, see
//! `docs/format/block.md`). Blobs are addressed by a [`BlobRef`]: the segment number in the high
//! 32 bits and the byte offset in the low 32. Identical timestamp columns are written once and
//! shared by every chunk that has them; this module only stores and fetches bytes.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::BlockError;
use crate::encoding::{put_uvarint, Decoder};

/// Identifies a blob inside a block: `segment << 32 | offset`.
pub type BlobRef = u64;

/// Magic number opening every chunk segment file ("BGCH").
const MAGIC: [u8; 4] = *b"BGCH";
const VERSION: u8 = 1;
const HEADER_LEN: u64 = 8;

/// A segment is closed before it would pass this size, so offsets fit in 32 bits.
pub const MAX_SEGMENT_SIZE: u64 = 512 * 1024 * 1024;

/// Longest single blob accepted when reading; guards against corrupt length fields.
const MAX_BLOB_LEN: u64 = 64 * 1024 * 1024;

fn segment_path(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("{index:06}"))
}

/// Writes blobs to `dir`, rolling to a new segment file before one passes [`MAX_SEGMENT_SIZE`].
pub struct ChunkWriter {
    dir: PathBuf,
    index: u32,
    file: Option<BufWriter<File>>,
    offset: u64,
    scratch: Vec<u8>,
}

impl ChunkWriter {
    pub fn new(dir: &Path) -> Result<ChunkWriter, BlockError> {
        fs::create_dir_all(dir).map_err(|e| BlockError::io(dir, e))?;
        Ok(ChunkWriter {
            dir: dir.to_path_buf(),
            index: 0,
            file: None,
            offset: 0,
            scratch: Vec::new(),
        })
    }

    fn roll(&mut self) -> Result<(), BlockError> {
        self.finish_segment()?;
        self.index += 1;
        let path = segment_path(&self.dir, self.index);
        let file = File::create(&path).map_err(|e| BlockError::io(&path, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let mut header = [0u8; HEADER_LEN as usize];
        header[..4].copy_from_slice(&MAGIC);
        header[4] = VERSION;
        w.write_all(&header).map_err(|e| BlockError::io(&path, e))?;
        self.file = Some(w);
        self.offset = HEADER_LEN;
        Ok(())
    }

    /// Appends one blob and returns its reference.
    pub fn write(&mut self, blob: &[u8]) -> Result<BlobRef, BlockError> {
        self.scratch.clear();
        put_uvarint(&mut self.scratch, blob.len() as u64);
        let total = (self.scratch.len() + blob.len() + 4) as u64;
        if self.file.is_none() || self.offset + total > MAX_SEGMENT_SIZE {
            self.roll()?;
        }
        let path = segment_path(&self.dir, self.index);
        let at = self.offset;
        let crc = crc32c::crc32c(blob);
        let w = self
            .file
            .as_mut()
            .ok_or_else(|| BlockError::corrupt(&path, "no open segment".into()))?;
        let io = |e| BlockError::io(&path, e);
        w.write_all(&self.scratch).map_err(io)?;
        w.write_all(blob).map_err(io)?;
        w.write_all(&crc.to_le_bytes()).map_err(io)?;
        self.offset += total;
        Ok((u64::from(self.index) << 32) | at)
    }

    fn finish_segment(&mut self) -> Result<(), BlockError> {
        if let Some(w) = self.file.take() {
            let path = segment_path(&self.dir, self.index);
            let file = w
                .into_inner()
                .map_err(|e| BlockError::io(&path, e.into_error()))?;
            file.sync_all().map_err(|e| BlockError::io(&path, e))?;
        }
        Ok(())
    }

    /// Flushes and fsyncs the last segment.
    pub fn finish(mut self) -> Result<(), BlockError> {
        self.finish_segment()
    }
}

/// Reads blobs from the memory-mapped segments of a block.
pub struct ChunkReader {
    segments: Vec<Mmap>,
    dir: PathBuf,
}

impl ChunkReader {
    /// Maps every segment in `dir` and checks their headers.
    pub fn open(dir: &Path) -> Result<ChunkReader, BlockError> {
        let mut names: Vec<(u32, PathBuf)> = Vec::new();
        let entries = fs::read_dir(dir).map_err(|e| BlockError::io(dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| BlockError::io(dir, e))?;
            let name = entry.file_name();
            let index = name
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
                .ok_or_else(|| {
                    BlockError::corrupt(
                        dir,
                        format!("unexpected file {name:?} in chunks directory"),
                    )
                })?;
            names.push((index, entry.path()));
        }
        names.sort();
        let mut segments = Vec::with_capacity(names.len());
        for (i, (index, path)) in names.iter().enumerate() {
            if *index != i as u32 + 1 {
                return Err(BlockError::corrupt(
                    dir,
                    format!("chunk segment {} is missing", i + 1),
                ));
            }
            let file = File::open(path).map_err(|e| BlockError::io(path, e))?;
            // SAFETY: block files are immutable once the block directory is renamed into place;
            // bongsu never writes to them again and deletes them only after readers are gone.
            let mmap = unsafe { Mmap::map(&file) }.map_err(|e| BlockError::io(path, e))?;
            if mmap.len() < HEADER_LEN as usize || mmap[..4] != MAGIC || mmap[4] != VERSION {
                return Err(BlockError::corrupt(path, "bad chunk segment header".into()));
            }
            segments.push(mmap);
        }
        Ok(ChunkReader {
            segments,
            dir: dir.to_path_buf(),
        })
    }

    /// The bytes of blob `r`, after checking its checksum.
    pub fn blob(&self, r: BlobRef) -> Result<&[u8], BlockError> {
        let seg = (r >> 32) as usize;
        let off = (r & 0xffff_ffff) as usize;
        let bad = |msg: String| BlockError::corrupt(&self.dir, msg);
        let data = seg
            .checked_sub(1)
            .and_then(|i| self.segments.get(i))
            .ok_or_else(|| bad(format!("blob reference {r:#x} names a missing segment")))?;
        let mut d = Decoder::at(data, off);
        let len = d
            .uvarint_max("blob length", MAX_BLOB_LEN)
            .map_err(|e| bad(format!("blob {r:#x}: {e}")))? as usize;
        let blob = d.bytes(len).map_err(|e| bad(format!("blob {r:#x}: {e}")))?;
        let crc = d.u32_le().map_err(|e| bad(format!("blob {r:#x}: {e}")))?;
        if crc32c::crc32c(blob) != crc {
            return Err(bad(format!("blob {r:#x}: checksum mismatch")));
        }
        Ok(blob)
    }

    /// Bytes of all segments, for size accounting.
    pub fn size(&self) -> u64 {
        self.segments.iter().map(|m| m.len() as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_and_read_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ChunkWriter::new(dir.path()).unwrap();
        let a = w.write(b"hello").unwrap();
        let b = w.write(&[7u8; 300]).unwrap();
        w.finish().unwrap();
        let r = ChunkReader::open(dir.path()).unwrap();
        assert_eq!(r.blob(a).unwrap(), b"hello");
        assert_eq!(r.blob(b).unwrap(), &[7u8; 300][..]);
        assert!(r.blob(a + 1).is_err());
        assert!(r.blob(5 << 32).is_err());
    }

    #[test]
    fn corruption_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ChunkWriter::new(dir.path()).unwrap();
        let a = w.write(b"hello world").unwrap();
        w.finish().unwrap();
        let path = segment_path(dir.path(), 1);
        let mut bytes = fs::read(&path).unwrap();
        bytes[HEADER_LEN as usize + 3] ^= 0x40;
        fs::write(&path, bytes).unwrap();
        let r = ChunkReader::open(dir.path()).unwrap();
        assert!(r.blob(a).unwrap_err().to_string().contains("checksum"));
    }
}
