//! Bit-level writing and reading, most significant bit first, plus the byte varints the chunk
//! headers use.
//!
//! This module owns only the mechanics of bits and varints; it knows nothing of samples. Every
//! read is bounds-checked and reports [`ChunkError::Truncated`] instead of panicking, because the
//! bytes come from disk or memory that may be damaged.

use super::ChunkError;
use crate::encoding::{DecodeError, Decoder};

/// Appends bits to a byte vector. The last byte may be partly used; its unused low bits are zero,
/// so the vector is a complete, readable encoding after every write.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    buf: Vec<u8>,
    /// Bits used in the last byte of `buf`, 0 meaning "all 8" (or `buf` is empty).
    tail_bits: u32,
    /// Grow `buf` by a quarter (at least [`COMPACT_GROWTH_MIN`] bytes) instead of doubling.
    compact: bool,
}

/// Smallest step of a compact writer's growth.
const COMPACT_GROWTH_MIN: usize = 32;

impl BitWriter {
    /// A writer whose buffer grows by a quarter, at least 32 bytes, rather than doubling: for
    /// buffers that stay in memory a long time and are many, like the head's open chunks (one
    /// per series), where doubling leaves a quarter of every buffer unused on average. A
    /// growth step is still geometric, so appends stay amortized O(1).
    pub fn new_compact() -> BitWriter {
        BitWriter {
            compact: true,
            ..BitWriter::default()
        }
    }

    /// Continues writing after the existing, whole bytes of `buf`.
    pub fn from_vec(buf: Vec<u8>) -> BitWriter {
        BitWriter {
            buf,
            tail_bits: 0,
            compact: false,
        }
    }

    /// The written bytes; a partial last byte is padded with zero bits.
    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Mutable access to whole bytes already written, for in-place header updates.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    pub fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    /// Writes the low `n` bits of `v` (`n` ≤ 64), most significant first.
    pub fn write_bits(&mut self, v: u64, n: u32) {
        debug_assert!(n <= 64);
        if n == 0 {
            return;
        }
        let mut left = n;
        while left > 0 {
            if self.tail_bits == 0 {
                if self.compact && self.buf.len() == self.buf.capacity() {
                    self.buf
                        .reserve_exact((self.buf.len() / 4).max(COMPACT_GROWTH_MIN));
                }
                self.buf.push(0);
            }
            let free = 8 - self.tail_bits;
            let take = free.min(left);
            // The `take` bits of `v` just below the `left - take` lowest ones.
            let chunk = (v >> (left - take)) & ((1u64 << take) - 1);
            let last = self.buf.len() - 1;
            self.buf[last] |= (chunk << (free - take)) as u8;
            left -= take;
            self.tail_bits = (self.tail_bits + take) % 8;
        }
    }

    /// Writes a LEB128 varint as 8-bit groups (works at any bit offset).
    pub fn write_uvarint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.write_bits((v & 0x7f) | 0x80, 8);
            v >>= 7;
        }
        self.write_bits(v, 8);
    }
}

/// Reads bits from a byte slice, most significant first.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Position in bits from the start of `data`.
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> BitReader<'a> {
        BitReader { data, pos: 0 }
    }

    fn bits_left(&self) -> usize {
        self.data.len() * 8 - self.pos
    }

    /// Bytes touched so far (a partly read byte counts as consumed).
    pub fn bytes_consumed(&self) -> usize {
        self.pos.div_ceil(8)
    }

    /// The next 64 bits without consuming them, zero-padded past the end of the data.
    fn peek64(&self) -> u64 {
        let start = self.pos / 8;
        let shift = (self.pos % 8) as u32;
        // Nine bytes cover 64 bits at any bit offset.
        let wide = match self.data.get(start..start + 16) {
            Some(bytes) => {
                let mut window = [0u8; 16];
                window.copy_from_slice(bytes);
                u128::from_be_bytes(window)
            }
            None => {
                let mut window = [0u8; 16];
                let avail = self.data.len().saturating_sub(start).min(9);
                window[..avail].copy_from_slice(&self.data[start..start + avail]);
                u128::from_be_bytes(window)
            }
        };
        ((wide << shift) >> 64) as u64
    }

    pub fn read_bit(&mut self, what: &'static str) -> Result<bool, ChunkError> {
        Ok(self.read_bits(1, what)? == 1)
    }

    /// Reads `n` bits (`n` ≤ 64). `what` names the field for the error message.
    pub fn read_bits(&mut self, n: u32, what: &'static str) -> Result<u64, ChunkError> {
        debug_assert!(n <= 64);
        if n == 0 {
            return Ok(0);
        }
        if (n as usize) > self.bits_left() {
            return Err(ChunkError::Truncated { what });
        }
        let v = self.peek64() >> (64 - n);
        self.pos += n as usize;
        Ok(v)
    }

    /// Counts zero bits up to `limit` (≤ 32). If a one bit comes first it is consumed too and the
    /// count of zeros before it is returned; if `limit` zeros come first, exactly those are
    /// consumed and `limit` is returned.
    pub fn read_zeros_then_one(
        &mut self,
        limit: u32,
        what: &'static str,
    ) -> Result<u32, ChunkError> {
        debug_assert!(limit <= 32);
        let zeros = self.peek64().leading_zeros().min(limit);
        let used = if zeros < limit { zeros + 1 } else { zeros };
        if used as usize > self.bits_left() {
            return Err(ChunkError::Truncated { what });
        }
        self.pos += used as usize;
        Ok(zeros)
    }

    /// Reads a varint written by [`BitWriter::write_uvarint`].
    pub fn read_uvarint(&mut self, what: &'static str) -> Result<u64, ChunkError> {
        let mut v = 0u64;
        for i in 0..MAX_VARINT_LEN {
            let byte = self.read_bits(8, what)?;
            v = add_varint_group(v, byte as u8, i, what)?;
            if byte < 0x80 {
                return Ok(v);
            }
        }
        Err(ChunkError::Corrupt { what })
    }
}

/// Longest LEB128 encoding of a u64.
const MAX_VARINT_LEN: usize = 10;

/// Folds group `i` of a varint into `v`, rejecting bits beyond 64.
fn add_varint_group(v: u64, byte: u8, i: usize, what: &'static str) -> Result<u64, ChunkError> {
    let group = u64::from(byte & 0x7f);
    if i == MAX_VARINT_LEN - 1 && group > 1 {
        return Err(ChunkError::Corrupt { what });
    }
    Ok(v | group << (7 * i))
}

pub use crate::encoding::{put_uvarint, unzigzag, zigzag};

/// Reads a LEB128 varint at `*pos`, advancing it.
pub fn get_uvarint(buf: &[u8], pos: &mut usize, what: &'static str) -> Result<u64, ChunkError> {
    let mut d = Decoder::at(buf, *pos);
    let v = d.uvarint().map_err(|e| match e {
        DecodeError::Eof(_) => ChunkError::Truncated { what },
        _ => ChunkError::Corrupt { what },
    })?;
    *pos = d.pos();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn bits_round_trip(fields in proptest::collection::vec((any::<u64>(), 0u32..=64), 0..200)) {
            let mut w = BitWriter::default();
            for &(v, n) in &fields {
                w.write_bits(v, n);
            }
            let total: u32 = fields.iter().map(|f| f.1).sum();
            prop_assert_eq!(w.bytes().len(), total.div_ceil(8) as usize);
            let bytes = w.into_vec();
            let mut r = BitReader::new(&bytes);
            for &(v, n) in &fields {
                let want = if n == 64 { v } else { v & ((1u64 << n) - 1) };
                prop_assert_eq!(r.read_bits(n, "test").unwrap(), want);
            }
        }

        #[test]
        fn varints_round_trip(vs in proptest::collection::vec(any::<u64>(), 0..50), skew in 0u32..8) {
            let mut out = Vec::new();
            let mut w = BitWriter::default();
            w.write_bits(0, skew);
            for &v in &vs {
                put_uvarint(&mut out, v);
                w.write_uvarint(v);
            }
            let bits = w.into_vec();
            let mut pos = 0;
            let mut r = BitReader::new(&bits);
            r.read_bits(skew, "skew").unwrap();
            for &v in &vs {
                prop_assert_eq!(get_uvarint(&out, &mut pos, "test").unwrap(), v);
                prop_assert_eq!(r.read_uvarint("test").unwrap(), v);
            }
            prop_assert_eq!(pos, out.len());
        }

        #[test]
        fn zigzag_round_trips(v in any::<i64>()) {
            prop_assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn compact_writer_grows_by_a_quarter() {
        let mut w = BitWriter::new_compact();
        let mut plain = BitWriter::default();
        for i in 0..1000u64 {
            w.write_bits(i, 8);
            plain.write_bits(i, 8);
            let len = w.bytes().len();
            // Never more than a growth step of slack, whatever the length.
            assert!(
                w.capacity() <= len + (len / 4).max(COMPACT_GROWTH_MIN),
                "{len}"
            );
        }
        assert_eq!(w.bytes(), plain.bytes());
    }

    #[test]
    fn reads_past_the_end_fail() {
        let mut r = BitReader::new(&[0xff]);
        assert!(r.read_bits(9, "x").is_err());
        assert_eq!(r.read_bits(8, "x").unwrap(), 0xff);
        assert!(r.read_bit("x").is_err());
        let mut r = BitReader::new(&[0x00]);
        assert!(r.read_zeros_then_one(9, "x").is_err());
        let mut r = BitReader::new(&[0x00]);
        assert_eq!(r.read_zeros_then_one(8, "x").unwrap(), 8);
        let mut pos = 0;
        assert!(get_uvarint(&[0xff; 11], &mut pos, "x").is_err());
        assert!(get_uvarint(&[0x80], &mut 0, "x").is_err());
    }
}
