//! Immutable, memory-mapped blocks: a directory per time range holding `meta.json`, `index`,
//! `chunks/` (layout in `docs/format/block.md`) and, after a deletion, `tombstones`
//! (`docs/format/tombstones.md`).
//!
//! A block is written once by [`BlockWriter`] into a temporary directory, fsynced and renamed into
//! place, so a crash never leaves a half-written block visible. Its samples are then only read,
//! through [`Block`], until compaction or retention deletes it; a deletion replaces its
//! `tombstones` file, never the other files.

mod chunks;
mod index;
mod meta;
mod writer;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;

pub use chunks::BlobRef;
pub use index::{ChunkMeta, HistChunkMeta, IndexReader};
pub(crate) use meta::META_FILE;
pub use meta::{BlockMeta, BlockStats, Compaction, BLOCK_FORMAT_VERSION};
pub(crate) use writer::sync_dir;
pub use writer::BlockWriter;

use crate::chunk::{self, packed};
use crate::tombstones::{Interval, Tombstones, TOMBSTONES_FILE};
use bongsu_model::{Sample, SymbolTable};
use chunks::ChunkReader;
use parking_lot::RwLock;

/// Suffix of a block directory still being written; such directories are removed at start-up.
pub const TMP_CREATION_SUFFIX: &str = ".tmp-for-creation";
/// Suffix of a block directory being deleted.
pub const TMP_DELETION_SUFFIX: &str = ".tmp-for-deletion";

#[derive(Debug, Error)]
pub enum BlockError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: corrupt block data: {message}")]
    Corrupt { path: PathBuf, message: String },
}

impl BlockError {
    pub fn io(path: &Path, source: io::Error) -> BlockError {
        BlockError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn corrupt(path: &Path, message: String) -> BlockError {
        BlockError::Corrupt {
            path: path.to_path_buf(),
            message,
        }
    }
}

impl From<chunk::ChunkError> for BlockError {
    fn from(e: chunk::ChunkError) -> BlockError {
        BlockError::Corrupt {
            path: PathBuf::new(),
            message: e.to_string(),
        }
    }
}

/// Decoding buffers reused from chunk to chunk. The series of one scrape target share their
/// timestamps column within a block, so the column decoded last is kept (with the block and
/// reference it came from) and not decoded again for the next series that shares it.
#[derive(Default)]
pub struct ChunkScratch {
    ts: Vec<i64>,
    /// The block (by address, while it is borrowed) and reference `ts` holds.
    ts_of: Option<(usize, BlobRef)>,
    vs: Vec<f64>,
}

/// An open block.
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    chunks: ChunkReader,
    /// Replaced whole by a deletion; readers take the current set.
    tombstones: RwLock<Arc<Tombstones>>,
    size: u64,
}

impl Block {
    /// Opens the block in `dir`, verifying its meta, index checksums, chunk headers and
    /// tombstones.
    pub fn open(dir: &Path, symbols: &SymbolTable) -> Result<Block, BlockError> {
        let meta = BlockMeta::read(dir)?;
        let index = IndexReader::open(&dir.join("index"), symbols, meta.min_time)?;
        let chunks = ChunkReader::open(&dir.join("chunks"))?;
        let tombstones = Tombstones::read(dir, index.num_series())?;
        let file_len = |name: &str| fs::metadata(dir.join(name)).map(|m| m.len()).unwrap_or(0);
        let size =
            index.size() + chunks.size() + file_len(meta::META_FILE) + file_len(TOMBSTONES_FILE);
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks,
            tombstones: RwLock::new(Arc::new(tombstones)),
            size,
        })
    }

    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn index(&self) -> &IndexReader {
        &self.index
    }

    /// Bytes on disk.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The deleted ranges of the block's series, as of now.
    pub(crate) fn tombstones(&self) -> Arc<Tombstones> {
        self.tombstones.read().clone()
    }

    /// Adds deletions (series id, interval) to the block's tombstones: the `tombstones` file is
    /// replaced first, so what a reader sees afterwards survives a restart.
    pub(crate) fn add_tombstones(&self, stones: &[(u32, Interval)]) -> Result<(), BlockError> {
        if stones.is_empty() {
            return Ok(());
        }
        let mut current = self.tombstones.write();
        let mut next = Tombstones::clone(&current);
        for &(id, iv) in stones {
            next.add(id, iv);
        }
        if next != **current {
            next.write(&self.dir)?;
            *current = Arc::new(next);
        }
        Ok(())
    }

    /// Decodes one chunk, appending its samples to `out`.
    pub fn read_chunk(
        &self,
        c: &ChunkMeta,
        out: &mut Vec<Sample>,
        scratch: &mut ChunkScratch,
    ) -> Result<(), BlockError> {
        let bad = |e: chunk::ChunkError| {
            BlockError::corrupt(&self.dir, format!("chunk {:#x}: {e}", c.values))
        };
        let key = (std::ptr::from_ref(self) as usize, c.timestamps);
        if scratch.ts_of != Some(key) {
            scratch.ts_of = None;
            scratch.ts.clear();
            packed::decode_timestamps(self.chunks.blob(c.timestamps)?, &mut scratch.ts)
                .map_err(bad)?;
            scratch.ts_of = Some(key);
        }
        let (ts, vs) = (&scratch.ts, &mut scratch.vs);
        vs.clear();
        packed::decode_values(self.chunks.blob(c.values)?, ts.len(), vs).map_err(bad)?;
        if vs.len() != ts.len() {
            return Err(BlockError::corrupt(
                &self.dir,
                format!("chunk {:#x}: column lengths differ", c.values),
            ));
        }
        out.extend(ts.iter().zip(vs.iter()).map(|(&t, &v)| Sample { t, v }));
        Ok(())
    }

    /// Decodes the histogram chunk `c`, appending its samples to `out`.
    pub fn read_histogram_chunk(
        &self,
        c: &HistChunkMeta,
        out: &mut Vec<bongsu_model::HistogramSample>,
    ) -> Result<(), BlockError> {
        chunk::decode_histograms(c.encoding, self.chunks.blob(c.blob)?, out).map_err(|e| {
            BlockError::corrupt(&self.dir, format!("histogram chunk {:#x}: {e}", c.blob))
        })
    }

    /// Removes a block directory: renamed first, so a crash mid-removal leaves no half block
    /// that could be opened.
    pub fn delete_dir(dir: &Path) -> Result<(), BlockError> {
        let mut tmp = dir.as_os_str().to_owned();
        tmp.push(TMP_DELETION_SUFFIX);
        let tmp = PathBuf::from(tmp);
        fs::rename(dir, &tmp).map_err(|e| BlockError::io(dir, e))?;
        fs::remove_dir_all(&tmp).map_err(|e| BlockError::io(&tmp, e))
    }
}
