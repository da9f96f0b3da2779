//! A chunk's filter: can this chunk hold a line containing a needle? Sound (never "no" when a
//! line contains it), small, and read in place from the memory-mapped block.
//!
//! Two parts, over the keys of `tokens`: a binary fuse filter (8-bit fingerprints, ≈9 bits per
//! key, 0.4% false positives; `xorf`) of the whole-token and infix keys, and a trigram bitmap
//! sized to the chunk (about 4 bits per distinct trigram, at most [`MAX_GRAM_BITS`]). Byte layout
//! in `docs/format/logs-block.md` (section "Filter").
//!
//! Not here: which keys a line or needle has (`tokens`); checksums (the block index holds a
//! CRC of each filter).

use xorf::{BinaryFuse8, BinaryFuse8Ref, DmaSerializable, Filter, FilterRef};

use crate::encoding::{put_uvarint, DecodeError, Decoder};
use crate::tokens::{trigram_bit, GramSet, Probe};

/// Largest trigram bitmap the writer makes (bits): past this a chunk's trigrams saturate it
/// anyway, and it costs at most half a byte per line of a full chunk.
pub const MAX_GRAM_BITS: usize = 4096;
/// Largest trigram bitmap the format allows (readers refuse more).
const FORMAT_MAX_GRAM_BITS: usize = 1 << 16;
const MIN_GRAM_BITS: usize = 64;
const DESCRIPTOR_LEN: usize = BinaryFuse8::DESCRIPTOR_LEN;

/// Serializes the filter of a chunk whose lines produced `keys` (sorted and deduplicated
/// here) and `grams`.
pub fn build(keys: &mut Vec<u64>, grams: &GramSet, out: &mut Vec<u8>) {
    keys.sort_unstable();
    keys.dedup();
    // A failed construction (vanishingly rare) stores no fuse filter: "maybe" for every key.
    match BinaryFuse8::try_from(keys.as_slice()) {
        Ok(f) if !keys.is_empty() => {
            put_uvarint(out, f.fingerprints.len() as u64);
            let mut d = [0u8; DESCRIPTOR_LEN];
            f.dma_copy_descriptor_to(&mut d);
            out.extend_from_slice(&d);
            out.extend_from_slice(f.dma_fingerprints());
        }
        _ => put_uvarint(out, 0),
    }
    let bits = (grams.len() * 4)
        .next_power_of_two()
        .clamp(MIN_GRAM_BITS, MAX_GRAM_BITS);
    let shift = 32 - bits.trailing_zeros();
    let mut bitmap = vec![0u8; bits / 8];
    for code in grams.codes() {
        let i = trigram_bit(code, shift);
        bitmap[i / 8] |= 1 << (i % 8);
    }
    put_uvarint(out, bits.trailing_zeros() as u64);
    out.extend_from_slice(&bitmap);
}

/// A filter read in place.
pub struct ChunkFilter<'a> {
    fuse: Option<BinaryFuse8Ref<'a>>,
    bitmap: &'a [u8],
    shift: u32,
}

impl<'a> ChunkFilter<'a> {
    /// Parses and validates (so that lookups cannot index out of bounds).
    pub fn parse(buf: &'a [u8]) -> Result<ChunkFilter<'a>, DecodeError> {
        let mut d = Decoder::new(buf);
        let n = d.uvarint_max("filter fingerprints", buf.len() as u64)? as usize;
        let fuse = if n == 0 {
            None
        } else {
            let at = d.pos();
            let desc = d.bytes(DESCRIPTOR_LEN)?;
            let fp = d.bytes(n)?;
            let u32_at = |i: usize| {
                u64::from(u32::from_le_bytes([
                    desc[i],
                    desc[i + 1],
                    desc[i + 2],
                    desc[i + 3],
                ]))
            };
            let (seg_len, mask, seg_count_len) = (u32_at(8), u32_at(12), u32_at(16));
            // Lookups index up to segment_count_length + 2 * segment_length - 1, within one
            // power-of-two segment; anything else is damage.
            if !seg_len.is_power_of_two()
                || mask != seg_len - 1
                || seg_count_len % seg_len != 0
                || seg_count_len + 2 * seg_len != n as u64
            {
                return Err(DecodeError::OutOfRange {
                    what: "filter descriptor",
                    value: seg_len,
                    at,
                });
            }
            Some(BinaryFuse8Ref::from_dma(desc, fp))
        };
        let at = d.pos();
        let log2 = d.uvarint()?;
        let bits = 1usize << log2.min(63);
        if !(MIN_GRAM_BITS..=FORMAT_MAX_GRAM_BITS).contains(&bits) || log2 > 20 {
            return Err(DecodeError::OutOfRange {
                what: "trigram bitmap size",
                value: log2,
                at,
            });
        }
        let bitmap = d.bytes(bits / 8)?;
        if d.remaining() != 0 {
            return Err(DecodeError::OutOfRange {
                what: "trailing filter bytes",
                value: d.remaining() as u64,
                at: d.pos(),
            });
        }
        Ok(ChunkFilter {
            fuse,
            bitmap,
            shift: 32 - log2 as u32,
        })
    }

    /// False only if no line of the chunk can contain the probed needle.
    pub fn may_contain(&self, p: &Probe) -> bool {
        let grams_ok = p.grams.iter().all(|&g| {
            let i = trigram_bit(g, self.shift);
            self.bitmap[i / 8] & (1 << (i % 8)) != 0
        });
        grams_ok
            && match &self.fuse {
                Some(f) => p.keys.iter().all(|k| f.contains(k)),
                None => true,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::line_keys;

    fn filter_of(lines: &[&str]) -> Vec<u8> {
        let (mut k, mut g, mut b) = (Vec::new(), GramSet::default(), Vec::new());
        for l in lines {
            line_keys(l.as_bytes(), &mut k, &mut g, &mut b);
        }
        let mut out = Vec::new();
        build(&mut k, &g, &mut out);
        out
    }

    #[test]
    fn finds_what_is_there_and_skips_what_is_not() {
        let lines: Vec<String> = (0..500)
            .map(|i| format!("GET /api/v1/item/{i} status=200 trace={:032x}", i * 7919))
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let buf = filter_of(&refs);
        let f = ChunkFilter::parse(&buf).unwrap();
        for n in [
            "/item/42 ",
            "STATUS",
            &format!("{:032x}", 42 * 7919)[3..29],
            "api",
        ] {
            assert!(f.may_contain(&Probe::for_needle(n.as_bytes())), "{n}");
        }
        for n in ["4bf92f3577b34da6a3ce929d0e0e4736", "zzq", "-POST-"] {
            assert!(!f.may_contain(&Probe::for_needle(n.as_bytes())), "{n}");
        }
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let buf = filter_of(&["a b c hello world 12345678901234567890"]);
        for i in 0..buf.len() {
            for bit in 0..8 {
                let mut b = buf.clone();
                b[i] ^= 1 << bit;
                if let Ok(f) = ChunkFilter::parse(&b) {
                    f.may_contain(&Probe::for_needle(b"-hello-world-"));
                }
            }
            let _ = ChunkFilter::parse(&buf[..i]);
        }
    }
}
