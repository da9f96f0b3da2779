//! Blocks: immutable, memory-mapped files of chunks with an index of streams and chunks.
//!
//! One file per block, `blocks/<ULID>`: a header, the chunks' frames and filters, the index
//! (streams with their labels and chunks: time range, count, bytes, frame offsets, filter CRC)
//! and a footer locating the index under a CRC32C. [`Block::open`] checks everything the
//! index says (ranges inside the file, counts, times) so that reading a chunk can never index
//! out of bounds; a chunk's frames carry zstd checksums and its filter a CRC, checked on use.
//! Bytes in `docs/format/logs-block.md`.
//!
//! Not here: which blocks exist and when they are merged or deleted (the store), the decoding of
//! a chunk's columns (`chunk`), and reading in time order (`read`).

pub mod chunk;
mod writer;

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bongsu_model::{Label, Labels, MAX_LABELS};
use memmap2::Mmap;
use ulid::Ulid;

use crate::encoding::{put_str, put_uvarint, put_varint, DecodeError, Decoder};
use crate::error::LogStoreError;
pub use chunk::ChunkMeta;
pub use writer::{chunk_bounds, BlockWriter, MergeItem};

pub const MAGIC: [u8; 4] = *b"BSLB";
pub const VERSION: u8 = 1;
pub const HEADER_SIZE: u64 = 8;
/// Index offset (u64), index length (u64), index CRC32C (u32), magic.
pub const FOOTER_SIZE: u64 = 24;
/// Suffix of a block still being written (removed on open).
pub const TMP_SUFFIX: &str = ".tmp";

/// A stream's part of a block.
#[derive(Debug)]
pub struct BlockStream {
    pub labels: Labels,
    /// Sorted by `min_ts`; chunks may overlap in time after a merge of out-of-order cuts.
    pub chunks: Vec<ChunkMeta>,
    pub min_ts: i64,
    pub max_ts: i64,
}

/// An open block.
pub struct Block {
    pub path: PathBuf,
    pub ulid: Ulid,
    data: Mmap,
    /// Log WAL segments below this are in this block or an older one.
    pub wal_floor: u32,
    /// The lowest zstd level any of its line columns was compressed at.
    pub zstd_level: i32,
    /// Blocks this one was merged from (deleted once it exists).
    pub replaces: Vec<Ulid>,
    pub streams: Vec<BlockStream>,
    pub min_ts: i64,
    pub max_ts: i64,
    pub entries: u64,
    pub raw_bytes: u64,
    pub chunks: usize,
    /// The store's stream id of each of `streams`, set when the store loads the block.
    pub ids: Vec<u32>,
}

impl Block {
    /// Maps and validates a block file.
    pub fn open(path: &Path) -> Result<Block, LogStoreError> {
        let ulid = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| Ulid::from_string(n).ok())
            .ok_or_else(|| LogStoreError::corrupt(path, "file name is not a ULID"))?;
        let file = File::open(path).map_err(|e| LogStoreError::io(path, e))?;
        let corrupt = |why: &str| LogStoreError::corrupt(path, why);
        let io = |e| LogStoreError::io(path, e);
        let len = file.metadata().map_err(io)?.len();
        // Header, footer and index are read with positioned reads, not through the mapping:
        // touching a mapped page maps the whole (possibly huge) page-cache folio around it
        // into the process, so opening blocks would grow the resident set by their size.
        let mut head = [0u8; HEADER_SIZE as usize];
        if len < HEADER_SIZE + FOOTER_SIZE {
            return Err(corrupt("bad header"));
        }
        file.read_exact_at(&mut head, 0).map_err(io)?;
        if head[..4] != MAGIC {
            return Err(corrupt("bad header"));
        }
        if head[4] != VERSION {
            return Err(LogStoreError::UnsupportedVersion {
                path: path.to_path_buf(),
                version: head[4],
            });
        }
        let mut footer = [0u8; FOOTER_SIZE as usize];
        file.read_exact_at(&mut footer, len - FOOTER_SIZE)
            .map_err(io)?;
        let mut fd = Decoder::new(&footer);
        let dec = |e| LogStoreError::decode(path, e);
        let index_off = fd.u64_le().map_err(dec)?;
        let index_len = fd.u64_le().map_err(dec)?;
        let crc = fd.u32_le().map_err(dec)?;
        if footer[20..] != MAGIC {
            return Err(corrupt("bad footer"));
        }
        let index_end = index_off
            .checked_add(index_len)
            .ok_or_else(|| corrupt("index range overflows"))?;
        if index_off < HEADER_SIZE || index_end != len - FOOTER_SIZE {
            return Err(corrupt("index range outside the file"));
        }
        let mut index = vec![0u8; index_len as usize];
        file.read_exact_at(&mut index, index_off).map_err(io)?;
        if crc32c::crc32c(&index) != crc {
            return Err(corrupt("index checksum mismatch"));
        }
        // SAFETY: block files are never modified after the rename that publishes them; the
        // store only deletes them, which leaves existing mappings valid.
        let data = unsafe { Mmap::map(&file) }.map_err(io)?;
        if data.len() as u64 != len {
            return Err(corrupt("file changed size while opening"));
        }
        let parsed = parse_index(&index, index_off).map_err(dec)?;
        let mut b = Block {
            path: path.to_path_buf(),
            ulid,
            data,
            wal_floor: parsed.wal_floor,
            zstd_level: parsed.zstd_level,
            replaces: parsed.replaces,
            streams: parsed.streams,
            min_ts: i64::MAX,
            max_ts: i64::MIN,
            entries: 0,
            raw_bytes: 0,
            chunks: 0,
            ids: Vec::new(),
        };
        for s in &b.streams {
            b.min_ts = b.min_ts.min(s.min_ts);
            b.max_ts = b.max_ts.max(s.max_ts);
            b.chunks += s.chunks.len();
            for c in &s.chunks {
                b.entries += u64::from(c.count);
                b.raw_bytes += c.raw_bytes;
            }
        }
        Ok(b)
    }

    /// Size of the file.
    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }

    /// The bytes of a chunk's frames and filter (validated on open to lie in the file).
    pub fn chunk_bytes(&self, c: &ChunkMeta) -> &[u8] {
        &self.data[c.off as usize..(c.off + c.total_len()) as usize]
    }
}

struct ParsedIndex {
    wal_floor: u32,
    zstd_level: i32,
    replaces: Vec<Ulid>,
    streams: Vec<BlockStream>,
}

/// Encodes the index section (see the format doc).
pub fn encode_index(
    out: &mut Vec<u8>,
    wal_floor: u32,
    zstd_level: i32,
    replaces: &[Ulid],
    streams: &[(Labels, Vec<ChunkMeta>)],
) {
    put_uvarint(out, u64::from(wal_floor));
    put_varint(out, i64::from(zstd_level));
    put_uvarint(out, replaces.len() as u64);
    for u in replaces {
        out.extend_from_slice(&u128::from(*u).to_le_bytes());
    }
    put_uvarint(out, streams.len() as u64);
    for (labels, chunks) in streams {
        put_uvarint(out, labels.len() as u64);
        for l in labels.iter() {
            put_str(out, &l.name);
            put_str(out, &l.value);
        }
        put_uvarint(out, chunks.len() as u64);
        for c in chunks {
            put_varint(out, c.min_ts);
            put_uvarint(out, c.max_ts.wrapping_sub(c.min_ts) as u64);
            put_uvarint(out, u64::from(c.count));
            put_uvarint(out, c.raw_bytes);
            put_uvarint(out, c.off);
            for n in [c.ts_len, c.lines_len, c.meta_len, c.filter_len] {
                put_uvarint(out, u64::from(n));
            }
            out.extend_from_slice(&c.filter_crc.to_le_bytes());
        }
    }
}

fn parse_index(buf: &[u8], data_end: u64) -> Result<ParsedIndex, DecodeError> {
    let mut d = Decoder::new(buf);
    let range = |what, value: u64, at| DecodeError::OutOfRange { what, value, at };
    let wal_floor = d.uvarint_max("WAL floor", u64::from(u32::MAX))? as u32;
    let zstd_level = i32::try_from(d.varint()?).unwrap_or(0);
    let n = d.uvarint_max("replaced blocks", buf.len() as u64 / 16)? as usize;
    let mut replaces = Vec::with_capacity(n);
    for _ in 0..n {
        let b = d.bytes(16)?;
        let mut a = [0u8; 16];
        a.copy_from_slice(b);
        replaces.push(Ulid::from(u128::from_le_bytes(a)));
    }
    let nstreams = d.uvarint_max("stream count", buf.len() as u64)? as usize;
    let mut streams = Vec::with_capacity(nstreams);
    for _ in 0..nstreams {
        let at = d.pos();
        let k = d.uvarint_max("label count", MAX_LABELS as u64)? as usize;
        let mut ls = Vec::with_capacity(k);
        for _ in 0..k {
            let name = d.str()?;
            ls.push(Label::new(name, d.str()?));
        }
        let labels = Labels::new(ls).map_err(|_| range("invalid label set", k as u64, at))?;
        let nchunks = d.uvarint_max("chunk count", buf.len() as u64)? as usize;
        if nchunks == 0 {
            return Err(range("chunk count", 0, d.pos()));
        }
        let mut chunks = Vec::with_capacity(nchunks);
        for _ in 0..nchunks {
            let at = d.pos();
            let min_ts = d.varint()?;
            let span = d.uvarint()?;
            let max_ts = i64::try_from(span)
                .ok()
                .and_then(|s| min_ts.checked_add(s))
                .ok_or(range("chunk time span", span, at))?;
            let count = d.uvarint_max("chunk entry count", u64::from(u32::MAX))? as u32;
            let raw_bytes = d.uvarint()?;
            let off = d.uvarint()?;
            let mut lens = [0u32; 4];
            for l in &mut lens {
                *l = d.uvarint_max("frame length", u64::from(u32::MAX))? as u32;
            }
            let filter_crc = d.u32_le()?;
            let c = ChunkMeta {
                min_ts,
                max_ts,
                count,
                raw_bytes,
                off,
                ts_len: lens[0],
                lines_len: lens[1],
                meta_len: lens[2],
                filter_len: lens[3],
                filter_crc,
            };
            if count == 0
                || off < HEADER_SIZE
                || off.checked_add(c.total_len()).is_none_or(|e| e > data_end)
            {
                return Err(range("chunk frames outside the data", off, at));
            }
            chunks.push(c);
        }
        if !chunks.windows(2).all(|w| w[0].min_ts <= w[1].min_ts) {
            return Err(range("chunks out of time order", 0, at));
        }
        let min_ts = chunks[0].min_ts;
        let max_ts = chunks.iter().map(|c| c.max_ts).max().unwrap_or(min_ts);
        streams.push(BlockStream {
            labels,
            chunks,
            min_ts,
            max_ts,
        });
    }
    if d.remaining() != 0 {
        return Err(range("trailing index bytes", d.remaining() as u64, d.pos()));
    }
    Ok(ParsedIndex {
        wal_floor,
        zstd_level,
        replaces,
        streams,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cursor::{Decoder, Loaded};
    use crate::filter::ChunkFilter;
    use crate::head::HeadEntry;

    /// Flipping any byte of a block file never panics: `open` refuses the file, or reading its
    /// chunks and filters fails cleanly or gives some lines.
    #[test]
    fn every_damaged_byte_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let entries: Vec<HeadEntry> = (0..40)
            .map(|i| HeadEntry {
                ts: 1_700_000_000_000_000_000 + i * 1_000_003,
                line: format!("2023-11-14T22:13:20 line {i} id={:x}", i * 7919).into(),
                metadata: vec![("k".into(), format!("v{i}").into())].into(),
            })
            .collect();
        let refs: Vec<_> = entries.iter().map(HeadEntry::row).collect();
        let mut enc = chunk::ChunkEncoder::new(3).unwrap();
        let mut w = BlockWriter::create(dir.path(), &mut enc, 16, 1 << 20).unwrap();
        let labels = Labels::from_pairs(&[("job", "x")]).unwrap();
        w.add_stream(&labels, &refs).unwrap();
        let path = w.finish(7, &[Ulid::new()]).unwrap().unwrap().path;
        let good = std::fs::read(&path).unwrap();
        let probe = crate::tokens::Probe::for_needle(b"-line-");
        let mut dec = Decoder::default();
        let mut opened = 0;
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x5a;
            std::fs::write(&path, &bad).unwrap();
            let Ok(b) = Block::open(&path) else { continue };
            opened += 1;
            for c in b.streams.iter().flat_map(|s| &s.chunks) {
                let mut l = Loaded::default();
                let _ = dec.load(&b, c, &mut l, true);
                let bytes = b.chunk_bytes(c);
                if let Ok(f) = ChunkFilter::parse(&bytes[bytes.len() - c.filter_len as usize..]) {
                    f.may_contain(&probe);
                }
            }
        }
        assert!(opened > 0, "damage in chunk data still opens the block");
        std::fs::write(&path, &good).unwrap();
        assert_eq!(Block::open(&path).unwrap().entries, 40);
    }
}
