//! What a scrape does to a native histogram before appending it, as Prometheus' scrape
//! appenders do: reduce a schema finer than `native_histogram_min_bucket_factor` allows,
//! then reduce the resolution until `native_histogram_bucket_limit` is met (or fail the
//! histogram with Prometheus' "histogram bucket limit exceeded"), and the stale marker of a
//! histogram series.
//!
//! Not here: reading histograms (`bongsu_exposition::proto`) and validating their counts
//! (the storage's appender).

use std::sync::Arc;

use bongsu_model::histogram::{HistogramError, EXPONENTIAL_SCHEMA_MAX, EXPONENTIAL_SCHEMA_MIN};
use bongsu_model::{FloatHistogram, Histogram, HistogramValue, STALE_NAN};

/// Prometheus' error for a histogram over the bucket limit.
pub const BUCKET_LIMIT_EXCEEDED: &str = "histogram bucket limit exceeded";

/// Schemas Prometheus reserves for future exponential schemas: a histogram with one of them
/// above the maximum is reduced to the maximum.
const EXPONENTIAL_SCHEMA_MAX_RESERVED: i32 = 52;
const EXPONENTIAL_SCHEMA_MIN_RESERVED: i32 = -9;

/// How a job treats native histograms (from its scrape config).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistogramRules {
    /// `scrape_native_histograms` (or `--enable-feature=native-histograms`).
    pub native: bool,
    /// `always_scrape_classic_histograms`.
    pub keep_classic: bool,
    /// `convert_classic_histograms_to_nhcb`.
    pub convert_nhcb: bool,
    /// `native_histogram_bucket_limit`; 0: none.
    pub bucket_limit: usize,
    /// The finest schema `native_histogram_min_bucket_factor` allows ([`pick_schema`]).
    pub max_schema: i32,
}

impl Default for HistogramRules {
    fn default() -> HistogramRules {
        HistogramRules {
            native: false,
            keep_classic: false,
            convert_nhcb: false,
            bucket_limit: 0,
            max_schema: EXPONENTIAL_SCHEMA_MAX,
        }
    }
}

/// The largest schema whose bucket growth factor is at least `factor` (Prometheus'
/// `pickSchema`); a factor of 1 or less means the finest schema.
pub fn pick_schema(factor: f64) -> i32 {
    let factor = if factor <= 1.0 { 1.00271 } else { factor };
    let floor = (-factor.log2().log2()).floor();
    if floor >= f64::from(EXPONENTIAL_SCHEMA_MAX) {
        EXPONENTIAL_SCHEMA_MAX
    } else if floor <= f64::from(EXPONENTIAL_SCHEMA_MIN) {
        EXPONENTIAL_SCHEMA_MIN
    } else {
        floor as i32
    }
}

/// Why a histogram was not appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitError {
    /// Over `native_histogram_bucket_limit` even at the coarsest schema (or with custom
    /// buckets, which cannot be merged).
    BucketLimit,
    /// The spans and buckets disagree (the histogram is malformed).
    Invalid(String),
}

/// `h` with the job's schema cap and bucket limit applied.
pub fn apply_limits(
    h: HistogramValue,
    rules: &HistogramRules,
) -> Result<HistogramValue, LimitError> {
    let schema = schema_of(&h);
    let mut h = h;
    // As Prometheus, only a factor that asks for less than the finest schema caps schemas
    // (the reserved ones above it included).
    if rules.max_schema < EXPONENTIAL_SCHEMA_MAX
        && is_exponential_reserved(schema)
        && schema > rules.max_schema
    {
        h = reduce(&h, rules.max_schema)?;
    }
    if rules.bucket_limit == 0 {
        return Ok(h);
    }
    if buckets(&h) > rules.bucket_limit && !is_exponential(schema_of(&h)) {
        return Err(LimitError::BucketLimit);
    }
    while buckets(&h) > rules.bucket_limit {
        let schema = schema_of(&h);
        if schema <= EXPONENTIAL_SCHEMA_MIN {
            return Err(LimitError::BucketLimit);
        }
        h = reduce(&h, schema - 1)?;
    }
    Ok(h)
}

/// The stale marker of a histogram series: a histogram whose sum is the stale NaN, float if
/// the series' last histogram was (as Prometheus' head writes it).
pub fn stale_marker(float: bool) -> HistogramValue {
    if float {
        HistogramValue::Float(Arc::new(FloatHistogram {
            sum: STALE_NAN,
            ..FloatHistogram::default()
        }))
    } else {
        HistogramValue::Int(Arc::new(Histogram {
            sum: STALE_NAN,
            ..Histogram::default()
        }))
    }
}

fn is_exponential(schema: i32) -> bool {
    (EXPONENTIAL_SCHEMA_MIN..=EXPONENTIAL_SCHEMA_MAX).contains(&schema)
}

fn is_exponential_reserved(schema: i32) -> bool {
    (EXPONENTIAL_SCHEMA_MIN_RESERVED..=EXPONENTIAL_SCHEMA_MAX_RESERVED).contains(&schema)
}

fn schema_of(h: &HistogramValue) -> i32 {
    match h {
        HistogramValue::Int(h) => h.schema,
        HistogramValue::Float(h) => h.schema,
    }
}

fn buckets(h: &HistogramValue) -> usize {
    match h {
        HistogramValue::Int(h) => h.positive_buckets.len() + h.negative_buckets.len(),
        HistogramValue::Float(h) => h.positive_buckets.len() + h.negative_buckets.len(),
    }
}

/// `h` at the coarser schema `target`: neighbouring buckets merged (the model's
/// `reduce_resolution`).
fn reduce(h: &HistogramValue, target: i32) -> Result<HistogramValue, LimitError> {
    let invalid = |e: HistogramError| LimitError::Invalid(e.to_string());
    let mut h = h.clone();
    match &mut h {
        HistogramValue::Int(i) => Arc::make_mut(i)
            .reduce_resolution(target)
            .map_err(invalid)?,
        HistogramValue::Float(f) => Arc::make_mut(f)
            .reduce_resolution(target)
            .map_err(invalid)?,
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::Span;

    fn int(schema: i32, spans: &[(i32, u32)], deltas: &[i64]) -> HistogramValue {
        HistogramValue::Int(Arc::new(Histogram {
            schema,
            count: 10,
            positive_spans: spans
                .iter()
                .map(|&(offset, length)| Span { offset, length })
                .collect(),
            positive_buckets: deltas.to_vec(),
            ..Histogram::default()
        }))
    }

    #[test]
    fn schemas_from_factors() {
        assert_eq!(pick_schema(0.0), 8);
        assert_eq!(pick_schema(1.1), 2);
        assert_eq!(pick_schema(2.0), 0);
        assert_eq!(pick_schema(4.0), -1);
        assert_eq!(pick_schema(1e6), -4);
    }

    #[test]
    fn reducing_merges_neighbours() {
        // Schema 1 buckets 1..=4 with counts 1, 2, 3, 4 → schema 0 buckets 1, 2: 3, 7.
        let h = int(1, &[(1, 4)], &[1, 1, 1, 1]);
        let HistogramValue::Int(r) = reduce(&h, 0).unwrap() else {
            unreachable!()
        };
        assert_eq!(r.schema, 0);
        assert_eq!(
            r.positive_spans,
            [Span {
                offset: 1,
                length: 2
            }]
        );
        assert_eq!(r.positive_buckets, [3, 4]);
        // Buckets 0, 1 and 5 of schema 0 go to 0, 1 and 3 at schema -1: ((i-1)>>1)+1.
        let h = int(0, &[(0, 2), (3, 1)], &[5, -4, 1]);
        let HistogramValue::Int(r) = reduce(&h, -1).unwrap() else {
            unreachable!()
        };
        assert_eq!(
            r.positive_spans,
            [
                Span {
                    offset: 0,
                    length: 2
                },
                Span {
                    offset: 1,
                    length: 1
                }
            ]
        );
        assert_eq!(r.positive_buckets, [5, -4, 1]);
    }

    #[test]
    fn limits() {
        let h = int(3, &[(0, 8)], &[1; 8]);
        let rules = HistogramRules {
            bucket_limit: 3,
            ..HistogramRules::default()
        };
        let r = apply_limits(h.clone(), &rules).unwrap();
        assert!(buckets(&r) <= 3, "{r:?}");
        assert_eq!(schema_of(&r), 1);
        let rules = HistogramRules {
            max_schema: 2,
            ..HistogramRules::default()
        };
        assert_eq!(schema_of(&apply_limits(h, &rules).unwrap()), 2);
        let mut nhcb = Histogram {
            schema: bongsu_model::histogram::CUSTOM_BUCKETS_SCHEMA,
            custom_values: vec![1.0, 2.0],
            positive_spans: vec![Span {
                offset: 0,
                length: 3,
            }],
            positive_buckets: vec![1, 0, 0],
            ..Histogram::default()
        };
        let rules = HistogramRules {
            bucket_limit: 2,
            ..HistogramRules::default()
        };
        assert_eq!(
            apply_limits(HistogramValue::Int(Arc::new(nhcb.clone())), &rules),
            Err(LimitError::BucketLimit)
        );
        nhcb.positive_buckets.pop();
        nhcb.positive_spans[0].length = 2;
        assert!(apply_limits(HistogramValue::Int(Arc::new(nhcb)), &rules).is_ok());
    }
}
