//! Classic histogram messages as native histograms with custom buckets (NHCB), for
//! `convert_classic_histograms_to_nhcb`: the buckets' upper bounds become `custom_values`.
//!
//! The collection and conversion are the histogram model's (`ClassicHistogramBuilder`).

use std::sync::Arc;

use bongsu_model::histogram::ClassicHistogramBuilder;
use bongsu_model::{CounterResetHint, HistogramValue};

use super::{or_int, ProtoHistogram};

/// The NHCB of a classic histogram message; a gauge histogram gets the gauge hint.
pub(super) fn convert(h: &ProtoHistogram, gauge: bool) -> Result<HistogramValue, String> {
    let err = |e: bongsu_model::histogram::HistogramError| e.to_string();
    let mut t = ClassicHistogramBuilder::new();
    t.set_count(or_int(h.sample_count_float, h.sample_count))
        .map_err(err)?;
    t.set_sum(h.sample_sum).map_err(err)?;
    for b in &h.bucket {
        let count = or_int(b.cumulative_count_float, b.cumulative_count);
        t.set_bucket_count(b.upper_bound, count).map_err(err)?;
    }
    let mut converted = t.convert().map_err(err)?;
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
