//! Bounds-checked primitives for the on-disk formats: varints, zigzag, fixed-width integers and
//! length-prefixed strings.
//!
//! Every reader works on a byte slice and fails with [`DecodeError`] instead of panicking when
//! data is truncated or malformed, so corrupt files can never crash the process.

use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("unexpected end of data at byte {0}")]
    Eof(usize),
    #[error("varint overflows 64 bits at byte {0}")]
    VarintOverflow(usize),
    #[error("invalid UTF-8 at byte {0}")]
    Utf8(usize),
    #[error("{what} {value} out of range at byte {at}")]
    OutOfRange {
        what: &'static str,
        value: u64,
        at: usize,
    },
}

pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, zigzag(v));
}

#[inline]
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// A cursor over a byte slice; every read is checked.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(buf: &'a [u8]) -> Decoder<'a> {
        Decoder { buf, pos: 0 }
    }

    pub fn at(buf: &'a [u8], pos: usize) -> Decoder<'a> {
        Decoder { buf, pos }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let mut v: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = *self.buf.get(self.pos).ok_or(DecodeError::Eof(self.pos))?;
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(DecodeError::VarintOverflow(self.pos - 1));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(DecodeError::VarintOverflow(self.pos - 1));
            }
        }
    }

    pub fn varint(&mut self) -> Result<i64, DecodeError> {
        self.uvarint().map(unzigzag)
    }

    /// A uvarint that must fit in `max` (e.g. a count bounded by the bytes left).
    pub fn uvarint_max(&mut self, what: &'static str, max: u64) -> Result<u64, DecodeError> {
        let at = self.pos;
        let v = self.uvarint()?;
        if v > max {
            return Err(DecodeError::OutOfRange { what, value: v, at });
        }
        Ok(v)
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Eof(self.pos))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(DecodeError::Eof(self.pos))?;
        self.pos = end;
        Ok(s)
    }

    pub fn u32_le(&mut self) -> Result<u32, DecodeError> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64_le(&mut self) -> Result<u64, DecodeError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        let n = self.uvarint_max("string length", self.remaining() as u64)? as usize;
        let b = self.bytes(n)?;
        std::str::from_utf8(b).map_err(|_| DecodeError::Utf8(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_round_trip(u in any::<u64>(), i in any::<i64>()) {
            let mut buf = Vec::new();
            put_uvarint(&mut buf, u);
            put_varint(&mut buf, i);
            let mut d = Decoder::new(&buf);
            prop_assert_eq!(d.uvarint().unwrap(), u);
            prop_assert_eq!(d.varint().unwrap(), i);
            prop_assert_eq!(d.remaining(), 0);
        }

        #[test]
        fn garbage_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut d = Decoder::new(&buf);
            while d.uvarint().is_ok() && d.str().is_ok() {}
        }
    }

    #[test]
    fn overflow_and_truncation_are_errors() {
        assert_eq!(Decoder::new(&[0x80]).uvarint(), Err(DecodeError::Eof(1)));
        let eleven = [0xff; 11];
        assert!(matches!(
            Decoder::new(&eleven).uvarint(),
            Err(DecodeError::VarintOverflow(_))
        ));
        assert!(Decoder::new(&[5, b'a']).str().is_err());
    }
}
