//! The packed encoding: a finished chunk compressed in one go, for persisted blocks.
//!
//! Timestamps and values are separate, self-contained columns so that a block writer can store
//! one timestamp column for all the series of a scrape target, which share their timestamps
//! exactly. Timestamps go straight into the integer coder ([`super::intseq`]). Values that are all
//! decimals with at most [`MAX_SCALE`] fractional digits (what exporters print) become integers
//! `n` with `v == n as f64 / 10^k`, checked bit-exactly at encode time; the few that are not (NaN,
//! the stale marker, ±Inf, -0.0) are stored verbatim as exceptions. If that does not pay, the
//! values fall back to the XOR float coder. The byte layout is in `docs/format/chunks.md`.
//!
//! This module does not deduplicate timestamp columns or add general-purpose compression; the
//! block writer does that.

use bongsu_model::Sample;

use super::bstream::{get_uvarint, put_uvarint, BitReader, BitWriter};
use super::intseq;
use super::xor::{XorValueDecoder, XorValueEncoder};
use super::{ChunkError, MAX_CHUNK_SAMPLES};

/// The most fractional decimal digits a scaled value may have. 10^18 is exact as an f64, and
/// exporters rarely print more than 15 significant digits anyway.
pub const MAX_SCALE: u32 = 18;

/// Values column kinds, in bits 0–1 of its header byte.
const KIND_XOR: u8 = 0;
const KIND_SCALED: u8 = 1;
/// For [`KIND_SCALED`]: an exception list follows the header. Bits 3–7 hold the scale.
const FLAG_EXCEPTIONS: u8 = 1 << 2;
const SCALE_SHIFT: u32 = 3;

/// Integers up to this magnitude convert to f64 exactly.
const MAX_EXACT_INT: f64 = (1u64 << 53) as f64;

const POW10: [f64; MAX_SCALE as usize + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];

fn check_len(n: usize) {
    assert!(
        n <= MAX_CHUNK_SAMPLES,
        "packed chunk of {n} samples exceeds {MAX_CHUNK_SAMPLES}"
    );
}

fn check_count(n: u64) -> Result<usize, ChunkError> {
    if n > MAX_CHUNK_SAMPLES as u64 {
        return Err(ChunkError::TooManySamples { count: n });
    }
    Ok(n as usize)
}

/// Appends the timestamps column: the count, then the coded sequence.
///
/// # Panics
/// If `ts` holds more than [`MAX_CHUNK_SAMPLES`] timestamps. Input must be strictly increasing.
pub fn encode_timestamps(ts: &[i64], out: &mut Vec<u8>) {
    check_len(ts.len());
    debug_assert!(
        ts.windows(2).all(|w| w[0] < w[1]),
        "timestamps must increase"
    );
    put_uvarint(out, ts.len() as u64);
    intseq::encode(ts, out);
}

/// Decodes a timestamps column from the start of `buf`, appending to `out`. Returns the bytes
/// consumed; the column stores its own count.
pub fn decode_timestamps(buf: &[u8], out: &mut Vec<i64>) -> Result<usize, ChunkError> {
    let mut pos = 0;
    let n = check_count(get_uvarint(buf, &mut pos, "timestamp count")?)?;
    out.reserve(n);
    pos += intseq::decode(&buf[pos..], n, |t| out.push(t))?;
    Ok(pos)
}

/// The integer `n` with `n as f64 / 10^k` bit-identical to `v`, if there is one below 2^53.
fn scale_exactly(v: f64, k: u32) -> Option<i64> {
    let p = POW10[k as usize];
    let scaled = (v * p).round();
    // `is_finite` also rejects NaN.
    if !scaled.is_finite() || scaled.abs() >= MAX_EXACT_INT {
        return None;
    }
    let n = scaled as i64;
    ((n as f64 / p).to_bits() == v.to_bits()).then_some(n)
}

/// Values as scaled integers, with those that do not scale kept verbatim.
struct Scaled {
    k: u32,
    ints: Vec<i64>,
    /// (index, bits) of values stored verbatim; their slot in `ints` repeats the previous integer
    /// so that it costs nothing in the delta coding.
    exceptions: Vec<(usize, u64)>,
}

/// Finds the smallest scale at which the values are integers and converts them, or `None` if
/// none scale.
fn scale_values(vs: &[f64]) -> Option<Scaled> {
    // A value that is exact at scale k is exact at every larger one (while below 2^53), so
    // the chunk's scale is the largest any value needs; the final pass verifies it regardless.
    let mut k = 0;
    for &v in vs {
        if scale_exactly(v, k).is_none() {
            if let Some(needed) = (k + 1..=MAX_SCALE).find(|&j| scale_exactly(v, j).is_some()) {
                k = needed;
            }
        }
    }
    let mut ints = Vec::with_capacity(vs.len());
    let mut exceptions = Vec::new();
    for (i, &v) in vs.iter().enumerate() {
        match scale_exactly(v, k) {
            Some(n) => ints.push(n),
            None => exceptions.push((i, v.to_bits())),
        }
    }
    if exceptions.len() == vs.len() {
        return None;
    }
    // Fill the exceptions' slots with a neighbouring integer: the next one for leading exceptions,
    // else the previous one.
    let mut filled = Vec::with_capacity(vs.len());
    let mut scaled = ints.iter();
    let mut exc = exceptions.iter().peekable();
    let mut carry = ints[0];
    for i in 0..vs.len() {
        if exc.next_if(|e| e.0 == i).is_some() {
            filled.push(carry);
        } else if let Some(&n) = scaled.next() {
            carry = n;
            filled.push(n);
        }
    }
    Some(Scaled {
        k,
        ints: filled,
        exceptions,
    })
}

/// Appends the values column. Its count is not stored: the decoder is told it.
///
/// # Panics
/// If `vs` holds more than [`MAX_CHUNK_SAMPLES`] values.
pub fn encode_values(vs: &[f64], out: &mut Vec<u8>) {
    check_len(vs.len());
    if vs.is_empty() {
        return;
    }
    let start = out.len();
    if let Some(scaled) = scale_values(vs) {
        write_scaled(&scaled, out);
        // Scaled integers always win without exceptions; with them, XOR floats might.
        if scaled.exceptions.is_empty() {
            return;
        }
        let mut xor = Vec::new();
        write_xor(vs, &mut xor);
        if xor.len() < out.len() - start {
            out.truncate(start);
            out.extend_from_slice(&xor);
        }
        return;
    }
    write_xor(vs, out);
}

fn write_scaled(s: &Scaled, out: &mut Vec<u8>) {
    let mut header = KIND_SCALED | (s.k as u8) << SCALE_SHIFT;
    if !s.exceptions.is_empty() {
        header |= FLAG_EXCEPTIONS;
    }
    out.push(header);
    if !s.exceptions.is_empty() {
        put_uvarint(out, s.exceptions.len() as u64);
        let mut next = 0;
        for &(i, bits) in &s.exceptions {
            put_uvarint(out, (i - next) as u64);
            out.extend_from_slice(&bits.to_le_bytes());
            next = i + 1;
        }
    }
    intseq::encode(&s.ints, out);
}

fn write_xor(vs: &[f64], out: &mut Vec<u8>) {
    out.push(KIND_XOR);
    let mut w = BitWriter::from_vec(std::mem::take(out));
    let mut enc = XorValueEncoder::default();
    for &v in vs {
        enc.encode(&mut w, v);
    }
    *out = w.into_vec();
}

/// Decodes a values column of `n` values from the start of `buf`, appending to `out`. Returns the
/// bytes consumed.
pub fn decode_values(buf: &[u8], n: usize, out: &mut Vec<f64>) -> Result<usize, ChunkError> {
    let n = check_count(n as u64)?;
    if n == 0 {
        return Ok(0);
    }
    let header = *buf.first().ok_or(ChunkError::Truncated {
        what: "values column header",
    })?;
    out.reserve(n);
    match header & 0b11 {
        KIND_XOR if header == KIND_XOR => {
            let mut r = BitReader::new(&buf[1..]);
            let mut dec = XorValueDecoder::default();
            for _ in 0..n {
                out.push(dec.decode(&mut r)?);
            }
            Ok(1 + r.bytes_consumed())
        }
        KIND_SCALED => decode_scaled(header, buf, n, out),
        _ => Err(ChunkError::Corrupt {
            what: "values column header",
        }),
    }
}

fn decode_scaled(
    header: u8,
    buf: &[u8],
    n: usize,
    out: &mut Vec<f64>,
) -> Result<usize, ChunkError> {
    let k = u32::from(header >> SCALE_SHIFT);
    if k > MAX_SCALE {
        return Err(ChunkError::Corrupt {
            what: "decimal scale",
        });
    }
    let mut pos = 1;
    let mut exceptions = Vec::new();
    if header & FLAG_EXCEPTIONS != 0 {
        let count = get_uvarint(buf, &mut pos, "exception count")?;
        if count == 0 || count > n as u64 {
            return Err(ChunkError::Corrupt {
                what: "exception count",
            });
        }
        let mut next = 0u64;
        for _ in 0..count {
            let index = next.saturating_add(get_uvarint(buf, &mut pos, "exception index")?);
            if index >= n as u64 {
                return Err(ChunkError::Corrupt {
                    what: "exception index",
                });
            }
            let bits = buf.get(pos..pos + 8).ok_or(ChunkError::Truncated {
                what: "exception value",
            })?;
            let mut le = [0u8; 8];
            le.copy_from_slice(bits);
            pos += 8;
            exceptions.push((index as usize, u64::from_le_bytes(le)));
            next = index + 1;
        }
    }
    let start = out.len();
    let p = POW10[k as usize];
    pos += intseq::decode(&buf[pos..], n, |i| out.push(i as f64 / p))?;
    for (i, bits) in exceptions {
        out[start + i] = f64::from_bits(bits);
    }
    Ok(pos)
}

/// Appends a whole chunk: the timestamps column followed by the values column.
///
/// # Panics
/// If `samples` holds more than [`MAX_CHUNK_SAMPLES`] samples. Timestamps must increase strictly.
pub fn encode(samples: &[Sample], out: &mut Vec<u8>) {
    let ts: Vec<i64> = samples.iter().map(|s| s.t).collect();
    let vs: Vec<f64> = samples.iter().map(|s| s.v).collect();
    encode_timestamps(&ts, out);
    encode_values(&vs, out);
}

/// Decodes a whole packed chunk, appending to `out`.
pub fn decode_packed(buf: &[u8], out: &mut Vec<Sample>) -> Result<(), ChunkError> {
    let mut ts = Vec::new();
    let used = decode_timestamps(buf, &mut ts)?;
    let mut vs = Vec::with_capacity(ts.len());
    let used = used + decode_values(&buf[used..], ts.len(), &mut vs)?;
    if used < buf.len() {
        return Err(ChunkError::TrailingBytes {
            extra: buf.len() - used,
        });
    }
    out.extend(ts.into_iter().zip(vs).map(|(t, v)| Sample { t, v }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::xor::tests::{samples, series_values, timestamps};
    use crate::chunk::XorChunk;
    use proptest::prelude::*;

    fn packed(samples: &[Sample]) -> Vec<u8> {
        let mut buf = Vec::new();
        encode(samples, &mut buf);
        buf
    }

    fn values_bits(vs: &[f64]) -> Vec<u64> {
        vs.iter().map(|v| v.to_bits()).collect()
    }

    fn values_len(vs: &[f64]) -> usize {
        let mut buf = Vec::new();
        encode_values(vs, &mut buf);
        let mut got = Vec::new();
        assert_eq!(decode_values(&buf, vs.len(), &mut got).unwrap(), buf.len());
        assert_eq!(values_bits(&got), values_bits(vs));
        buf.len()
    }

    proptest! {
        #[test]
        fn chunks_round_trip(samples in samples(300)) {
            let buf = packed(&samples);
            let mut out = vec![Sample::new(0, 0.0)];
            decode_packed(&buf, &mut out).unwrap();
            prop_assert_eq!(&out[1..], &samples[..]);
        }

        #[test]
        fn columns_round_trip_and_report_their_length(ts in timestamps(200), vs in series_values(200)) {
            let mut buf = Vec::new();
            encode_timestamps(&ts, &mut buf);
            let ts_len = buf.len();
            encode_values(&vs, &mut buf);
            buf.push(0xEE);
            let mut got_ts = Vec::new();
            prop_assert_eq!(decode_timestamps(&buf, &mut got_ts).unwrap(), ts_len);
            prop_assert_eq!(got_ts, ts);
            let mut got_vs = Vec::new();
            let used = decode_values(&buf[ts_len..], vs.len(), &mut got_vs).unwrap();
            prop_assert_eq!(ts_len + used, buf.len() - 1);
            prop_assert_eq!(values_bits(&got_vs), values_bits(&vs));
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), n in 0usize..300) {
            let _ = decode_packed(&bytes, &mut Vec::new());
            let _ = decode_values(&bytes, n, &mut Vec::new());
        }

        #[test]
        fn damaged_chunks_never_panic(samples in samples(150), cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(), bit in 0u8..8) {
            let buf = packed(&samples);
            let _ = decode_packed(&buf[..cut.index(buf.len())], &mut Vec::new());
            let mut flipped = buf.clone();
            let i = flip.index(flipped.len());
            flipped[i] ^= 1 << bit;
            let _ = decode_packed(&flipped, &mut Vec::new());
        }
    }

    #[test]
    fn truncation_is_detected() {
        let samples: Vec<Sample> = (0..120)
            .map(|i| {
                Sample::new(
                    1_700_000_000_000 + i * 15_000 + (i * 37) % 50,
                    (1000 + i * i) as f64 / 100.0,
                )
            })
            .collect();
        let buf = packed(&samples);
        for len in 0..buf.len() {
            assert!(
                decode_packed(&buf[..len], &mut Vec::new()).is_err(),
                "length {len}"
            );
        }
    }

    #[test]
    fn single_and_large_chunks() {
        for samples in [
            vec![Sample::new(i64::MIN, bongsu_model::STALE_NAN)],
            vec![Sample::new(-5, 0.1)],
            vec![Sample::new(i64::MIN, 1.0), Sample::new(i64::MAX, -0.0)],
            (0..5000)
                .map(|i| {
                    Sample::new(
                        i * 15_000 + i % 3,
                        if i % 700 == 0 {
                            f64::NAN
                        } else {
                            (i % 97) as f64 * 0.25
                        },
                    )
                })
                .collect(),
        ] {
            let mut out = Vec::new();
            decode_packed(&packed(&samples), &mut out).unwrap();
            assert_eq!(out, samples);
        }
        let mut out = Vec::new();
        decode_packed(&packed(&[]), &mut out).unwrap();
        assert!(out.is_empty());
        assert!(matches!(
            decode_values(&[], MAX_CHUNK_SAMPLES + 1, &mut Vec::new()),
            Err(ChunkError::TooManySamples { .. })
        ));
    }

    #[test]
    fn scaling_is_exact_or_refused() {
        assert_eq!(scale_exactly(0.1, 1), Some(1));
        assert_eq!(scale_exactly(1.23457e6, 0), Some(1_234_570));
        assert_eq!(scale_exactly(0.1 + 0.2, 15), None);
        assert_eq!(scale_exactly(-0.0, 0), None);
        assert_eq!(scale_exactly(f64::NAN, 3), None);
        assert_eq!(scale_exactly(1e300, 0), None);
    }

    #[test]
    fn typical_values_are_small() {
        // A constant gauge costs a few bytes per chunk, exceptions or not.
        assert!(values_len(&[3.0; 120]) <= 4);
        let mut with_stale = vec![1234.5; 120];
        with_stale[119] = bongsu_model::STALE_NAN;
        assert!(values_len(&with_stale) <= 16);
        // A 6-significant-digit random walk beats XOR floats clearly.
        let walk: Vec<f64> = (0..120)
            .map(|i| (123_456 + (i * 7919 % 200) - 100) as f64 / 1000.0)
            .collect();
        let mut xor = XorChunk::new();
        for (i, &v) in walk.iter().enumerate() {
            xor.append(i as i64, v);
        }
        assert!(
            values_len(&walk) * 2 < xor.bytes().len(),
            "{} vs {}",
            values_len(&walk),
            xor.bytes().len()
        );
        // Values that are no short decimals still round-trip through the float fallback.
        let thirds: Vec<f64> = (0..120).map(|i| i as f64 / 3.0).collect();
        values_len(&thirds);
    }
}
