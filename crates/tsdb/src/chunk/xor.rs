//! The XOR encoding (Gorilla-style): the head's open chunk, appended one sample at a time.
//!
//! Timestamps are stored as delta-of-deltas in a few size buckets, values as the XOR with the
//! previous value, reusing the previous window of meaningful bits when the new XOR fits in it.
//! The byte layout is in `docs/format/chunks.md`. This module also lends its value coder to the
//! packed encoding's float fallback. It does not decide when a chunk is full: callers cut chunks
//! (at most [`MAX_CHUNK_SAMPLES`] samples).

use bongsu_model::Sample;

use super::bstream::{unzigzag, zigzag, BitReader, BitWriter};
use super::{ChunkError, MAX_CHUNK_SAMPLES};

/// Bytes before the bit stream: the sample count, big-endian u16.
const HEADER_LEN: usize = 2;

/// Value widths of the delta-of-delta buckets after the first two samples. A zero delta-of-delta
/// (perfectly regular scrapes) is the single bit `0`; bucket `i` is `1`, then `i` ones, then a `0`
/// unless it is the last bucket, then the value. The 8-bit bucket fits the millisecond jitter of
/// real scrapes; the 64-bit one takes any wrapping difference.
const DOD_BITS: [u32; 4] = [8, 16, 32, 64];

/// An open XOR chunk. [`XorChunk::bytes`] is a complete encoding after every append.
#[derive(Debug, Clone)]
pub struct XorChunk {
    w: BitWriter,
    count: usize,
    last_t: i64,
    /// Previous timestamp delta, as a wrapping u64 so any strictly increasing pair fits.
    last_delta: u64,
    values: XorValueEncoder,
}

impl Default for XorChunk {
    fn default() -> XorChunk {
        XorChunk::new()
    }
}

impl XorChunk {
    pub fn new() -> XorChunk {
        // The head keeps one open chunk per series in memory: grow it in small steps.
        let mut w = BitWriter::new_compact();
        w.write_bits(0, 16);
        XorChunk {
            w,
            count: 0,
            last_t: 0,
            last_delta: 0,
            values: XorValueEncoder::default(),
        }
    }

    /// Appends a sample. Caller guarantees `t` is strictly greater than the previous sample's.
    ///
    /// # Panics
    /// If the chunk already holds [`MAX_CHUNK_SAMPLES`] samples: callers must cut chunks first.
    pub fn append(&mut self, t: i64, v: f64) {
        assert!(
            self.count < MAX_CHUNK_SAMPLES,
            "XOR chunk is full ({MAX_CHUNK_SAMPLES} samples)"
        );
        debug_assert!(
            self.count == 0 || t > self.last_t,
            "timestamps must increase"
        );
        match self.count {
            0 => self.w.write_uvarint(zigzag(t)),
            1 => {
                self.last_delta = (t as u64).wrapping_sub(self.last_t as u64);
                self.w.write_uvarint(self.last_delta);
            }
            _ => {
                let delta = (t as u64).wrapping_sub(self.last_t as u64);
                let dod = delta.wrapping_sub(self.last_delta) as i64;
                self.last_delta = delta;
                write_dod(&mut self.w, dod);
            }
        }
        self.last_t = t;
        self.values.encode(&mut self.w, v);
        self.count += 1;
        let count = (self.count as u16).to_be_bytes();
        self.w.bytes_mut()[..HEADER_LEN].copy_from_slice(&count);
    }

    pub fn num_samples(&self) -> usize {
        self.count
    }

    /// A complete, decodable encoding at any moment (sample count in the header kept up to date).
    pub fn bytes(&self) -> &[u8] {
        self.w.bytes()
    }

    /// Approximate heap bytes used (for memory accounting).
    pub fn heap_size(&self) -> usize {
        self.w.capacity()
    }
}

fn write_dod(w: &mut BitWriter, dod: i64) {
    if dod == 0 {
        w.write_bit(false);
        return;
    }
    let last = DOD_BITS.len() - 1;
    let bucket = DOD_BITS[..last]
        .iter()
        .position(|&bits| fits_signed(dod, bits))
        .unwrap_or(last);
    w.write_bit(true);
    for _ in 0..bucket {
        w.write_bit(true);
    }
    if bucket < last {
        w.write_bit(false);
    }
    w.write_bits(dod as u64, DOD_BITS[bucket]);
}

fn fits_signed(v: i64, bits: u32) -> bool {
    let half = 1i64 << (bits - 1);
    (-half..half).contains(&v)
}

fn read_dod(r: &mut BitReader) -> Result<i64, ChunkError> {
    const WHAT: &str = "timestamp delta-of-delta";
    if !r.read_bit(WHAT)? {
        return Ok(0);
    }
    let mut bucket = 0;
    while bucket < DOD_BITS.len() - 1 && r.read_bit(WHAT)? {
        bucket += 1;
    }
    let bits = DOD_BITS[bucket];
    let raw = r.read_bits(bits, WHAT)?;
    // Sign-extend the `bits`-wide two's complement value.
    let shift = 64 - bits;
    Ok(((raw << shift) as i64) >> shift)
}

/// Encodes each value as the XOR with the previous one (the first one raw).
#[derive(Debug, Clone, Default)]
pub(super) struct XorValueEncoder {
    prev: u64,
    /// The current window of meaningful bits, or `None` before the first non-zero XOR.
    window: Option<Window>,
    started: bool,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    leading: u32,
    trailing: u32,
}

/// Leading-zero counts are stored in 5 bits, so larger ones are clamped to this.
const MAX_LEADING: u32 = 31;

impl XorValueEncoder {
    pub(super) fn encode(&mut self, w: &mut BitWriter, v: f64) {
        let bits = v.to_bits();
        if !self.started {
            self.started = true;
            self.prev = bits;
            w.write_bits(bits, 64);
            return;
        }
        let x = bits ^ self.prev;
        self.prev = bits;
        if x == 0 {
            w.write_bit(false);
            return;
        }
        let leading = x.leading_zeros().min(MAX_LEADING);
        let trailing = x.trailing_zeros();
        if let Some(win) = self.window {
            if leading >= win.leading && trailing >= win.trailing {
                w.write_bits(0b10, 2);
                w.write_bits(x >> win.trailing, 64 - win.leading - win.trailing);
                return;
            }
        }
        let sig = 64 - leading - trailing;
        w.write_bits(0b11, 2);
        w.write_bits(u64::from(leading), 5);
        // 64 meaningful bits are written as 0: the XOR is non-zero, so 0 cannot occur.
        w.write_bits(u64::from(sig % 64), 6);
        w.write_bits(x >> trailing, sig);
        self.window = Some(Window { leading, trailing });
    }
}

/// Decodes what [`XorValueEncoder`] wrote.
#[derive(Debug, Clone, Default)]
pub(super) struct XorValueDecoder {
    prev: u64,
    window: Option<Window>,
    started: bool,
}

impl XorValueDecoder {
    pub(super) fn decode(&mut self, r: &mut BitReader) -> Result<f64, ChunkError> {
        const WHAT: &str = "XOR value";
        if !self.started {
            self.started = true;
            self.prev = r.read_bits(64, WHAT)?;
            return Ok(f64::from_bits(self.prev));
        }
        if !r.read_bit(WHAT)? {
            return Ok(f64::from_bits(self.prev));
        }
        let win = if r.read_bit(WHAT)? {
            let leading = r.read_bits(5, WHAT)? as u32;
            let sig = match r.read_bits(6, WHAT)? as u32 {
                0 => 64,
                s => s,
            };
            if leading + sig > 64 {
                return Err(ChunkError::Corrupt {
                    what: "XOR value window",
                });
            }
            let win = Window {
                leading,
                trailing: 64 - leading - sig,
            };
            self.window = Some(win);
            win
        } else {
            self.window.ok_or(ChunkError::Corrupt {
                what: "XOR value (reuses a window that was never set)",
            })?
        };
        let x = r.read_bits(64 - win.leading - win.trailing, WHAT)? << win.trailing;
        self.prev ^= x;
        Ok(f64::from_bits(self.prev))
    }
}

/// Decodes a whole XOR chunk, appending to `out`.
pub fn decode_xor(bytes: &[u8], out: &mut Vec<Sample>) -> Result<(), ChunkError> {
    let header = bytes.get(..HEADER_LEN).ok_or(ChunkError::Truncated {
        what: "XOR chunk header",
    })?;
    let count = usize::from(u16::from_be_bytes([header[0], header[1]]));
    let mut r = BitReader::new(&bytes[HEADER_LEN..]);
    // Every sample takes at least two bits, so a damaged count cannot make us reserve much more
    // than the input justifies.
    out.reserve(count.min(bytes.len() * 4 + 1));
    let mut t = 0i64;
    let mut delta = 0u64;
    let mut values = XorValueDecoder::default();
    for i in 0..count {
        match i {
            0 => t = unzigzag(r.read_uvarint("first timestamp")?),
            1 => {
                delta = r.read_uvarint("first timestamp delta")?;
                t = (t as u64).wrapping_add(delta) as i64;
            }
            _ => {
                delta = delta.wrapping_add(read_dod(&mut r)? as u64);
                t = (t as u64).wrapping_add(delta) as i64;
            }
        }
        let v = values.decode(&mut r)?;
        out.push(Sample { t, v });
    }
    let extra = bytes.len() - HEADER_LEN - r.bytes_consumed();
    if extra > 0 {
        return Err(ChunkError::TrailingBytes { extra });
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Values mixing arbitrary bit patterns, special values and realistic series shapes.
    pub(crate) fn value_strategy() -> impl Strategy<Value = f64> {
        prop_oneof![
            3 => any::<u64>().prop_map(f64::from_bits),
            1 => prop_oneof![
                Just(bongsu_model::STALE_NAN),
                Just(f64::NAN),
                Just(f64::INFINITY),
                Just(f64::NEG_INFINITY),
                Just(-0.0),
                Just(0.0),
                Just(f64::MIN_POSITIVE / 3.0),
                Just(f64::MAX),
                Just(f64::MIN),
                Just(f64::EPSILON),
            ],
            2 => (-1_000_000i64..1_000_000).prop_map(|n| n as f64),
            2 => (-10_000_000i64..10_000_000, 0u32..7).prop_map(|(n, k)| n as f64 / 10f64.powi(k as i32)),
        ]
    }

    /// Whole value series: arbitrary mixes, constants, counters, random-walk decimals.
    pub(crate) fn series_values(max: usize) -> impl Strategy<Value = Vec<f64>> {
        prop_oneof![
            proptest::collection::vec(value_strategy(), 1..max),
            (value_strategy(), 1..max).prop_map(|(v, n)| vec![v; n]),
            (0u64..1 << 40, proptest::collection::vec(0u64..5000, 1..max)).prop_map(
                |(start, incs)| {
                    incs.iter()
                        .scan(start, |acc, i| {
                            *acc += i;
                            Some(*acc as f64)
                        })
                        .collect()
                }
            ),
            (0u32..6, proptest::collection::vec(-300i64..300, 1..max)).prop_map(|(k, steps)| {
                let p = 10f64.powi(k as i32);
                steps
                    .iter()
                    .scan(100_000i64, |acc, s| {
                        *acc += s;
                        Some(*acc as f64 / p)
                    })
                    .collect()
            }),
        ]
    }

    /// Strictly increasing timestamps: arbitrary starts and gaps, including huge ones.
    pub(crate) fn timestamps(n: usize) -> impl Strategy<Value = Vec<i64>> {
        let gap = prop_oneof![
            4 => 14_950u64..15_050,
            1 => Just(15_000u64),
            1 => 1u64..3,
            1 => 1u64..u64::MAX / 256,
        ];
        (any::<i64>(), proptest::collection::vec(gap, n)).prop_map(|(start, gaps)| {
            let mut t = start;
            let mut out = Vec::with_capacity(gaps.len());
            for (i, g) in gaps.into_iter().enumerate() {
                if i > 0 {
                    match t.checked_add_unsigned(g) {
                        Some(next) => t = next,
                        None => break,
                    }
                }
                out.push(t);
            }
            out
        })
    }

    pub(crate) fn samples(max: usize) -> impl Strategy<Value = Vec<Sample>> {
        series_values(max).prop_flat_map(|vs| {
            timestamps(vs.len()).prop_map(move |ts| {
                ts.iter()
                    .zip(&vs)
                    .map(|(&t, &v)| Sample { t, v })
                    .collect::<Vec<_>>()
            })
        })
    }

    fn xor_of(samples: &[Sample]) -> XorChunk {
        let mut c = XorChunk::new();
        for s in samples {
            c.append(s.t, s.v);
        }
        c
    }

    proptest! {
        #[test]
        fn round_trips_after_every_append(samples in samples(200)) {
            let mut c = XorChunk::new();
            for (i, s) in samples.iter().enumerate() {
                c.append(s.t, s.v);
                prop_assert_eq!(c.num_samples(), i + 1);
                let mut out = Vec::new();
                decode_xor(c.bytes(), &mut out).unwrap();
                prop_assert_eq!(&out[..], &samples[..=i]);
            }
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_xor(&bytes, &mut Vec::new());
        }

        #[test]
        fn damaged_chunks_never_panic(samples in samples(150), cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(), bit in 0u8..8) {
            let c = xor_of(&samples);
            let bytes = c.bytes();
            let _ = decode_xor(&bytes[..cut.index(bytes.len())], &mut Vec::new());
            let mut flipped = bytes.to_vec();
            let i = flip.index(flipped.len());
            flipped[i] ^= 1 << bit;
            let _ = decode_xor(&flipped, &mut Vec::new());
        }
    }

    #[test]
    fn truncation_is_detected() {
        let samples: Vec<Sample> = (0..120)
            .map(|i| Sample::new(i * 15_000 + i % 7, (i * i) as f64 / 3.0))
            .collect();
        let c = xor_of(&samples);
        for len in 0..c.bytes().len() {
            assert!(
                decode_xor(&c.bytes()[..len], &mut Vec::new()).is_err(),
                "length {len}"
            );
        }
        let mut longer = c.bytes().to_vec();
        longer.push(0);
        assert_eq!(
            decode_xor(&longer, &mut Vec::new()),
            Err(ChunkError::TrailingBytes { extra: 1 })
        );
    }

    #[test]
    fn empty_single_and_large_chunks() {
        let mut out = Vec::new();
        decode_xor(XorChunk::new().bytes(), &mut out).unwrap();
        assert!(out.is_empty());
        let one = [Sample::new(i64::MIN, bongsu_model::STALE_NAN)];
        decode_xor(xor_of(&one).bytes(), &mut out).unwrap();
        assert_eq!(out, one);
        let many: Vec<Sample> = (0..5000)
            .map(|i| {
                Sample::new(
                    i * 15_000 - 7_000_000,
                    if i % 100 == 0 {
                        f64::NAN
                    } else {
                        i as f64 * 0.1
                    },
                )
            })
            .collect();
        let c = xor_of(&many);
        assert_eq!(c.num_samples(), 5000);
        assert!(c.heap_size() >= c.bytes().len());
        out.clear();
        decode_xor(c.bytes(), &mut out).unwrap();
        assert_eq!(out, many);
    }

    #[test]
    fn extreme_timestamps_round_trip() {
        let samples = [
            Sample::new(i64::MIN, 1.0),
            Sample::new(-1, 2.0),
            Sample::new(0, 3.0),
            Sample::new(i64::MAX - 1, 4.0),
            Sample::new(i64::MAX, 5.0),
        ];
        let mut out = Vec::new();
        decode_xor(xor_of(&samples).bytes(), &mut out).unwrap();
        assert_eq!(out, samples);
    }
}
