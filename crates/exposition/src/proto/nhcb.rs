//! Classic histogram messages as native histograms with custom buckets (NHCB), for
//! `convert_classic_histograms_to_nhcb`: the buckets' upper bounds become `custom_values`.
//!
//! The conversion itself is the histogram model's (`from_classic`, Prometheus'
//! `convertnhcb`); this file only reads the message's buckets for it.

use bongsu_model::HistogramValue;

use super::ProtoHistogram;

/// The NHCB of a classic histogram message; a gauge histogram gets the gauge hint.
pub(super) fn convert(_h: &ProtoHistogram, _gauge: bool) -> Result<HistogramValue, String> {
    Err("convert_classic_histograms_to_nhcb is not supported by bongsu yet (issue #18)".into())
}
