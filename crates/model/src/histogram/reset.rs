//! Comparing histograms: counter-reset detection (upstream's `DetectReset`), exact equality
//! (`Equals`), and the layout changes both need: resolution reduction and compaction of the
//! integer histogram.

use super::bounds::{custom_bucket_bounds_match, is_custom_buckets_schema};
use super::buckets::FloatBucketIter;
use super::spans::{compact_buckets, reduce_resolution, spans_match};
use super::validate::HistogramError;
use super::{CounterResetHint, FloatHistogram, Histogram};

impl FloatHistogram {
    /// Whether a counter reset happened between `previous` and `self`: a hint says so, or a
    /// count (total, zero bucket, any bucket — not the sum) went down, or a populated bucket
    /// vanished, or the resolution went up, or the zero bucket shrank. A lower schema or a
    /// wider zero bucket in `self` is handled by merging `previous`' buckets first.
    pub fn detect_reset(&self, previous: &FloatHistogram) -> bool {
        match self.counter_reset_hint {
            CounterResetHint::CounterReset => return true,
            CounterResetHint::NotCounterReset => return false,
            _ => {}
        }
        if self.count < previous.count {
            return true;
        }
        if self.uses_custom_buckets() {
            if !previous.uses_custom_buckets() {
                return true;
            }
            if !custom_bucket_bounds_match(&self.custom_values, &previous.custom_values) {
                return self.detect_reset_with_mismatched_custom_bounds(previous);
            }
        }
        if self.schema > previous.schema {
            return true;
        }
        if previous.uses_custom_buckets() && !self.uses_custom_buckets() {
            // Unreachable upstream (caught by the schema comparison); never merge across kinds.
            return true;
        }
        if self.zero_threshold < previous.zero_threshold {
            return true;
        }
        let (previous_zero_count, new_threshold, _) =
            previous.zero_count_for_larger_threshold(self.zero_threshold, None);
        if new_threshold != self.zero_threshold {
            // The zero threshold is inside a populated bucket of `previous`.
            return true;
        }
        if self.zero_count < previous_zero_count {
            return true;
        }
        for positive in [true, false] {
            let curr = self.bucket_iter_for(positive, self.zero_threshold, self.schema);
            let prev = previous.bucket_iter_for(positive, self.zero_threshold, self.schema);
            if detect_reset(curr, prev) {
                return true;
            }
        }
        false
    }

    /// Exact equality as upstream's `Equals`: floats compared by their bits, the same
    /// bucket layout (spans may differ in zero-length spans), custom bounds compared only for
    /// custom-bucket schemas. The counter reset hint is not compared.
    pub fn equals(&self, other: &FloatHistogram) -> bool {
        if self.schema != other.schema
            || self.count.to_bits() != other.count.to_bits()
            || self.sum.to_bits() != other.sum.to_bits()
        {
            return false;
        }
        if self.uses_custom_buckets()
            && !custom_bucket_bounds_match(&self.custom_values, &other.custom_values)
        {
            return false;
        }
        self.zero_threshold == other.zero_threshold
            && self.zero_count.to_bits() == other.zero_count.to_bits()
            && spans_match(&self.negative_spans, &other.negative_spans)
            && bits_match(&self.negative_buckets, &other.negative_buckets)
            && spans_match(&self.positive_spans, &other.positive_spans)
            && bits_match(&self.positive_buckets, &other.positive_buckets)
    }

    /// Merges the buckets into the lower-resolution `target_schema`.
    pub fn reduce_resolution(&mut self, target_schema: i32) -> Result<(), HistogramError> {
        check_reduce(self.schema, target_schema)?;
        let (ps, pb) = reduce_resolution(
            &self.positive_spans,
            &self.positive_buckets,
            self.schema,
            target_schema,
            false,
        )?;
        let (ns, nb) = reduce_resolution(
            &self.negative_spans,
            &self.negative_buckets,
            self.schema,
            target_schema,
            false,
        )?;
        (self.positive_spans, self.positive_buckets) = (ps, pb);
        (self.negative_spans, self.negative_buckets) = (ns, nb);
        self.schema = target_schema;
        Ok(())
    }

    /// A copy with the lower-resolution `target_schema` (≤ `schema`; equal gives a plain copy).
    /// The counter reset hint of the copy is Unknown, as upstream's `CopyToSchema`.
    pub fn copy_to_schema(&self, target_schema: i32) -> Result<FloatHistogram, HistogramError> {
        if target_schema == self.schema {
            return Ok(self.clone());
        }
        let mut c = FloatHistogram {
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: self.zero_count,
            count: self.count,
            sum: self.sum,
            positive_spans: self.positive_spans.clone(),
            positive_buckets: self.positive_buckets.clone(),
            negative_spans: self.negative_spans.clone(),
            negative_buckets: self.negative_buckets.clone(),
            ..FloatHistogram::default()
        };
        if self.uses_custom_buckets() {
            return Err(HistogramError::Unsupported(format!(
                "cannot reduce resolution to {target_schema} when there are custom buckets"
            )));
        }
        if target_schema > self.schema {
            return Err(HistogramError::Unsupported(format!(
                "cannot copy from schema {} to {target_schema}",
                self.schema
            )));
        }
        c.reduce_resolution(target_schema)?;
        Ok(c)
    }

    /// Whether any count, the sum or a custom bound is infinite (an aggregation overflowed).
    pub fn has_overflow(&self) -> bool {
        [self.zero_count, self.count, self.sum]
            .iter()
            .chain(&self.positive_buckets)
            .chain(&self.negative_buckets)
            .chain(&self.custom_values)
            .any(|v| v.is_infinite())
    }
}

fn check_reduce(schema: i32, target_schema: i32) -> Result<(), HistogramError> {
    if is_custom_buckets_schema(schema) {
        return Err(HistogramError::Unsupported(
            "cannot reduce resolution when there are custom buckets".into(),
        ));
    }
    if is_custom_buckets_schema(target_schema) {
        return Err(HistogramError::Unsupported(
            "cannot reduce resolution to custom buckets schema".into(),
        ));
    }
    if target_schema >= schema {
        return Err(HistogramError::Unsupported(format!(
            "cannot reduce resolution from schema {schema} to {target_schema}"
        )));
    }
    Ok(())
}

fn bits_match(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Walks both sides' buckets (already on the same schema): a reset if a bucket of `prev`
/// is populated and missing in `curr`, or has a larger count there.
fn detect_reset(mut curr: FloatBucketIter<'_>, mut prev: FloatBucketIter<'_>) -> bool {
    if !prev.advance() {
        return false;
    }
    let (mut prev_count, mut prev_idx) = prev.stripped();
    // Any populated bucket left in `prev` (from the current one on) is a reset.
    let rest_populated = |prev_count: f64, prev: &mut FloatBucketIter<'_>| {
        let mut c = prev_count;
        loop {
            if c != 0.0 {
                return true;
            }
            if !prev.advance() {
                return false;
            }
            c = prev.stripped().0;
        }
    };
    if !curr.advance() {
        return rest_populated(prev_count, &mut prev);
    }
    let (mut curr_count, mut curr_idx) = curr.stripped();
    loop {
        while curr_idx < prev_idx {
            if !curr.advance() {
                return rest_populated(prev_count, &mut prev);
            }
            (curr_count, curr_idx) = curr.stripped();
        }
        if curr_idx > prev_idx {
            if prev_count != 0.0 {
                return true;
            }
        } else if curr_count < prev_count {
            return true;
        }
        if !prev.advance() {
            return false;
        }
        (prev_count, prev_idx) = prev.stripped();
    }
}

impl Histogram {
    /// As [`FloatHistogram::compact`], on delta-encoded buckets.
    pub fn compact(&mut self, max_empty_buckets: usize) -> &mut Self {
        compact_buckets(
            &mut self.positive_buckets,
            None,
            &mut self.positive_spans,
            max_empty_buckets,
            true,
        );
        compact_buckets(
            &mut self.negative_buckets,
            None,
            &mut self.negative_spans,
            max_empty_buckets,
            true,
        );
        self
    }

    /// As [`FloatHistogram::reduce_resolution`], on delta-encoded buckets.
    pub fn reduce_resolution(&mut self, target_schema: i32) -> Result<(), HistogramError> {
        check_reduce(self.schema, target_schema)?;
        let (ps, pb) = reduce_resolution(
            &self.positive_spans,
            &self.positive_buckets,
            self.schema,
            target_schema,
            true,
        )?;
        let (ns, nb) = reduce_resolution(
            &self.negative_spans,
            &self.negative_buckets,
            self.schema,
            target_schema,
            true,
        )?;
        (self.positive_spans, self.positive_buckets) = (ps, pb);
        (self.negative_spans, self.negative_buckets) = (ns, nb);
        self.schema = target_schema;
        Ok(())
    }

    /// Exact equality as upstream's `Histogram.Equals` (sum by bits, layouts as
    /// [`FloatHistogram::equals`]).
    pub fn equals(&self, other: &Histogram) -> bool {
        if self.schema != other.schema
            || self.count != other.count
            || self.sum.to_bits() != other.sum.to_bits()
        {
            return false;
        }
        if self.uses_custom_buckets()
            && !custom_bucket_bounds_match(&self.custom_values, &other.custom_values)
        {
            return false;
        }
        self.zero_threshold == other.zero_threshold
            && self.zero_count == other.zero_count
            && spans_match(&self.negative_spans, &other.negative_spans)
            && self.negative_buckets == other.negative_buckets
            && spans_match(&self.positive_spans, &other.positive_spans)
            && self.positive_buckets == other.positive_buckets
    }
}
