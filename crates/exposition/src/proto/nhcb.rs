//! Classic histogram messages as native histograms with custom buckets (NHCB), for
//! `convert_classic_histograms_to_nhcb`: the buckets' upper bounds become `custom_values`.
//!
//! The collection rules are [`TempHistogram`]'s, the conversion the histogram model's.

use std::sync::Arc;

use bongsu_model::{CounterResetHint, HistogramValue};

use super::{or_int, ProtoHistogram};
use crate::nhcb::TempHistogram;

/// The NHCB of a classic histogram message; a gauge histogram gets the gauge hint.
pub(super) fn convert(h: &ProtoHistogram, gauge: bool) -> Result<HistogramValue, String> {
    let mut t = TempHistogram::default();
    t.set_count(or_int(h.sample_count_float, h.sample_count));
    t.set_sum(h.sample_sum);
    for b in &h.bucket {
        t.set_bucket_count(
            b.upper_bound,
            or_int(b.cumulative_count_float, b.cumulative_count),
        );
    }
    let mut converted = t.convert()?;
    if gauge {
        match &mut converted {
            HistogramValue::Int(h) => Arc::make_mut(h).counter_reset_hint = CounterResetHint::Gauge,
            HistogramValue::Float(h) => {
                Arc::make_mut(h).counter_reset_hint = CounterResetHint::Gauge
            }
        }
    }
    Ok(converted)
}
