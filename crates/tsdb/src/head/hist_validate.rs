//! The checks the head makes before accepting a native histogram.
//!
//! TODO(#18): a local, minimal stand-in for `bongsu_model`'s `validate()` (written by the
//! hmodel helper): schema, spans against buckets, negative bucket counts, custom bounds, with
//! Prometheus' error texts. Replace the body of [`validate`] with the model's once merged.

use bongsu_model::histogram::{
    CUSTOM_BUCKETS_SCHEMA, EXPONENTIAL_SCHEMA_MAX, EXPONENTIAL_SCHEMA_MIN,
};
use bongsu_model::{HistogramValue, Span};

fn spans_need(spans: &[Span]) -> u64 {
    spans.iter().map(|s| u64::from(s.length)).sum()
}

fn check_spans(side: &str, spans: &[Span], n: usize, custom: bool) -> Result<(), String> {
    if custom {
        for (i, s) in spans.iter().enumerate() {
            if s.offset < 0 {
                return Err(format!(
                    "{side} side: span number {} with offset {}: histogram has a span whose offset is negative",
                    i + 1,
                    s.offset
                ));
            }
        }
    }
    let need = spans_need(spans);
    if need != n as u64 {
        return Err(format!(
            "{side} side: spans need {need} buckets, have {n} buckets: histogram spans specify different number of buckets than provided"
        ));
    }
    Ok(())
}

fn check_counts(side: &str, abs: impl Iterator<Item = f64>) -> Result<(), String> {
    for (i, c) in abs.enumerate() {
        if c < 0.0 {
            return Err(format!(
                "{side} side: bucket number {} has observation count of {c}: histogram has a bucket whose observation count is negative",
                i + 1
            ));
        }
    }
    Ok(())
}

/// Checks `h` as Prometheus' `Validate` does for what the TSDB relies on; the error is the
/// message of [`bongsu_storage::AppendError::InvalidHistogram`].
pub(crate) fn validate(h: &HistogramValue) -> Result<(), String> {
    let f = h.to_float();
    if h.is_stale() {
        return Ok(());
    }
    let custom = f.schema == CUSTOM_BUCKETS_SCHEMA;
    if !custom && !(EXPONENTIAL_SCHEMA_MIN..=EXPONENTIAL_SCHEMA_MAX).contains(&f.schema) {
        return Err(format!(
            "histogram has an invalid schema, which must be between {EXPONENTIAL_SCHEMA_MIN} and {EXPONENTIAL_SCHEMA_MAX} for exponential buckets, or {CUSTOM_BUCKETS_SCHEMA} for custom buckets, got schema {}",
            f.schema
        ));
    }
    if custom {
        if !f.negative_spans.is_empty() {
            return Err("custom buckets: must not have negative spans".into());
        }
        if !f.negative_buckets.is_empty() {
            return Err("custom buckets: must not have negative buckets".into());
        }
        if f.zero_count != 0.0 {
            return Err("custom buckets: must have zero count of 0".into());
        }
        if f.zero_threshold != 0.0 {
            return Err("custom buckets: must have zero threshold of 0".into());
        }
        for w in f.custom_values.windows(2) {
            if w[1] <= w[0] {
                return Err(format!(
                    "previous bound is {:.6} and current is {:.6}: histogram custom bounds must be in strictly increasing order",
                    w[0], w[1]
                ));
            }
        }
        if f.custom_values.iter().any(|v| v.is_nan()) {
            return Err("histogram custom bounds must not be NaN".into());
        }
        if f.custom_values.last().is_some_and(|v| v.is_infinite()) {
            return Err(
                "last +Inf bound must not be explicitly defined: histogram custom bounds must be finite"
                    .into(),
            );
        }
    } else if !f.custom_values.is_empty() {
        return Err("histogram with exponential schema must not have custom bounds".into());
    }
    check_spans(
        "negative",
        &f.negative_spans,
        f.negative_buckets.len(),
        custom,
    )?;
    check_spans(
        "positive",
        &f.positive_spans,
        f.positive_buckets.len(),
        custom,
    )?;
    if custom {
        let total: i64 = f
            .positive_spans
            .iter()
            .map(|s| i64::from(s.offset) + i64::from(s.length))
            .sum();
        if total > f.custom_values.len() as i64 + 1 {
            return Err(format!(
                "only {} custom bounds defined which is insufficient to cover total span length of {total}: histogram custom bounds are too few",
                f.custom_values.len()
            ));
        }
    }
    check_counts("negative", f.negative_buckets.iter().copied())?;
    check_counts("positive", f.positive_buckets.iter().copied())?;
    // Float histograms skip the count checks, as upstream: float precision makes them
    // unreliable.
    let HistogramValue::Int(ih) = h else {
        return Ok(());
    };
    let observed = f.zero_count
        + f.positive_buckets.iter().sum::<f64>()
        + f.negative_buckets.iter().sum::<f64>();
    let observed = observed as u64;
    if ih.sum.is_nan() {
        if observed > ih.count {
            return Err(format!(
                "{observed} observations found in buckets, but the Count field is {}: histogram's observation count should be at least the number of observations found in the buckets",
                ih.count
            ));
        }
    } else if observed != ih.count {
        return Err(format!(
            "{observed} observations found in buckets, but the Count field is {}: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)",
            ih.count
        ));
    }
    Ok(())
}
