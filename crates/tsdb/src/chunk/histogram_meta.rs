//! What the two histogram chunk encodings share, as Prometheus' `chunkenc/histogram_meta.go` and
//! `varbit.go`: the varbit integers, the chunk layout (zero threshold, schema, spans, custom
//! bounds) and the counter-reset header bits. The span arithmetic is in `spans.rs`.
//!
//! Not here: the per-sample encodings (`histogram.rs`, `float_histogram.rs`).

use bongsu_model::histogram::{
    CUSTOM_BUCKETS_SCHEMA, EXPONENTIAL_SCHEMA_MAX, EXPONENTIAL_SCHEMA_MIN,
};
use bongsu_model::{CounterResetHint, Span};

pub(crate) use super::spans::*;

use super::bstream::{BitReader, BitWriter};
use super::ChunkError;

/// Bytes before the bit stream: sample count (u16 BE) and the flag byte.
pub(crate) const HEADER_LEN: usize = 3;
/// Position of the flag byte, whose top two bits are the counter-reset header.
pub(crate) const FLAG_POS: usize = 2;
const HEADER_MASK: u8 = 0b1100_0000;

/// Prometheus' chunk target size for histogram chunks (`TargetBytesPerHistogramChunk`).
pub const TARGET_BYTES_PER_HISTOGRAM_CHUNK: usize = 1024;
/// Fewest histograms in a chunk before a size-based cut (`MinSamplesPerHistogramChunk`).
pub const MIN_SAMPLES_PER_HISTOGRAM_CHUNK: usize = 10;

/// The counter-reset header: the top two bits of a histogram chunk's third byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CounterResetHeader {
    Unknown = 0b0000_0000,
    CounterReset = 0b1000_0000,
    NotCounterReset = 0b0100_0000,
    Gauge = 0b1100_0000,
}

impl CounterResetHeader {
    pub fn of_byte(b: u8) -> CounterResetHeader {
        match b & HEADER_MASK {
            0b1000_0000 => CounterResetHeader::CounterReset,
            0b0100_0000 => CounterResetHeader::NotCounterReset,
            0b1100_0000 => CounterResetHeader::Gauge,
            _ => CounterResetHeader::Unknown,
        }
    }

    /// The hint a decoded sample gets: gauge in a gauge chunk; otherwise not-a-reset after the
    /// first sample and unknown for the first (the reader compares with the previous chunk).
    pub(crate) fn hint_for(self, num_read: usize) -> CounterResetHint {
        if self == CounterResetHeader::Gauge {
            CounterResetHint::Gauge
        } else if num_read > 1 {
            CounterResetHint::NotCounterReset
        } else {
            CounterResetHint::Unknown
        }
    }
}

pub(crate) fn set_header(bytes: &mut [u8], h: CounterResetHeader) {
    bytes[FLAG_POS] = (bytes[FLAG_POS] & !HEADER_MASK) | h as u8;
}

pub(crate) fn set_count(bytes: &mut [u8], n: u16) {
    bytes[..2].copy_from_slice(&n.to_be_bytes());
}

/// A new chunk: count 0 and an unknown counter-reset header.
pub(crate) fn new_chunk_writer() -> BitWriter {
    let mut w = BitWriter::new_compact();
    w.write_bits(0, 8 * HEADER_LEN as u32);
    w
}

fn fits_signed(v: i64, nbits: u32) -> bool {
    // -(2^(n-1)-1) <= v <= 2^(n-1), as Prometheus' bitRange.
    let lim = 1i64 << (nbits - 1);
    -lim < v && v <= lim
}

const VARBIT_SIZES: [(u64, u32, u32); 7] = [
    (0b10, 2, 3),
    (0b110, 3, 6),
    (0b1110, 4, 9),
    (0b11110, 5, 12),
    (0b111110, 6, 18),
    (0b1111110, 7, 25),
    (0b11111110, 8, 56),
];

/// Prometheus' `putVarbitInt`: a prefix of ones ending in a zero selects the width.
pub(crate) fn put_varbit_int(w: &mut BitWriter, v: i64) {
    if v == 0 {
        w.write_bit(false);
        return;
    }
    for (prefix, plen, bits) in VARBIT_SIZES {
        if fits_signed(v, bits) {
            w.write_bits(prefix, plen);
            w.write_bits(v as u64, bits);
            return;
        }
    }
    w.write_bits(0xff, 8);
    w.write_bits(v as u64, 64);
}

/// Prometheus' `putVarbitUint`.
pub(crate) fn put_varbit_uint(w: &mut BitWriter, v: u64) {
    if v == 0 {
        w.write_bit(false);
        return;
    }
    for (prefix, plen, bits) in VARBIT_SIZES {
        if v.leading_zeros() >= 64 - bits {
            w.write_bits(prefix, plen);
            w.write_bits(v, bits);
            return;
        }
    }
    w.write_bits(0xff, 8);
    w.write_bits(v, 64);
}

/// The width selected by a varbit prefix (`None` = 0 bits, the value is zero).
fn varbit_width(r: &mut BitReader<'_>, what: &'static str) -> Result<u32, ChunkError> {
    let mut ones = 0;
    while ones < 8 && r.read_bit(what)? {
        ones += 1;
    }
    Ok(match ones {
        0 => 0,
        8 => 64,
        n => VARBIT_SIZES[n - 1].2,
    })
}

pub(crate) fn read_varbit_int(
    r: &mut BitReader<'_>,
    what: &'static str,
) -> Result<i64, ChunkError> {
    let sz = varbit_width(r, what)?;
    match sz {
        0 => Ok(0),
        64 => Ok(r.read_bits(64, what)? as i64),
        _ => {
            let mut bits = r.read_bits(sz, what)?;
            if bits > 1 << (sz - 1) {
                bits = bits.wrapping_sub(1 << sz);
            }
            Ok(bits as i64)
        }
    }
}

pub(crate) fn read_varbit_uint(
    r: &mut BitReader<'_>,
    what: &'static str,
) -> Result<u64, ChunkError> {
    let sz = varbit_width(r, what)?;
    r.read_bits(sz, what)
}

/// The chunk layout: what every histogram of a chunk shares.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Layout {
    pub schema: i32,
    pub zero_threshold: f64,
    pub positive_spans: Vec<Span>,
    pub negative_spans: Vec<Span>,
    pub custom_values: Vec<f64>,
}

fn put_zero_threshold(w: &mut BitWriter, zt: f64) {
    if zt == 0.0 {
        w.write_bits(0, 8);
        return;
    }
    // A power of two 2^(exp-1) with -242 <= exp <= 11 is one byte (exp + 243).
    let bits = zt.to_bits();
    let raw_exp = ((bits >> 52) & 0x7ff) as i32;
    let mantissa = bits & ((1 << 52) - 1);
    let exp = raw_exp - 1022; // frexp exponent for normal numbers
    if zt > 0.0 && raw_exp != 0 && mantissa == 0 && (-242..=11).contains(&exp) {
        w.write_bits((exp + 243) as u64, 8);
    } else {
        w.write_bits(0xff, 8);
        w.write_bits(bits, 64);
    }
}

fn read_zero_threshold(r: &mut BitReader<'_>) -> Result<f64, ChunkError> {
    const WHAT: &str = "histogram zero threshold";
    Ok(match r.read_bits(8, WHAT)? {
        0 => 0.0,
        255 => f64::from_bits(r.read_bits(64, WHAT)?),
        b => 0.5 * 2f64.powi(b as i32 - 243),
    })
}

fn put_custom_bound(w: &mut BitWriter, f: f64) {
    let tf = f * 1000.0;
    // Whole when multiplied by 1000, as Prometheus' isWholeWhenMultiplied.
    let whole = {
        let i = (f * 1000.0).round();
        let i = if i.is_nan() || i < 0.0 {
            0.0
        } else {
            i.min(u64::MAX as f64)
        };
        f == (i as u64) as f64 / 1000.0
    };
    if !(0.0..=33_554_430.0).contains(&tf) || !whole {
        w.write_bit(false);
        w.write_bits(f.to_bits(), 64);
        return;
    }
    put_varbit_uint(w, tf.round() as u64 + 1);
}

fn read_custom_bound(r: &mut BitReader<'_>) -> Result<f64, ChunkError> {
    const WHAT: &str = "histogram custom bound";
    Ok(match read_varbit_uint(r, WHAT)? {
        0 => f64::from_bits(r.read_bits(64, WHAT)?),
        b => (b - 1) as f64 / 1000.0,
    })
}

fn put_spans(w: &mut BitWriter, spans: &[Span]) {
    put_varbit_uint(w, spans.len() as u64);
    for s in spans {
        put_varbit_uint(w, u64::from(s.length));
        put_varbit_int(w, i64::from(s.offset));
    }
}

/// Most spans or custom bounds a layout may claim: more than a chunk could hold buckets for.
const MAX_LAYOUT_ITEMS: u64 = 1 << 20;

fn read_spans(r: &mut BitReader<'_>) -> Result<Vec<Span>, ChunkError> {
    const WHAT: &str = "histogram span";
    let n = read_varbit_uint(r, WHAT)?;
    if n > MAX_LAYOUT_ITEMS {
        return Err(ChunkError::Corrupt { what: WHAT });
    }
    let mut out = Vec::with_capacity(n.min(1024) as usize);
    for _ in 0..n {
        let length = u32::try_from(read_varbit_uint(r, WHAT)?)
            .map_err(|_| ChunkError::Corrupt { what: WHAT })?;
        let offset = i32::try_from(read_varbit_int(r, WHAT)?)
            .map_err(|_| ChunkError::Corrupt { what: WHAT })?;
        out.push(Span { offset, length });
    }
    Ok(out)
}

impl Layout {
    pub(crate) fn write(&self, w: &mut BitWriter) {
        put_zero_threshold(w, self.zero_threshold);
        put_varbit_int(w, i64::from(self.schema));
        put_spans(w, &self.positive_spans);
        put_spans(w, &self.negative_spans);
        if self.schema == CUSTOM_BUCKETS_SCHEMA {
            put_varbit_uint(w, self.custom_values.len() as u64);
            for v in &self.custom_values {
                put_custom_bound(w, *v);
            }
        }
    }

    pub(crate) fn read(r: &mut BitReader<'_>) -> Result<Layout, ChunkError> {
        let zero_threshold = read_zero_threshold(r)?;
        let schema = read_varbit_int(r, "histogram schema")?;
        let known = (i64::from(EXPONENTIAL_SCHEMA_MIN)..=i64::from(EXPONENTIAL_SCHEMA_MAX))
            .contains(&schema)
            || schema == i64::from(CUSTOM_BUCKETS_SCHEMA);
        if !known {
            return Err(ChunkError::Corrupt {
                what: "histogram schema (unknown)",
            });
        }
        let schema = schema as i32;
        let positive_spans = read_spans(r)?;
        let negative_spans = read_spans(r)?;
        let mut custom_values = Vec::new();
        if schema == CUSTOM_BUCKETS_SCHEMA {
            let n = read_varbit_uint(r, "histogram custom bounds")?;
            if n > MAX_LAYOUT_ITEMS {
                return Err(ChunkError::Corrupt {
                    what: "histogram custom bounds",
                });
            }
            for _ in 0..n {
                custom_values.push(read_custom_bound(r)?);
            }
        }
        Ok(Layout {
            schema,
            zero_threshold,
            positive_spans,
            negative_spans,
            custom_values,
        })
    }
}
