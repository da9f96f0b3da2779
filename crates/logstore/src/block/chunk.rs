//! One chunk's columns: encoding a run of a stream's entries, and decoding them back with lines
//! borrowed from the decompressed buffer.
//!
//! A chunk is up to `chunk_max_lines` entries of one stream in time order, stored as separate
//! zstd frames (content checksum on) so a reader decompresses only what it needs:
//! timestamps (deltas split into byte planes: the high bytes of similar deltas compress, the
//! random low ones cost what they must), lines (text, then lengths), and structured metadata
//! (one column per key), then the chunk's filter. Bytes in `docs/format/logs-block.md`.

use std::collections::BTreeMap;

use crate::encoding::{put_str, put_uvarint, DecodeError, Decoder};
use crate::filter;
use crate::head::Row;
use crate::timefmt;
use crate::tokens::{line_keys, GramSet};

/// Largest decompressed frame a reader accepts: far above any chunk the writer makes (its line
/// bytes are bounded by `chunk_max_bytes` plus one line), so only damage reaches it.
pub const MAX_FRAME_RAW: usize = 64 * 1024 * 1024;
/// zstd level of the timestamp column: its bytes are mostly random, so effort buys nothing.
const TS_LEVEL: i32 = 1;

/// How a timestamp plane is stored.
const PLANE_RAW: u8 = 0;
const PLANE_ZSTD: u8 = 1;

/// Flag in the lines column's trailer: lines are joined by `\n`, no lengths follow.
const JOINED: u32 = 1 << 31;
/// Flag in the lines column's trailer: lines hold time markers (`timefmt`).
const MARKED: u32 = 1 << 30;

/// Where a chunk's frames are and what they hold; kept in the block index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    pub min_ts: i64,
    pub max_ts: i64,
    pub count: u32,
    /// Uncompressed bytes of lines and metadata (Loki's "bytes" in stats and volume).
    pub raw_bytes: u64,
    /// Offset of the first frame in the block file; the others follow in order.
    pub off: u64,
    pub ts_len: u32,
    pub lines_len: u32,
    pub meta_len: u32,
    pub filter_len: u32,
    pub filter_crc: u32,
}

impl ChunkMeta {
    pub fn total_len(&self) -> u64 {
        u64::from(self.ts_len)
            + u64::from(self.lines_len)
            + u64::from(self.meta_len)
            + u64::from(self.filter_len)
    }
}

/// Reusable state for encoding chunks.
pub struct ChunkEncoder {
    lines: zstd::bulk::Compressor<'static>,
    ts: zstd::bulk::Compressor<'static>,
    raw: Vec<u8>,
    keys: Vec<u64>,
    grams: GramSet,
    tok: Vec<u8>,
    clock: timefmt::Clock,
    scratch: Vec<u8>,
    /// zstd level of the line and metadata columns.
    pub level: i32,
}

impl ChunkEncoder {
    pub fn new(level: i32) -> std::io::Result<ChunkEncoder> {
        let mut lines = zstd::bulk::Compressor::new(level)?;
        lines.include_checksum(true)?;
        // The timestamp column has its own CRC.
        let ts = zstd::bulk::Compressor::new(TS_LEVEL)?;
        Ok(ChunkEncoder {
            lines,
            ts,
            raw: Vec::new(),
            keys: Vec::new(),
            grams: GramSet::default(),
            tok: Vec::new(),
            clock: timefmt::Clock::default(),
            scratch: Vec::new(),
            level,
        })
    }

    /// Appends the chunk of `entries` (non-empty, sorted by time) to `out`, whose length is the
    /// chunk's offset in the file minus `base`.
    pub fn encode(
        &mut self,
        entries: &[Row<'_>],
        base: u64,
        out: &mut Vec<u8>,
    ) -> std::io::Result<ChunkMeta> {
        let off = base + out.len() as u64;
        let min_ts = entries[0].ts;
        let max_ts = entries[entries.len() - 1].ts;

        // Timestamps: deltas as byte planes, as many planes as the largest delta needs.
        let deltas: Vec<u64> = entries
            .windows(2)
            .map(|w| w[1].ts.wrapping_sub(w[0].ts) as u64)
            .collect();
        let max = deltas.iter().copied().max().unwrap_or(0);
        let planes = (8 - max.leading_zeros() as usize / 8).min(8);
        self.raw.clear();
        self.raw.push(planes as u8);
        for p in 0..planes {
            self.raw.extend(deltas.iter().map(|d| (d >> (8 * p)) as u8));
        }
        // Each plane alone: one Huffman table over random low bytes and skewed high ones
        // would serve neither. A plane zstd cannot shrink is stored raw.
        let start = out.len();
        let n = deltas.len();
        out.push(planes as u8);
        for p in 0..planes {
            let plane = &self.raw[1 + p * n..1 + (p + 1) * n];
            let z = self.ts.compress(plane)?;
            if z.len() < plane.len() {
                out.push(PLANE_ZSTD);
                put_uvarint(out, z.len() as u64);
                out.extend_from_slice(&z);
            } else {
                out.push(PLANE_RAW);
                put_uvarint(out, n as u64);
                out.extend_from_slice(plane);
            }
        }
        let crc = crc32c::crc32c(&out[start..]);
        out.extend_from_slice(&crc.to_le_bytes());
        let ts_len = (out.len() - start) as u32;

        // Lines: the text, then the lengths, then the text's length, so a reader can take the
        // text as one `String` (validated once). Lines without a newline (nearly all) are
        // joined by newlines instead of given lengths: lengths cost a byte per line even
        // compressed, a newline next to nothing. Each line's own time is replaced by a marker
        // (`timefmt`) unless a line holds the marker byte already.
        self.raw.clear();
        let joined = entries
            .iter()
            .all(|e| memchr::memchr(b'\n', e.line.as_bytes()).is_none());
        let marked = entries
            .iter()
            .all(|e| memchr::memchr(timefmt::MARK, e.line.as_bytes()).is_none());
        let mut lens = Vec::with_capacity(if joined { 0 } else { entries.len() });
        for (i, e) in entries.iter().enumerate() {
            if joined && i > 0 {
                self.raw.push(b'\n');
            }
            let start = self.raw.len();
            if marked {
                timefmt::mark(
                    e.ts,
                    e.line.as_bytes(),
                    &mut self.clock,
                    &mut self.scratch,
                    &mut self.raw,
                );
            } else {
                self.raw.extend_from_slice(e.line.as_bytes());
            }
            if !joined {
                lens.push(self.raw.len() - start);
            }
        }
        let text_len = self.raw.len() as u32;
        for n in lens {
            put_uvarint(&mut self.raw, n as u64);
        }
        let flags = if joined { JOINED } else { 0 } | if marked { MARKED } else { 0 };
        self.raw
            .extend_from_slice(&(text_len | flags).to_le_bytes());
        let start = out.len();
        out.extend_from_slice(&self.lines.compress(&self.raw)?);
        let lines_len = (out.len() - start) as u32;

        // Metadata: one column per key, present only if any entry has some.
        let mut meta_len = 0;
        if entries.iter().any(|e| !e.metadata.is_empty()) {
            let mut cols: BTreeMap<&str, Vec<Option<&str>>> = BTreeMap::new();
            for (i, e) in entries.iter().enumerate() {
                for (k, v) in e.metadata.iter() {
                    cols.entry(k).or_insert_with(|| vec![None; entries.len()])[i] = Some(v);
                }
            }
            self.raw.clear();
            put_uvarint(&mut self.raw, cols.len() as u64);
            for (k, vals) in &cols {
                put_str(&mut self.raw, k);
                for v in vals {
                    match v {
                        None => put_uvarint(&mut self.raw, 0),
                        Some(v) => {
                            put_uvarint(&mut self.raw, v.len() as u64 + 1);
                            self.raw.extend_from_slice(v.as_bytes());
                        }
                    }
                }
            }
            let start = out.len();
            out.extend_from_slice(&self.lines.compress(&self.raw)?);
            meta_len = (out.len() - start) as u32;
        }

        self.keys.clear();
        self.grams.clear();
        for e in entries {
            line_keys(
                e.line.as_bytes(),
                &mut self.keys,
                &mut self.grams,
                &mut self.tok,
            );
        }
        let start = out.len();
        filter::build(&mut self.keys, &self.grams, out);
        let filter_len = (out.len() - start) as u32;
        let filter_crc = crc32c::crc32c(&out[start..]);

        Ok(ChunkMeta {
            min_ts,
            max_ts,
            count: entries.len() as u32,
            raw_bytes: entries.iter().map(|e| e.size() as u64).sum(),
            off,
            ts_len,
            lines_len,
            meta_len,
            filter_len,
            filter_crc,
        })
    }

    /// Appends chunk `c` (its bytes `bytes`, from another block) to `out` at file offset `off`,
    /// with its line and metadata frames compressed again at this encoder's level.
    pub fn recompress(
        &mut self,
        bytes: &[u8],
        c: &ChunkMeta,
        off: u64,
        out: &mut Vec<u8>,
    ) -> Result<ChunkMeta, String> {
        let (ts, rest) = bytes.split_at(c.ts_len as usize);
        let (lines, rest) = rest.split_at(c.lines_len as usize);
        let (meta, filter) = rest.split_at(c.meta_len as usize);
        let mut m = *c;
        m.off = off;
        out.extend_from_slice(ts);
        for (frame, len) in [(lines, &mut m.lines_len), (meta, &mut m.meta_len)] {
            if frame.is_empty() {
                continue;
            }
            let mut d = zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?;
            decompress(&mut d, frame, &mut self.raw)?;
            let start = out.len();
            out.extend_from_slice(&self.lines.compress(&self.raw).map_err(|e| e.to_string())?);
            *len = (out.len() - start) as u32;
        }
        out.extend_from_slice(filter);
        Ok(m)
    }
}

/// Decompresses one frame into `out` (replacing its contents), within [`MAX_FRAME_RAW`].
pub fn decompress(
    d: &mut zstd::bulk::Decompressor<'static>,
    frame: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) if n <= MAX_FRAME_RAW as u64 => n as usize,
        Ok(n) => {
            return Err(format!(
                "frame content size {n:?} missing or over the limit"
            ))
        }
        Err(e) => return Err(format!("bad zstd frame header: {e:?}")),
    };
    out.clear();
    out.reserve(size);
    d.decompress_to_buffer(frame, out)
        .map_err(|e| format!("zstd: {e}"))?;
    if out.len() != size {
        return Err("frame decompressed to a different size than its header says".into());
    }
    Ok(())
}

/// Timestamps of a chunk from its timestamp column (`planes`, each raw or a zstd frame, then a
/// CRC32C of all that).
pub fn decode_ts(
    col: &[u8],
    count: usize,
    min_ts: i64,
    d: &mut zstd::bulk::Decompressor<'static>,
    scratch: &mut Vec<u8>,
    out: &mut Vec<i64>,
) -> Result<(), String> {
    let n = count.saturating_sub(1);
    let (body, crc) = col.split_at(
        col.len()
            .checked_sub(4)
            .ok_or("timestamp column too short")?,
    );
    if crc32c::crc32c(body).to_le_bytes() != crc {
        return Err("timestamp column checksum mismatch".into());
    }
    let mut dec = Decoder::new(body);
    let e = |e: DecodeError| e.to_string();
    let planes = dec.bytes(1).map_err(e)?[0] as usize;
    if planes > 8 {
        return Err(format!("{planes} timestamp planes"));
    }
    let mut deltas = vec![0u64; n];
    for p in 0..planes {
        let mode = dec.bytes(1).map_err(e)?[0];
        let len = dec
            .uvarint_max("plane length", dec.remaining() as u64)
            .map_err(e)? as usize;
        let bytes = dec.bytes(len).map_err(e)?;
        let plane = match mode {
            PLANE_RAW => bytes,
            PLANE_ZSTD => {
                decompress(d, bytes, scratch)?;
                scratch.as_slice()
            }
            m => return Err(format!("timestamp plane mode {m}")),
        };
        if plane.len() != n {
            return Err("timestamp plane of the wrong length".into());
        }
        for (d, &b) in deltas.iter_mut().zip(plane) {
            *d |= u64::from(b) << (8 * p);
        }
    }
    if dec.remaining() != 0 {
        return Err("trailing timestamp bytes".into());
    }
    out.clear();
    out.reserve(count);
    if count == 0 {
        return Ok(());
    }
    let mut t = min_ts;
    out.push(t);
    for d in deltas {
        t = t.wrapping_add(d as i64);
        out.push(t);
    }
    Ok(())
}

/// A chunk's lines: the text as one validated `String`, and where each line ends.
#[derive(Default)]
pub struct Lines {
    pub text: String,
    /// `ends[i]` is the end of line `i` in `text`; line `i` starts at `ends[i - 1] + sep` (or 0).
    pub ends: Vec<u32>,
    /// 1 when lines are joined by a newline, 0 when they follow each other.
    sep: usize,
    /// The other text buffer while markers are printed back, kept for its allocation.
    spare: String,
    clock: timefmt::Clock,
}

impl Lines {
    /// From the decompressed lines column (consumed: the text becomes `self.text`, or, when it
    /// holds time markers, the text with them printed back for the timestamps `ts`).
    pub fn decode(&mut self, mut raw: Vec<u8>, ts: &[i64]) -> Result<(), String> {
        let count = ts.len();
        let n = raw.len();
        if n < 4 {
            return Err("lines column too short".into());
        }
        let trailer = u32::from_le_bytes([raw[n - 4], raw[n - 3], raw[n - 2], raw[n - 1]]);
        let text_len = (trailer & !(JOINED | MARKED)) as usize;
        if text_len > n - 4 {
            return Err("lines column text length past its end".into());
        }
        self.ends.clear();
        self.ends.reserve(count);
        if trailer & JOINED != 0 {
            if text_len != n - 4 {
                return Err("joined lines column has bytes after its text".into());
            }
            raw.truncate(text_len);
            self.sep = 1;
            self.ends
                .extend(memchr::memchr_iter(b'\n', &raw).map(|i| i as u32));
            self.ends.push(text_len as u32);
            if self.ends.len() != count {
                return Err("joined lines column has a different number of lines".into());
            }
        } else {
            let tail = raw[text_len..n - 4].to_vec();
            raw.truncate(text_len);
            self.sep = 0;
            let mut d = Decoder::new(&tail);
            let mut end = 0usize;
            for _ in 0..count {
                end += d
                    .uvarint_max("line length", (text_len - end) as u64)
                    .map_err(|e| e.to_string())? as usize;
                self.ends.push(end as u32);
            }
            if end != text_len || d.remaining() != 0 {
                return Err("line lengths do not add up to the text".into());
            }
        }
        self.text = String::from_utf8(raw).map_err(|_| "lines are not UTF-8".to_string())?;
        if !self
            .ends
            .iter()
            .all(|&e| self.text.is_char_boundary(e as usize))
        {
            return Err("a line ends inside a UTF-8 character".into());
        }
        if trailer & MARKED != 0 {
            self.unmark(ts)?;
        }
        Ok(())
    }

    /// Prints the time markers of every line back.
    fn unmark(&mut self, ts: &[i64]) -> Result<(), String> {
        let marked = std::mem::take(&mut self.text);
        let mut text = std::mem::take(&mut self.spare);
        text.clear();
        text.reserve(marked.len() + marked.len() / 8);
        let ok = timefmt::unmark(
            &marked,
            &mut self.ends,
            self.sep,
            ts,
            &mut self.clock,
            &mut text,
        );
        self.text = text;
        self.spare = marked;
        ok.ok_or_else(|| "a damaged time marker".to_string())
    }

    /// Line `i` (< count).
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 {
            0
        } else {
            self.ends[i - 1] as usize + self.sep
        };
        // Boundaries were checked in `decode`, so this never falls back.
        self.text.get(start..self.ends[i] as usize).unwrap_or("")
    }
}

/// A chunk's metadata columns: per key, each line's value (as a range into `text`) or none.
#[derive(Default)]
pub struct Metadata {
    text: String,
    keys: Vec<(u32, u32)>,
    /// `cols[k][i]`: value of key `k` for line `i`, as `(start, end)`; `(0, u32::MAX)` = absent.
    cols: Vec<Vec<(u32, u32)>>,
}

const ABSENT: (u32, u32) = (0, u32::MAX);

impl Metadata {
    pub fn clear(&mut self) {
        self.keys.clear();
        self.cols.clear();
    }

    pub fn decode(&mut self, raw: Vec<u8>, count: usize) -> Result<(), String> {
        self.clear();
        self.text = String::from_utf8(raw).map_err(|_| "metadata is not UTF-8".to_string())?;
        let bytes = self.text.as_bytes();
        let mut d = Decoder::new(bytes);
        let e = |e: DecodeError| e.to_string();
        let nkeys = d
            .uvarint_max("metadata key count", bytes.len() as u64)
            .map_err(e)? as usize;
        for _ in 0..nkeys {
            let start = d.pos();
            let k = d.str().map_err(e)?;
            let kstart = (start + (d.pos() - start - k.len())) as u32;
            self.keys.push((kstart, kstart + k.len() as u32));
            let mut col = Vec::with_capacity(count);
            for _ in 0..count {
                let n = d
                    .uvarint_max("metadata value length", d.remaining() as u64 + 1)
                    .map_err(e)? as usize;
                if n == 0 {
                    col.push(ABSENT);
                } else {
                    let s = d.pos();
                    d.bytes(n - 1).map_err(e)?;
                    col.push((s as u32, (s + n - 1) as u32));
                }
            }
            self.cols.push(col);
        }
        if d.remaining() != 0 {
            return Err("trailing metadata bytes".into());
        }
        let ok = |&(s, t): &(u32, u32)| {
            self.text.is_char_boundary(s as usize) && self.text.is_char_boundary(t as usize)
        };
        if !self.keys.iter().all(ok)
            || !self.cols.iter().flatten().filter(|r| **r != ABSENT).all(ok)
        {
            return Err("metadata splits a UTF-8 character".into());
        }
        Ok(())
    }

    /// The `(name, value)` pairs of line `i`, sorted by name.
    pub fn pairs(&self, i: usize) -> impl Iterator<Item = (&str, &str)> {
        let get = |(s, t): (u32, u32)| self.text.get(s as usize..t as usize).unwrap_or("");
        self.keys
            .iter()
            .zip(&self.cols)
            .filter_map(move |(&k, col)| match col.get(i) {
                Some(&v) if v != ABSENT => Some((get(k), get(v))),
                _ => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::head::HeadEntry;

    #[test]
    fn round_trip() {
        check(false);
        check(true);
    }

    /// Encodes and decodes 300 entries; with `multiline`, one line holds a newline.
    fn check(multiline: bool) {
        let entries: Vec<HeadEntry> = (0..300)
            .map(|i| HeadEntry {
                ts: 1_700_000_000_000_000_000 + i * i * 1_234_567,
                line: if multiline && i == 7 {
                    "two\nlines".into()
                } else {
                    format!("line {i} µs={} at 2023-11-14T22:13:20", i * 3).into()
                },
                metadata: if i % 3 == 0 {
                    vec![
                        ("trace".into(), format!("t{i}").into()),
                        ("u".into(), "".into()),
                    ]
                    .into()
                } else {
                    Box::new([])
                },
            })
            .collect();
        let refs: Vec<Row<'_>> = entries.iter().map(HeadEntry::row).collect();
        let mut enc = ChunkEncoder::new(3).unwrap();
        let mut out = vec![0u8; 10];
        let m = enc.encode(&refs, 100, &mut out).unwrap();
        assert_eq!((m.off, m.count, m.min_ts), (110, 300, entries[0].ts));
        assert_eq!(m.total_len() as usize, out.len() - 10);
        let mut d = zstd::bulk::Decompressor::new().unwrap();
        let mut raw = Vec::new();
        let mut at = 10;
        let mut ts = Vec::new();
        decode_ts(
            &out[at..at + m.ts_len as usize],
            300,
            m.min_ts,
            &mut d,
            &mut raw,
            &mut ts,
        )
        .unwrap();
        assert_eq!(ts, entries.iter().map(|e| e.ts).collect::<Vec<_>>());
        at += m.ts_len as usize;
        decompress(&mut d, &out[at..at + m.lines_len as usize], &mut raw).unwrap();
        let mut lines = Lines::default();
        lines.decode(std::mem::take(&mut raw), &ts).unwrap();
        at += m.lines_len as usize;
        decompress(&mut d, &out[at..at + m.meta_len as usize], &mut raw).unwrap();
        let mut meta = Metadata::default();
        meta.decode(std::mem::take(&mut raw), 300).unwrap();
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(lines.get(i), &*e.line);
            let got: Vec<(&str, &str)> = meta.pairs(i).collect();
            let want: Vec<(&str, &str)> = e.metadata.iter().map(|(k, v)| (&**k, &**v)).collect();
            assert_eq!(got, want);
        }
    }
}
