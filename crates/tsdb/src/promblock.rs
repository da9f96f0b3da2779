//! Importing a Prometheus block: reading its `meta.json`, its index (format version 2: symbol
//! table, series section, table of contents) and its chunk files, and writing the same series
//! (float samples from XOR chunks, native histograms from histogram and float-histogram
//! chunks, byte-compatible with bongsu's) as one bongsu block.
//!
//! Not here: Prometheus' tombstones (a block with a `tombstones` file holding deletions is
//! refused), postings and label indexes (the series section is walked in order), and index
//! format version 1.

use std::path::Path;

use bongsu_model::{HistogramSample, Label, Labels, Sample};

use crate::block::{BlockError, BlockMeta, BlockWriter};
use crate::chunk::{decode_histograms, decode_prometheus_xor, Encoding};

const INDEX_MAGIC: [u8; 4] = [0xBA, 0xAA, 0xD7, 0x00];
const CHUNKS_MAGIC: [u8; 4] = [0x85, 0xBD, 0x40, 0xDD];
const TOC_LEN: usize = 6 * 8 + 4;
/// A tombstones file without deletions: magic, version, checksum.
const EMPTY_TOMBSTONES_LEN: u64 = 4 + 1 + 4;

fn bad(path: &Path, msg: impl Into<String>) -> BlockError {
    BlockError::corrupt(path, msg.into())
}

/// A bounds-checked reader of Prometheus' big-endian and varint fields.
struct Buf<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Buf<'a> {
    fn u32_be(&mut self) -> Option<u32> {
        let s = self.b.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn uvarint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let byte = *self.b.get(self.pos)?;
            self.pos += 1;
            v |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return Some(v);
            }
        }
        None
    }

    fn varint(&mut self) -> Option<i64> {
        let u = self.uvarint()?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
}

/// One series of a Prometheus block: labels and chunk references (`file << 32 | offset`).
struct PromSeries {
    labels: Labels,
    chunks: Vec<u64>,
}

fn read_index(path: &Path) -> Result<Vec<PromSeries>, BlockError> {
    let b = std::fs::read(path).map_err(|e| BlockError::io(path, e))?;
    if b.len() < 5 + TOC_LEN || b[..4] != INDEX_MAGIC || b[4] != 2 {
        return Err(bad(path, "not a Prometheus index of format version 2"));
    }
    let toc = &b[b.len() - TOC_LEN..];
    if crc32c::crc32c(&toc[..TOC_LEN - 4]).to_be_bytes() != toc[TOC_LEN - 4..] {
        return Err(bad(path, "index table of contents checksum mismatch"));
    }
    let off = |i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&toc[i * 8..i * 8 + 8]);
        u64::from_be_bytes(a) as usize
    };
    let (symbols_at, series_at) = (off(0), off(1));
    let series_end = (2..6)
        .map(off)
        .filter(|&o| o > series_at)
        .min()
        .unwrap_or(b.len() - TOC_LEN);
    let mut s = Buf {
        b: &b,
        pos: symbols_at,
    };
    let corrupt = |what: &str| bad(path, format!("index {what} is damaged"));
    let len = s.u32_be().ok_or_else(|| corrupt("symbol table"))? as usize;
    let n = s.u32_be().ok_or_else(|| corrupt("symbol table"))? as usize;
    if n > len {
        return Err(corrupt("symbol table"));
    }
    let mut symbols = Vec::with_capacity(n);
    for _ in 0..n {
        let l = s.uvarint().ok_or_else(|| corrupt("symbol table"))? as usize;
        let raw = s.bytes(l).ok_or_else(|| corrupt("symbol table"))?;
        let st = std::str::from_utf8(raw).map_err(|_| corrupt("symbol (not UTF-8)"))?;
        symbols.push(st.to_string());
    }
    let sym = |i: u64| {
        symbols
            .get(i as usize)
            .ok_or_else(|| corrupt("symbol reference"))
    };
    let mut out = Vec::new();
    let mut pos = series_at;
    while pos < series_end {
        pos = pos.div_ceil(16) * 16;
        let mut e = Buf {
            b: &b[..series_end],
            pos,
        };
        let Some(len) = e.uvarint().filter(|&l| l > 0) else {
            break;
        };
        let body_at = e.pos;
        let body = e
            .bytes(len as usize)
            .ok_or_else(|| corrupt("series entry"))?;
        let crc = e.bytes(4).ok_or_else(|| corrupt("series entry"))?;
        if crc32c::crc32c(body).to_be_bytes() != crc {
            return Err(corrupt(&format!("series entry at {pos} (checksum)")));
        }
        let mut d = Buf { b: body, pos: 0 };
        let err = || corrupt(&format!("series entry at {pos}"));
        let nl = d.uvarint().ok_or_else(err)?;
        let mut labels = Vec::new();
        for _ in 0..nl.min(body.len() as u64) {
            let name = sym(d.uvarint().ok_or_else(err)?)?;
            let value = sym(d.uvarint().ok_or_else(err)?)?;
            labels.push(Label::new(name.as_str(), value.as_str()));
        }
        let nc = d.uvarint().ok_or_else(err)?;
        let mut chunks = Vec::new();
        let mut r = 0u64;
        for i in 0..nc.min(body.len() as u64) {
            if i == 0 {
                d.varint().ok_or_else(err)?;
                d.uvarint().ok_or_else(err)?;
                r = d.uvarint().ok_or_else(err)?;
            } else {
                d.uvarint().ok_or_else(err)?;
                d.uvarint().ok_or_else(err)?;
                r = r.wrapping_add(d.varint().ok_or_else(err)? as u64);
            }
            chunks.push(r);
        }
        let labels = Labels::new(labels).map_err(|e| bad(path, format!("series at {pos}: {e}")))?;
        out.push(PromSeries { labels, chunks });
        pos = body_at + len as usize + 4;
    }
    Ok(out)
}

/// Prometheus' chunk segment files of a block, read whole.
struct ChunkFiles {
    files: Vec<Vec<u8>>,
}

impl ChunkFiles {
    fn open(dir: &Path) -> Result<ChunkFiles, BlockError> {
        let mut files = Vec::new();
        for i in 1.. {
            let p = dir.join(format!("{i:06}"));
            match std::fs::read(&p) {
                Ok(b) if b.len() >= 8 && b[..4] == CHUNKS_MAGIC => files.push(b),
                Ok(_) => return Err(bad(&p, "not a Prometheus chunk file")),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => return Err(BlockError::io(&p, e)),
            }
        }
        Ok(ChunkFiles { files })
    }

    /// The encoding byte and data of the chunk at `r`, its checksum verified.
    fn chunk(&self, dir: &Path, r: u64) -> Result<(u8, &[u8]), BlockError> {
        let err = || bad(dir, format!("chunk reference {r:#x} is damaged"));
        let file = self.files.get((r >> 32) as usize).ok_or_else(err)?;
        let mut b = Buf {
            b: file,
            pos: (r & 0xffff_ffff) as usize,
        };
        let len = b.uvarint().ok_or_else(err)? as usize;
        let enc_data = b.bytes(len + 1).ok_or_else(err)?;
        let crc = b.bytes(4).ok_or_else(err)?;
        if crc32c::crc32c(enc_data).to_be_bytes() != crc {
            return Err(bad(dir, format!("chunk {r:#x}: checksum mismatch")));
        }
        Ok((enc_data[0], &enc_data[1..]))
    }
}

/// Writes the Prometheus block at `src` as a bongsu block under `dest` (a data directory's
/// block folder). Returns its meta, or `None` if the block holds no samples.
pub fn import_prometheus_block(src: &Path, dest: &Path) -> Result<Option<BlockMeta>, BlockError> {
    let meta_path = src.join("meta.json");
    let raw = std::fs::read(&meta_path).map_err(|e| BlockError::io(&meta_path, e))?;
    let meta: serde_json::Value =
        serde_json::from_slice(&raw).map_err(|e| bad(&meta_path, e.to_string()))?;
    let (Some(mint), Some(maxt)) = (meta["minTime"].as_i64(), meta["maxTime"].as_i64()) else {
        return Err(bad(&meta_path, "minTime and maxTime are missing"));
    };
    if std::fs::metadata(src.join("tombstones")).is_ok_and(|m| m.len() > EMPTY_TOMBSTONES_LEN) {
        return Err(bad(
            src,
            "the block has deletions (tombstones); clean them with Prometheus' admin API first",
        ));
    }
    let mut series = read_index(&src.join("index"))?;
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    let chunk_dir = src.join("chunks");
    let files = ChunkFiles::open(&chunk_dir)?;
    let mut w = BlockWriter::new(dest, mint, maxt, 1, Vec::new())?;
    let result = (|| {
        let (mut samples, mut hists) = (Vec::<Sample>::new(), Vec::<HistogramSample>::new());
        for s in series {
            samples.clear();
            hists.clear();
            for &r in &s.chunks {
                let (enc, data) = files.chunk(&chunk_dir, r)?;
                let e = Encoding::from_prometheus(enc).ok_or_else(|| {
                    bad(
                        &chunk_dir,
                        format!("chunk {r:#x} has unknown encoding {enc}"),
                    )
                })?;
                let decoded = match e {
                    Encoding::Xor => decode_prometheus_xor(data, &mut samples),
                    _ => decode_histograms(e, data, &mut hists),
                };
                decoded.map_err(|err| bad(&chunk_dir, format!("chunk {r:#x}: {err}")))?;
            }
            // Samples outside the block's range are left out, as a query of the block would
            // not see them either.
            samples.retain(|x| x.t >= mint && x.t < maxt);
            hists.retain(|x| x.t >= mint && x.t < maxt);
            w.add_series_with_histograms(s.labels, &samples, &hists)?;
        }
        Ok::<(), BlockError>(())
    })();
    match result {
        Ok(()) => w.finish(),
        Err(e) => {
            w.abort();
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use bongsu_model::{HistogramValue, Matcher};
    use bongsu_storage::Queryable;

    use super::*;
    use crate::{Db, DbOptions};

    /// A snapshot of Prometheus 3.5.3 after `benches/lib/push_histograms.py --hosts 1
    /// --hours 0.1` and `push_float_histograms.py --series 1 --hours 0.1`.
    #[test]
    fn imports_a_prometheus_block_with_histograms() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/prometheus-3.5-block");
        let d = tempfile::tempdir().unwrap();
        let meta = import_prometheus_block(&src, d.path()).unwrap().unwrap();
        assert_eq!(meta.stats.num_series, 4 + 4 * 14 + 4);
        let db = Db::open(
            d.path(),
            DbOptions {
                retention_ms: 0,
                ..DbOptions::default()
            },
        )
        .unwrap();
        let q = db.querier(i64::MIN, i64::MAX).unwrap();
        let all = q
            .select(&[Matcher::new(bongsu_model::MatchOp::Regex, "__name__", ".+").unwrap()])
            .unwrap();
        let floats: usize = all.iter().map(|s| s.samples.len()).sum();
        let hists: usize = all.iter().map(|s| s.histograms.len()).sum();
        assert_eq!((floats, hists), (1344, 96 + 96));
        // The classic histogram was pushed from the same observations as the native one:
        // `_count` and `_sum` equal the native count and sum at every time.
        let by_handler = |name: &str| -> BTreeMap<(String, i64), (f64, f64)> {
            let mut out = BTreeMap::new();
            for s in q.select(&[Matcher::equal("__name__", name)]).unwrap() {
                let handler = s.labels.get("handler").unwrap_or_default().to_string();
                for h in &s.histograms {
                    let f = h.h.to_float();
                    out.insert((handler.clone(), h.t), (f.count, f.sum));
                }
                for x in &s.samples {
                    out.entry((handler.clone(), x.t)).or_insert((0.0, 0.0)).0 = x.v;
                }
            }
            out
        };
        let native = by_handler("request_duration_native_seconds");
        let count = by_handler("request_duration_classic_seconds_count");
        let sum = by_handler("request_duration_classic_seconds_sum");
        assert_eq!(native.len(), 96);
        for (k, (c, s)) in &native {
            assert_eq!(count[k].0, *c, "{k:?}");
            assert_eq!(sum[k].0, *s, "{k:?}");
        }
        let kinds: Vec<bool> = all
            .iter()
            .filter(|s| s.labels.get("__name__") == Some("histogram_nhcb_float"))
            .flat_map(|s| {
                s.histograms
                    .iter()
                    .map(|h| matches!(h.h, HistogramValue::Float(_)))
            })
            .collect();
        assert!(!kinds.is_empty() && kinds.iter().all(|f| *f));
    }
}
