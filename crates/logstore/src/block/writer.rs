//! Writing a block: streams in, one complete file out, published by a rename.
//!
//! The file is written as `blocks/<ULID>.tmp`, fsynced, renamed to `blocks/<ULID>` and the
//! directory fsynced, so a block either exists whole or not at all.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use bongsu_model::Labels;
use ulid::Ulid;

use super::chunk::{ChunkEncoder, ChunkMeta};
use super::{encode_index, Block, HEADER_SIZE, MAGIC, TMP_SUFFIX, VERSION};
use crate::error::LogStoreError;
use crate::head::{HeadEntry, Row};

/// Bytes buffered before a write to the file: large enough that writes are few, small enough
/// that a cut (on the append path) does not hold a big buffer.
const FLUSH_AT: usize = 1024 * 1024;

/// How entries (sorted) are cut into chunks: `(start, end, full)` ranges of at most `max_lines`
/// lines and `max_bytes` line bytes (a longer line alone); `full` is false for a last chunk that
/// ended because the entries did.
pub fn chunk_bounds(
    entries: &[Row<'_>],
    max_lines: usize,
    max_bytes: usize,
) -> Vec<(usize, usize, bool)> {
    let (max_lines, max_bytes) = (max_lines.max(1), max_bytes.max(1));
    let mut out = Vec::new();
    let mut start = 0;
    while start < entries.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < entries.len()
            && end - start < max_lines
            && (end == start || bytes + entries[end].line.len() <= max_bytes)
        {
            bytes += entries[end].line.len();
            end += 1;
        }
        out.push((start, end, end < entries.len() || end - start == max_lines));
        start = end;
    }
    out
}

/// A piece of a merged stream.
pub enum MergeItem<'a> {
    /// A chunk of a source block, copied byte for byte.
    Copy(&'a Block, &'a ChunkMeta),
    /// A chunk of a source block compressed at a lower level: line and metadata columns are
    /// compressed again, timestamps and filter copied.
    Recompress(&'a Block, &'a ChunkMeta),
    /// Entries (sorted) of small chunks, encoded again into full ones.
    Encode(Vec<HeadEntry>),
}

/// Builds one block. Add streams (each once), then [`BlockWriter::finish`].
pub struct BlockWriter<'e> {
    dir: PathBuf,
    ulid: Ulid,
    tmp: PathBuf,
    file: BufWriter<File>,
    /// Bytes already handed to `file`.
    written: u64,
    buf: Vec<u8>,
    /// Lent by the caller, so that its compression contexts outlive one block.
    enc: &'e mut ChunkEncoder,
    /// zstd level of the line and metadata columns it writes (or copies at that level or more).
    level: i32,
    streams: Vec<(Labels, Vec<ChunkMeta>)>,
    max_lines: usize,
    max_bytes: usize,
}

impl<'e> BlockWriter<'e> {
    /// A new block in `dir`, its chunks encoded by `enc` (at its level).
    pub fn create(
        dir: &Path,
        enc: &'e mut ChunkEncoder,
        max_lines: usize,
        max_bytes: usize,
    ) -> Result<BlockWriter<'e>, LogStoreError> {
        let ulid = Ulid::new();
        let tmp = dir.join(format!("{ulid}{TMP_SUFFIX}"));
        let file = File::create(&tmp).map_err(|e| LogStoreError::io(&tmp, e))?;
        // Room for a full buffer and the chunk that crosses the mark, so it never doubles.
        let mut header = Vec::with_capacity(FLUSH_AT + FLUSH_AT / 2);
        header.resize(HEADER_SIZE as usize, 0);
        header[..4].copy_from_slice(&MAGIC);
        header[4] = VERSION;
        Ok(BlockWriter {
            dir: dir.to_path_buf(),
            ulid,
            file: BufWriter::new(file),
            written: 0,
            buf: header,
            level: enc.level,
            enc,
            tmp,
            streams: Vec::new(),
            max_lines,
            max_bytes,
        })
    }

    /// Adds a stream's entries (sorted by time), cut into chunks by [`chunk_bounds`].
    pub fn add_stream(
        &mut self,
        labels: &Labels,
        entries: &[Row<'_>],
    ) -> Result<(), LogStoreError> {
        let mut metas = Vec::new();
        for (start, end, _) in chunk_bounds(entries, self.max_lines, self.max_bytes) {
            let m = self
                .enc
                .encode(&entries[start..end], self.written, &mut self.buf)
                .map_err(|e| LogStoreError::io(&self.tmp, e))?;
            metas.push(m);
            self.flush_if_full()?;
        }
        if !metas.is_empty() {
            self.streams.push((labels.clone(), metas));
        }
        Ok(())
    }

    /// Adds a stream made of chunks copied from other blocks (as they are or recompressed) and
    /// of entries encoded into new chunks, given by time.
    pub fn add_merged<'a>(
        &mut self,
        labels: &Labels,
        items: impl IntoIterator<Item = MergeItem<'a>>,
    ) -> Result<(), LogStoreError> {
        let mut metas = Vec::new();
        for item in items {
            match item {
                MergeItem::Copy(b, c) => {
                    let mut m = *c;
                    m.off = self.written + self.buf.len() as u64;
                    self.buf.extend_from_slice(b.chunk_bytes(c));
                    metas.push(m);
                }
                MergeItem::Recompress(b, c) => {
                    let off = self.written + self.buf.len() as u64;
                    let m = self
                        .enc
                        .recompress(b.chunk_bytes(c), c, off, &mut self.buf)
                        .map_err(|e| LogStoreError::corrupt(&b.path, e))?;
                    metas.push(m);
                }
                MergeItem::Encode(entries) => {
                    let refs: Vec<Row<'_>> = entries.iter().map(HeadEntry::row).collect();
                    for (start, end, _) in chunk_bounds(&refs, self.max_lines, self.max_bytes) {
                        let m = self
                            .enc
                            .encode(&refs[start..end], self.written, &mut self.buf)
                            .map_err(|e| LogStoreError::io(&self.tmp, e))?;
                        metas.push(m);
                        self.flush_if_full()?;
                    }
                }
            }
            self.flush_if_full()?;
        }
        // Items come by time, but a run of re-encoded chunks may end after the next item
        // starts (an overlap too long to merge at once); the index wants chunks by `min_ts`.
        metas.sort_by_key(|m: &ChunkMeta| m.min_ts);
        if !metas.is_empty() {
            self.streams.push((labels.clone(), metas));
        }
        Ok(())
    }

    fn flush_if_full(&mut self) -> Result<(), LogStoreError> {
        if self.buf.len() >= FLUSH_AT {
            self.file
                .write_all(&self.buf)
                .map_err(|e| LogStoreError::io(&self.tmp, e))?;
            self.written += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes index and footer, syncs, publishes; returns the open block. `None` if no stream
    /// was added (nothing is left behind).
    pub fn finish(
        mut self,
        wal_floor: u32,
        replaces: &[Ulid],
    ) -> Result<Option<Block>, LogStoreError> {
        if self.streams.is_empty() {
            drop(self.file);
            fs::remove_file(&self.tmp).map_err(|e| LogStoreError::io(&self.tmp, e))?;
            return Ok(None);
        }
        let index_off = self.written + self.buf.len() as u64;
        let start = self.buf.len();
        encode_index(
            &mut self.buf,
            wal_floor,
            self.level,
            replaces,
            &self.streams,
        );
        let index_len = (self.buf.len() - start) as u64;
        let crc = crc32c::crc32c(&self.buf[start..]);
        self.buf.extend_from_slice(&index_off.to_le_bytes());
        self.buf.extend_from_slice(&index_len.to_le_bytes());
        self.buf.extend_from_slice(&crc.to_le_bytes());
        self.buf.extend_from_slice(&MAGIC);
        let io = |e| LogStoreError::io(&self.tmp, e);
        self.file.write_all(&self.buf).map_err(io)?;
        let file = self
            .file
            .into_inner()
            .map_err(|e| LogStoreError::io(&self.tmp, e.into_error()))?;
        file.sync_all()
            .map_err(|e| LogStoreError::io(&self.tmp, e))?;
        drop(file);
        let path = self.dir.join(self.ulid.to_string());
        fs::rename(&self.tmp, &path).map_err(|e| LogStoreError::io(&path, e))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| LogStoreError::io(&self.dir, e))?;
        Block::open(&path).map(Some)
    }
}
