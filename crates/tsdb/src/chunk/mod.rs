//! Chunk encodings: how a run of one series' samples is compressed into bytes and decoded back.
//!
//! Two encodings exist (byte layouts in `docs/format/chunks.md`):
//! - [`Encoding::Xor`] ([`xor`]): Gorilla-style, appendable sample by sample; the head's open chunk.
//! - [`Encoding::Packed`] ([`packed`]): encoded in one go from a finished chunk, with timestamps and
//!   values in separate columns so a block can store a shared timestamp column once. Values that
//!   are decimals with few digits become scaled integers and are delta- and Rice-coded.
//!
//! Both give back every timestamp and every `f64` bit pattern exactly (NaN payloads, the stale
//! marker, -0.0). Decoding never trusts its input: damaged bytes yield a [`ChunkError`], never a
//! panic, and no decoder allocates more than [`MAX_CHUNK_SAMPLES`] samples.
//!
//! This module does not know where chunks live (head, chunk files, blocks), how they are cut, or
//! which series they belong to.

mod bstream;
mod intseq;
pub mod packed;
pub mod xor;

use thiserror::Error;

use bongsu_model::Sample;

pub use packed::{
    decode_packed, decode_timestamps, decode_values, encode, encode_timestamps, encode_values,
};
pub use xor::{decode_xor, XorChunk};

/// Most samples one chunk of either encoding may hold. Decoders reject larger counts, which bounds
/// the memory a damaged count can make them allocate; writers must cut chunks before this.
pub const MAX_CHUNK_SAMPLES: usize = u16::MAX as usize;

/// The encoding of a chunk, stored next to it as one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Encoding {
    Xor = 1,
    Packed = 2,
}

impl Encoding {
    /// The encoding stored as byte `b`, if it is one.
    pub fn from_u8(b: u8) -> Option<Encoding> {
        match b {
            1 => Some(Encoding::Xor),
            2 => Some(Encoding::Packed),
            _ => None,
        }
    }
}

/// Why chunk bytes could not be decoded. `what` names the field being read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ChunkError {
    #[error("chunk data ends early, while reading {what}")]
    Truncated { what: &'static str },
    #[error("chunk data is corrupt: invalid {what}")]
    Corrupt { what: &'static str },
    #[error("chunk claims {count} samples, more than the limit of {MAX_CHUNK_SAMPLES}")]
    TooManySamples { count: u64 },
    #[error("chunk has {extra} unexpected bytes after its end")]
    TrailingBytes { extra: usize },
}

/// Decodes a whole chunk of either encoding, appending to `out`.
///
/// On error, `out` may hold some of the chunk's samples after its original contents.
pub fn decode(encoding: Encoding, bytes: &[u8], out: &mut Vec<Sample>) -> Result<(), ChunkError> {
    match encoding {
        Encoding::Xor => decode_xor(bytes, out),
        Encoding::Packed => decode_packed(bytes, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_bytes_round_trip() {
        for e in [Encoding::Xor, Encoding::Packed] {
            assert_eq!(Encoding::from_u8(e as u8), Some(e));
        }
        assert_eq!(Encoding::from_u8(0), None);
        assert_eq!(Encoding::from_u8(3), None);
    }

    #[test]
    fn decode_dispatches_on_encoding() {
        let samples: Vec<Sample> = (0..10).map(|i| Sample::new(i * 15_000, i as f64)).collect();
        let mut x = XorChunk::new();
        for s in &samples {
            x.append(s.t, s.v);
        }
        let mut p = Vec::new();
        encode(&samples, &mut p);
        for (enc, bytes) in [(Encoding::Xor, x.bytes()), (Encoding::Packed, &p[..])] {
            let mut out = Vec::new();
            decode(enc, bytes, &mut out).unwrap();
            assert_eq!(out, samples);
        }
    }
}
