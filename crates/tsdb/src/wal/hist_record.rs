//! Histogram sample records: integer and float native histograms, with exponential or custom
//! buckets (record types 7–10, numbered as Prometheus' `tsdb/record`).
//!
//! The record header follows this WAL's samples record (count, first ref and time in full,
//! later ones as deltas to the first); each histogram's body is Prometheus' `EncodeHistogram` /
//! `EncodeFloatHistogram` layout byte for byte (hint byte, zigzag schema, big-endian floats,
//! spans, buckets, then custom bounds for schema -53). As in Prometheus, custom-bucket
//! histograms go in their own record types. The layout is in `docs/format/wal.md`.
//!
//! Not here: validation of the histograms' meaning (the head validates before logging); a
//! decoded histogram is only checked for what keeps the decoder safe and the types sound
//! (known schema and hint, counts bounded by the bytes left).

use bongsu_model::histogram::{
    CUSTOM_BUCKETS_SCHEMA, EXPONENTIAL_SCHEMA_MAX, EXPONENTIAL_SCHEMA_MIN,
};
use bongsu_model::{CounterResetHint, FloatHistogram, Histogram, Span};

use super::record::{
    bad, put_uvarint, put_varint, uvarint_len, DecodeError, Decoder, SeriesRef, MAX_RECORD_PAYLOAD,
    MAX_VARINT_LEN, RECORD_CUSTOM_BUCKETS_FLOAT_HISTOGRAM_SAMPLES,
    RECORD_CUSTOM_BUCKETS_HISTOGRAM_SAMPLES, RECORD_FLOAT_HISTOGRAM_SAMPLES,
    RECORD_HISTOGRAM_SAMPLES,
};

/// One integer histogram sample of the series `sref` (Prometheus' `record.RefHistogramSample`).
#[derive(Debug, Clone, PartialEq)]
pub struct RefHistogramSample {
    pub sref: SeriesRef,
    pub t: i64,
    pub h: Histogram,
}

/// One float histogram sample of the series `sref` (Prometheus'
/// `record.RefFloatHistogramSample`).
#[derive(Debug, Clone, PartialEq)]
pub struct RefFloatHistogramSample {
    pub sref: SeriesRef,
    pub t: i64,
    pub h: FloatHistogram,
}

/// Most histograms put in one record.
pub const MAX_HISTOGRAMS_PER_RECORD: usize = 4 * 1024;

/// Smallest encoded integer histogram: hint, schema, zero threshold (8), zero count, count,
/// sum (8), four one-byte counts.
const MIN_INT_BODY: usize = 1 + 1 + 8 + 1 + 1 + 8 + 4;
/// Smallest encoded float histogram: hint, schema, four floats, four one-byte counts.
const MIN_FLOAT_BODY: usize = 1 + 1 + 4 * 8 + 4;
/// Smallest encoded span: one-byte offset and length.
const MIN_SPAN_LEN: usize = 2;

/// What a histogram record needs from either histogram type.
pub(crate) trait WalHistogram {
    const FLOAT: bool;
    fn sref_t(&self) -> (SeriesRef, i64);
    fn custom(&self) -> bool;
    /// Exact size of the body.
    fn body_len(&self) -> usize;
    fn encode_body(&self, buf: &mut Vec<u8>);
}

fn spans_len(spans: &[Span]) -> usize {
    uvarint_len(spans.len() as u64)
        + spans
            .iter()
            .map(|s| zigzag_len(i64::from(s.offset)) + uvarint_len(u64::from(s.length)))
            .sum::<usize>()
}

fn zigzag_len(v: i64) -> usize {
    uvarint_len(((v << 1) ^ (v >> 63)) as u64)
}

fn custom_len(schema: i32, values: &[f64]) -> usize {
    if schema == CUSTOM_BUCKETS_SCHEMA {
        uvarint_len(values.len() as u64) + 8 * values.len()
    } else {
        0
    }
}

fn put_be_f64(buf: &mut Vec<u8>, v: f64) {
    buf.extend_from_slice(&v.to_bits().to_be_bytes());
}

fn put_spans(buf: &mut Vec<u8>, spans: &[Span]) {
    put_uvarint(buf, spans.len() as u64);
    for s in spans {
        put_varint(buf, i64::from(s.offset));
        put_uvarint(buf, u64::from(s.length));
    }
}

fn put_custom(buf: &mut Vec<u8>, schema: i32, values: &[f64]) {
    if schema == CUSTOM_BUCKETS_SCHEMA {
        put_uvarint(buf, values.len() as u64);
        for v in values {
            put_be_f64(buf, *v);
        }
    }
}

impl WalHistogram for RefHistogramSample {
    const FLOAT: bool = false;
    fn sref_t(&self) -> (SeriesRef, i64) {
        (self.sref, self.t)
    }
    fn custom(&self) -> bool {
        self.h.uses_custom_buckets()
    }
    fn body_len(&self) -> usize {
        let h = &self.h;
        1 + zigzag_len(i64::from(h.schema))
            + 8
            + uvarint_len(h.zero_count)
            + uvarint_len(h.count)
            + 8
            + spans_len(&h.positive_spans)
            + spans_len(&h.negative_spans)
            + uvarint_len(h.positive_buckets.len() as u64)
            + h.positive_buckets
                .iter()
                .map(|b| zigzag_len(*b))
                .sum::<usize>()
            + uvarint_len(h.negative_buckets.len() as u64)
            + h.negative_buckets
                .iter()
                .map(|b| zigzag_len(*b))
                .sum::<usize>()
            + custom_len(h.schema, &h.custom_values)
    }
    fn encode_body(&self, buf: &mut Vec<u8>) {
        let h = &self.h;
        buf.push(h.counter_reset_hint as u8);
        put_varint(buf, i64::from(h.schema));
        put_be_f64(buf, h.zero_threshold);
        put_uvarint(buf, h.zero_count);
        put_uvarint(buf, h.count);
        put_be_f64(buf, h.sum);
        put_spans(buf, &h.positive_spans);
        put_spans(buf, &h.negative_spans);
        for buckets in [&h.positive_buckets, &h.negative_buckets] {
            put_uvarint(buf, buckets.len() as u64);
            for b in buckets {
                put_varint(buf, *b);
            }
        }
        put_custom(buf, h.schema, &h.custom_values);
    }
}

impl WalHistogram for RefFloatHistogramSample {
    const FLOAT: bool = true;
    fn sref_t(&self) -> (SeriesRef, i64) {
        (self.sref, self.t)
    }
    fn custom(&self) -> bool {
        self.h.uses_custom_buckets()
    }
    fn body_len(&self) -> usize {
        let h = &self.h;
        1 + zigzag_len(i64::from(h.schema))
            + 4 * 8
            + spans_len(&h.positive_spans)
            + spans_len(&h.negative_spans)
            + uvarint_len(h.positive_buckets.len() as u64)
            + 8 * h.positive_buckets.len()
            + uvarint_len(h.negative_buckets.len() as u64)
            + 8 * h.negative_buckets.len()
            + custom_len(h.schema, &h.custom_values)
    }
    fn encode_body(&self, buf: &mut Vec<u8>) {
        let h = &self.h;
        buf.push(h.counter_reset_hint as u8);
        put_varint(buf, i64::from(h.schema));
        put_be_f64(buf, h.zero_threshold);
        put_be_f64(buf, h.zero_count);
        put_be_f64(buf, h.count);
        put_be_f64(buf, h.sum);
        put_spans(buf, &h.positive_spans);
        put_spans(buf, &h.negative_spans);
        for buckets in [&h.positive_buckets, &h.negative_buckets] {
            put_uvarint(buf, buckets.len() as u64);
            for b in buckets {
                put_be_f64(buf, *b);
            }
        }
        put_custom(buf, h.schema, &h.custom_values);
    }
}

/// An upper bound of the size of a histogram's WAL entry, if that is over what one record
/// holds: such a histogram could never be logged, so the head refuses it (it would take some
/// 100,000 buckets).
pub fn histogram_over_record_limit(h: &bongsu_model::HistogramValue) -> Option<usize> {
    let (spans, buckets, custom, bucket_len) = match h {
        bongsu_model::HistogramValue::Int(h) => (
            h.positive_spans.len() + h.negative_spans.len(),
            h.positive_buckets.len() + h.negative_buckets.len(),
            h.custom_values.len(),
            MAX_VARINT_LEN,
        ),
        bongsu_model::HistogramValue::Float(h) => (
            h.positive_spans.len() + h.negative_spans.len(),
            h.positive_buckets.len() + h.negative_buckets.len(),
            h.custom_values.len(),
            8,
        ),
    };
    // Ref and time, hint, schema, four scalars, five counts, then the lists.
    let n = 2 * MAX_VARINT_LEN
        + 1
        + MAX_VARINT_LEN
        + 4 * MAX_VARINT_LEN.max(8)
        + 5 * MAX_VARINT_LEN
        + spans * 2 * MAX_VARINT_LEN
        + buckets * bucket_len
        + custom * 8;
    (MAX_VARINT_LEN + n > MAX_RECORD_PAYLOAD).then_some(n)
}

/// The record type for a batch of `H`s, all with or all without custom buckets.
pub(crate) fn record_type<H: WalHistogram>(custom: bool) -> u8 {
    match (H::FLOAT, custom) {
        (false, false) => RECORD_HISTOGRAM_SAMPLES,
        (false, true) => RECORD_CUSTOM_BUCKETS_HISTOGRAM_SAMPLES,
        (true, false) => RECORD_FLOAT_HISTOGRAM_SAMPLES,
        (true, true) => RECORD_CUSTOM_BUCKETS_FLOAT_HISTOGRAM_SAMPLES,
    }
}

/// Worst-case size of one entry: ref and time deltas plus the body.
pub(crate) fn entry_bound<H: WalHistogram>(h: &H) -> usize {
    2 * MAX_VARINT_LEN + h.body_len()
}

/// Splits `hs` (all of one bucket kind) into runs that each encode under the payload limit.
/// Returns the end indexes of the runs, or the size of an entry too big for any record.
pub(crate) fn split_runs<H: WalHistogram>(hs: &[&H]) -> Result<Vec<usize>, usize> {
    let mut ends = Vec::new();
    let mut size = MAX_VARINT_LEN;
    let mut n = 0;
    for (i, h) in hs.iter().enumerate() {
        let e = entry_bound(*h);
        if MAX_VARINT_LEN + e > MAX_RECORD_PAYLOAD {
            return Err(e);
        }
        if n == MAX_HISTOGRAMS_PER_RECORD || size + e > MAX_RECORD_PAYLOAD {
            ends.push(i);
            size = MAX_VARINT_LEN;
            n = 0;
        }
        size += e;
        n += 1;
    }
    if n > 0 {
        ends.push(hs.len());
    }
    Ok(ends)
}

/// Appends a histogram payload: count, the first sample's ref and time in full (each later
/// one as wrapping deltas to the first), and each histogram's body after its ref and time.
pub(crate) fn encode_histograms<H: WalHistogram>(buf: &mut Vec<u8>, hs: &[&H]) {
    debug_assert!(hs.len() <= MAX_HISTOGRAMS_PER_RECORD);
    put_uvarint(buf, hs.len() as u64);
    let Some(first) = hs.first() else {
        return;
    };
    let (sref0, t0) = first.sref_t();
    for (i, h) in hs.iter().enumerate() {
        let (sref, t) = h.sref_t();
        if i == 0 {
            put_uvarint(buf, sref0);
            put_varint(buf, t0);
        } else {
            put_varint(buf, sref.wrapping_sub(sref0) as i64);
            put_varint(buf, t.wrapping_sub(t0));
        }
        h.encode_body(buf);
    }
}

fn ref_and_times<'a>(
    d: &mut Decoder<'a>,
    n: usize,
    mut body: impl FnMut(&mut Decoder<'a>, SeriesRef, i64) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    if n == 0 {
        return Err(bad("empty histogram record"));
    }
    let sref0 = d.uvarint()?;
    let t0 = d.varint()?;
    body(d, sref0, t0)?;
    for _ in 1..n {
        let sref = sref0.wrapping_add(d.varint()? as u64);
        let t = t0.wrapping_add(d.varint()?);
        body(d, sref, t)?;
    }
    Ok(())
}

fn be_f64(d: &mut Decoder<'_>) -> Result<f64, DecodeError> {
    let b = d.bytes(8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(f64::from_bits(u64::from_be_bytes(a)))
}

fn hint(d: &mut Decoder<'_>) -> Result<CounterResetHint, DecodeError> {
    let b = d.bytes(1)?[0];
    CounterResetHint::from_u8(b).ok_or_else(|| bad(format!("unknown counter reset hint {b}")))
}

/// The schema, checked against the record type (custom bounds only in the custom types).
fn schema(d: &mut Decoder<'_>, custom: bool) -> Result<i32, DecodeError> {
    let s = d.varint()?;
    let known = (i64::from(EXPONENTIAL_SCHEMA_MIN)..=i64::from(EXPONENTIAL_SCHEMA_MAX))
        .contains(&s)
        || s == i64::from(CUSTOM_BUCKETS_SCHEMA);
    if !known {
        return Err(bad(format!("histogram with unknown schema {s}")));
    }
    let s = s as i32;
    if (s == CUSTOM_BUCKETS_SCHEMA) != custom {
        return Err(bad(format!(
            "histogram with schema {s} in a record for {} buckets",
            if custom { "custom" } else { "exponential" }
        )));
    }
    Ok(s)
}

fn spans(d: &mut Decoder<'_>) -> Result<Vec<Span>, DecodeError> {
    let n = d.count("span", MIN_SPAN_LEN)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let offset = i32::try_from(d.varint()?).map_err(|_| bad("span offset overflows i32"))?;
        let length = u32::try_from(d.uvarint()?).map_err(|_| bad("span length overflows u32"))?;
        out.push(Span { offset, length });
    }
    Ok(out)
}

fn custom_values(d: &mut Decoder<'_>, schema: i32) -> Result<Vec<f64>, DecodeError> {
    if schema != CUSTOM_BUCKETS_SCHEMA {
        return Ok(Vec::new());
    }
    let n = d.count("custom bound", 8)?;
    (0..n).map(|_| be_f64(d)).collect()
}

fn decode_int_body(d: &mut Decoder<'_>, custom: bool) -> Result<Histogram, DecodeError> {
    let counter_reset_hint = hint(d)?;
    let schema = schema(d, custom)?;
    let zero_threshold = be_f64(d)?;
    let zero_count = d.uvarint()?;
    let count = d.uvarint()?;
    let sum = be_f64(d)?;
    let positive_spans = spans(d)?;
    let negative_spans = spans(d)?;
    let mut buckets = [Vec::new(), Vec::new()];
    for b in &mut buckets {
        let n = d.count("bucket", 1)?;
        *b = (0..n).map(|_| d.varint()).collect::<Result<_, _>>()?;
    }
    let [positive_buckets, negative_buckets] = buckets;
    Ok(Histogram {
        counter_reset_hint,
        schema,
        zero_threshold,
        zero_count,
        count,
        sum,
        positive_spans,
        negative_spans,
        positive_buckets,
        negative_buckets,
        custom_values: custom_values(d, schema)?,
    })
}

fn decode_float_body(d: &mut Decoder<'_>, custom: bool) -> Result<FloatHistogram, DecodeError> {
    let counter_reset_hint = hint(d)?;
    let schema = schema(d, custom)?;
    let zero_threshold = be_f64(d)?;
    let zero_count = be_f64(d)?;
    let count = be_f64(d)?;
    let sum = be_f64(d)?;
    let positive_spans = spans(d)?;
    let negative_spans = spans(d)?;
    let mut buckets = [Vec::new(), Vec::new()];
    for b in &mut buckets {
        let n = d.count("bucket", 8)?;
        *b = (0..n).map(|_| be_f64(d)).collect::<Result<_, _>>()?;
    }
    let [positive_buckets, negative_buckets] = buckets;
    Ok(FloatHistogram {
        counter_reset_hint,
        schema,
        zero_threshold,
        zero_count,
        count,
        sum,
        positive_spans,
        negative_spans,
        positive_buckets,
        negative_buckets,
        custom_values: custom_values(d, schema)?,
    })
}

pub(super) fn decode_histograms(
    d: &mut Decoder<'_>,
    rtype: u8,
) -> Result<Vec<RefHistogramSample>, DecodeError> {
    let custom = rtype == RECORD_CUSTOM_BUCKETS_HISTOGRAM_SAMPLES;
    let n = d.count("histogram", 2 + MIN_INT_BODY)?;
    let mut out = Vec::with_capacity(n);
    ref_and_times(d, n, |d, sref, t| {
        let h = decode_int_body(d, custom)?;
        out.push(RefHistogramSample { sref, t, h });
        Ok(())
    })?;
    Ok(out)
}

pub(super) fn decode_float_histograms(
    d: &mut Decoder<'_>,
    rtype: u8,
) -> Result<Vec<RefFloatHistogramSample>, DecodeError> {
    let custom = rtype == RECORD_CUSTOM_BUCKETS_FLOAT_HISTOGRAM_SAMPLES;
    let n = d.count("histogram", 2 + MIN_FLOAT_BODY)?;
    let mut out = Vec::with_capacity(n);
    ref_and_times(d, n, |d, sref, t| {
        let h = decode_float_body(d, custom)?;
        out.push(RefFloatHistogramSample { sref, t, h });
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
#[path = "hist_record_tests.rs"]
mod tests;
