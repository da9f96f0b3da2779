//! `float_histogram_test.go`.

use super::data::*;
use bongsu_model::histogram::{Bucket, FloatHistogram};
use serde_json::Value;

#[test]
fn float_mul_and_div() {
    let d = load("float_histogram.json");
    for c in cases(
        &d,
        "TestFloatHistogramMul",
        &["name", "in", "scale", "expected"],
    ) {
        let mut h = fh(&c["in"]).unwrap();
        h.mul(num(&c["scale"]));
        assert_eq!(Some(h), fh(field(&c, "expected")), "mul {}", name(&c));
    }
    for c in cases(
        &d,
        "TestFloatHistogramDiv",
        &["name", "fh", "s", "expected"],
    ) {
        let mut h = fh(&c["fh"]).unwrap();
        h.div(num(&c["s"]));
        let want = fh(field(&c, "expected")).unwrap();
        // 0/0 gives NaN counts: compare with NaN equal to NaN.
        assert_eq!(nan_eq(&h), nan_eq(&want), "div {}", name(&c));
    }
}

#[test]
fn float_detect_reset() {
    let d = load("float_histogram.json");
    for c in cases(
        &d,
        "TestFloatHistogramDetectReset",
        &["name", "previous", "current", "resetExpected"],
    ) {
        let prev = fh(&c["previous"]).unwrap();
        let curr = fh(&c["current"]).unwrap();
        assert_eq!(
            curr.detect_reset(&prev),
            flag(&c, "resetExpected"),
            "detect reset: {}",
            name(&c)
        );
    }
}

#[test]
fn float_compact() {
    let d = load("float_histogram.json");
    for c in cases(
        &d,
        "TestFloatHistogramCompact",
        &["name", "in", "maxEmptyBuckets", "expected"],
    ) {
        let mut h = fh(&c["in"]).unwrap();
        let was_valid = h.validate().is_ok();
        h.compact(int(&c["maxEmptyBuckets"]) as usize);
        assert_eq!(
            Some(h.clone()),
            fh(field(&c, "expected")),
            "compact {}",
            name(&c)
        );
        if was_valid {
            assert!(h.validate().is_ok(), "compact made {} invalid", name(&c));
        }
    }
}

fn check_add(
    a: &FloatHistogram,
    b: &FloatHistogram,
    want: Option<&FloatHistogram>,
    c: &serde_json::Map<String, Value>,
    sub: bool,
) {
    let n = name(c);
    assert!(
        a.validate().is_ok() && b.validate().is_ok(),
        "{n}: inputs invalid"
    );
    let mut res = go_copy(a);
    let b_copy = go_copy(b);
    let out = if sub {
        res.sub(&b_copy)
    } else {
        res.add(&b_copy)
    };
    let err = text(c, "expErrMsg");
    match &out {
        Ok(o) => {
            assert_eq!(err, "", "{n}: expected an error");
            if want.is_some() || !sub {
                assert_eq!(
                    o.counter_reset_collision,
                    flag(c, "expCounterResetCollision"),
                    "{n}: collision"
                );
                assert_eq!(
                    o.nhcb_bounds_reconciled,
                    flag(c, "expNHCBBoundsReconciled"),
                    "{n}: nhcb"
                );
            }
        }
        Err(e) => assert_eq!(e.to_string(), err, "{n}"),
    }
    if let Some(want) = want {
        let mut want = go_copy(want);
        want.compact(0);
        res.compact(0);
        assert_eq!(res, want, "{n}: {} result", if sub { "sub" } else { "add" });
        assert_eq!(&b_copy, &go_copy(b), "{n}: argument changed");
    }
}

fn check_kahan_add(
    a: &FloatHistogram,
    comp: Option<FloatHistogram>,
    b: &FloatHistogram,
    want: Option<&FloatHistogram>,
    c: &serde_json::Map<String, Value>,
) {
    let n = name(c);
    let mut acc = go_copy(a);
    let err = text(c, "expErrMsg");
    match acc.kahan_add(b, comp.as_ref().map(go_copy)) {
        Ok((comp, out)) => {
            assert_eq!(err, "", "{n}: expected an error");
            assert_eq!(
                out.counter_reset_collision,
                flag(c, "expCounterResetCollision"),
                "{n}: collision"
            );
            assert_eq!(
                out.nhcb_bounds_reconciled,
                flag(c, "expNHCBBoundsReconciled"),
                "{n}: nhcb"
            );
            assert_eq!(acc.schema, comp.schema, "{n}: comp schema");
            assert_eq!(acc.positive_spans, comp.positive_spans, "{n}: comp spans");
            assert_eq!(acc.negative_spans, comp.negative_spans, "{n}: comp spans");
            assert_eq!(
                acc.positive_buckets.len(),
                comp.positive_buckets.len(),
                "{n}: comp buckets"
            );
            assert_eq!(
                acc.negative_buckets.len(),
                comp.negative_buckets.len(),
                "{n}: comp buckets"
            );
            acc.add(&comp).unwrap();
            if let Some(want) = want {
                let mut want = go_copy(want);
                want.compact(0);
                acc.compact(0);
                assert_eq!(acc, want, "{n}: kahan result");
            }
        }
        Err(e) => assert_eq!(e.to_string(), err, "{n}"),
    }
}

#[test]
fn float_add() {
    let d = load("float_histogram.json");
    for c in cases(&d, "TestFloatHistogramAdd", &[]) {
        let (a, b) = (fh(&c["in1"]).unwrap(), fh(&c["in2"]).unwrap());
        let want = fh(field(&c, "expected"));
        check_add(&a, &b, want.as_ref(), &c, false);
        check_add(&b, &a, want.as_ref(), &c, false);
        check_kahan_add(&a, None, &b, want.as_ref(), &c);
        check_kahan_add(&b, None, &a, want.as_ref(), &c);
    }
    for c in cases(&d, "TestKahanAddWithCompHistogram", &[]) {
        let (a, b) = (fh(&c["in1"]).unwrap(), fh(&c["in2"]).unwrap());
        check_kahan_add(
            &a,
            fh(field(&c, "comp")),
            &b,
            fh(field(&c, "expectedSum")).as_ref(),
            &c,
        );
    }
}

#[test]
fn float_sub() {
    let d = load("float_histogram.json");
    for c in cases(&d, "TestFloatHistogramSub", &[]) {
        let (a, b) = (fh(&c["in1"]).unwrap(), fh(&c["in2"]).unwrap());
        let want = fh(field(&c, "expected"));
        check_add(&a, &b, want.as_ref(), &c, true);
        let negated = want.map(|w| {
            let mut n = go_copy(&w);
            n.mul(-1.0);
            n.counter_reset_hint = w.counter_reset_hint;
            n
        });
        check_add(&b, &a, negated.as_ref(), &c, true);
    }
}

#[test]
fn float_copy_to_schema_and_reduce_resolution() {
    let d = load("float_histogram.json");
    for c in cases(
        &d,
        "TestFloatHistogramCopyToSchema",
        &["name", "targetSchema", "in", "expected"],
    ) {
        let h = fh(&c["in"]).unwrap();
        let got = h.copy_to_schema(int(&c["targetSchema"]) as i32).unwrap();
        assert_eq!(
            Some(got),
            fh(field(&c, "expected")),
            "copy to schema {}",
            name(&c)
        );
    }
    for c in cases(&d, "TestFloatHistogramReduceResolution", &[]) {
        let mut h = fh(&c["origin"]).unwrap();
        match h.reduce_resolution(int(&c["targetSchema"]) as i32) {
            Ok(()) => assert_eq!(Some(h), fh(&c["target"]), "reduce {}", name(&c)),
            Err(e) => assert_eq!(e.to_string(), text(&c, "errorMsg"), "reduce {}", name(&c)),
        }
    }
}

#[test]
fn float_all_bucket_iterators() {
    let d = load("float_histogram.json");
    for (i, c) in cases(&d, "TestAllFloatBucketIterator", &[])
        .iter()
        .enumerate()
    {
        let h = fh(&c["h"]).unwrap();
        let mut want = Vec::new();
        if flag(c, "includeNeg") {
            for mut b in h.negative_reverse_buckets_iter() {
                if flag(c, "includeZero") && b.upper > -h.zero_threshold {
                    b.upper = -h.zero_threshold;
                }
                want.push(b);
            }
        }
        if flag(c, "includeZero") {
            want.push(h.zero_bucket());
        }
        if flag(c, "includePos") {
            for mut b in h.positive_buckets_iter() {
                if flag(c, "includeZero") && b.lower < h.zero_threshold {
                    b.lower = h.zero_threshold;
                }
                want.push(b);
            }
        }
        assert_eq!(
            h.all_buckets().collect::<Vec<_>>(),
            want,
            "all buckets case {i}"
        );
        // Reverse iterators are the forward ones reversed.
        let mut fwd: Vec<_> = h.positive_buckets_iter().collect();
        fwd.reverse();
        assert_eq!(
            h.positive_reverse_buckets_iter().collect::<Vec<_>>(),
            fwd,
            "case {i}"
        );
        let mut fwd: Vec<_> = h.negative_buckets_iter().collect();
        fwd.reverse();
        assert_eq!(
            h.negative_reverse_buckets_iter().collect::<Vec<_>>(),
            fwd,
            "case {i}"
        );
    }
    for (i, c) in cases(&d, "TestAllReverseFloatBucketIterator", &[])
        .iter()
        .enumerate()
    {
        let h = fh(&c["h"]).unwrap();
        let mut want = Vec::new();
        if flag(c, "includePos") {
            for mut b in h.positive_reverse_buckets_iter() {
                if flag(c, "includeZero") && b.lower < h.zero_threshold {
                    b.lower = h.zero_threshold;
                }
                want.push(b);
            }
        }
        if flag(c, "includeZero") {
            want.push(h.zero_bucket());
        }
        if flag(c, "includeNeg") {
            for mut b in h.negative_buckets_iter() {
                if flag(c, "includeZero") && b.upper > -h.zero_threshold {
                    b.upper = -h.zero_threshold;
                }
                want.push(b);
            }
        }
        assert_eq!(
            h.all_reverse_buckets().collect::<Vec<_>>(),
            want,
            "all reverse buckets case {i}"
        );
    }
}

#[test]
fn float_custom_bucket_iterators() {
    let d = load("float_histogram.json");
    for (i, c) in cases(&d, "TestFloatCustomBucketsIterators", &[])
        .iter()
        .enumerate()
    {
        let h = fh(&c["h"]).unwrap();
        let want: Vec<Bucket<f64>> = c["expPositiveBuckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(bucket_f)
            .collect();
        let mut rev = want.clone();
        rev.reverse();
        assert_eq!(h.all_buckets().collect::<Vec<_>>(), want, "case {i}");
        assert_eq!(h.all_reverse_buckets().collect::<Vec<_>>(), rev, "case {i}");
        assert_eq!(
            h.positive_buckets_iter().collect::<Vec<_>>(),
            want,
            "case {i}"
        );
        assert_eq!(
            h.positive_reverse_buckets_iter().collect::<Vec<_>>(),
            rev,
            "case {i}"
        );
        assert_eq!(h.negative_buckets_iter().count(), 0);
        assert_eq!(h.negative_reverse_buckets_iter().count(), 0);
    }
}

#[test]
fn float_target_schema_iterator() {
    let d = load("float_histogram.json");
    for c in cases(&d, "TestFloatBucketIteratorTargetSchema", &[]) {
        let h = fh(&c["h"]).unwrap();
        let want: Vec<Bucket<f64>> = c["expPositiveBuckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(bucket_f)
            .collect();
        assert_eq!(
            h.positive_buckets_iter_with_schema(-1).collect::<Vec<_>>(),
            want,
            "{}",
            name(&c)
        );
        let want: Vec<Bucket<f64>> = c["expNegativeBuckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(bucket_f)
            .collect();
        assert_eq!(
            h.negative_buckets_iter_with_schema(-1).collect::<Vec<_>>(),
            want,
            "{}",
            name(&c)
        );
    }
}

#[test]
fn float_string_and_validate() {
    let d = load("float_histogram.json");
    for c in cases(&d, "TestFloatHistogramString", &["name", "fh", "expected"]) {
        let h = fh(&c["fh"]).unwrap();
        assert!(h.validate().is_ok(), "{}", name(&c));
        assert_eq!(h.to_string(), text(&c, "expected"), "{}", name(&c));
    }
    for c in cases(
        &d,
        "TestFloatHistogramValidateNegativeHistogram",
        &["name", "fh"],
    ) {
        assert!(fh(&c["fh"]).unwrap().validate().is_err(), "{}", name(&c));
    }
}
