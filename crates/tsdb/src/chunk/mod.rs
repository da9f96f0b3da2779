//! Chunk encodings: how a run of one series' samples is compressed into bytes and decoded back.
//!
//! Four encodings exist (byte layouts in `docs/format/chunks.md`):
//! - [`Encoding::Xor`] ([`xor`]): Gorilla-style, appendable sample by sample; the head's open chunk.
//! - [`Encoding::Packed`] ([`packed`]): encoded in one go from a finished chunk, with timestamps and
//!   values in separate columns so a block can store a shared timestamp column once. Values that
//!   are decimals with few digits become scaled integers and are delta- and Rice-coded.
//! - [`Encoding::Histogram`] ([`histogram`]) and [`Encoding::FloatHistogram`]
//!   ([`float_histogram`]): native histograms, bit for bit Prometheus' `chunkenc` histogram and
//!   float-histogram chunks (Prometheus' encodings 2 and 3), appendable sample by sample.
//!
//! Both give back every timestamp and every `f64` bit pattern exactly (NaN payloads, the stale
//! marker, -0.0). Decoding never trusts its input: damaged bytes yield a [`ChunkError`], never a
//! panic, and no decoder allocates more than [`MAX_CHUNK_SAMPLES`] samples.
//!
//! This module does not know where chunks live (head, chunk files, blocks), how they are cut, or
//! which series they belong to.

mod bstream;
pub mod float_histogram;
mod hist_cut;
pub mod histogram;
pub mod histogram_meta;
mod intseq;
pub mod packed;
mod prom_xor;
mod spans;
pub mod xor;

use thiserror::Error;

use bongsu_model::{HistogramSample, HistogramValue, Sample};

pub use float_histogram::{decode_float_histogram_chunk, FloatHistogramChunk};
pub use hist_cut::{encode_histogram_chunks, EncodedHistogramChunk};
pub use histogram::{decode_histogram_chunk, HistogramAppend, HistogramChunk};
pub use histogram_meta::CounterResetHeader;
pub use packed::{
    decode_packed, decode_timestamps, decode_values, encode, encode_timestamps, encode_values,
};
pub use prom_xor::decode_prometheus_xor;
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
    /// Prometheus' `EncHistogram` chunk (its encoding byte 2).
    Histogram = 3,
    /// Prometheus' `EncFloatHistogram` chunk (its encoding byte 3).
    FloatHistogram = 4,
}

impl Encoding {
    /// The encoding stored as byte `b`, if it is one.
    pub fn from_u8(b: u8) -> Option<Encoding> {
        match b {
            1 => Some(Encoding::Xor),
            2 => Some(Encoding::Packed),
            3 => Some(Encoding::Histogram),
            4 => Some(Encoding::FloatHistogram),
            _ => None,
        }
    }

    /// The encoding of a Prometheus chunk with encoding byte `b` (`chunkenc.Encoding`: 1 XOR,
    /// 2 histogram, 3 float histogram), if bongsu reads it.
    pub fn from_prometheus(b: u8) -> Option<Encoding> {
        match b {
            1 => Some(Encoding::Xor),
            2 => Some(Encoding::Histogram),
            3 => Some(Encoding::FloatHistogram),
            _ => None,
        }
    }

    /// Prometheus' encoding byte for this encoding, if Prometheus has it.
    pub fn prometheus_code(self) -> Option<u8> {
        match self {
            Encoding::Xor => Some(1),
            Encoding::Histogram => Some(2),
            Encoding::FloatHistogram => Some(3),
            Encoding::Packed => None,
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

/// Reads a LEB128 varint at `pos` (test helper for chunk-file fixtures).
#[cfg(test)]
pub(crate) fn bstream_get_uvarint(buf: &[u8], pos: &mut usize) -> Result<u64, ChunkError> {
    bstream::get_uvarint(buf, pos, "varint")
}

/// Decodes a whole float-sample chunk (XOR or packed), appending to `out`. A histogram chunk is
/// an error here: use [`decode_histograms`].
///
/// On error, `out` may hold some of the chunk's samples after its original contents.
pub fn decode(encoding: Encoding, bytes: &[u8], out: &mut Vec<Sample>) -> Result<(), ChunkError> {
    match encoding {
        Encoding::Xor => decode_xor(bytes, out),
        Encoding::Packed => decode_packed(bytes, out),
        Encoding::Histogram | Encoding::FloatHistogram => Err(ChunkError::Corrupt {
            what: "encoding (a histogram chunk where float samples were expected)",
        }),
    }
}

/// Decodes a whole histogram chunk of either kind, appending to `out` (stale markers as
/// histograms holding only the stale sum).
pub fn decode_histograms(
    encoding: Encoding,
    bytes: &[u8],
    out: &mut Vec<HistogramSample>,
) -> Result<(), ChunkError> {
    use std::sync::Arc;
    match encoding {
        Encoding::Histogram => out.extend(decode_histogram_chunk(bytes)?.into_iter().map(
            |(t, h)| HistogramSample {
                t,
                h: HistogramValue::Int(Arc::new(h)),
            },
        )),
        Encoding::FloatHistogram => out.extend(
            decode_float_histogram_chunk(bytes)?
                .into_iter()
                .map(|(t, h)| HistogramSample {
                    t,
                    h: HistogramValue::Float(Arc::new(h)),
                }),
        ),
        Encoding::Xor | Encoding::Packed => {
            return Err(ChunkError::Corrupt {
                what: "encoding (a float chunk where histograms were expected)",
            })
        }
    }
    Ok(())
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
        assert_eq!(Encoding::from_u8(5), None);
        assert_eq!(Encoding::from_prometheus(2), Some(Encoding::Histogram));
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

#[cfg(test)]
mod histogram_tests;
