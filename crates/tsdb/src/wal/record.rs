//! Record payloads: the series, samples and tombstones records and their compact binary
//! encoding.
//!
//! This file owns what goes *inside* a frame (see `docs/format/wal.md`); framing, checksums and
//! files belong to `segment.rs`. Decoding treats its input as hostile: every count and length is
//! bounded by the bytes that remain, so a corrupt payload yields an error, never a huge
//! allocation or a panic.

use std::sync::Arc;

use bongsu_model::{Label, Labels};

pub use super::hist_record::{RefFloatHistogramSample, RefHistogramSample};

/// The id the head gives a series; samples refer to their series by it.
pub type SeriesRef = u64;

/// Type byte of a series record.
pub const RECORD_SERIES: u8 = 1;
/// Type byte of a samples record.
pub const RECORD_SAMPLES: u8 = 2;
/// Type byte of a tombstones record (segment format version 2).
pub const RECORD_TOMBSTONES: u8 = 3;
/// Type bytes of the histogram records (segment format version 3), numbered as Prometheus'
/// `tsdb/record` types: integer histograms with exponential buckets, float histograms, and the
/// custom-bucket (NHCB) variants of both, which carry their bucket bounds.
pub const RECORD_HISTOGRAM_SAMPLES: u8 = 7;
pub const RECORD_FLOAT_HISTOGRAM_SAMPLES: u8 = 8;
pub const RECORD_CUSTOM_BUCKETS_HISTOGRAM_SAMPLES: u8 = 9;
pub const RECORD_CUSTOM_BUCKETS_FLOAT_HISTOGRAM_SAMPLES: u8 = 10;

/// Largest payload of one record. Bigger inputs are split over several records, so a reader
/// never needs more than this much memory for one record.
pub const MAX_RECORD_PAYLOAD: usize = 1 << 20;

/// Most samples put in one samples record.
pub const MAX_SAMPLES_PER_RECORD: usize = 16 * 1024;

/// Most deletions put in one tombstones record.
pub const MAX_TOMBSTONES_PER_RECORD: usize = 16 * 1024;

/// Longest varint (a `u64` in 7-bit groups).
pub(super) const MAX_VARINT_LEN: usize = 10;
/// Worst-case encoded size of one sample: sref delta, timestamp delta, raw value.
const MAX_SAMPLE_LEN: usize = MAX_VARINT_LEN + MAX_VARINT_LEN + 8;
/// Smallest encoded sample (one-byte deltas), used to bound a count read from disk.
const MIN_SAMPLE_LEN: usize = 1 + 1 + 8;
/// Smallest encoded series: one-byte ref and one-byte label count.
const MIN_SERIES_LEN: usize = 2;
/// Smallest encoded label: two one-byte lengths (a name and a value are never empty).
const MIN_LABEL_LEN: usize = 2 + 2;
/// Worst-case encoded size of one deletion: sref, start, length.
const MAX_TOMBSTONE_LEN: usize = 3 * MAX_VARINT_LEN;
/// Smallest encoded deletion: three one-byte varints.
const MIN_TOMBSTONE_LEN: usize = 3;

// A full samples or tombstones record must fit under the payload limit whatever the values.
const _: () =
    assert!(MAX_VARINT_LEN + MAX_SAMPLES_PER_RECORD * MAX_SAMPLE_LEN <= MAX_RECORD_PAYLOAD);
const _: () =
    assert!(MAX_VARINT_LEN + MAX_TOMBSTONES_PER_RECORD * MAX_TOMBSTONE_LEN <= MAX_RECORD_PAYLOAD);

/// A series' ref and its labels, logged once when the head creates the series.
#[derive(Debug, Clone, PartialEq)]
pub struct RefSeries {
    pub sref: SeriesRef,
    pub labels: Labels,
}

/// One sample of the series `sref`. The value is stored bit-exactly (NaN payloads and the
/// stale marker survive).
#[derive(Debug, Clone, Copy)]
pub struct RefSample {
    pub sref: SeriesRef,
    pub t: i64,
    pub v: f64,
}

/// A deletion in the head: the samples of series `sref` with `mint <= t <= maxt` are gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefTombstone {
    pub sref: SeriesRef,
    pub mint: i64,
    pub maxt: i64,
}

/// One decoded WAL record.
#[derive(Debug, Clone)]
pub enum Record {
    Series(Vec<RefSeries>),
    Samples(Vec<RefSample>),
    Tombstones(Vec<RefTombstone>),
    /// Integer histogram samples, from a histogram record or its custom-bucket variant.
    HistogramSamples(Vec<RefHistogramSample>),
    /// Float histogram samples, from a float-histogram record or its custom-bucket variant.
    FloatHistogramSamples(Vec<RefFloatHistogramSample>),
}

/// Why a payload could not be decoded; the caller adds the segment and offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError(pub String);

pub(super) fn bad(reason: impl Into<String>) -> DecodeError {
    DecodeError(reason.into())
}

pub(crate) fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Zigzag keeps small negative deltas small.
pub(super) fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

pub(super) fn uvarint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Encoded size of one series entry, used to split series over records before encoding.
pub(crate) fn series_encoded_len(s: &RefSeries) -> usize {
    let mut n = uvarint_len(s.sref) + uvarint_len(s.labels.len() as u64);
    for l in s.labels.iter() {
        n += uvarint_len(l.name.len() as u64) + l.name.len();
        n += uvarint_len(l.value.len() as u64) + l.value.len();
    }
    n
}

/// The size a series with `labels` (and any ref) takes in a series record, if that is over
/// what one record holds: such a series could never be logged, so the head refuses it.
pub fn series_over_record_limit(labels: &Labels) -> Option<usize> {
    let mut n = MAX_VARINT_LEN + uvarint_len(labels.len() as u64);
    for l in labels.iter() {
        n += uvarint_len(l.name.len() as u64) + l.name.len();
        n += uvarint_len(l.value.len() as u64) + l.value.len();
    }
    (series_payload_bound(n) > MAX_RECORD_PAYLOAD).then_some(n)
}

/// Upper bound of the payload size of a series record whose entries encode to `entries` bytes
/// (the count prefix is at most one full varint).
pub(crate) fn series_payload_bound(entries: usize) -> usize {
    MAX_VARINT_LEN + entries
}

/// Appends a series payload: count, then per series its ref and length-prefixed labels.
pub(crate) fn encode_series(buf: &mut Vec<u8>, series: &[RefSeries]) {
    put_uvarint(buf, series.len() as u64);
    for s in series {
        put_uvarint(buf, s.sref);
        put_uvarint(buf, s.labels.len() as u64);
        for l in s.labels.iter() {
            put_uvarint(buf, l.name.len() as u64);
            buf.extend_from_slice(l.name.as_bytes());
            put_uvarint(buf, l.value.len() as u64);
            buf.extend_from_slice(l.value.as_bytes());
        }
    }
}

/// Appends a samples payload: count, the first sample's ref and time in full, every later one
/// as deltas against the first (wrapping, so any `u64`/`i64` round-trips), values as raw bits.
pub(crate) fn encode_samples(buf: &mut Vec<u8>, samples: &[RefSample]) {
    debug_assert!(samples.len() <= MAX_SAMPLES_PER_RECORD);
    put_uvarint(buf, samples.len() as u64);
    let Some(first) = samples.first() else {
        return;
    };
    put_uvarint(buf, first.sref);
    put_varint(buf, first.t);
    buf.extend_from_slice(&first.v.to_bits().to_le_bytes());
    for s in &samples[1..] {
        put_varint(buf, s.sref.wrapping_sub(first.sref) as i64);
        put_varint(buf, s.t.wrapping_sub(first.t));
        buf.extend_from_slice(&s.v.to_bits().to_le_bytes());
    }
}

/// Appends a tombstones payload: count, then per deletion its ref, start and length
/// (`maxt - mint`, never negative).
pub(crate) fn encode_tombstones(buf: &mut Vec<u8>, stones: &[RefTombstone]) {
    debug_assert!(stones.len() <= MAX_TOMBSTONES_PER_RECORD);
    put_uvarint(buf, stones.len() as u64);
    for s in stones {
        debug_assert!(s.mint <= s.maxt);
        put_uvarint(buf, s.sref);
        put_varint(buf, s.mint);
        put_uvarint(buf, s.maxt.abs_diff(s.mint));
    }
}

pub(super) struct Decoder<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Decoder<'a> {
    pub(super) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(super) fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let mut v: u64 = 0;
        for i in 0..MAX_VARINT_LEN {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(bad("varint runs past the end of the record"));
            };
            self.pos += 1;
            // The tenth byte may only carry the top bit of a u64.
            if i == MAX_VARINT_LEN - 1 && b > 1 {
                return Err(bad("varint overflows 64 bits"));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(bad("varint overflows 64 bits"))
    }

    pub(super) fn varint(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A count of items each at least `min_len` bytes long, bounded by the remaining bytes.
    pub(super) fn count(&mut self, what: &str, min_len: usize) -> Result<usize, DecodeError> {
        let n = self.uvarint()?;
        if n > (self.remaining() / min_len) as u64 {
            return Err(bad(format!(
                "{what} count {n} exceeds what the remaining {} bytes can hold",
                self.remaining()
            )));
        }
        Ok(n as usize)
    }

    pub(super) fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(bad(format!(
                "length {n} exceeds the remaining {} bytes",
                self.remaining()
            )));
        }
        let b = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    pub(super) fn f64_bits(&mut self) -> Result<f64, DecodeError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_bits(u64::from_le_bytes(a)))
    }

    pub(super) fn string(&mut self, what: &str) -> Result<Arc<str>, DecodeError> {
        let n = self.uvarint()?;
        if n > self.remaining() as u64 {
            return Err(bad(format!(
                "{what} length {n} exceeds the remaining {} bytes",
                self.remaining()
            )));
        }
        let b = self.bytes(n as usize)?;
        let s = std::str::from_utf8(b).map_err(|e| bad(format!("{what} is not UTF-8: {e}")))?;
        Ok(Arc::from(s))
    }
}

/// Decodes the payload of a record of type `rtype`. Unknown types are an error: there is only
/// one format version so far and no record type may be skipped.
pub(crate) fn decode(rtype: u8, payload: &[u8]) -> Result<Record, DecodeError> {
    let mut d = Decoder {
        buf: payload,
        pos: 0,
    };
    let rec = match rtype {
        RECORD_SERIES => Record::Series(decode_series(&mut d)?),
        RECORD_SAMPLES => Record::Samples(decode_samples(&mut d)?),
        RECORD_TOMBSTONES => Record::Tombstones(decode_tombstones(&mut d)?),
        RECORD_HISTOGRAM_SAMPLES | RECORD_CUSTOM_BUCKETS_HISTOGRAM_SAMPLES => {
            Record::HistogramSamples(super::hist_record::decode_histograms(&mut d, rtype)?)
        }
        RECORD_FLOAT_HISTOGRAM_SAMPLES | RECORD_CUSTOM_BUCKETS_FLOAT_HISTOGRAM_SAMPLES => {
            Record::FloatHistogramSamples(super::hist_record::decode_float_histograms(
                &mut d, rtype,
            )?)
        }
        other => return Err(bad(format!("unknown record type {other}"))),
    };
    if d.remaining() != 0 {
        return Err(bad(format!(
            "{} trailing bytes after the record",
            d.remaining()
        )));
    }
    Ok(rec)
}

fn decode_series(d: &mut Decoder<'_>) -> Result<Vec<RefSeries>, DecodeError> {
    let n = d.count("series", MIN_SERIES_LEN)?;
    if n == 0 {
        return Err(bad("empty series record"));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let sref = d.uvarint()?;
        // Labels::new enforces the label-count limit; the byte bound keeps the allocation small.
        let nl = d.count("label", MIN_LABEL_LEN)?;
        let mut labels = Vec::with_capacity(nl);
        for _ in 0..nl {
            let name = d.string("label name")?;
            let value = d.string("label value")?;
            labels.push(Label { name, value });
        }
        // The writer only logs valid, sorted sets without empty values; anything else was not
        // written by us.
        let sorted = labels.windows(2).all(|w| w[0].name < w[1].name);
        let has_empty_value = labels.iter().any(|l| l.value.is_empty());
        if !sorted || has_empty_value {
            return Err(bad(format!("series {sref} has an invalid label set")));
        }
        let labels = Labels::new(labels)
            .map_err(|e| bad(format!("series {sref} has an invalid label set: {e}")))?;
        out.push(RefSeries { sref, labels });
    }
    Ok(out)
}

fn decode_samples(d: &mut Decoder<'_>) -> Result<Vec<RefSample>, DecodeError> {
    let n = d.count("sample", MIN_SAMPLE_LEN)?;
    if n == 0 {
        return Err(bad("empty samples record"));
    }
    let mut out = Vec::with_capacity(n);
    let sref0 = d.uvarint()?;
    let t0 = d.varint()?;
    let v0 = d.f64_bits()?;
    out.push(RefSample {
        sref: sref0,
        t: t0,
        v: v0,
    });
    for _ in 1..n {
        let sref = sref0.wrapping_add(d.varint()? as u64);
        let t = t0.wrapping_add(d.varint()?);
        let v = d.f64_bits()?;
        out.push(RefSample { sref, t, v });
    }
    Ok(out)
}

fn decode_tombstones(d: &mut Decoder<'_>) -> Result<Vec<RefTombstone>, DecodeError> {
    let n = d.count("tombstone", MIN_TOMBSTONE_LEN)?;
    if n == 0 {
        return Err(bad("empty tombstones record"));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let sref = d.uvarint()?;
        let mint = d.varint()?;
        let len = d.uvarint()?;
        let maxt = i64::try_from(i128::from(mint) + i128::from(len)).map_err(|_| {
            bad(format!(
                "tombstone of series {sref} ends past the time range"
            ))
        })?;
        out.push(RefTombstone { sref, mint, maxt });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn roundtrip_samples(samples: &[RefSample]) -> Vec<RefSample> {
        let mut buf = Vec::new();
        encode_samples(&mut buf, samples);
        match decode(RECORD_SAMPLES, &buf).unwrap() {
            Record::Samples(s) => s,
            other => panic!("wrong record {other:?}"),
        }
    }

    fn assert_samples_eq(a: &[RefSample], b: &[RefSample]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x.sref, y.sref);
            assert_eq!(x.t, y.t);
            assert_eq!(x.v.to_bits(), y.v.to_bits());
        }
    }

    #[test]
    fn stale_marker_and_extremes_roundtrip() {
        let samples = [
            RefSample {
                sref: 5,
                t: 1000,
                v: bongsu_model::STALE_NAN,
            },
            RefSample {
                sref: 0,
                t: i64::MIN,
                v: f64::from_bits(0x7ff8_dead_beef_0001),
            },
            RefSample {
                sref: u64::MAX,
                t: i64::MAX,
                v: -0.0,
            },
            RefSample {
                sref: 7,
                t: -1,
                v: f64::INFINITY,
            },
        ];
        assert_samples_eq(&roundtrip_samples(&samples), &samples);
    }

    #[test]
    fn rejects_bad_payloads() {
        assert!(decode(42, &[1])
            .unwrap_err()
            .0
            .contains("unknown record type 42"));
        // A huge count with no bytes behind it must not allocate.
        let mut buf = Vec::new();
        put_uvarint(&mut buf, u64::MAX);
        assert!(decode(RECORD_SAMPLES, &buf).is_err());
        assert!(decode(RECORD_SERIES, &buf).is_err());
        // Invalid UTF-8 in a label name.
        let buf = [1, 1, 1, 1, 0xff, 1, b'x'];
        assert!(decode(RECORD_SERIES, &buf).unwrap_err().0.contains("UTF-8"));
        // Unsorted labels.
        let buf = [1, 1, 2, 1, b'b', 1, b'x', 1, b'a', 1, b'y'];
        assert!(decode(RECORD_SERIES, &buf)
            .unwrap_err()
            .0
            .contains("invalid label set"));
        // Duplicate names.
        let buf = [1, 1, 2, 1, b'a', 1, b'x', 1, b'a', 1, b'y'];
        assert!(decode(RECORD_SERIES, &buf).is_err());
        // Empty value (never written, as Labels drops them).
        let buf = [1, 1, 1, 1, b'a', 0];
        assert!(decode(RECORD_SERIES, &buf).is_err());
        // Trailing bytes and overlong varints.
        let mut buf = Vec::new();
        encode_samples(
            &mut buf,
            &[RefSample {
                sref: 1,
                t: 2,
                v: 3.0,
            }],
        );
        buf.push(0);
        assert!(decode(RECORD_SAMPLES, &buf)
            .unwrap_err()
            .0
            .contains("trailing"));
        assert!(decode(RECORD_SAMPLES, &[0xff; 11]).is_err());
        assert!(decode(RECORD_SAMPLES, &[0]).is_err());
    }

    #[test]
    fn tombstones_roundtrip_and_reject_bad_payloads() {
        let stones = vec![
            RefTombstone {
                sref: 3,
                mint: -100,
                maxt: 250,
            },
            RefTombstone {
                sref: u64::MAX,
                mint: i64::MIN,
                maxt: i64::MAX,
            },
        ];
        let mut buf = Vec::new();
        encode_tombstones(&mut buf, &stones);
        match decode(RECORD_TOMBSTONES, &buf).unwrap() {
            Record::Tombstones(got) => assert_eq!(got, stones),
            other => panic!("wrong record {other:?}"),
        }
        for cut in 0..buf.len() {
            assert!(
                decode(RECORD_TOMBSTONES, &buf[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        assert!(decode(RECORD_TOMBSTONES, &[0])
            .unwrap_err()
            .0
            .contains("empty"));
        // The end would pass i64::MAX.
        let mut buf = Vec::new();
        put_uvarint(&mut buf, 1);
        put_uvarint(&mut buf, 1);
        put_varint(&mut buf, i64::MAX - 1);
        put_uvarint(&mut buf, 2);
        assert!(decode(RECORD_TOMBSTONES, &buf)
            .unwrap_err()
            .0
            .contains("past the time range"));
    }

    fn arb_labels() -> impl Strategy<Value = Labels> {
        proptest::collection::btree_map("[a-z_]{1,8}", "\\PC{1,12}", 0..6).prop_map(|m| {
            Labels::new(m.into_iter().map(|(n, v)| Label::new(n, v)).collect()).unwrap()
        })
    }

    proptest! {
        #[test]
        fn samples_roundtrip(raw in proptest::collection::vec(
            (any::<u64>(), any::<i64>(), any::<u64>()), 1..200)
        ) {
            let samples: Vec<RefSample> = raw
                .iter()
                .map(|&(sref, t, bits)| RefSample { sref, t, v: f64::from_bits(bits) })
                .collect();
            assert_samples_eq(&roundtrip_samples(&samples), &samples);
        }

        #[test]
        fn series_roundtrip(raw in proptest::collection::vec((any::<u64>(), arb_labels()), 1..50)) {
            let series: Vec<RefSeries> = raw
                .into_iter()
                .map(|(sref, labels)| RefSeries { sref, labels })
                .collect();
            let mut buf = Vec::new();
            encode_series(&mut buf, &series);
            let entries: usize = series.iter().map(series_encoded_len).sum();
            prop_assert!(buf.len() <= series_payload_bound(entries));
            match decode(RECORD_SERIES, &buf).unwrap() {
                Record::Series(s) => prop_assert_eq!(s, series),
                other => panic!("wrong record {other:?}"),
            }
        }

        #[test]
        fn decode_never_panics(rtype in 0u8..4, bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(rtype, &bytes);
        }
    }
}
