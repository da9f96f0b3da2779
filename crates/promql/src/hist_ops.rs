//! The histogram operations the engine uses, in one place: thin calls into the model's
//! `FloatHistogram` arithmetic (issue #18), with the outcome flags and error kinds the engine
//! turns into annotations.

use bongsu_model::FloatHistogram;

/// What an addition or subtraction reported besides its result.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Outcome {
    /// One operand said "counter reset", the other "not a counter reset".
    pub counter_reset_collision: bool,
    /// Custom-bucket histograms with different bounds were combined on the bounds they share.
    pub nhcb_bounds_reconciled: bool,
}

/// Why two histograms could not be combined.
#[derive(Debug, Clone)]
pub(crate) enum OpError {
    /// One uses exponential buckets and the other custom buckets.
    IncompatibleSchema,
    Other(String),
}

/// One bucket of a histogram, as the quantile and variance estimates read it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HBucket {
    pub lower: f64,
    pub upper: f64,
    pub lower_inclusive: bool,
    pub upper_inclusive: bool,
    pub count: f64,
}

impl HBucket {
    /// Until the model's buckets are merged (issue #18); then this is `Bucket<f64>`'s.
    pub fn fraction_below(&self, v: f64, linear: bool) -> f64 {
        if linear {
            return (v - self.lower) / (self.upper - self.lower);
        }
        let (ll, lu, lv) = (
            self.lower.abs().log2(),
            self.upper.abs().log2(),
            v.abs().log2(),
        );
        if v > 0.0 {
            (lv - ll) / (lu - ll)
        } else {
            1.0 - (lv - lu) / (ll - lu)
        }
    }
}

const NOT_MERGED: &str = "native histogram arithmetic is not available in this build (issue #18)";

/// `a += b`.
pub(crate) fn add(_a: &mut FloatHistogram, _b: &FloatHistogram) -> Result<Outcome, OpError> {
    Err(OpError::Other(NOT_MERGED.into()))
}

/// `a -= b`.
pub(crate) fn sub(_a: &mut FloatHistogram, _b: &FloatHistogram) -> Result<Outcome, OpError> {
    Err(OpError::Other(NOT_MERGED.into()))
}

/// `a *= f` (a negative factor makes it a gauge).
pub(crate) fn mul(_a: &mut FloatHistogram, _f: f64) -> Result<(), OpError> {
    Err(OpError::Other(NOT_MERGED.into()))
}

/// `a /= f`.
pub(crate) fn div(_a: &mut FloatHistogram, _f: f64) -> Result<(), OpError> {
    Err(OpError::Other(NOT_MERGED.into()))
}

/// Removes empty buckets and merges spans, as upstream's `Compact(0)`.
pub(crate) fn compact(_a: &mut FloatHistogram) {}

/// Whether `cur` is a counter reset after `prev`.
pub(crate) fn detect_reset(_cur: &FloatHistogram, _prev: &FloatHistogram) -> bool {
    false
}

/// Upstream's `Equals`.
pub(crate) fn equals(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    a == b
}

/// All buckets in ascending order (negative, zero when populated, positive).
pub(crate) fn buckets(_h: &FloatHistogram) -> Vec<HBucket> {
    Vec::new()
}

/// A copy reduced to `schema` when that is lower (upstream's `CopyToSchema`).
pub(crate) fn copy_to_schema(h: &FloatHistogram, _schema: i32) -> FloatHistogram {
    h.clone()
}
