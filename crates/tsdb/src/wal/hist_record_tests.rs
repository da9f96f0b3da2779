//! Tests of the histogram records: Prometheus' body layout byte for byte, round trips,
//! damage, splitting, and the WAL paths (replay, tail, checkpoint).

use super::super::record::{decode, Record};
use super::*;
use proptest::prelude::*;

pub(crate) fn int_h(i: i64) -> Histogram {
    Histogram {
        counter_reset_hint: CounterResetHint::NotCounterReset,
        schema: 1,
        zero_threshold: 0.001,
        zero_count: 2 + i as u64,
        count: 12 + i as u64,
        sum: 18.4 + i as f64,
        positive_spans: vec![Span {
            offset: 0,
            length: 2,
        }],
        negative_spans: vec![
            Span {
                offset: -2,
                length: 1,
            },
            Span {
                offset: 3,
                length: 1,
            },
        ],
        positive_buckets: vec![1, 1 + i],
        negative_buckets: vec![2, -1],
        custom_values: Vec::new(),
    }
}

fn nhcb(i: i64) -> Histogram {
    Histogram {
        counter_reset_hint: CounterResetHint::Unknown,
        schema: CUSTOM_BUCKETS_SCHEMA,
        count: 3,
        sum: i as f64,
        positive_spans: vec![Span {
            offset: 0,
            length: 2,
        }],
        positive_buckets: vec![1, 1],
        custom_values: vec![0.5, 1.0, f64::from_bits(0x7ff8_0000_0000_0001)],
        ..Histogram::default()
    }
}

fn encode_one<H: WalHistogram>(hs: &[H]) -> Vec<u8> {
    let refs: Vec<&H> = hs.iter().collect();
    let mut buf = Vec::new();
    encode_histograms(&mut buf, &refs);
    buf
}

#[test]
fn body_is_prometheus_encode_histogram() {
    // Prometheus' EncodeHistogram of int_h(0), written out by hand from record.go.
    let h = RefHistogramSample {
        sref: 1,
        t: 0,
        h: int_h(0),
    };
    let mut want = vec![2u8, 2]; // hint NotCounterReset, schema 1 (zigzag)
    want.extend_from_slice(&0.001f64.to_bits().to_be_bytes());
    want.extend_from_slice(&[2, 12]); // zero count, count
    want.extend_from_slice(&18.4f64.to_bits().to_be_bytes());
    want.extend_from_slice(&[1, 0, 2]); // positive spans
    want.extend_from_slice(&[2, 3, 1, 6, 1]); // negative spans: -2 → 3, 3 → 6
    want.extend_from_slice(&[2, 2, 2]); // positive buckets 1, 1
    want.extend_from_slice(&[2, 4, 1]); // negative buckets 2, -1
    let mut got = Vec::new();
    h.encode_body(&mut got);
    assert_eq!(got, want);
    assert_eq!(h.body_len(), want.len());
    // Custom bounds follow the buckets for schema -53, big-endian.
    let c = RefHistogramSample {
        sref: 1,
        t: 0,
        h: nhcb(0),
    };
    let mut got = Vec::new();
    c.encode_body(&mut got);
    assert_eq!(c.body_len(), got.len());
    assert_eq!(got[1], 105, "zigzag of -53");
    assert_eq!(&got[got.len() - 25..got.len() - 24], &[3]);
    assert_eq!(&got[got.len() - 8..], &[0x7f, 0xf8, 0, 0, 0, 0, 0, 1]);
}

#[test]
fn int_and_float_histograms_roundtrip_bit_exactly() {
    let mut hs: Vec<RefHistogramSample> = (0..5)
        .map(|i| RefHistogramSample {
            sref: 100 - i as u64,
            t: 1000 * i,
            h: int_h(i),
        })
        .collect();
    hs[2].h.sum = bongsu_model::STALE_NAN;
    let buf = encode_one(&hs);
    match decode(RECORD_HISTOGRAM_SAMPLES, &buf).unwrap() {
        Record::HistogramSamples(got) => {
            assert_eq!(got.len(), 5);
            for (a, b) in got.iter().zip(&hs) {
                assert_eq!((a.sref, a.t), (b.sref, b.t));
                assert_eq!(a.h.sum.to_bits(), b.h.sum.to_bits());
                if !b.h.is_stale() {
                    assert_eq!(a.h, b.h);
                }
            }
        }
        other => panic!("wrong record {other:?}"),
    }
    let fs: Vec<RefFloatHistogramSample> = (0..3)
        .map(|i| RefFloatHistogramSample {
            sref: i,
            t: -5 + i as i64,
            h: nhcb(i as i64).to_float(),
        })
        .collect();
    let buf = encode_one(&fs);
    assert!(decode(RECORD_FLOAT_HISTOGRAM_SAMPLES, &buf).is_err());
    match decode(RECORD_CUSTOM_BUCKETS_FLOAT_HISTOGRAM_SAMPLES, &buf).unwrap() {
        Record::FloatHistogramSamples(got) => {
            for (a, b) in got.iter().zip(&fs) {
                assert_eq!((a.sref, a.t), (b.sref, b.t));
                assert_eq!(format!("{:?}", a.h), format!("{:?}", b.h));
            }
        }
        other => panic!("wrong record {other:?}"),
    }
}

#[test]
fn rejects_bad_histogram_payloads() {
    let hs = [RefHistogramSample {
        sref: 1,
        t: 2,
        h: int_h(0),
    }];
    let buf = encode_one(&hs);
    for cut in 0..buf.len() {
        assert!(decode(RECORD_HISTOGRAM_SAMPLES, &buf[..cut]).is_err());
    }
    // Exponential histograms do not belong in the custom-bucket record.
    assert!(decode(RECORD_CUSTOM_BUCKETS_HISTOGRAM_SAMPLES, &buf)
        .unwrap_err()
        .0
        .contains("custom"));
    let mut bad_hint = buf.clone();
    bad_hint[3] = 9; // count, sref, t, then the hint
    assert!(decode(RECORD_HISTOGRAM_SAMPLES, &bad_hint)
        .unwrap_err()
        .0
        .contains("hint"));
    let mut bad_schema = buf.clone();
    bad_schema[4] = 40; // schema 20
    assert!(decode(RECORD_HISTOGRAM_SAMPLES, &bad_schema)
        .unwrap_err()
        .0
        .contains("unknown schema 20"));
    assert!(decode(RECORD_HISTOGRAM_SAMPLES, &[0]).is_err());
}

#[test]
fn runs_split_under_the_payload_limit() {
    let big = RefFloatHistogramSample {
        sref: 1,
        t: 1,
        h: FloatHistogram {
            positive_spans: vec![Span {
                offset: 0,
                length: 30_000,
            }],
            positive_buckets: vec![1.0; 30_000],
            ..FloatHistogram::default()
        },
    };
    let hs = vec![&big; 10];
    let ends = split_runs(&hs).unwrap();
    assert_eq!(ends, vec![4, 8, 10]);
    let mut buf = Vec::new();
    encode_histograms(&mut buf, &hs[..4]);
    assert!(buf.len() <= MAX_RECORD_PAYLOAD);
    let mut huge = big.clone();
    huge.h.positive_buckets = vec![1.0; 140_000];
    assert!(split_runs(&[&huge]).is_err());
}

#[test]
fn wal_logs_replays_tails_and_checkpoints_histograms() {
    use crate::wal::{checkpoint, read_segment_tail, replay, segment_path, Wal, WalOptions};
    use bongsu_model::Labels;
    let d = tempfile::tempdir().unwrap();
    let mut w = Wal::open(d.path(), WalOptions::default()).unwrap();
    let series: Vec<_> = (1..=2)
        .map(|sref| super::super::RefSeries {
            sref,
            labels: Labels::from_pairs(&[("i", &sref.to_string())]).unwrap(),
        })
        .collect();
    w.log_series(&series).unwrap();
    let hs = vec![
        RefHistogramSample {
            sref: 1,
            t: 10,
            h: int_h(1),
        },
        RefHistogramSample {
            sref: 2,
            t: 10,
            h: nhcb(1),
        },
        RefHistogramSample {
            sref: 1,
            t: 20,
            h: int_h(2),
        },
    ];
    w.log_histograms(&hs).unwrap();
    let fh = RefFloatHistogramSample {
        sref: 2,
        t: 30,
        h: int_h(3).to_float(),
    };
    w.log_float_histograms(std::slice::from_ref(&fh)).unwrap();
    w.next_segment().unwrap();
    w.close().unwrap();

    let collect = |dir: &std::path::Path| {
        let mut got = Vec::new();
        let stats = replay(dir, |r| {
            match r {
                Record::HistogramSamples(h) => {
                    got.extend(h.into_iter().map(|h| (h.sref, h.t, h.h.to_float())))
                }
                Record::FloatHistogramSamples(h) => {
                    got.extend(h.into_iter().map(|h| (h.sref, h.t, h.h)))
                }
                _ => {}
            }
            Ok(())
        })
        .unwrap();
        (got, stats)
    };
    let (got, stats) = collect(d.path());
    assert_eq!(stats.histograms, 4);
    // Exponential ones first, then the custom-bucket record, then the float record.
    let want = [
        (1, 10, int_h(1).to_float()),
        (1, 20, int_h(2).to_float()),
        (2, 10, nhcb(1).to_float()),
        (2, 30, int_h(3).to_float()),
    ];
    assert_eq!(format!("{got:?}"), format!("{want:?}"));

    // The remote-write reader path sees the same records.
    let mut kinds = Vec::new();
    read_segment_tail(&segment_path(d.path(), 0), 8, |r, _| {
        kinds.push(match r {
            Record::Series(_) => "series",
            Record::HistogramSamples(_) => "histograms",
            Record::FloatHistogramSamples(_) => "float histograms",
            _ => "other",
        });
        Ok(())
    })
    .unwrap();
    assert_eq!(
        kinds,
        ["series", "histograms", "histograms", "float histograms"]
    );

    // A checkpoint keeps histograms of kept series at or after the minimum time.
    let stats = checkpoint(d.path(), 0, |sref| sref == 1, 15).unwrap();
    assert_eq!((stats.samples_kept, stats.samples_dropped), (1, 3));
    std::fs::remove_file(segment_path(d.path(), 0)).unwrap();
    let (got, _) = collect(d.path());
    assert_eq!(format!("{got:?}"), format!("{:?}", [&want[1]]));
}

proptest! {
    #[test]
    fn decode_never_panics(rtype in 7u8..11, bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(rtype, &bytes);
    }
}
