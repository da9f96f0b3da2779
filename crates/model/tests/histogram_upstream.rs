//! Prometheus' `model/histogram` table tests, run against our histograms. The cases live in
//! `tests/data/histogram/*.json`, converted from upstream's Go test files by
//! `tests/data/histogram/golit.py` (numbers as strings, exact as Go's constants).

use bongsu_model::histogram::{Bucket, CounterResetHint, FloatHistogram, Histogram, Span};
use serde_json::Value;

fn load(file: &str) -> Value {
    let path = format!("{}/tests/data/histogram/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|e| panic!("{s}: {e}")),
        other => panic!("not a number: {other}"),
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|e| panic!("{s}: {e}")),
        other => panic!("not an integer: {other}"),
    }
}

fn floats(v: Option<&Value>) -> Vec<f64> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(num).collect())
        .unwrap_or_default()
}

fn ints(v: Option<&Value>) -> Vec<i64> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(int).collect())
        .unwrap_or_default()
}

fn spans(v: Option<&Value>) -> Vec<Span> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| Span {
                    offset: int(&s[0]) as i32,
                    length: int(&s[1]) as u32,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn hint(v: Option<&Value>) -> CounterResetHint {
    match v.and_then(Value::as_str) {
        None | Some("Unknown") => CounterResetHint::Unknown,
        Some("CounterReset") => CounterResetHint::CounterReset,
        Some("NotCounterReset") => CounterResetHint::NotCounterReset,
        Some("Gauge") => CounterResetHint::Gauge,
        Some(o) => panic!("hint {o}"),
    }
}

fn fh(v: &Value) -> Option<FloatHistogram> {
    if v.is_null() {
        return None;
    }
    let g = |k: &str| v.get(k);
    Some(FloatHistogram {
        counter_reset_hint: hint(g("CounterResetHint")),
        schema: g("Schema").map_or(0, int) as i32,
        zero_threshold: g("ZeroThreshold").map_or(0.0, num),
        zero_count: g("ZeroCount").map_or(0.0, num),
        count: g("Count").map_or(0.0, num),
        sum: g("Sum").map_or(0.0, num),
        positive_spans: spans(g("PositiveSpans")),
        negative_spans: spans(g("NegativeSpans")),
        positive_buckets: floats(g("PositiveBuckets")),
        negative_buckets: floats(g("NegativeBuckets")),
        custom_values: floats(g("CustomValues")),
    })
}

fn ih(v: &Value) -> Option<Histogram> {
    if v.is_null() {
        return None;
    }
    let g = |k: &str| v.get(k);
    Some(Histogram {
        counter_reset_hint: hint(g("CounterResetHint")),
        schema: g("Schema").map_or(0, int) as i32,
        zero_threshold: g("ZeroThreshold").map_or(0.0, num),
        zero_count: g("ZeroCount").map_or(0, int) as u64,
        count: g("Count").map_or(0, |c| match c {
            Value::String(s) => s.parse::<u64>().unwrap_or_else(|e| panic!("{s}: {e}")),
            _ => panic!("count"),
        }),
        sum: g("Sum").map_or(0.0, num),
        positive_spans: spans(g("PositiveSpans")),
        negative_spans: spans(g("NegativeSpans")),
        positive_buckets: ints(g("PositiveBuckets")),
        negative_buckets: ints(g("NegativeBuckets")),
        custom_values: floats(g("CustomValues")),
    })
}

fn bucket_f(v: &Value) -> Bucket<f64> {
    Bucket {
        lower: v.get("Lower").map_or(0.0, num),
        upper: v.get("Upper").map_or(0.0, num),
        lower_inclusive: v
            .get("LowerInclusive")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        upper_inclusive: v
            .get("UpperInclusive")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        count: v.get("Count").map_or(0.0, num),
        index: v.get("Index").map_or(0, int) as i32,
    }
}

fn bucket_u(v: &Value) -> Bucket<u64> {
    let b = bucket_f(v);
    Bucket {
        lower: b.lower,
        upper: b.upper,
        lower_inclusive: b.lower_inclusive,
        upper_inclusive: b.upper_inclusive,
        count: v.get("Count").map_or(0, int) as u64,
        index: b.index,
    }
}

/// Go's `Copy()`: custom-bucket histograms lose the fields their schema does not use.
fn go_copy(h: &FloatHistogram) -> FloatHistogram {
    let mut c = h.clone();
    if c.uses_custom_buckets() {
        c.zero_threshold = 0.0;
        c.zero_count = 0.0;
        c.negative_spans.clear();
        c.negative_buckets.clear();
    } else {
        c.custom_values.clear();
    }
    c
}

/// Debug form with NaN spelled out, to compare histograms holding NaN as Go's test does
/// (and -0 equal to 0).
fn nan_eq(h: &FloatHistogram) -> String {
    let z = |v: f64| if v == 0.0 { 0.0 } else { v };
    let mut h = h.clone();
    for v in [&mut h.zero_count, &mut h.count, &mut h.sum] {
        *v = z(*v);
    }
    h.positive_buckets
        .iter_mut()
        .chain(h.negative_buckets.iter_mut())
        .for_each(|v| *v = z(*v));
    format!("{h:?}")
}

/// A field of a case; `null` when the Go literal left it out.
fn field<'a>(c: &'a serde_json::Map<String, Value>, k: &str) -> &'a Value {
    c.get(k).unwrap_or(&Value::Null)
}

/// The cases of one upstream test, each as a map from field name to value (positional
/// struct literals are named with `fields`).
fn cases(data: &Value, test: &str, fields: &[&str]) -> Vec<serde_json::Map<String, Value>> {
    let list = data[test]
        .as_array()
        .unwrap_or_else(|| panic!("no test {test}"));
    assert!(!list.is_empty(), "{test}: no cases");
    list.iter()
        .map(|c| {
            if let Some(pos) = c.get("__pos__").and_then(Value::as_array) {
                fields
                    .iter()
                    .map(|f| f.to_string())
                    .zip(pos.iter().cloned())
                    .collect()
            } else {
                c.as_object().cloned().unwrap_or_default()
            }
        })
        .collect()
}

fn name(c: &serde_json::Map<String, Value>) -> String {
    c.get("name")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string()
}

fn flag(c: &serde_json::Map<String, Value>, k: &str) -> bool {
    c.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn text<'a>(c: &'a serde_json::Map<String, Value>, k: &str) -> &'a str {
    c.get(k).and_then(Value::as_str).unwrap_or("")
}

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

/// promqltest's `almost.Equal` with its default epsilon.
fn almost(a: f64, b: f64) -> bool {
    const EPS: f64 = 0.000001;
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    let diff = (a - b).abs();
    let abs_sum = a.abs() + b.abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < EPS * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < EPS
}

/// promqltest's `compareNativeHistogram` (after both were compacted).
fn histograms_match(exp: &FloatHistogram, got: &FloatHistogram) -> bool {
    let buckets =
        |a: &[f64], b: &[f64]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| almost(*x, *y));
    let mut e = exp.clone();
    let mut g = got.clone();
    e.compact(0);
    g.compact(0);
    e.schema == g.schema
        && almost(e.count, g.count)
        && almost(e.sum, g.sum)
        && (!e.uses_custom_buckets() || e.custom_values == g.custom_values)
        && e.zero_threshold == g.zero_threshold
        && almost(e.zero_count, g.zero_count)
        && e.negative_spans == g.negative_spans
        && buckets(&e.negative_buckets, &g.negative_buckets)
        && e.positive_spans == g.positive_spans
        && buckets(&e.positive_buckets, &g.positive_buckets)
}

/// Splits `name{labels} {{…}}` into the name, the label part (`{}` when absent) and the
/// histogram text.
fn series_line(line: &str) -> (String, String, String) {
    let line = line.trim();
    let h_at = line.find("{{").unwrap_or(line.len());
    let sel = line[..h_at].trim();
    let (name, labels) = match sel.find('{') {
        Some(i) => (sel[..i].to_string(), sel[i..].to_string()),
        None => (sel.to_string(), "{}".to_string()),
    };
    (name, labels, line[h_at..].trim().to_string())
}

/// The trim-operator cases of upstream's `native_histograms.test` (`h </ x`, `h >/ x`).
#[test]
fn trim_operators_as_promqltest() {
    use bongsu_model::histogram::parse_test_notation;
    let path = format!(
        "{}/tests/data/histogram/trim.test",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut loaded: Vec<(String, String, FloatHistogram)> = Vec::new();
    let mut checked = 0;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        i += 1;
        if line.starts_with("load ") {
            while i < lines.len()
                && lines[i].starts_with(char::is_whitespace)
                && !lines[i].trim().is_empty()
            {
                let (name, labels, h) = series_line(lines[i]);
                i += 1;
                if !h.starts_with("{{") {
                    continue; // A float series.
                }
                loaded.retain(|(n, l, _)| !(n == &name && l == &labels));
                loaded.push((name, labels, parse_test_notation(&h).unwrap()));
            }
            continue;
        }
        let Some(expr) = line.strip_prefix("eval instant at 1m ") else {
            continue;
        };
        let parts: Vec<&str> = expr.split_whitespace().collect();
        let [metric, op @ ("</" | ">/"), rhs] = parts[..] else {
            continue;
        };
        if metric.contains('(') {
            continue;
        }
        let rhs: f64 = match rhs {
            "+Inf" | "Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            r => r.parse().unwrap(),
        };
        let mut expected = Vec::new();
        while i < lines.len()
            && lines[i].starts_with(char::is_whitespace)
            && !lines[i].trim().is_empty()
        {
            expected.push(series_line(lines[i]));
            i += 1;
        }
        for (name, labels, h) in loaded.iter().filter(|(n, _, _)| n == metric) {
            let mut got = h.clone();
            got.trim_buckets(rhs, op == "</");
            let (_, _, want) = expected
                .iter()
                .find(|(_, l, _)| l == labels)
                .unwrap_or_else(|| panic!("{expr}: no expected line for {name}{labels}"));
            let want = parse_test_notation(want).unwrap();
            assert!(
                histograms_match(&want, &got),
                "{expr} on {name}{labels}:\n want {want}\n got  {got}\n ({got:?})"
            );
            checked += 1;
        }
    }
    assert!(checked > 80, "only {checked} trim cases found");
}
