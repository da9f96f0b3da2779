//! Unit tests for what the upstream table tests (`tests/histogram_upstream/`) do not cover.

use super::notation::parse_test_notation_prefix;
use super::*;

fn exp_h() -> FloatHistogram {
    FloatHistogram {
        schema: 3,
        count: 2.2,
        sum: 9.7,
        zero_threshold: 0.1,
        zero_count: 1.1,
        positive_spans: vec![Span {
            offset: 0,
            length: 1,
        }],
        positive_buckets: vec![3.0],
        negative_spans: vec![Span {
            offset: 0,
            length: 1,
        }],
        negative_buckets: vec![4.0],
        ..FloatHistogram::default()
    }
}

fn both(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    assert_eq!(a.equals(b), b.equals(a));
    a.equals(b)
}

#[test]
fn equals_compares_bits_and_layouts() {
    let h1 = exp_h();
    assert!(both(&h1, &h1.clone()));
    let mut n = h1.clone();
    n.count = f64::NAN;
    assert!(!both(&h1, &n));
    assert!(both(&n, &n.clone()));
    let mut n = h1.clone();
    n.positive_buckets[0] = f64::NAN;
    assert!(!both(&h1, &n));
    assert!(both(&n, &n.clone()));
    // Custom values are ignored for exponential schemas.
    let mut c = h1.clone();
    c.custom_values = vec![1.0, 2.0, 3.0];
    assert!(both(&h1, &c));
    // Zero-length spans do not change the layout; split spans do.
    let mut s = h1.clone();
    s.positive_spans = vec![
        Span {
            offset: 0,
            length: 0,
        },
        Span {
            offset: 0,
            length: 1,
        },
    ];
    assert!(both(&h1, &s));
    let mut s2 = h1.clone();
    s2.positive_spans = vec![Span {
        offset: 1,
        length: 1,
    }];
    assert!(!both(&h1, &s2));

    let cb = FloatHistogram {
        schema: CUSTOM_BUCKETS_SCHEMA,
        count: 2.2,
        sum: 9.7,
        positive_spans: vec![Span {
            offset: 0,
            length: 1,
        }],
        positive_buckets: vec![3.0],
        custom_values: vec![1.0, 2.0, 3.0],
        ..FloatHistogram::default()
    };
    assert!(cb.validate().is_ok());
    let mut cb2 = cb.clone();
    cb2.custom_values = vec![1.0, 2.0, 3.0, 4.0];
    assert!(!both(&cb, &cb2));
    let mut cb2 = cb.clone();
    cb2.zero_threshold = 0.1;
    cb2.zero_count = 10.0;
    assert!(!both(&cb, &cb2));
}

#[test]
fn go_g_matches_go() {
    for (v, want) in [
        (0.5, "0.5"),
        (-0.5, "-0.5"),
        (100000.0, "100000"),
        (1e6, "1e+06"),
        (2349209.324, "2.349209324e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (0.0, "0"),
        (-0.0, "-0"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
        (f64::MAX, "1.7976931348623157e+308"),
    ] {
        assert_eq!(go_g(v), want, "{v}");
    }
}

#[test]
fn float_validate_messages() {
    let mut h = exp_h();
    h.positive_buckets.push(1.0);
    assert_eq!(
        h.validate().unwrap_err().to_string(),
        "positive side: spans need 1 buckets, have 2 buckets: histogram spans specify different number of buckets than provided"
    );
    let mut h = exp_h();
    h.negative_buckets[0] = -1.0;
    let e = h.validate().unwrap_err();
    assert_eq!(
        e.to_string(),
        "negative side: bucket number 1 has observation count of -1: histogram has a bucket whose observation count is negative"
    );
    assert_eq!(e.kind(), Some(HistogramErrorKind::NegativeBucketCount));
    let mut h = exp_h();
    h.count = -2.5;
    assert_eq!(
        h.validate().unwrap_err().to_string(),
        "observation count is  -2.5: histogram's observation count is negative"
    );
    let mut h = exp_h();
    h.zero_count = -1.0;
    assert_eq!(
        h.validate().unwrap_err().to_string(),
        "zero bucket has observation count of -1: histogram has a bucket whose observation count is negative"
    );
    let mut h = exp_h();
    h.schema = 9;
    assert_eq!(
        h.validate().unwrap_err().to_string(),
        "histogram has an invalid schema, which must be between -4 and 8 for exponential buckets, or -53 for custom buckets, got schema 9"
    );
}

#[test]
fn add_rejects_mixed_schemas_and_leaves_receiver() {
    let mut a = exp_h();
    let b = FloatHistogram {
        schema: CUSTOM_BUCKETS_SCHEMA,
        custom_values: vec![1.0],
        ..FloatHistogram::default()
    };
    let before = a.clone();
    let err = a.add(&b).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot apply this operation on histograms with a mix of exponential and custom bucket schemas"
    );
    assert_eq!(a, before);
}

#[test]
fn nan_zero_thresholds_do_not_hang() {
    let mut a = exp_h();
    a.zero_threshold = f64::NAN;
    let b = exp_h();
    a.add(&b).unwrap();
}

#[test]
fn invalid_spans_do_not_panic() {
    let mut a = exp_h();
    a.positive_spans = vec![Span {
        offset: 0,
        length: 5,
    }];
    let b = exp_h();
    let _ = a.clone().add(&b);
    let _ = b.clone().add(&a);
    let _ = a.detect_reset(&b);
    let _ = b.detect_reset(&a);
    let _ = a.to_string();
    let _ = a.all_buckets().count();
    let _ = a.all_reverse_buckets().count();
    let _ = a.clone().compact(2);
    let _ = a.clone().reduce_resolution(0);
}

// The test notation.

fn span(offset: i32, length: u32) -> Vec<Span> {
    vec![Span { offset, length }]
}

#[test]
fn parses_upstream_examples() {
    let h = parse_test_notation(
        "{{schema:1 sum:0.3 count:3.1 z_bucket:7.1 z_bucket_w:0.05 buckets:[5.1 10 7] offset:3 n_buckets:[4.1 5] n_offset:5 counter_reset_hint:gauge}}",
    )
    .unwrap();
    assert_eq!(
        h,
        FloatHistogram {
            counter_reset_hint: CounterResetHint::Gauge,
            schema: 1,
            sum: 0.3,
            count: 3.1,
            zero_count: 7.1,
            zero_threshold: 0.05,
            positive_buckets: vec![5.1, 10.0, 7.0],
            positive_spans: span(3, 3),
            negative_buckets: vec![4.1, 5.0],
            negative_spans: span(5, 2),
            ..FloatHistogram::default()
        }
    );
    let h = parse_test_notation(
        "{{schema:1  sum:0.3  count:3  z_bucket:7 z_bucket_w:5 buckets:[5 10  7  ] offset:-3  n_buckets:[4 5]  n_offset:5  counter_reset_hint:gauge  }}",
    )
    .unwrap();
    assert_eq!(h.positive_spans, span(-3, 3));
    assert_eq!(h.positive_buckets, vec![5.0, 10.0, 7.0]);
    let h = parse_test_notation(
        "{{schema:1 sum:-0.3 count:-3.1 z_bucket:-7.1 z_bucket_w:0.05 buckets:[-5.1 -10 -7] offset:-3 n_buckets:[-4.1 -5] n_offset:-5 counter_reset_hint:gauge}}",
    )
    .unwrap();
    assert_eq!((h.sum, h.count, h.zero_count), (-0.3, -3.1, -7.1));
    assert_eq!(h.negative_buckets, vec![-4.1, -5.0]);
    assert_eq!(h.negative_spans, span(-5, 2));
    assert_eq!(
        parse_test_notation("{{}}").unwrap(),
        FloatHistogram::default()
    );
    assert_eq!(
        parse_test_notation("{{ }}").unwrap(),
        FloatHistogram::default()
    );
    let h = parse_test_notation("{{schema:-53 sum:1 count:2 custom_values:[1 2.5] buckets:[1 1]}}")
        .unwrap();
    assert_eq!(h.custom_values, vec![1.0, 2.5]);
    assert!(h.validate().is_ok());
    let h = parse_test_notation("{{sum:Inf count:NaN buckets:[-Inf]}}").unwrap();
    assert_eq!(h.sum, f64::INFINITY);
    assert!(h.count.is_nan());
    assert_eq!(h.positive_buckets, vec![f64::NEG_INFINITY]);
    for (s, hint) in [
        ("unknown", CounterResetHint::Unknown),
        ("reset", CounterResetHint::CounterReset),
        ("not_reset", CounterResetHint::NotCounterReset),
        ("gauge", CounterResetHint::Gauge),
    ] {
        let p = parse_test_notation_prefix(&format!("{{{{counter_reset_hint:{s}}}}}")).unwrap();
        assert_eq!(p.histogram.counter_reset_hint, hint);
        assert!(p.counter_reset_hint_set);
    }
    assert!(
        !parse_test_notation_prefix("{{sum:1}}")
            .unwrap()
            .counter_reset_hint_set
    );
}

#[test]
fn prefix_reports_length() {
    let p = parse_test_notation_prefix("{{sum:1}}+{{sum:2}}x3").unwrap();
    assert_eq!(p.len, 9);
    assert_eq!(p.histogram.sum, 1.0);
}

#[test]
fn rejects_what_upstream_rejects() {
    for (input, msg) in [
        (
            "{{schema:1 schema:1}}",
            "duplicate key \"schema\" in histogram",
        ),
        ("{{foo:1}}", "bad histogram descriptor found: \"foo\""),
        ("{{schema :1}}", "missing `:` for histogram descriptor"),
        ("{{schema: 1}}", "unexpected \" \" in series values"),
        ("{{buckets:[ 1]}}", "unexpected \" \" in series values"),
        ("{{ schema:1}}", "unexpected \"schema\" in series values"),
        (
            "{{counter_reset_hint:foo}}",
            "bad histogram descriptor found: \"foo\"",
        ),
    ] {
        assert_eq!(parse_test_notation(input).unwrap_err(), msg, "{input}");
    }
    for input in [
        "{{sum:1",
        "{{buckets:[]}}",
        "{{sum:+1}}",
        "{{z_bucket_w:-1}}",
        "{{schema:1.5}}",
        "{{sum:1x}}",
        "{{sum:1}} ",
    ] {
        assert!(parse_test_notation(input).is_err(), "{input}");
    }
}

#[test]
fn formats_as_upstream_test_expression() {
    let h = FloatHistogram {
        schema: 1,
        sum: -0.3,
        count: 3.1,
        zero_count: 7.1,
        zero_threshold: 0.05,
        positive_buckets: vec![5.1, 10.0, 7.0],
        positive_spans: span(-3, 3),
        negative_buckets: vec![4.1, 5.0],
        negative_spans: span(-5, 2),
        ..FloatHistogram::default()
    };
    let want = "{{schema:1 count:3.1 sum:-0.3 z_bucket:7.1 z_bucket_w:0.05 offset:-3 buckets:[5.1 10 7] n_offset:-5 n_buckets:[4.1 5]}}";
    assert_eq!(format_test_notation(&h), want);
    assert_eq!(
        format_test_notation(&parse_test_notation(want).unwrap()),
        want
    );

    let h = FloatHistogram {
        positive_buckets: vec![5.1, 10.0, 7.0],
        positive_spans: vec![
            Span {
                offset: -3,
                length: 1,
            },
            Span {
                offset: 4,
                length: 2,
            },
        ],
        negative_buckets: vec![4.1, 5.0, 7.0, 8.0, 9.0],
        negative_spans: vec![
            Span {
                offset: -1,
                length: 2,
            },
            Span {
                offset: 2,
                length: 3,
            },
        ],
        ..FloatHistogram::default()
    };
    let want = "{{offset:-3 buckets:[5.1 0 0 0 0 10 7] n_offset:-1 n_buckets:[4.1 5 0 0 7 8 9]}}";
    assert_eq!(format_test_notation(&h), want);
    assert_eq!(
        format_test_notation(&parse_test_notation(want).unwrap()),
        want
    );

    let mut h = parse_test_notation("{{schema:1 count:3.1 sum:-0.3 z_bucket:7.1 z_bucket_w:0.05 offset:-3 buckets:[5.1 10 7] n_offset:-5 n_buckets:[4.1 5]}}").unwrap();
    h.counter_reset_hint = CounterResetHint::CounterReset;
    assert_eq!(
        format_test_notation(&h),
        "{{schema:1 count:3.1 sum:-0.3 z_bucket:7.1 z_bucket_w:0.05 counter_reset_hint:reset offset:-3 buckets:[5.1 10 7] n_offset:-5 n_buckets:[4.1 5]}}"
    );
    let h =
        parse_test_notation("{{schema:-53 count:2 custom_values:[1 2.5] buckets:[1 1]}}").unwrap();
    assert_eq!(
        format_test_notation(&h),
        "{{schema:-53 count:2 custom_values:[1 2.5] buckets:[1 1]}}"
    );
}
