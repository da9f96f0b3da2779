//! Prometheus' histogram errors (`histogram.Error` and its sentinels) and the validation of
//! both histogram types (`Validate`), with upstream's messages word for word: they reach
//! users through remote write, the scrape log and the TSDB's append errors.

use super::bounds::{is_custom_buckets_schema, is_exponential_schema};
use super::fmt::go_g;
use super::{FloatHistogram, Histogram, Span, CUSTOM_BUCKETS_SCHEMA};
use super::{EXPONENTIAL_SCHEMA_MAX, EXPONENTIAL_SCHEMA_MIN};
use crate::histogram::bounds::{EXPONENTIAL_SCHEMA_MAX_RESERVED, EXPONENTIAL_SCHEMA_MIN_RESERVED};

/// Which of upstream's sentinel errors an error is (what Go code tests with `errors.Is`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HistogramErrorKind {
    #[error("histogram's observation count should be at least the number of observations found in the buckets")]
    CountNotBigEnough,
    #[error("histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)")]
    CountMismatch,
    #[error("histogram's observation count is negative")]
    NegativeCount,
    #[error("histogram has a bucket whose observation count is negative")]
    NegativeBucketCount,
    #[error("histogram has a span whose offset is negative")]
    SpanNegativeOffset,
    #[error("histogram spans specify different number of buckets than provided")]
    SpansBucketsMismatch,
    #[error("histogram custom bounds are too few")]
    CustomBucketsMismatch,
    #[error("histogram custom bounds must be in strictly increasing order")]
    CustomBucketsInvalid,
    #[error("histogram custom bounds must be finite")]
    CustomBucketsInfinite,
    #[error("histogram custom bounds must not be NaN")]
    CustomBucketsNaN,
    #[error("cannot apply this operation on histograms with a mix of exponential and custom bucket schemas")]
    IncompatibleSchema,
    #[error("custom buckets: must have zero count of 0")]
    CustomBucketsZeroCount,
    #[error("custom buckets: must have zero threshold of 0")]
    CustomBucketsZeroThresh,
    #[error("custom buckets: must not have negative spans")]
    CustomBucketsNegSpans,
    #[error("custom buckets: must not have negative buckets")]
    CustomBucketsNegBuckets,
    #[error("histogram with exponential schema must not have custom bounds")]
    ExpSchemaCustomBounds,
    #[error("histogram has an invalid schema, which must be between {EXPONENTIAL_SCHEMA_MIN} and {EXPONENTIAL_SCHEMA_MAX} for exponential buckets, or {CUSTOM_BUCKETS_SCHEMA} for custom buckets")]
    InvalidSchema,
    #[error("histogram has an unknown schema, which must be between {EXPONENTIAL_SCHEMA_MIN_RESERVED} and {EXPONENTIAL_SCHEMA_MAX_RESERVED} for exponential buckets, or {CUSTOM_BUCKETS_SCHEMA} for custom buckets")]
    UnknownSchema,
}

/// An error from histogram validation or arithmetic. `Display` is upstream's full message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistogramError {
    /// One of upstream's `histogram.Error`s: `prefix`, the sentinel's text, then `suffix`
    /// (e.g. `positive side: spans need 3 buckets, have 2 buckets: ` + sentinel).
    #[error("{prefix}{kind}{suffix}")]
    Invalid {
        kind: HistogramErrorKind,
        prefix: String,
        suffix: String,
    },
    /// An operation that is not possible on these histograms (upstream's plain errors, which it
    /// treats as programming errors), e.g. reducing the resolution of custom buckets.
    #[error("{0}")]
    Unsupported(String),
    /// A classic histogram that cannot become a native one (upstream's `convertnhcb`
    /// errors, e.g. `count is not cumulative: 3 < 5`).
    #[error("{0}")]
    Conversion(String),
}

impl HistogramError {
    pub(crate) fn new(kind: HistogramErrorKind) -> HistogramError {
        HistogramError::Invalid {
            kind,
            prefix: String::new(),
            suffix: String::new(),
        }
    }

    pub(crate) fn with_prefix(kind: HistogramErrorKind, prefix: String) -> HistogramError {
        HistogramError::Invalid {
            kind,
            prefix,
            suffix: String::new(),
        }
    }

    /// `histogram has an invalid schema, …, got schema N`.
    pub fn invalid_schema(schema: i32) -> HistogramError {
        HistogramError::Invalid {
            kind: HistogramErrorKind::InvalidSchema,
            prefix: String::new(),
            suffix: format!(", got schema {schema}"),
        }
    }

    /// `histogram has an unknown schema, …, got schema N`.
    pub fn unknown_schema(schema: i32) -> HistogramError {
        HistogramError::Invalid {
            kind: HistogramErrorKind::UnknownSchema,
            prefix: String::new(),
            suffix: format!(", got schema {schema}"),
        }
    }

    /// The sentinel this error wraps, if any.
    pub fn kind(&self) -> Option<HistogramErrorKind> {
        match self {
            HistogramError::Invalid { kind, .. } => Some(*kind),
            HistogramError::Unsupported(_) | HistogramError::Conversion(_) => None,
        }
    }

    /// The same error with `context` put in front (as Go's `fmt.Errorf("context: %w", err)`).
    pub(crate) fn context(self, context: &str) -> HistogramError {
        match self {
            HistogramError::Invalid {
                kind,
                prefix,
                suffix,
            } => HistogramError::Invalid {
                kind,
                prefix: format!("{context}: {prefix}"),
                suffix,
            },
            HistogramError::Unsupported(m) => {
                HistogramError::Unsupported(format!("{context}: {m}"))
            }
            HistogramError::Conversion(m) => HistogramError::Conversion(format!("{context}: {m}")),
        }
    }
}

use HistogramErrorKind as K;

impl Histogram {
    /// Checks the histogram as Prometheus does before storing it: spans consistent with
    /// buckets, no negative counts, fields of the other kind of schema unset, and `count`
    /// equal to the observations in the buckets (at least that many when `sum` is NaN).
    pub fn validate(&self) -> Result<(), HistogramError> {
        let mut n_count: u64 = 0;
        let mut p_count: u64 = 0;
        if is_custom_buckets_schema(self.schema) {
            check_custom_bounds(
                &self.custom_values,
                &self.positive_spans,
                self.positive_buckets.len(),
            )
            .map_err(|e| e.context("custom buckets"))?;
            if self.zero_count != 0 {
                return Err(HistogramError::new(K::CustomBucketsZeroCount));
            }
            if self.zero_threshold != 0.0 {
                return Err(HistogramError::new(K::CustomBucketsZeroThresh));
            }
            if !self.negative_spans.is_empty() {
                return Err(HistogramError::new(K::CustomBucketsNegSpans));
            }
            if !self.negative_buckets.is_empty() {
                return Err(HistogramError::new(K::CustomBucketsNegBuckets));
            }
        } else if is_exponential_schema(self.schema) {
            check_spans(&self.positive_spans, self.positive_buckets.len())
                .map_err(|e| e.context("positive side"))?;
            check_spans(&self.negative_spans, self.negative_buckets.len())
                .map_err(|e| e.context("negative side"))?;
            check_int_buckets(&self.negative_buckets, &mut n_count)
                .map_err(|e| e.context("negative side"))?;
            if !self.custom_values.is_empty() {
                return Err(HistogramError::new(K::ExpSchemaCustomBounds));
            }
        } else {
            return Err(HistogramError::invalid_schema(self.schema));
        }
        check_int_buckets(&self.positive_buckets, &mut p_count)
            .map_err(|e| e.context("positive side"))?;

        let in_buckets = n_count.wrapping_add(p_count).wrapping_add(self.zero_count);
        let (bad, kind) = if self.sum.is_nan() {
            (in_buckets > self.count, K::CountNotBigEnough)
        } else {
            (in_buckets != self.count, K::CountMismatch)
        };
        if bad {
            return Err(HistogramError::with_prefix(
                kind,
                format!(
                    "{in_buckets} observations found in buckets, but the Count field is {}: ",
                    self.count
                ),
            ));
        }
        Ok(())
    }
}

impl FloatHistogram {
    /// Checks spans against buckets, negative counts and the fields of the other kind of
    /// schema. Unlike [`Histogram::validate`], `count` is not compared with the buckets
    /// (float rounding would give false alarms), as upstream.
    pub fn validate(&self) -> Result<(), HistogramError> {
        if is_custom_buckets_schema(self.schema) {
            check_custom_bounds(
                &self.custom_values,
                &self.positive_spans,
                self.positive_buckets.len(),
            )
            .map_err(|e| e.context("custom buckets"))?;
            if self.zero_count != 0.0 {
                return Err(HistogramError::new(K::CustomBucketsZeroCount));
            }
            if self.zero_threshold != 0.0 {
                return Err(HistogramError::new(K::CustomBucketsZeroThresh));
            }
            if !self.negative_spans.is_empty() {
                return Err(HistogramError::new(K::CustomBucketsNegSpans));
            }
            if !self.negative_buckets.is_empty() {
                return Err(HistogramError::new(K::CustomBucketsNegBuckets));
            }
        } else if is_exponential_schema(self.schema) {
            check_spans(&self.positive_spans, self.positive_buckets.len())
                .map_err(|e| e.context("positive side"))?;
            check_spans(&self.negative_spans, self.negative_buckets.len())
                .map_err(|e| e.context("negative side"))?;
            check_float_buckets(&self.negative_buckets).map_err(|e| e.context("negative side"))?;
            if self.zero_count < 0.0 {
                return Err(HistogramError::with_prefix(
                    K::NegativeBucketCount,
                    format!(
                        "zero bucket has observation count of {}: ",
                        go_g(self.zero_count)
                    ),
                ));
            }
            if !self.custom_values.is_empty() {
                return Err(HistogramError::new(K::ExpSchemaCustomBounds));
            }
        } else {
            return Err(HistogramError::invalid_schema(self.schema));
        }
        if self.count < 0.0 {
            return Err(HistogramError::with_prefix(
                K::NegativeCount,
                format!("observation count is  {}: ", go_g(self.count)),
            ));
        }
        check_float_buckets(&self.positive_buckets).map_err(|e| e.context("positive side"))?;
        Ok(())
    }
}

/// Spans after the first have no negative offset; the spans' lengths add up to `n_buckets`.
pub(crate) fn check_spans(spans: &[Span], n_buckets: usize) -> Result<(), HistogramError> {
    let mut span_buckets: usize = 0;
    for (n, span) in spans.iter().enumerate() {
        if n > 0 && span.offset < 0 {
            return Err(HistogramError::with_prefix(
                K::SpanNegativeOffset,
                format!("span number {} with offset {}: ", n + 1, span.offset),
            ));
        }
        span_buckets += span.length as usize;
    }
    if span_buckets != n_buckets {
        return Err(spans_buckets_mismatch(span_buckets, n_buckets));
    }
    Ok(())
}

pub(crate) fn spans_buckets_mismatch(need: usize, have: usize) -> HistogramError {
    HistogramError::with_prefix(
        K::SpansBucketsMismatch,
        format!("spans need {need} buckets, have {have} buckets: "),
    )
}

/// Delta-encoded counts never go negative; adds the absolute counts to `count`.
fn check_int_buckets(deltas: &[i64], count: &mut u64) -> Result<(), HistogramError> {
    let mut last: i64 = 0;
    for (i, d) in deltas.iter().enumerate() {
        let c = last.wrapping_add(*d);
        if c < 0 {
            return Err(HistogramError::with_prefix(
                K::NegativeBucketCount,
                format!("bucket number {} has observation count of {c}: ", i + 1),
            ));
        }
        last = c;
        *count = count.wrapping_add(c as u64);
    }
    Ok(())
}

fn check_float_buckets(buckets: &[f64]) -> Result<(), HistogramError> {
    for (i, c) in buckets.iter().enumerate() {
        if *c < 0.0 {
            return Err(HistogramError::with_prefix(
                K::NegativeBucketCount,
                format!(
                    "bucket number {} has observation count of {}: ",
                    i + 1,
                    go_g(*c)
                ),
            ));
        }
    }
    Ok(())
}

/// Custom bounds strictly increasing, not NaN, no explicit +Inf; spans with no negative
/// offset, consistent with the buckets and covered by the bounds (plus the +Inf bucket).
pub(crate) fn check_custom_bounds(
    bounds: &[f64],
    spans: &[Span],
    n_buckets: usize,
) -> Result<(), HistogramError> {
    let mut prev = f64::NEG_INFINITY;
    for (i, &curr) in bounds.iter().enumerate() {
        if curr.is_nan() {
            return Err(HistogramError::new(K::CustomBucketsNaN));
        }
        if i > 0 && curr <= prev {
            return Err(HistogramError::with_prefix(
                K::CustomBucketsInvalid,
                format!(
                    "previous bound is {} and current is {}: ",
                    go_f(prev),
                    go_f(curr)
                ),
            ));
        }
        prev = curr;
    }
    if prev == f64::INFINITY {
        return Err(HistogramError::with_prefix(
            K::CustomBucketsInfinite,
            "last +Inf bound must not be explicitly defined: ".to_string(),
        ));
    }
    let mut span_buckets: usize = 0;
    let mut total_span_length: i64 = 0;
    for (n, span) in spans.iter().enumerate() {
        if span.offset < 0 {
            return Err(HistogramError::with_prefix(
                K::SpanNegativeOffset,
                format!("span number {} with offset {}: ", n + 1, span.offset),
            ));
        }
        span_buckets += span.length as usize;
        total_span_length += span.length as i64 + span.offset as i64;
    }
    if span_buckets != n_buckets {
        return Err(spans_buckets_mismatch(span_buckets, n_buckets));
    }
    if (bounds.len() as i64 + 1) < total_span_length {
        return Err(HistogramError::with_prefix(
            K::CustomBucketsMismatch,
            format!(
                "only {} custom bounds defined which is insufficient to cover total span length of {total_span_length}: ",
                bounds.len()
            ),
        ));
    }
    Ok(())
}

/// Go's `%f`: six decimals, `+Inf`/`-Inf`/`NaN` spelled as Go does.
fn go_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v:.6}")
    }
}
