//! Native histograms between the wire ([`proto::Histogram`], the same message in remote write
//! 1.0, 2.0 and remote read) and the model ([`HistogramValue`]), as Prometheus'
//! `prompb/codec.go` (`ToIntHistogram`, `ToFloatHistogram`, `FromIntHistogram`,
//! `FromFloatHistogram`), plus the receiver's reduction of schemas 9 to 52 to 8
//! (`remoteWriteAppender.AppendHistogram`).
//!
//! Not here: validation (the storage's appender validates, with Prometheus' messages).

use std::sync::Arc;

use bongsu_model::histogram::{EXPONENTIAL_SCHEMA_MAX, EXPONENTIAL_SCHEMA_MAX_RESERVED};
use bongsu_model::{CounterResetHint, FloatHistogram, Histogram, HistogramValue, Span};

use crate::proto::{self, BucketSpan, HistogramCount, HistogramZeroCount};

/// Whether the message holds a float histogram (its count is the float variant).
pub fn is_float(h: &proto::Histogram) -> bool {
    matches!(h.count, Some(HistogramCount::CountFloat(_)))
}

/// The model histogram of a wire histogram, integer or float as sent. Fields of the other
/// kind (an integer zero count in a float histogram) read as 0, as upstream's getters.
pub fn to_model(h: &proto::Histogram) -> HistogramValue {
    let hint = reset_hint(h.reset_hint);
    let spans = |s: &[BucketSpan]| -> Vec<Span> {
        s.iter()
            .map(|s| Span {
                offset: s.offset,
                length: s.length,
            })
            .collect()
    };
    if is_float(h) {
        let count = match h.count {
            Some(HistogramCount::CountFloat(c)) => c,
            _ => 0.0,
        };
        let zero_count = match h.zero_count {
            Some(HistogramZeroCount::ZeroCountFloat(c)) => c,
            _ => 0.0,
        };
        HistogramValue::Float(Arc::new(FloatHistogram {
            counter_reset_hint: hint,
            schema: h.schema,
            zero_threshold: h.zero_threshold,
            zero_count,
            count,
            sum: h.sum,
            positive_spans: spans(&h.positive_spans),
            negative_spans: spans(&h.negative_spans),
            positive_buckets: h.positive_counts.clone(),
            negative_buckets: h.negative_counts.clone(),
            custom_values: h.custom_values.clone(),
        }))
    } else {
        let count = match h.count {
            Some(HistogramCount::CountInt(c)) => c,
            _ => 0,
        };
        let zero_count = match h.zero_count {
            Some(HistogramZeroCount::ZeroCountInt(c)) => c,
            _ => 0,
        };
        HistogramValue::Int(Arc::new(Histogram {
            counter_reset_hint: hint,
            schema: h.schema,
            zero_threshold: h.zero_threshold,
            zero_count,
            count,
            sum: h.sum,
            positive_spans: spans(&h.positive_spans),
            negative_spans: spans(&h.negative_spans),
            positive_buckets: h.positive_deltas.clone(),
            negative_buckets: h.negative_deltas.clone(),
            custom_values: h.custom_values.clone(),
        }))
    }
}

/// The wire reset hint of a model one (the enums share their numbers).
fn wire_hint(h: CounterResetHint) -> i32 {
    h as u8 as i32
}

/// The model reset hint of a wire one; a value the enum does not know reads as `Unknown`.
fn reset_hint(v: i32) -> CounterResetHint {
    u8::try_from(v)
        .ok()
        .and_then(CounterResetHint::from_u8)
        .unwrap_or_default()
}

fn wire_spans(s: &[Span]) -> Vec<BucketSpan> {
    s.iter()
        .map(|s| BucketSpan {
            offset: s.offset,
            length: s.length,
        })
        .collect()
}

/// The wire form of an integer histogram at `t` (upstream's `FromIntHistogram`).
pub fn from_int(t: i64, h: &Histogram) -> proto::Histogram {
    proto::Histogram {
        count: Some(HistogramCount::CountInt(h.count)),
        sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count: Some(HistogramZeroCount::ZeroCountInt(h.zero_count)),
        negative_spans: wire_spans(&h.negative_spans),
        negative_deltas: h.negative_buckets.clone(),
        negative_counts: Vec::new(),
        positive_spans: wire_spans(&h.positive_spans),
        positive_deltas: h.positive_buckets.clone(),
        positive_counts: Vec::new(),
        reset_hint: wire_hint(h.counter_reset_hint),
        timestamp: t,
        custom_values: h.custom_values.clone(),
    }
}

/// The wire form of a float histogram at `t` (upstream's `FromFloatHistogram`).
pub fn from_float(t: i64, h: &FloatHistogram) -> proto::Histogram {
    proto::Histogram {
        count: Some(HistogramCount::CountFloat(h.count)),
        sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count: Some(HistogramZeroCount::ZeroCountFloat(h.zero_count)),
        negative_spans: wire_spans(&h.negative_spans),
        negative_deltas: Vec::new(),
        negative_counts: h.negative_buckets.clone(),
        positive_spans: wire_spans(&h.positive_spans),
        positive_deltas: Vec::new(),
        positive_counts: h.positive_buckets.clone(),
        reset_hint: wire_hint(h.counter_reset_hint),
        timestamp: t,
        custom_values: h.custom_values.clone(),
    }
}

/// The wire form of a stored histogram at `t`, integer or float as stored.
pub fn from_model(t: i64, h: &HistogramValue) -> proto::Histogram {
    match h {
        HistogramValue::Int(h) => from_int(t, h),
        HistogramValue::Float(h) => from_float(t, h),
    }
}

/// A histogram with a schema above [`EXPONENTIAL_SCHEMA_MAX`] but within the reserved range
/// reduced to [`EXPONENTIAL_SCHEMA_MAX`], as Prometheus' receiver does before appending; any
/// other histogram unchanged. The error is Prometheus' validation message (spans and
/// buckets that do not match).
pub fn reduce_reserved_schema(h: HistogramValue) -> Result<HistogramValue, String> {
    let schema = match &h {
        HistogramValue::Int(h) => h.schema,
        HistogramValue::Float(h) => h.schema,
    };
    if !(EXPONENTIAL_SCHEMA_MAX + 1..=EXPONENTIAL_SCHEMA_MAX_RESERVED).contains(&schema) {
        return Ok(h);
    }
    Ok(match h {
        HistogramValue::Int(h) => {
            let mut h = Arc::unwrap_or_clone(h);
            h.reduce_resolution(EXPONENTIAL_SCHEMA_MAX)
                .map_err(|e| e.to_string())?;
            HistogramValue::Int(Arc::new(h))
        }
        HistogramValue::Float(h) => {
            let mut h = Arc::unwrap_or_clone(h);
            h.reduce_resolution(EXPONENTIAL_SCHEMA_MAX)
                .map_err(|e| e.to_string())?;
            HistogramValue::Float(Arc::new(h))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(offset: i32, length: u32) -> Span {
        Span { offset, length }
    }

    #[test]
    fn int_and_float_round_trip() {
        let h = Histogram {
            counter_reset_hint: CounterResetHint::Gauge,
            schema: 2,
            zero_threshold: 0.001,
            zero_count: 2,
            count: 9,
            sum: 12.5,
            positive_spans: vec![span(-1, 2), span(3, 1)],
            positive_buckets: vec![1, 2, -1],
            negative_spans: vec![span(0, 1)],
            negative_buckets: vec![3],
            custom_values: vec![],
        };
        let wire = from_int(7, &h);
        assert!(!is_float(&wire));
        assert_eq!(wire.timestamp, 7);
        assert_eq!(to_model(&wire), HistogramValue::Int(Arc::new(h.clone())));
        let f = h.to_float();
        let wire = from_float(8, &f);
        assert!(is_float(&wire));
        assert_eq!(to_model(&wire), HistogramValue::Float(Arc::new(f)));
    }

    #[test]
    fn unknown_reset_hints_read_as_unknown() {
        let wire = proto::Histogram {
            reset_hint: 9,
            ..Default::default()
        };
        let HistogramValue::Int(h) = to_model(&wire) else {
            panic!("an absent count is an integer histogram, as upstream");
        };
        assert_eq!(h.counter_reset_hint, CounterResetHint::Unknown);
    }

    #[test]
    fn reserved_schemas_are_reduced_to_8() {
        // Schema 9 buckets 1..=4 are schema 8 buckets 1, 1, 2, 2 (targetIdx = ((i-1)>>1)+1);
        // bucket 7 is schema 8 bucket 4, after a gap.
        let h = Histogram {
            schema: 9,
            count: 15,
            positive_spans: vec![span(1, 4), span(2, 1)],
            positive_buckets: vec![1, 1, 1, 1, 1], // absolute 1 2 3 4 5
            ..Histogram::default()
        };
        let HistogramValue::Int(r) =
            reduce_reserved_schema(HistogramValue::Int(Arc::new(h))).unwrap()
        else {
            panic!("kind changed");
        };
        assert_eq!(r.schema, 8);
        assert_eq!(r.positive_spans, vec![span(1, 2), span(1, 1)]);
        // Absolute 3, 7, 5 as deltas.
        assert_eq!(r.positive_buckets, vec![3, 4, -2]);

        let f = FloatHistogram {
            schema: 10,
            positive_spans: vec![span(0, 2)],
            positive_buckets: vec![1.0, 2.0],
            ..FloatHistogram::default()
        };
        let HistogramValue::Float(r) =
            reduce_reserved_schema(HistogramValue::Float(Arc::new(f))).unwrap()
        else {
            panic!("kind changed");
        };
        // Index 0 -> ((−1)>>2)+1 = 0, index 1 -> 1.
        assert_eq!(r.positive_spans, vec![span(0, 2)]);
        assert_eq!(r.positive_buckets, vec![1.0, 2.0]);
    }

    #[test]
    fn reduction_reports_mismatched_buckets_and_leaves_valid_schemas_alone() {
        let h = Histogram {
            schema: 12,
            positive_spans: vec![span(0, 3)],
            positive_buckets: vec![1],
            ..Histogram::default()
        };
        let err = reduce_reserved_schema(HistogramValue::Int(Arc::new(h))).unwrap_err();
        assert!(err.contains("histogram spans specify different number of buckets than provided"));
        let ok = Histogram {
            schema: 8,
            positive_spans: vec![span(0, 3)],
            positive_buckets: vec![1],
            ..Histogram::default()
        };
        let v = HistogramValue::Int(Arc::new(ok));
        assert_eq!(reduce_reserved_schema(v.clone()).unwrap(), v);
    }
}
