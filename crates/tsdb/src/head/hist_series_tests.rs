//! The head cuts histogram chunks where Prometheus' head does.

use std::sync::Arc;

use bongsu_model::{Histogram, HistogramValue, Span};

use super::*;
use crate::chunk::decode_histogram_chunk;

/// `h` as `push_histograms.py` sent it: only the buckets with observations (a chunk holds the
/// empty ones too, from the widest layout of its samples, which changes where the head cuts).
fn without_empty_buckets(mut h: Histogram) -> Histogram {
    let mut spans: Vec<Span> = Vec::new();
    let mut deltas = Vec::new();
    let (mut abs, mut prev_abs, mut last_idx) = (0i64, 0i64, None::<i64>);
    let idx = crate::chunk::histogram_meta::BucketIndexes::new(&h.positive_spans);
    for (i, d) in idx.zip(h.positive_buckets.iter()) {
        abs += d;
        if abs == 0 {
            continue;
        }
        match last_idx {
            Some(l) if i == l + 1 => spans.last_mut().unwrap().length += 1,
            Some(l) => spans.push(Span {
                offset: (i - l - 1) as i32,
                length: 1,
            }),
            None => spans.push(Span {
                offset: i as i32,
                length: 1,
            }),
        }
        deltas.push(abs - prev_abs);
        prev_abs = abs;
        last_idx = Some(i);
    }
    h.positive_spans = spans;
    h.positive_buckets = deltas;
    h.counter_reset_hint = bongsu_model::CounterResetHint::Unknown;
    h
}

/// The first four chunks of one series as Prometheus 3.5.3's head cut them (see the chunk
/// fixture's test in `chunk/histogram_tests.rs`): the head, fed the same samples, must cut at
/// the same samples and write the same bytes, counter-reset headers included.
#[test]
fn head_cuts_chunks_where_prometheus_does() {
    let file = include_bytes!("../chunk/testdata/prometheus-3.5-histogram-chunks");
    let mut pos = 8;
    let mut want: Vec<&[u8]> = Vec::new();
    while pos < file.len() {
        let len = crate::chunk::bstream_get_uvarint(file, &mut pos).unwrap() as usize;
        want.push(&file[pos + 1..pos + 1 + len]);
        pos += 1 + len + 4;
    }
    let dir = tempfile::tempdir().unwrap();
    let (disk, _) = ChunkDisk::open(&dir.path().join("chunks_head")).unwrap();
    let mut data = HistData::default();
    let range = 2 * 3600 * 1000;
    for chunk in &want {
        for (t, h) in decode_histogram_chunk(chunk).unwrap() {
            let h = without_empty_buckets(h);
            data.append(t, &HistogramValue::Int(Arc::new(h)), range, &disk, 1);
        }
    }
    let mut got: Vec<Vec<u8>> = data
        .closed
        .iter()
        .map(|c| c.chunk.with_bytes(&disk, |b| b.to_vec()).unwrap())
        .collect();
    got.extend(data.open.as_ref().map(|o| o.chunk.bytes().to_vec()));
    let counts = |cs: &[&[u8]]| -> Vec<(usize, usize, i64)> {
        cs.iter()
            .map(|c| {
                let d = decode_histogram_chunk(c).unwrap();
                (d.len(), c.len(), d[0].0)
            })
            .collect()
    };
    let g: Vec<&[u8]> = got.iter().map(|v| &v[..]).collect();
    assert_eq!(counts(&g), counts(&want));
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(&g[..], *w, "chunk {i}");
    }
}

/// Non-zero buckets by index and the scalar fields, for comparing a histogram as appended
/// with the one read back (which may carry empty buckets of a wider layout).
fn key(h: &HistogramValue) -> String {
    let f = h.to_float();
    let buckets = |spans: &[Span], counts: &[f64]| -> Vec<(i64, u64)> {
        crate::chunk::histogram_meta::BucketIndexes::new(spans)
            .zip(counts.iter())
            .filter(|(_, c)| **c != 0.0)
            .map(|(i, c)| (i, c.to_bits()))
            .collect()
    };
    format!(
        "{} {} {} {} {} {:?} {:?} {:?}",
        f.schema,
        f.count.to_bits(),
        f.zero_count.to_bits(),
        f.sum.to_bits(),
        f.zero_threshold.to_bits(),
        buckets(&f.positive_spans, &f.positive_buckets),
        buckets(&f.negative_spans, &f.negative_buckets),
        f.custom_values
    )
}

fn arb_histogram() -> impl proptest::strategy::Strategy<Value = HistogramValue> {
    use proptest::prelude::*;
    (
        0u8..4,
        -1i32..2,
        proptest::collection::btree_map(-6i64..6, 0u64..5, 0..6),
        any::<bool>(),
        0u8..20,
    )
        .prop_map(|(hint, schema, buckets, float, special)| {
            let mut spans: Vec<Span> = Vec::new();
            let mut deltas = Vec::new();
            let (mut last, mut prev) = (None::<i64>, 0i64);
            for (&i, &c) in &buckets {
                match last {
                    Some(l) if i == l + 1 => spans.last_mut().unwrap().length += 1,
                    Some(l) => spans.push(Span {
                        offset: (i - l - 1) as i32,
                        length: 1,
                    }),
                    None => spans.push(Span {
                        offset: i as i32,
                        length: 1,
                    }),
                }
                deltas.push(c as i64 - prev);
                prev = c as i64;
                last = Some(i);
            }
            let count: u64 = buckets.values().sum::<u64>() + 1;
            let mut h = Histogram {
                counter_reset_hint: bongsu_model::CounterResetHint::from_u8(hint).unwrap(),
                schema,
                zero_threshold: 0.001,
                zero_count: 1,
                count,
                sum: count as f64 * 1.5,
                positive_spans: spans,
                positive_buckets: deltas,
                ..Histogram::default()
            };
            if special == 0 {
                h = Histogram {
                    sum: bongsu_model::STALE_NAN,
                    ..Histogram::default()
                };
            }
            if float {
                HistogramValue::Float(Arc::new(h.to_float()))
            } else {
                HistogramValue::Int(Arc::new(h))
            }
        })
}

proptest::proptest! {
    /// Any sequence of histograms (kinds, hints, schemas, resets, stale markers mixed) reads
    /// back as appended, whatever chunks the head cuts.
    #[test]
    fn any_sequence_reads_back(hs in proptest::collection::vec(arb_histogram(), 1..80)) {
        let dir = tempfile::tempdir().unwrap();
        let (disk, _) = ChunkDisk::open(&dir.path().join("chunks_head")).unwrap();
        let mut data = HistData::default();
        for (i, h) in hs.iter().enumerate() {
            data.append(i as i64 * 60_000, h, 2 * 3600 * 1000, &disk, 1);
        }
        let mut out = Vec::new();
        data.read(i64::MIN, i64::MAX, &disk, &mut out).unwrap().unwrap();
        proptest::prop_assert_eq!(out.len(), hs.len());
        for (i, (g, w)) in out.iter().zip(&hs).enumerate() {
            proptest::prop_assert_eq!(g.t, i as i64 * 60_000);
            proptest::prop_assert_eq!(
                std::mem::discriminant(&g.h),
                std::mem::discriminant(w)
            );
            proptest::prop_assert_eq!(key(&g.h), key(w), "sample {}", i);
        }
    }
}
