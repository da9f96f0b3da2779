//! Native histograms, in the shape of Prometheus' `model/histogram` package.
//!
//! [`Histogram`] is what clients send and what the TSDB's histogram chunks hold: integer
//! counts, buckets delta-encoded. [`FloatHistogram`] is what the query engine computes with:
//! float counts, buckets absolute (also stored, by the float-histogram chunks, when a
//! recording rule or a remote-write sender produces one). Both describe their populated
//! buckets as [`Span`]s over bucket indexes of an exponential `schema` (bucket `i` of schema
//! `s` is `(2^(2^-s·(i-1)), 2^(2^-s·i)]`), or, with [`CUSTOM_BUCKETS_SCHEMA`], over the upper
//! bounds in `custom_values` (a classic histogram's `le`s: NHCB).
//!
//! This module owns the data and its rules (validation, arithmetic, the text forms); it knows
//! nothing of storage encodings or PromQL.
//!
//! Code map: `validate` (errors with upstream's messages, `validate()`), `ops` (`add`, `sub`,
//! `mul`, `div`, `compact`, zero-bucket widening), `kahan` (`kahan_add`), `reset`
//! (`detect_reset`, `equals`, `reduce_resolution`), `nhcb` (custom-bucket histograms with
//! different bounds), `trim` (PromQL's `</` and `>/`), `buckets` (bucket iterators), `spans`
//! (the span/bucket algorithms both types share), `bounds` (schemas and bucket bounds),
//! `fmt` (`Display`, Go's `%g`), `notation` (`{{…}}` test notation), `convert` (classic
//! histograms ↔ NHCB).
//!
//! Not here: chunk encodings and the TSDB's appendable rules (`tsdb`), PromQL functions such
//! as quantiles (`promql`), wire formats (`ingest`, `exposition`).
//!
//! Invalid input (spans that disagree with buckets, unknown schemas) never panics: validation
//! reports it, arithmetic refuses it or gives a meaningless result.

use std::sync::Arc;

mod bounds;
mod bounds_table;
mod buckets;
pub mod convert;
mod fmt;
mod kahan;
mod nhcb;
pub mod notation;
mod ops;
mod reset;
mod spans;
mod trim;
mod validate;

pub use bounds::{
    custom_bucket_bounds_match, is_custom_buckets_schema, is_exponential_schema,
    is_exponential_schema_reserved, is_known_schema, is_valid_schema,
    EXPONENTIAL_SCHEMA_MAX_RESERVED, EXPONENTIAL_SCHEMA_MIN_RESERVED,
};
pub use buckets::{
    AllFloatBucketIter, Bucket, FloatBucketIter, IntBucketIter, ReverseFloatBucketIter,
};
pub use convert::{from_classic, from_classic_value, ClassicHistogram, ClassicHistogramBuilder};
pub use fmt::go_g;
pub use kahan::{kahan_dec, kahan_inc};
pub use notation::{format_test_notation, parse_test_notation};
pub use ops::AddOutcome;
pub use validate::{HistogramError, HistogramErrorKind};

/// The schema of histograms with custom bucket bounds (`custom_values`).
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;
/// The smallest and largest exponential schema.
pub const EXPONENTIAL_SCHEMA_MIN: i32 = -4;
pub const EXPONENTIAL_SCHEMA_MAX: i32 = 8;

/// What the producer says about a counter reset at this sample (Prometheus'
/// `CounterResetHint`; the numbers are the TSDB's on-disk values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[repr(u8)]
pub enum CounterResetHint {
    /// Nothing is known; a reader compares with the previous sample.
    #[default]
    Unknown = 0,
    /// A counter reset happened right before this sample.
    CounterReset = 1,
    /// No counter reset since the previous sample.
    NotCounterReset = 2,
    /// A gauge histogram: counter resets do not apply.
    Gauge = 3,
}

impl CounterResetHint {
    pub fn from_u8(v: u8) -> Option<CounterResetHint> {
        Some(match v {
            0 => CounterResetHint::Unknown,
            1 => CounterResetHint::CounterReset,
            2 => CounterResetHint::NotCounterReset,
            3 => CounterResetHint::Gauge,
            _ => return None,
        })
    }
}

/// A run of `length` consecutive buckets starting `offset` indexes after the end of the
/// previous span (after index 0 for the first span).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub offset: i32,
    pub length: u32,
}

/// A native histogram with integer counts (Prometheus' `histogram.Histogram`). Bucket counts
/// are deltas: each is the difference to the previous populated bucket (the first is absolute).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    pub counter_reset_hint: CounterResetHint,
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: u64,
    pub count: u64,
    pub sum: f64,
    pub positive_spans: Vec<Span>,
    pub negative_spans: Vec<Span>,
    pub positive_buckets: Vec<i64>,
    pub negative_buckets: Vec<i64>,
    /// Upper bounds of the custom buckets (only with [`CUSTOM_BUCKETS_SCHEMA`]); the last
    /// bucket's upper bound, +Inf, is implied.
    pub custom_values: Vec<f64>,
}

/// A native histogram with float counts (Prometheus' `histogram.FloatHistogram`). Bucket
/// counts are absolute.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FloatHistogram {
    pub counter_reset_hint: CounterResetHint,
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: f64,
    pub count: f64,
    pub sum: f64,
    pub positive_spans: Vec<Span>,
    pub negative_spans: Vec<Span>,
    pub positive_buckets: Vec<f64>,
    pub negative_buckets: Vec<f64>,
    /// See [`Histogram::custom_values`].
    pub custom_values: Vec<f64>,
}

/// A stored histogram: integer or float, as it was appended.
#[derive(Debug, Clone, PartialEq)]
pub enum HistogramValue {
    Int(Arc<Histogram>),
    Float(Arc<FloatHistogram>),
}

/// One histogram sample: a millisecond Unix timestamp and a histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSample {
    pub t: i64,
    pub h: HistogramValue,
}

impl Histogram {
    /// The same histogram with float counts and absolute buckets (upstream's `ToFloat`: the
    /// fields the schema does not use are left empty).
    pub fn to_float(&self) -> FloatHistogram {
        let custom = self.uses_custom_buckets();
        FloatHistogram {
            counter_reset_hint: self.counter_reset_hint,
            schema: self.schema,
            zero_threshold: if custom { 0.0 } else { self.zero_threshold },
            zero_count: if custom { 0.0 } else { self.zero_count as f64 },
            count: self.count as f64,
            sum: self.sum,
            positive_spans: self.positive_spans.clone(),
            negative_spans: if custom {
                Vec::new()
            } else {
                self.negative_spans.clone()
            },
            positive_buckets: absolute(&self.positive_buckets),
            negative_buckets: if custom {
                Vec::new()
            } else {
                absolute(&self.negative_buckets)
            },
            custom_values: if custom {
                self.custom_values.clone()
            } else {
                Vec::new()
            },
        }
    }

    /// Whether this is the stale marker: a histogram whose sum is the stale NaN.
    pub fn is_stale(&self) -> bool {
        crate::is_stale_nan(self.sum)
    }

    pub fn uses_custom_buckets(&self) -> bool {
        self.schema == CUSTOM_BUCKETS_SCHEMA
    }
}

impl FloatHistogram {
    /// Whether this is the stale marker: a histogram whose sum is the stale NaN.
    pub fn is_stale(&self) -> bool {
        crate::is_stale_nan(self.sum)
    }

    pub fn uses_custom_buckets(&self) -> bool {
        self.schema == CUSTOM_BUCKETS_SCHEMA
    }
}

impl HistogramValue {
    /// The histogram as the query engine computes with it.
    pub fn to_float(&self) -> FloatHistogram {
        match self {
            HistogramValue::Int(h) => h.to_float(),
            HistogramValue::Float(h) => (**h).clone(),
        }
    }

    pub fn is_stale(&self) -> bool {
        match self {
            HistogramValue::Int(h) => h.is_stale(),
            HistogramValue::Float(h) => h.is_stale(),
        }
    }

    pub fn counter_reset_hint(&self) -> CounterResetHint {
        match self {
            HistogramValue::Int(h) => h.counter_reset_hint,
            HistogramValue::Float(h) => h.counter_reset_hint,
        }
    }
}

/// Absolute counts from delta-encoded ones.
/// Summed in floats, as upstream's `ToFloat`.
fn absolute(deltas: &[i64]) -> Vec<f64> {
    let mut cur = 0.0;
    deltas
        .iter()
        .map(|d| {
            cur += *d as f64;
            cur
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_float_makes_buckets_absolute() {
        let h = Histogram {
            schema: 0,
            count: 5,
            sum: 10.0,
            zero_count: 1,
            positive_spans: vec![Span {
                offset: 0,
                length: 3,
            }],
            positive_buckets: vec![1, 1, -1],
            ..Histogram::default()
        };
        let f = h.to_float();
        assert_eq!(f.positive_buckets, vec![1.0, 2.0, 1.0]);
        assert_eq!(f.count, 5.0);
        assert_eq!(f.zero_count, 1.0);
    }

    #[test]
    fn stale_marker_is_the_sum() {
        let h = Histogram {
            sum: crate::STALE_NAN,
            ..Histogram::default()
        };
        assert!(h.is_stale());
        assert!(!Histogram::default().is_stale());
    }
}

#[cfg(test)]
mod histogram_tests;
