//! The protobuf parser against bodies built from the messages, with the entries Prometheus'
//! `ProtobufParser` yields for them.

use super::*;

/// A delimited body of `families`.
pub(crate) fn body(families: &[MetricFamily]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_delimited(families, &mut out);
    out
}

fn family(name: &str, kind: ProtoMetricType, metric: Vec<Metric>) -> MetricFamily {
    MetricFamily {
        name: name.into(),
        help: format!("Help of {name}."),
        r#type: kind as i32,
        metric,
        unit: String::new(),
    }
}

fn labels(pairs: &[(&str, &str)]) -> Vec<LabelPair> {
    pairs
        .iter()
        .map(|(n, v)| LabelPair {
            name: (*n).into(),
            value: (*v).into(),
        })
        .collect()
}

/// Every entry as one line: `help NAME TEXT`, `type NAME KIND`, `unit NAME U`,
/// `SERIES VALUE [@TS]` or `SERIES HISTOGRAM [@TS]` (with the histogram's Debug form).
fn lines(input: &[u8], opts: ProtoOptions) -> Result<Vec<String>, ProtoError> {
    let mut p = ProtoParser::new(input, opts);
    let mut out = Vec::new();
    while let Some(e) = p.next_entry()? {
        out.push(match e {
            Entry::Help { metric, text } => format!("help {metric} {text}"),
            Entry::Type { metric, kind } => format!("type {metric} {}", kind.as_str()),
            Entry::Unit { metric, unit } => format!("unit {metric} {unit}"),
            Entry::Series(s) => {
                let ts = s.timestamp_ms.map(|t| format!(" @{t}")).unwrap_or_default();
                format!("{} {}{ts}", s.to_labels().unwrap(), s.value)
            }
            Entry::Histogram { series, h } => {
                let ts = series
                    .timestamp_ms
                    .map(|t| format!(" @{t}"))
                    .unwrap_or_default();
                let kind = match h {
                    HistogramValue::Int(_) => "int",
                    HistogramValue::Float(_) => "float",
                };
                format!("{} {kind}{ts}", series.to_labels().unwrap())
            }
        });
    }
    Ok(out.into_iter().map(|l| l.replacen("{}", "", 1)).collect())
}

fn classic_histogram() -> ProtoHistogram {
    ProtoHistogram {
        sample_count: 10,
        sample_sum: 12.5,
        bucket: vec![
            Bucket {
                cumulative_count: 2,
                upper_bound: 0.5,
                ..Default::default()
            },
            Bucket {
                cumulative_count: 7,
                upper_bound: 1.0,
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

fn native_histogram() -> ProtoHistogram {
    ProtoHistogram {
        sample_count: 4,
        sample_sum: 3.0,
        schema: 1,
        zero_threshold: 0.001,
        zero_count: 1,
        positive_span: vec![BucketSpan {
            offset: 0,
            length: 2,
        }],
        positive_delta: vec![2, -1],
        ..classic_histogram()
    }
}

#[test]
fn counters_gauges_untyped_and_summaries() {
    let b = body(&[
        MetricFamily {
            unit: "seconds".into(),
            ..family(
                "a_total",
                ProtoMetricType::Counter,
                vec![Metric {
                    label: labels(&[("x", "1")]),
                    counter: Some(Counter {
                        value: 3.0,
                        exemplar: None,
                        start_timestamp: Some(Timestamp {
                            seconds: 1,
                            nanos: 0,
                        }),
                    }),
                    timestamp_ms: 1234,
                    ..Default::default()
                }],
            )
        },
        family("empty", ProtoMetricType::Gauge, vec![]),
        family(
            "g",
            ProtoMetricType::Gauge,
            vec![Metric {
                gauge: Some(Gauge { value: -1.5 }),
                ..Default::default()
            }],
        ),
        family(
            "u",
            ProtoMetricType::Untyped,
            vec![Metric {
                untyped: Some(Untyped { value: 7.0 }),
                ..Default::default()
            }],
        ),
        family(
            "s",
            ProtoMetricType::Summary,
            vec![Metric {
                summary: Some(Summary {
                    sample_count: 5,
                    sample_sum: 1.25,
                    quantile: vec![
                        Quantile {
                            quantile: 0.5,
                            value: 0.2,
                        },
                        Quantile {
                            quantile: 1.0,
                            value: 0.9,
                        },
                    ],
                    start_timestamp: None,
                }),
                ..Default::default()
            }],
        ),
    ]);
    assert_eq!(
        lines(&b, ProtoOptions::default()).unwrap(),
        [
            "help a_total Help of a_total.",
            "unit a_total seconds",
            "type a_total counter",
            "a_total{x=\"1\"} 3 @1234",
            "help g Help of g.",
            "type g gauge",
            "g -1.5",
            "help u Help of u.",
            "type u unknown",
            "u 7",
            "help s Help of s.",
            "type s summary",
            "s_count 5",
            "s_sum 1.25",
            "s{quantile=\"0.5\"} 0.2",
            "s{quantile=\"1.0\"} 0.9",
        ]
    );
}

#[test]
fn classic_histograms_get_their_inf_bucket() {
    let b = body(&[family(
        "h",
        ProtoMetricType::Histogram,
        vec![Metric {
            histogram: Some(classic_histogram()),
            ..Default::default()
        }],
    )]);
    assert_eq!(
        lines(&b, ProtoOptions::default()).unwrap()[2..],
        [
            "h_count 10",
            "h_sum 12.5",
            "h_bucket{le=\"0.5\"} 2",
            "h_bucket{le=\"1.0\"} 7",
            "h_bucket{le=\"+Inf\"} 10",
        ]
    );
}

#[test]
fn native_histograms_by_option() {
    let b = body(&[family(
        "h",
        ProtoMetricType::GaugeHistogram,
        vec![Metric {
            histogram: Some(native_histogram()),
            timestamp_ms: 5,
            ..Default::default()
        }],
    )]);
    // Off: the classic series only.
    let off = lines(&b, ProtoOptions::default()).unwrap();
    assert_eq!(off[1], "type h gaugehistogram");
    assert_eq!(off[2..].len(), 5);
    assert_eq!(off[2], "h_count 4 @5");

    let on = ProtoOptions {
        native_histograms: true,
        ..ProtoOptions::default()
    };
    assert_eq!(lines(&b, on).unwrap()[2..], ["h int @5"]);
    let both = ProtoOptions {
        keep_classic: true,
        ..on
    };
    let got = lines(&b, both).unwrap();
    assert_eq!(got[2], "h int @5");
    assert_eq!(got[3..].len(), 5);

    let mut p = ProtoParser::new(&b, on);
    let h = loop {
        if let Some(Entry::Histogram { h, .. }) = p.next_entry().unwrap() {
            break h;
        }
    };
    let HistogramValue::Int(h) = h else {
        panic!("integer counts give an integer histogram")
    };
    assert_eq!(h.counter_reset_hint, CounterResetHint::Gauge);
    assert_eq!((h.schema, h.count, h.zero_count, h.sum), (1, 4, 1, 3.0));
    assert_eq!(h.positive_buckets, [2, -1]);
}

#[test]
fn float_native_histograms() {
    let b = body(&[family(
        "h",
        ProtoMetricType::Histogram,
        vec![Metric {
            histogram: Some(ProtoHistogram {
                sample_count_float: 2.5,
                positive_count: vec![1.5, 1.0],
                positive_delta: vec![],
                bucket: vec![],
                ..native_histogram()
            }),
            ..Default::default()
        }],
    )]);
    let on = ProtoOptions {
        native_histograms: true,
        keep_classic: true,
        ..ProtoOptions::default()
    };
    // No classic buckets: nothing classic to keep.
    assert_eq!(lines(&b, on).unwrap()[2..], ["h float"]);
}

#[test]
fn an_empty_native_histogram_is_marked_by_a_no_op_span() {
    let empty = ProtoHistogram {
        positive_span: vec![BucketSpan {
            offset: 0,
            length: 0,
        }],
        ..Default::default()
    };
    let b = body(&[family(
        "h",
        ProtoMetricType::Histogram,
        vec![Metric {
            histogram: Some(empty),
            ..Default::default()
        }],
    )]);
    let on = ProtoOptions {
        native_histograms: true,
        ..ProtoOptions::default()
    };
    assert_eq!(lines(&b, on).unwrap()[2..], ["h int"]);
}

#[test]
fn errors() {
    let bad_spans = body(&[family(
        "h",
        ProtoMetricType::Histogram,
        vec![Metric {
            histogram: Some(ProtoHistogram {
                positive_delta: vec![1],
                ..native_histogram()
            }),
            ..Default::default()
        }],
    )]);
    let on = ProtoOptions {
        native_histograms: true,
        ..ProtoOptions::default()
    };
    assert_eq!(
        lines(&bad_spans, on).unwrap_err().0,
        "histogram \"h\": positive side: spans require 2 buckets, have 1"
    );
    let mut unknown = family("x", ProtoMetricType::Gauge, vec![Metric::default()]);
    unknown.r#type = 9;
    assert_eq!(
        lines(&body(&[unknown]), on).unwrap_err().0,
        "unknown metric type for metric \"x\": 9"
    );
    let nameless = family("", ProtoMetricType::Gauge, vec![Metric::default()]);
    assert_eq!(
        lines(&body(&[nameless]), on).unwrap_err().0,
        "invalid metric name: "
    );
    let mut short = body(&[family("g", ProtoMetricType::Gauge, vec![Metric::default()])]);
    short.pop();
    let err = lines(&short, on).unwrap_err().0;
    assert!(
        err.starts_with("clientpb: insufficient length of buffer"),
        "{err}"
    );
    assert_eq!(
        lines(&[0xff; 6], on).unwrap_err().0,
        "clientpb: invalid varint encountered"
    );
}

#[test]
fn openmetrics_floats() {
    for (f, s) in [
        (1.0, "1.0"),
        (0.0, "0.0"),
        (-0.0, "0.0"),
        (0.25, "0.25"),
        (100.0, "100.0"),
        (123456.0, "123456.0"),
        (1e6, "1e+06"),
        (2.5e-5, "2.5e-05"),
        (0.0001, "0.0001"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
    ] {
        assert_eq!(format_openmetrics_float(f), s, "{f}");
    }
}

proptest::proptest! {
    #[test]
    fn never_panics(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        for native_histograms in [false, true] {
            let opts = ProtoOptions { native_histograms, keep_classic: true, convert_nhcb: false };
            let mut p = ProtoParser::new(&input, opts);
            for _ in 0..1000 {
                match p.next_entry() {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
}

#[test]
fn classic_histograms_to_nhcb() {
    let b = body(&[family(
        "h",
        ProtoMetricType::GaugeHistogram,
        vec![Metric {
            histogram: Some(classic_histogram()),
            ..Default::default()
        }],
    )]);
    let convert = ProtoOptions {
        convert_nhcb: true,
        ..ProtoOptions::default()
    };
    assert_eq!(lines(&b, convert).unwrap()[2..], ["h int"]);
    let keep = ProtoOptions {
        keep_classic: true,
        ..convert
    };
    let got = lines(&b, keep).unwrap();
    assert_eq!(got[2..].len(), 6);
    assert_eq!(got[7], "h int");
    let mut p = ProtoParser::new(&b, convert);
    let h = loop {
        if let Some(Entry::Histogram { h, .. }) = p.next_entry().unwrap() {
            break h;
        }
    };
    let HistogramValue::Int(h) = h else {
        panic!("integer counts give an integer NHCB")
    };
    assert_eq!(h.counter_reset_hint, CounterResetHint::Gauge);
    assert_eq!(h.custom_values, [0.5, 1.0]);
    assert_eq!((h.count, h.sum), (10, 12.5));
    // A native histogram is not converted, whatever the option.
    let native = body(&[family(
        "n",
        ProtoMetricType::Histogram,
        vec![Metric {
            histogram: Some(native_histogram()),
            ..Default::default()
        }],
    )]);
    let both = ProtoOptions {
        native_histograms: true,
        ..convert
    };
    assert_eq!(lines(&native, both).unwrap()[2..], ["n int"]);
}
