//! `histogram_test.go` and `generic_test.go`.

use super::data::*;
use bongsu_model::histogram::{Bucket, FloatHistogram, Span};

#[test]
fn int_string_iterators_and_to_float() {
    let d = load("histogram.json");
    for (i, c) in cases(&d, "TestHistogramString", &[]).iter().enumerate() {
        let h = ih(&c["histogram"]).unwrap();
        assert_eq!(h.to_string(), text(c, "expectedString"), "case {i}");
        // The float histogram prints the same.
        assert_eq!(
            h.to_float().to_string(),
            text(c, "expectedString"),
            "case {i}"
        );
    }
    for (i, c) in cases(&d, "TestRegularBucketIterator", &[])
        .iter()
        .enumerate()
    {
        let h = ih(&c["histogram"]).unwrap();
        let want: Vec<Bucket<u64>> = c["expectedPositiveBuckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(bucket_u)
            .collect();
        assert_eq!(
            h.positive_buckets_iter().collect::<Vec<_>>(),
            want,
            "case {i}"
        );
        let want: Vec<Bucket<u64>> = c["expectedNegativeBuckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(bucket_u)
            .collect();
        assert_eq!(
            h.negative_buckets_iter().collect::<Vec<_>>(),
            want,
            "case {i}"
        );
    }
}

#[test]
fn int_compact_validate_reduce() {
    let d = load("histogram.json");
    for c in cases(
        &d,
        "TestHistogramCompact",
        &["name", "in", "maxEmptyBuckets", "expected"],
    ) {
        let mut h = ih(&c["in"]).unwrap();
        let was_valid = h.validate().is_ok();
        h.compact(int(&c["maxEmptyBuckets"]) as usize);
        assert_eq!(Some(h.clone()), ih(&c["expected"]), "compact {}", name(&c));
        if was_valid {
            assert!(h.validate().is_ok(), "compact made {} invalid", name(&c));
        }
    }
    for c in cases(&d, "TestHistogramValidation", &[]) {
        let h = ih(&c["h"]).unwrap();
        let want = text(&c, "errMsg");
        let got = h
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(got, want, "validate {}", name(&c));
        if !flag(&c, "skipFloat") {
            let got = h
                .to_float()
                .validate()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert_eq!(got, want, "validate float {}", name(&c));
        }
    }
    for c in cases(&d, "TestHistogramReduceResolution", &[]) {
        let mut h = ih(&c["origin"]).unwrap();
        match h.reduce_resolution(int(&c["targetSchema"]) as i32) {
            Ok(()) => assert_eq!(Some(h), ih(&c["target"]), "reduce {}", name(&c)),
            Err(e) => assert_eq!(e.to_string(), text(&c, "errorMsg"), "reduce {}", name(&c)),
        }
    }
}

#[test]
fn generic_bounds_and_fraction_below() {
    let d = load("generic.json");
    for c in cases(&d, "TestGetBoundExponential", &[]) {
        let (idx, schema) = (int(&c["idx"]) as i32, int(&c["schema"]) as i32);
        let h = FloatHistogram {
            schema,
            positive_spans: vec![Span {
                offset: idx,
                length: 1,
            }],
            positive_buckets: vec![1.0],
            ..FloatHistogram::default()
        };
        let b = h.positive_buckets_iter().next().unwrap();
        assert_eq!(
            b.upper.to_bits(),
            num(&c["want"]).to_bits(),
            "bound idx {idx} schema {schema}"
        );
    }
    for c in cases(&d, "TestBucketFractionBelow", &[]) {
        let b = bucket_f(&c["bucket"]);
        let got = b.fraction_below(num(&c["v"]), flag(&c, "linear"));
        let want = num(&c["want"]);
        assert!((got - want).abs() < 1e-12, "{}: {got} != {want}", name(&c));
    }
    for c in cases(&d, "TestCustomBucketBoundsMatch", &[]) {
        let (a, b) = (floats(c.get("c1")), floats(c.get("c2")));
        assert_eq!(
            bongsu_model::histogram::custom_bucket_bounds_match(&a, &b),
            flag(&c, "want"),
            "{}",
            name(&c)
        );
    }
}

#[test]
fn generic_reduce_resolution() {
    use bongsu_model::histogram::Histogram;
    let d = load("generic.json");
    for c in cases(&d, "TestReduceResolutionHistogram", &[]) {
        let mut h = Histogram {
            schema: int(&c["schema"]) as i32,
            positive_spans: spans(c.get("spans")),
            positive_buckets: ints(c.get("buckets")),
            ..Histogram::default()
        };
        h.reduce_resolution(int(&c["targetSchema"]) as i32).unwrap();
        assert_eq!(h.positive_spans, spans(c.get("expectedSpans")));
        assert_eq!(h.positive_buckets, ints(c.get("expectedBuckets")));
    }
    for c in cases(&d, "TestReduceResolutionFloatHistogram", &[]) {
        let mut h = FloatHistogram {
            schema: int(&c["schema"]) as i32,
            positive_spans: spans(c.get("spans")),
            positive_buckets: floats(c.get("buckets")),
            ..FloatHistogram::default()
        };
        h.reduce_resolution(int(&c["targetSchema"]) as i32).unwrap();
        assert_eq!(h.positive_spans, spans(c.get("expectedSpans")));
        assert_eq!(h.positive_buckets, floats(c.get("expectedBuckets")));
    }
}
