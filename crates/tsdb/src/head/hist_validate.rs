//! The checks the head makes before accepting a native histogram: the model's `validate()`
//! (Prometheus' `Validate`, with its error texts), for both kinds.

use bongsu_model::HistogramValue;

/// Checks `h` as Prometheus' head does before appending; the error is the message of
/// [`bongsu_storage::AppendError::InvalidHistogram`].
pub(crate) fn validate(h: &HistogramValue) -> Result<(), String> {
    match h {
        HistogramValue::Int(h) => h.validate(),
        HistogramValue::Float(h) => h.validate(),
    }
    .map_err(|e| e.to_string())
}
