//! Tests of the histogram chunk encodings: bytes written out by hand from Prometheus'
//! `chunkenc` rules, and the append decisions (recode, new chunk, counter-reset header).

use std::collections::BTreeMap;

use bongsu_model::{CounterResetHint, FloatHistogram, Histogram, Span};
use proptest::prelude::*;

use super::histogram_meta::CounterResetHeader;
use super::*;

/// Packs a string of '0'/'1' (spaces ignored) into bytes, zero-padded.
fn bits(s: &str) -> Vec<u8> {
    let bits: Vec<bool> = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c == '1')
        .collect();
    bits.chunks(8)
        .map(|c| {
            c.iter()
                .enumerate()
                .fold(0u8, |b, (i, &x)| b | (u8::from(x) << (7 - i)))
        })
        .collect()
}

fn b64(v: u64) -> String {
    format!("{v:064b}")
}

fn span(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

fn h(count: u64, sum: f64, spans: Vec<Span>, buckets: Vec<i64>) -> Histogram {
    Histogram {
        schema: 0,
        zero_threshold: 2f64.powi(-128),
        zero_count: 1,
        count,
        sum,
        positive_spans: spans,
        positive_buckets: buckets,
        ..Histogram::default()
    }
}

#[test]
fn int_chunk_bytes_are_prometheus_bytes() {
    let mut c = HistogramChunk::new();
    let h1 = h(5, 10.0, vec![span(1, 2)], vec![2, 0]);
    let h2 = h(6, 11.0, vec![span(1, 2)], vec![2, 1]);
    assert!(matches!(
        c.append(None, 1000, &h1),
        HistogramAppend::Appended
    ));
    assert!(matches!(
        c.append(None, 2000, &h2),
        HistogramAppend::Appended
    ));
    let want_stream = [
        // Layout: zero threshold 2^-128 = 0.5·2^-127 → byte 116; schema 0; one positive span
        // (length 2, offset 1); no negative spans.
        "01110100",
        "0",
        "10 001",
        "10 010",
        "10 001",
        "0",
        // Sample 1: t 1000 (12-bit varbit), count 5, zero count 1, sum raw, buckets 2, 0.
        "11110 001111101000",
        "10 101",
        "10 001",
        &b64(10f64.to_bits()),
        "10 010",
        "0",
        // Sample 2: t dod 1000, count dod 1, zero count dod 0, sum XOR with a new window
        // (14 leading zeros, 1 significant bit), bucket dods 0 and 1.
        "11110 001111101000",
        "10 001",
        "0",
        "11 01110 000001 1",
        "0",
        "10 001",
    ]
    .concat();
    let mut want = vec![0, 2, 0];
    want.extend(bits(&want_stream));
    assert_eq!(c.bytes(), &want[..]);
    let got = decode_histogram_chunk(c.bytes()).unwrap();
    assert_eq!(got[0].1, h1);
    let mut h2_hint = h2.clone();
    h2_hint.counter_reset_hint = CounterResetHint::NotCounterReset;
    assert_eq!(got[1], (2000, h2_hint));
}

#[test]
fn float_chunk_bytes_are_prometheus_bytes() {
    let f1 = FloatHistogram {
        counter_reset_hint: CounterResetHint::Gauge,
        count: 2.0,
        sum: 1.5,
        positive_spans: vec![span(0, 1)],
        positive_buckets: vec![2.0],
        ..FloatHistogram::default()
    };
    let mut f2 = f1.clone();
    f2.sum = 1.5;
    f2.count = 3.0;
    f2.positive_buckets = vec![3.0];
    let mut c = FloatHistogramChunk::new();
    assert!(matches!(c.append(None, 5, &f1), HistogramAppend::Appended));
    assert!(matches!(c.append(None, 10, &f2), HistogramAppend::Appended));
    // 2.0 ^ 3.0 = 0x0008000000000000: 12 leading zeros, 1 significant bit.
    let want_stream = [
        "00000000",        // zero threshold 0
        "0",               // schema 0
        "10 001 10 001 0", // one positive span (length 1, offset 0)
        "0",
        "110 000101", // t 5 (3-bit varbits hold -3..=4)
        &b64(2f64.to_bits()),
        &b64(0),
        &b64(1.5f64.to_bits()),
        &b64(2f64.to_bits()),
        "110 000101",        // t dod 5
        "11 01100 000001 1", // count 2 → 3
        "0",                 // zero count unchanged
        "0",                 // sum unchanged
        "11 01100 000001 1", // bucket 2 → 3
    ]
    .concat();
    let mut want = vec![0, 2, 0b1100_0000];
    want.extend(bits(&want_stream));
    assert_eq!(c.bytes(), &want[..]);
    assert_eq!(c.header(), CounterResetHeader::Gauge);
    let got = decode_float_histogram_chunk(c.bytes()).unwrap();
    assert_eq!(got, vec![(5, f1), (10, f2)]);
}

/// Absolute count per bucket index, zero buckets left out.
fn buckets_of(spans: &[Span], abs: &[f64]) -> BTreeMap<i64, u64> {
    let mut out = BTreeMap::new();
    let idx = histogram_meta::BucketIndexes::new(spans);
    for (i, v) in idx.zip(abs) {
        if *v != 0.0 {
            out.insert(i, v.to_bits());
        }
    }
    out
}

fn same(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    a.count.to_bits() == b.count.to_bits()
        && a.sum.to_bits() == b.sum.to_bits()
        && a.zero_count == b.zero_count
        && a.schema == b.schema
        && buckets_of(&a.positive_spans, &a.positive_buckets)
            == buckets_of(&b.positive_spans, &b.positive_buckets)
        && buckets_of(&a.negative_spans, &a.negative_buckets)
            == buckets_of(&b.negative_spans, &b.negative_buckets)
}

#[test]
fn new_buckets_recode_and_resets_cut() {
    let mut c = HistogramChunk::new();
    let hs = [
        h(4, 1.0, vec![span(0, 2)], vec![1, 1]),
        // A new bucket before and one after: the chunk is recoded.
        h(8, 2.0, vec![span(-1, 4)], vec![0, 2, 0, 2]),
        // Bucket -1 empty again and missing: a backward insert, no new chunk.
        h(10, 3.0, vec![span(0, 3)], vec![2, 1, 1]),
    ];
    assert!(matches!(
        c.append(None, 1, &hs[0]),
        HistogramAppend::Appended
    ));
    assert!(matches!(
        c.append(None, 2, &hs[1]),
        HistogramAppend::Recoded
    ));
    assert!(matches!(
        c.append(None, 3, &hs[2]),
        HistogramAppend::Appended
    ));
    let got = decode_histogram_chunk(c.bytes()).unwrap();
    assert_eq!(got.len(), 3);
    for ((t, g), (i, w)) in got.iter().zip(hs.iter().enumerate()) {
        assert_eq!(*t, i as i64 + 1);
        assert!(same(&g.to_float(), &w.to_float()), "{g:?} vs {w:?}");
    }
    // A count going down is a counter reset: a new chunk with that header.
    let reset = h(3, 0.5, vec![span(0, 1)], vec![2]);
    let HistogramAppend::NewChunk(n) = c.append(None, 4, &reset) else {
        panic!("expected a new chunk");
    };
    assert_eq!(n.header(), CounterResetHeader::CounterReset);
    // A schema change cuts with an unknown header.
    let mut other = h(20, 5.0, vec![span(0, 1)], vec![2]);
    other.schema = 2;
    let HistogramAppend::NewChunk(n) = c.append(None, 5, &other) else {
        panic!("expected a new chunk");
    };
    assert_eq!(n.header(), CounterResetHeader::Unknown);
    // A chunk cut for time learns the header from the previous one.
    let mut next = HistogramChunk::new();
    next.append(Some(&c), 6, &h(11, 3.0, vec![span(0, 3)], vec![2, 1, 1]));
    assert_eq!(next.header(), CounterResetHeader::NotCounterReset);
}

#[test]
fn stale_markers_append_and_end_the_chunk() {
    let mut c = HistogramChunk::new();
    c.append(None, 1, &h(4, 1.0, vec![span(0, 1)], vec![4]));
    let stale = Histogram {
        sum: bongsu_model::STALE_NAN,
        ..Histogram::default()
    };
    assert!(matches!(
        c.append(None, 2, &stale),
        HistogramAppend::Appended
    ));
    assert!(matches!(
        c.append(None, 3, &h(4, 1.0, vec![span(0, 1)], vec![4])),
        HistogramAppend::NewChunk(_)
    ));
    let got = decode_histogram_chunk(c.bytes()).unwrap();
    assert!(got[1].1.is_stale());
    let mut f = FloatHistogramChunk::new();
    f.append(None, 1, &h(4, 1.0, vec![span(0, 1)], vec![4]).to_float());
    f.append(None, 2, &stale.to_float());
    let got = decode_float_histogram_chunk(f.bytes()).unwrap();
    assert!(got[1].1.is_stale());
}

#[test]
fn gauge_layouts_merge_both_ways() {
    let mut c = FloatHistogramChunk::new();
    let g = |spans: Vec<Span>, buckets: Vec<f64>| FloatHistogram {
        counter_reset_hint: CounterResetHint::Gauge,
        count: buckets.iter().sum(),
        positive_spans: spans,
        positive_buckets: buckets,
        ..FloatHistogram::default()
    };
    let gs = [
        g(vec![span(0, 2)], vec![5.0, 3.0]),
        g(vec![span(1, 2)], vec![1.0, 2.0]),
        g(vec![span(0, 1)], vec![1.0]),
    ];
    assert!(matches!(
        c.append(None, 1, &gs[0]),
        HistogramAppend::Appended
    ));
    assert!(matches!(
        c.append(None, 2, &gs[1]),
        HistogramAppend::Recoded
    ));
    assert!(matches!(
        c.append(None, 3, &gs[2]),
        HistogramAppend::Appended
    ));
    let got = decode_float_histogram_chunk(c.bytes()).unwrap();
    for ((_, a), b) in got.iter().zip(&gs) {
        assert!(same(a, b), "{a:?} vs {b:?}");
        assert_eq!(a.counter_reset_hint, CounterResetHint::Gauge);
    }
    // A counter histogram after gauges goes to a new chunk.
    let mut counter = gs[0].clone();
    counter.counter_reset_hint = CounterResetHint::Unknown;
    assert!(matches!(
        c.append(None, 4, &counter),
        HistogramAppend::NewChunk(_)
    ));
}

#[test]
fn custom_bounds_roundtrip_and_change_cuts() {
    let nhcb = |bounds: Vec<f64>| Histogram {
        schema: bongsu_model::histogram::CUSTOM_BUCKETS_SCHEMA,
        count: 3,
        sum: 1.0,
        positive_spans: vec![span(0, 3)],
        positive_buckets: vec![1, 0, 0],
        custom_values: bounds,
        ..Histogram::default()
    };
    let a = nhcb(vec![0.005, 1.0, 1e300]);
    let mut c = HistogramChunk::new();
    c.append(None, 1, &a);
    assert_eq!(decode_histogram_chunk(c.bytes()).unwrap()[0].1, a);
    let HistogramAppend::NewChunk(n) = c.append(None, 2, &nhcb(vec![0.5, 1.0, 2.0])) else {
        panic!("bounds change must cut");
    };
    assert_eq!(n.header(), CounterResetHeader::CounterReset);
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_histogram_chunk(&bytes);
        let _ = decode_float_histogram_chunk(&bytes);
    }

    #[test]
    fn growing_counters_roundtrip(steps in proptest::collection::vec((0u64..5, 0usize..6, -3i32..3), 1..60)) {
        // Cumulative per-bucket counts that only grow: every sample fits after recoding.
        let mut counts: BTreeMap<i32, u64> = BTreeMap::new();
        let mut c = HistogramChunk::new();
        let mut fc = FloatHistogramChunk::new();
        let mut want = Vec::new();
        for (i, (inc, _, idx)) in steps.iter().enumerate() {
            *counts.entry(*idx).or_default() += inc;
            let mut spans = Vec::new();
            let mut buckets = Vec::new();
            let mut last: Option<i32> = None;
            let mut prev = 0i64;
            for (&k, &v) in &counts {
                match last {
                    Some(l) if k == l + 1 => spans.last_mut().map(|s: &mut Span| s.length += 1).unwrap_or(()),
                    Some(l) => spans.push(span(k - l - 1, 1)),
                    None => spans.push(span(k, 1)),
                }
                last = Some(k);
                buckets.push(v as i64 - prev);
                prev = v as i64;
            }
            let total: u64 = counts.values().sum();
            let hist = Histogram { count: total, sum: total as f64, positive_spans: spans, positive_buckets: buckets, ..Histogram::default() };
            let t = i as i64 * 15_000;
            prop_assert!(!matches!(c.append(None, t, &hist), HistogramAppend::NewChunk(_)));
            prop_assert!(!matches!(fc.append(None, t, &hist.to_float()), HistogramAppend::NewChunk(_)));
            want.push(hist.to_float());
        }
        let got = decode_histogram_chunk(c.bytes()).unwrap();
        let fgot = decode_float_histogram_chunk(fc.bytes()).unwrap();
        prop_assert_eq!(got.len(), want.len());
        for (((_, g), (_, fg)), w) in got.iter().zip(&fgot).zip(&want) {
            prop_assert!(same(&g.to_float(), w));
            prop_assert!(same(fg, w));
        }
    }
}

/// Histogram chunks of one series as Prometheus 3.5.3 wrote them (a TSDB snapshot after
/// `benches/lib/push_histograms.py`; chunk file format: 8-byte header, then per chunk
/// `len uvarint | encoding u8 | data | crc32 u32`). bongsu's encoder, fed the decoded samples,
/// must write the same bytes, counter-reset header included (the previous chunk is passed on).
#[test]
fn prometheus_written_chunks_are_reproduced_byte_for_byte() {
    let file = include_bytes!("testdata/prometheus-3.5-histogram-chunks");
    assert_eq!(&file[..4], &[0x85, 0xBD, 0x40, 0xDD]);
    let mut pos = 8;
    let mut prev: Option<HistogramChunk> = None;
    let mut chunks = 0;
    while pos < file.len() {
        let len = bstream::get_uvarint(file, &mut pos, "len").unwrap() as usize;
        assert_eq!(file[pos], 2, "a histogram chunk");
        let data = &file[pos + 1..pos + 1 + len];
        pos += 1 + len + 4;
        let samples = decode_histogram_chunk(data).unwrap();
        let mut c = HistogramChunk::new();
        for (i, (t, h)) in samples.iter().enumerate() {
            let p = if i == 0 { prev.as_ref() } else { None };
            assert!(matches!(c.append(p, *t, h), HistogramAppend::Appended));
        }
        assert_eq!(c.bytes(), data, "chunk {chunks}");
        prev = Some(c);
        chunks += 1;
    }
    assert_eq!(chunks, 4);
}

/// Float histogram chunks (counters with resets, gauges, custom buckets) and integer
/// custom-bucket chunks as Prometheus 3.5.3 wrote them (`benches/lib/push_float_histograms.py`,
/// then a snapshot). Re-encoded from their decoded samples they must be the same bytes but for
/// the counter-reset header bits, which come from the series' previous chunk.
#[test]
fn prometheus_float_and_custom_bucket_chunks_are_reproduced() {
    let file = include_bytes!("testdata/prometheus-3.5-float-and-nhcb-chunks");
    let mut pos = 8;
    let mut headers = std::collections::BTreeSet::new();
    let mut n = 0;
    while pos < file.len() {
        let len = bstream::get_uvarint(file, &mut pos, "len").unwrap() as usize;
        let enc = file[pos];
        let data = &file[pos + 1..pos + 1 + len];
        pos += 1 + len + 4;
        let ours = match enc {
            2 => {
                let hs = decode_histogram_chunk(data).unwrap();
                assert!(hs[0].1.uses_custom_buckets());
                let mut c = HistogramChunk::new();
                for (t, h) in &hs {
                    assert!(matches!(c.append(None, *t, h), HistogramAppend::Appended));
                }
                c.bytes().to_vec()
            }
            3 => {
                let hs = decode_float_histogram_chunk(data).unwrap();
                let mut c = FloatHistogramChunk::new();
                for (t, h) in &hs {
                    assert!(matches!(c.append(None, *t, h), HistogramAppend::Appended));
                }
                c.bytes().to_vec()
            }
            e => panic!("unexpected encoding {e}"),
        };
        headers.insert((enc, CounterResetHeader::of_byte(data[2]) as u8));
        assert_eq!(ours.len(), data.len(), "chunk {n}");
        assert_eq!((&ours[..2], ours[2] & 0x3f), (&data[..2], data[2] & 0x3f));
        assert_eq!(&ours[3..], &data[3..], "chunk {n}");
        n += 1;
    }
    assert_eq!(n, 8);
    // Counter reset, not-a-reset, gauge and unknown headers are all covered.
    assert_eq!(headers.len(), 7, "{headers:?}");
}
