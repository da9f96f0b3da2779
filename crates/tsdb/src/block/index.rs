//! A block's `index` file: symbols, series (labels and chunk metas) and roaring postings.
//!
//! Layout (details in `docs/format/block.md`): a header, five sections (symbols, series, series
//! offsets, postings, postings table) and a table of contents at the end with each section's
//! offset, length and CRC32C. Every section is checked when the block is opened, so a damaged
//! index is found at once and the block is skipped instead of answering queries wrongly.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use roaring::RoaringBitmap;

use bongsu_model::{Label, Labels, SymbolTable};

use super::chunks::BlobRef;
use super::BlockError;
use crate::chunk::Encoding;
use crate::encoding::{put_str, put_uvarint, put_varint, Decoder};
use crate::postings::PostingsSource;

const MAGIC: [u8; 4] = *b"BGIX";
/// Version 2 adds the histogram chunk list to series entries; it is written only by blocks
/// that hold histograms, so a block of floats stays readable by older bongsu versions.
const VERSION: u8 = 1;
const VERSION_HISTOGRAMS: u8 = 2;
const HEADER_LEN: usize = 8;
const SECTIONS: usize = 6;
/// Each TOC entry: offset u64, length u64, crc32c u32; then the TOC's own crc32c.
const TOC_LEN: usize = SECTIONS * 20 + 4;

/// Where one chunk of a series lives, and its time range (both bounds inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    pub min_time: i64,
    pub max_time: i64,
    /// The shared timestamps column.
    pub timestamps: BlobRef,
    /// The values column.
    pub values: BlobRef,
}

/// Where one histogram chunk of a series lives (a blob in the chunk files holding the chunk's
/// bytes), its encoding and its time range (both bounds inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistChunkMeta {
    pub min_time: i64,
    pub max_time: i64,
    pub encoding: Encoding,
    pub blob: BlobRef,
}

/// Writes an index for `series`, which must be sorted by labels and unique. Chunk times are
/// stored relative to `base_time` (the block's minimum time) to keep them short. `hists`
/// holds each series' histogram chunks (same order as `series`) or is empty.
pub fn write_index(
    path: &Path,
    series: &[(Labels, Vec<ChunkMeta>)],
    hists: &[Vec<HistChunkMeta>],
    base_time: i64,
) -> Result<u64, BlockError> {
    let version = if hists.iter().any(|h| !h.is_empty()) {
        VERSION_HISTOGRAMS
    } else {
        VERSION
    };
    let corrupt = |msg: String| BlockError::corrupt(path, msg);
    let mut symbols: BTreeSet<&str> = BTreeSet::new();
    for (labels, _) in series {
        for l in labels.iter() {
            symbols.insert(&l.name);
            symbols.insert(&l.value);
        }
    }
    let sym_index: HashMap<&str, u64> = symbols
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, i as u64))
        .collect();
    let sym = |s: &str| sym_index.get(s).copied().unwrap_or_default();

    let mut sym_sec = Vec::new();
    put_uvarint(&mut sym_sec, symbols.len() as u64);
    for s in &symbols {
        put_str(&mut sym_sec, s);
    }

    let mut series_sec = Vec::new();
    let mut offsets_sec = Vec::with_capacity(series.len() * 4);
    let mut postings: BTreeMap<(&str, &str), RoaringBitmap> = BTreeMap::new();
    // Distinct timestamps columns, referenced from chunk metas by their position here.
    let mut ts_table: Vec<BlobRef> = Vec::new();
    let mut ts_index: HashMap<BlobRef, u64> = HashMap::new();
    for (id, (labels, chunks)) in series.iter().enumerate() {
        if id > 0 && series[id - 1].0 >= *labels {
            return Err(corrupt(format!(
                "series not sorted or not unique at {labels}"
            )));
        }
        let offset = u32::try_from(series_sec.len())
            .map_err(|_| corrupt("series section exceeds 4 GiB".into()))?;
        offsets_sec.extend_from_slice(&offset.to_le_bytes());
        put_uvarint(&mut series_sec, labels.len() as u64);
        for l in labels.iter() {
            put_uvarint(&mut series_sec, sym(&l.name));
            put_uvarint(&mut series_sec, sym(&l.value));
            postings
                .entry((&l.name, &l.value))
                .or_default()
                .insert(id as u32);
        }
        put_uvarint(&mut series_sec, chunks.len() as u64);
        let mut prev_max = base_time;
        for c in chunks {
            let next = ts_index.len() as u64;
            let ts = *ts_index.entry(c.timestamps).or_insert_with(|| {
                ts_table.push(c.timestamps);
                next
            });
            put_varint(&mut series_sec, c.min_time.wrapping_sub(prev_max));
            put_uvarint(&mut series_sec, c.max_time.wrapping_sub(c.min_time) as u64);
            put_uvarint(&mut series_sec, ts);
            put_uvarint(&mut series_sec, c.values);
            prev_max = c.max_time;
        }
        if version == VERSION_HISTOGRAMS {
            let hs = hists.get(id).map_or(&[][..], |h| &h[..]);
            put_uvarint(&mut series_sec, hs.len() as u64);
            let mut prev_max = base_time;
            for c in hs {
                put_varint(&mut series_sec, c.min_time.wrapping_sub(prev_max));
                put_uvarint(&mut series_sec, c.max_time.wrapping_sub(c.min_time) as u64);
                series_sec.push(c.encoding as u8);
                put_uvarint(&mut series_sec, c.blob);
                prev_max = c.max_time;
            }
        }
    }

    let mut ts_sec = Vec::new();
    put_uvarint(&mut ts_sec, ts_table.len() as u64);
    for r in &ts_table {
        put_uvarint(&mut ts_sec, *r);
    }

    let mut postings_sec = Vec::new();
    let mut table_sec = Vec::new();
    put_uvarint(&mut table_sec, postings.len() as u64);
    for ((name, value), bitmap) in &mut postings {
        // Series are sorted by labels, so many postings are runs (all series of one metric).
        bitmap.optimize();
        let start = postings_sec.len();
        bitmap
            .serialize_into(&mut postings_sec)
            .map_err(|e| corrupt(format!("cannot encode postings: {e}")))?;
        put_uvarint(&mut table_sec, sym(name));
        put_uvarint(&mut table_sec, sym(value));
        put_uvarint(&mut table_sec, start as u64);
        put_uvarint(&mut table_sec, (postings_sec.len() - start) as u64);
    }

    let mut out = Vec::with_capacity(
        HEADER_LEN + sym_sec.len() + series_sec.len() + offsets_sec.len() + postings_sec.len(),
    );
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&[version, 0, 0, 0]);
    let mut toc = Vec::with_capacity(TOC_LEN);
    for sec in [
        &sym_sec,
        &series_sec,
        &offsets_sec,
        &postings_sec,
        &table_sec,
        &ts_sec,
    ] {
        toc.extend_from_slice(&(out.len() as u64).to_le_bytes());
        toc.extend_from_slice(&(sec.len() as u64).to_le_bytes());
        toc.extend_from_slice(&crc32c::crc32c(sec).to_le_bytes());
        out.extend_from_slice(sec);
    }
    let toc_crc = crc32c::crc32c(&toc);
    toc.extend_from_slice(&toc_crc.to_le_bytes());
    out.extend_from_slice(&toc);

    let mut f = File::create(path).map_err(|e| BlockError::io(path, e))?;
    f.write_all(&out).map_err(|e| BlockError::io(path, e))?;
    f.sync_all().map_err(|e| BlockError::io(path, e))?;
    Ok(out.len() as u64)
}

/// Label name → its values (sorted), each with its postings' offset and length.
type PostingsTable = BTreeMap<Arc<str>, Vec<(Arc<str>, usize, usize)>>;

/// A memory-mapped, verified index.
pub struct IndexReader {
    path: PathBuf,
    mmap: Mmap,
    symbols: Vec<Arc<str>>,
    series: std::ops::Range<usize>,
    offsets: std::ops::Range<usize>,
    postings: std::ops::Range<usize>,
    table: PostingsTable,
    /// Blob references of the block's distinct timestamps columns.
    timestamps: Vec<BlobRef>,
    /// Chunk times are stored relative to this (the block's minimum time).
    base_time: i64,
    num_series: u32,
    /// Format version: 2 when series entries list histogram chunks.
    version: u8,
}

impl IndexReader {
    /// Maps and verifies the index at `path`, interning its strings in `interner`.
    /// `base_time` must be the `base_time` it was written with (the block's minimum time).
    pub fn open(
        path: &Path,
        interner: &SymbolTable,
        base_time: i64,
    ) -> Result<IndexReader, BlockError> {
        let corrupt = |msg: String| BlockError::corrupt(path, msg);
        let file = File::open(path).map_err(|e| BlockError::io(path, e))?;
        // SAFETY: index files are immutable once their block is renamed into place.
        let mmap = unsafe { Mmap::map(&file) }.map_err(|e| BlockError::io(path, e))?;
        if mmap.len() < HEADER_LEN + TOC_LEN
            || mmap[..4] != MAGIC
            || !(VERSION..=VERSION_HISTOGRAMS).contains(&mmap[4])
            || mmap[5..8] != [0, 0, 0]
        {
            return Err(corrupt("bad index header".into()));
        }
        let toc = &mmap[mmap.len() - TOC_LEN..];
        let (toc_body, toc_crc) = toc.split_at(TOC_LEN - 4);
        if crc32c::crc32c(toc_body).to_le_bytes() != toc_crc {
            return Err(corrupt("index table of contents checksum mismatch".into()));
        }
        let mut d = Decoder::new(toc_body);
        let mut ranges = Vec::with_capacity(SECTIONS);
        for _ in 0..SECTIONS {
            let (off, len, crc) = (|| Ok((d.u64_le()?, d.u64_le()?, d.u32_le()?)))()
                .map_err(|e: crate::encoding::DecodeError| corrupt(e.to_string()))?;
            let end = off
                .checked_add(len)
                .filter(|e| *e <= (mmap.len() - TOC_LEN) as u64);
            let end = end.ok_or_else(|| corrupt("index section out of bounds".into()))?;
            let range = off as usize..end as usize;
            if crc32c::crc32c(&mmap[range.clone()]) != crc {
                return Err(corrupt(format!(
                    "index section {} checksum mismatch",
                    ranges.len()
                )));
            }
            ranges.push(range);
        }

        let mut d = Decoder::new(&mmap[ranges[0].clone()]);
        let derr = |e: crate::encoding::DecodeError| corrupt(e.to_string());
        let n = d
            .uvarint_max("symbol count", d.remaining() as u64)
            .map_err(derr)?;
        let mut symbols = Vec::with_capacity(n as usize);
        for _ in 0..n {
            symbols.push(interner.intern(d.str().map_err(derr)?));
        }

        let offsets = ranges[2].clone();
        if offsets.len() % 4 != 0 {
            return Err(corrupt("series offsets section has a partial entry".into()));
        }
        let num_series =
            u32::try_from(offsets.len() / 4).map_err(|_| corrupt("too many series".into()))?;

        let sym = |i: u64| -> Result<Arc<str>, BlockError> {
            symbols
                .get(i as usize)
                .cloned()
                .ok_or_else(|| corrupt(format!("bad symbol {i}")))
        };
        let mut table = PostingsTable::new();
        let postings_len = ranges[3].len() as u64;
        let mut d = Decoder::new(&mmap[ranges[4].clone()]);
        let n = d
            .uvarint_max("postings count", d.remaining() as u64)
            .map_err(derr)?;
        for _ in 0..n {
            let name = sym(d.uvarint().map_err(derr)?)?;
            let value = sym(d.uvarint().map_err(derr)?)?;
            let off = d
                .uvarint_max("postings offset", postings_len)
                .map_err(derr)?;
            let len = d
                .uvarint_max("postings length", postings_len - off)
                .map_err(derr)?;
            table
                .entry(name)
                .or_default()
                .push((value, off as usize, len as usize));
        }
        let mut d = Decoder::new(&mmap[ranges[5].clone()]);
        let n = d
            .uvarint_max("timestamps column count", d.remaining() as u64)
            .map_err(derr)?;
        let mut timestamps = Vec::with_capacity(n as usize);
        for _ in 0..n {
            timestamps.push(d.uvarint().map_err(derr)?);
        }
        let mmap_version = mmap[4];
        Ok(IndexReader {
            path: path.to_path_buf(),
            timestamps,
            base_time,
            version: mmap_version,
            series: ranges[1].clone(),
            offsets,
            postings: ranges[3].clone(),
            mmap,
            symbols,
            table,
            num_series,
        })
    }

    fn corrupt(&self, msg: String) -> BlockError {
        BlockError::corrupt(&self.path, msg)
    }

    pub fn num_series(&self) -> u32 {
        self.num_series
    }

    /// Labels and chunk metas of series `id`.
    pub fn series(&self, id: u32, chunks: &mut Vec<ChunkMeta>) -> Result<Labels, BlockError> {
        self.series_with_histograms(id, chunks, None)
    }

    /// Labels, float chunk metas and (when `hists` is given) histogram chunk metas of `id`.
    pub fn series_with_histograms(
        &self,
        id: u32,
        chunks: &mut Vec<ChunkMeta>,
        hists: Option<&mut Vec<HistChunkMeta>>,
    ) -> Result<Labels, BlockError> {
        chunks.clear();
        let o = self.offsets.start + id as usize * 4;
        let raw = self
            .mmap
            .get(o..o + 4)
            .filter(|_| id < self.num_series)
            .ok_or_else(|| self.corrupt(format!("series id {id} out of range")))?;
        let off = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize;
        let data = &self.mmap[self.series.clone()];
        let mut d = Decoder::at(data, off);
        let derr = |e: crate::encoding::DecodeError| self.corrupt(format!("series {id}: {e}"));
        let sym = |i: u64| {
            self.symbols
                .get(i as usize)
                .cloned()
                .ok_or_else(|| self.corrupt(format!("bad symbol {i}")))
        };
        let n = d
            .uvarint_max("label count", d.remaining() as u64 / 2)
            .map_err(derr)?;
        let mut labels = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let name = sym(d.uvarint().map_err(derr)?)?;
            let value = sym(d.uvarint().map_err(derr)?)?;
            labels.push(Label { name, value });
        }
        let n = d
            .uvarint_max("chunk count", d.remaining() as u64 / 4)
            .map_err(derr)?;
        let mut prev_max = self.base_time;
        for _ in 0..n {
            let min_time = prev_max.wrapping_add(d.varint().map_err(derr)?);
            let max_time = min_time.wrapping_add(d.uvarint().map_err(derr)? as i64);
            let ts = d.uvarint().map_err(derr)?;
            let timestamps = *self
                .timestamps
                .get(ts as usize)
                .ok_or_else(|| self.corrupt(format!("series {id}: bad timestamps column {ts}")))?;
            let values = d.uvarint().map_err(derr)?;
            chunks.push(ChunkMeta {
                min_time,
                max_time,
                timestamps,
                values,
            });
            prev_max = max_time;
        }
        if let Some(hists) = hists {
            hists.clear();
            if self.version == VERSION_HISTOGRAMS {
                let n = d
                    .uvarint_max("histogram chunk count", d.remaining() as u64 / 4)
                    .map_err(derr)?;
                let mut prev_max = self.base_time;
                for _ in 0..n {
                    let min_time = prev_max.wrapping_add(d.varint().map_err(derr)?);
                    let max_time = min_time.wrapping_add(d.uvarint().map_err(derr)? as i64);
                    let e = d.bytes(1).map_err(derr)?[0];
                    let encoding = Encoding::from_u8(e)
                        .filter(|e| matches!(e, Encoding::Histogram | Encoding::FloatHistogram))
                        .ok_or_else(|| {
                            self.corrupt(format!("series {id}: bad histogram chunk encoding {e}"))
                        })?;
                    let blob = d.uvarint().map_err(derr)?;
                    hists.push(HistChunkMeta {
                        min_time,
                        max_time,
                        encoding,
                        blob,
                    });
                    prev_max = max_time;
                }
            }
        }
        Labels::new(labels).map_err(|e| self.corrupt(format!("series {id}: {e}")))
    }

    /// Sorted label names present in the block.
    pub fn label_names(&self) -> Vec<Arc<str>> {
        self.table.keys().cloned().collect()
    }

    /// Bytes of the index file.
    pub fn size(&self) -> u64 {
        self.mmap.len() as u64
    }
}

impl PostingsSource for IndexReader {
    type Error = BlockError;

    fn all_postings(&self) -> Result<RoaringBitmap, BlockError> {
        Ok((0..self.num_series).collect())
    }

    fn postings(&self, name: &str, value: &str) -> Result<RoaringBitmap, BlockError> {
        let Some(values) = self.table.get(name) else {
            return Ok(RoaringBitmap::new());
        };
        let Ok(i) = values.binary_search_by(|(v, _, _)| (**v).cmp(value)) else {
            return Ok(RoaringBitmap::new());
        };
        let (_, off, len) = values[i];
        let start = self.postings.start + off;
        let bytes = &self.mmap[start..start + len];
        RoaringBitmap::deserialize_from(bytes)
            .map_err(|e| self.corrupt(format!("postings for {name}={value:?}: {e}")))
    }

    fn label_values(&self, name: &str) -> Result<Vec<Arc<str>>, BlockError> {
        Ok(self
            .table
            .get(name)
            .map(|vs| vs.iter().map(|(v, _, _)| v.clone()).collect())
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(min: i64, max: i64, ts: BlobRef, vs: BlobRef) -> ChunkMeta {
        ChunkMeta {
            min_time: min,
            max_time: max,
            timestamps: ts,
            values: vs,
        }
    }

    #[test]
    fn round_trip_and_postings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        let a = Labels::from_pairs(&[("__name__", "up"), ("job", "a")]).unwrap();
        let b = Labels::from_pairs(&[("__name__", "up"), ("job", "b")]).unwrap();
        let series = vec![
            (
                a.clone(),
                vec![
                    meta(1000, 2000, 1 << 32 | 8, 1 << 32 | 20),
                    meta(2015, 9000, 1 << 32 | 8, 2 << 32 | 8),
                ],
            ),
            (b.clone(), vec![meta(1000, 2000, 1 << 32 | 8, 1 << 32 | 90)]),
        ];
        write_index(&path, &series, &[], 0).unwrap();
        let r = IndexReader::open(&path, &SymbolTable::new(), 0).unwrap();
        assert_eq!(r.num_series(), 2);
        let mut chunks = Vec::new();
        assert_eq!(r.series(0, &mut chunks).unwrap(), a);
        assert_eq!(chunks, series[0].1);
        assert_eq!(r.series(1, &mut chunks).unwrap(), b);
        assert_eq!(chunks, series[1].1);
        assert!(r.series(2, &mut chunks).is_err());
        assert_eq!(
            r.postings("job", "b").unwrap().iter().collect::<Vec<_>>(),
            vec![1]
        );
        assert_eq!(r.postings("__name__", "up").unwrap().len(), 2);
        assert!(r.postings("job", "zzz").unwrap().is_empty());
        let values: Vec<String> = r
            .label_values("job")
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(values, vec!["a", "b"]);
        assert_eq!(r.label_names().len(), 2);
    }

    #[test]
    fn unsorted_series_are_refused_and_damage_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        let a = Labels::from_pairs(&[("a", "1")]).unwrap();
        let b = Labels::from_pairs(&[("a", "2")]).unwrap();
        assert!(write_index(&path, &[(b.clone(), vec![]), (a.clone(), vec![])], &[], 0).is_err());
        write_index(&path, &[(a, vec![]), (b, vec![])], &[], 0).unwrap();
        let good = std::fs::read(&path).unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x10;
            std::fs::write(&path, &bad).unwrap();
            assert!(
                IndexReader::open(&path, &SymbolTable::new(), 0).is_err(),
                "flip at byte {i} went unnoticed"
            );
        }
    }
}
