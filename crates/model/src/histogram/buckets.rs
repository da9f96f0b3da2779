//! Buckets as intervals: [`Bucket`] and the iterators over a histogram's buckets (positive
//! ascending, negative descending, their reverses, and all buckets in order including the
//! zero bucket), as upstream's `BucketIterator`s. The forward float iterator can also merge
//! buckets into a lower-resolution schema and skip buckets below a start value, which
//! counter-reset detection and zero-bucket widening use.

use super::bounds::{
    get_bound, get_bound_exponential, is_custom_buckets_schema, is_exponential_schema, target_idx,
};
use super::{FloatHistogram, Histogram, Span};

/// One bucket: its bounds (and whether each is inside the bucket), its count and its index in
/// the schema (irrelevant for the zero bucket). A cumulative bucket has `lower = -Inf`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket<C = f64> {
    pub lower: f64,
    pub upper: f64,
    pub lower_inclusive: bool,
    pub upper_inclusive: bool,
    pub count: C,
    pub index: i32,
}

impl Bucket<f64> {
    /// The fraction of the bucket's width at or below `v` (`lower < v < upper`): linear for
    /// custom and zero buckets, on a log scale for exponential buckets (upstream's
    /// `FractionBelow`).
    pub fn fraction_below(&self, v: f64, linear: bool) -> f64 {
        if linear {
            return (v - self.lower) / (self.upper - self.lower);
        }
        let log_lower = self.lower.abs().log2();
        let log_upper = self.upper.abs().log2();
        let log_v = v.abs().log2();
        if v > 0.0 {
            (log_v - log_lower) / (log_upper - log_lower)
        } else {
            1.0 - ((log_v - log_upper) / (log_lower - log_upper))
        }
    }
}

fn make_bucket<C>(count: C, idx: i32, schema: i32, positive: bool, custom: &[f64]) -> Bucket<C> {
    let (lower, upper) = if positive {
        (
            get_bound(idx - 1, schema, custom),
            get_bound(idx, schema, custom),
        )
    } else {
        (
            -get_bound(idx, schema, custom),
            -get_bound(idx - 1, schema, custom),
        )
    };
    let (lower_inclusive, upper_inclusive) = if is_custom_buckets_schema(schema) {
        (idx == 0, true)
    } else {
        (lower < 0.0, upper > 0.0)
    };
    Bucket {
        lower,
        upper,
        lower_inclusive,
        upper_inclusive,
        count,
        index: idx,
    }
}

/// Forward iterator over the buckets of one side of a [`FloatHistogram`] (positive buckets
/// ascending, negative ones descending in value), optionally merged into `target_schema`.
#[derive(Debug, Clone)]
pub struct FloatBucketIter<'a> {
    spans: &'a [Span],
    buckets: &'a [f64],
    custom_values: &'a [f64],
    schema: i32,
    target_schema: i32,
    positive: bool,
    spans_idx: usize,
    idx_in_span: u32,
    buckets_idx: usize,
    curr_count: f64,
    curr_idx: i32,
    orig_idx: i32,
    absolute_start_value: f64,
    bound_reached_start_value: bool,
}

impl<'a> FloatBucketIter<'a> {
    /// Buckets of `h` on one side, merged into `target_schema` (≤ `h.schema`; the same
    /// schema for custom buckets), skipping exponential buckets whose upper bound (in absolute
    /// value) is ≤ `absolute_start_value`.
    pub(crate) fn new(
        h: &'a FloatHistogram,
        positive: bool,
        absolute_start_value: f64,
        target_schema: i32,
    ) -> Self {
        debug_assert!(target_schema <= h.schema);
        let (spans, buckets, custom_values): (&[Span], &[f64], &[f64]) = if positive {
            (&h.positive_spans, &h.positive_buckets, &h.custom_values)
        } else {
            (&h.negative_spans, &h.negative_buckets, &[])
        };
        FloatBucketIter {
            spans,
            buckets,
            custom_values,
            schema: h.schema,
            // A custom-bucket histogram is never merged.
            target_schema: if is_custom_buckets_schema(h.schema) {
                h.schema
            } else {
                target_schema
            },
            positive,
            spans_idx: 0,
            idx_in_span: 0,
            buckets_idx: 0,
            curr_count: 0.0,
            curr_idx: 0,
            orig_idx: 0,
            absolute_start_value,
            bound_reached_start_value: absolute_start_value == 0.0,
        }
    }

    /// Moves to the next bucket; false at the end (or on spans and buckets that disagree).
    pub(crate) fn advance(&mut self) -> bool {
        loop {
            if !self.step() {
                return false;
            }
            if !self.bound_reached_start_value
                && is_exponential_schema(self.target_schema)
                && get_bound_exponential(self.curr_idx, self.target_schema)
                    <= self.absolute_start_value
            {
                continue;
            }
            self.bound_reached_start_value = true;
            return true;
        }
    }

    fn step(&mut self) -> bool {
        if self.spans_idx >= self.spans.len() {
            return false;
        }
        let mut span = self.spans[self.spans_idx];
        if self.schema == self.target_schema {
            if self.buckets_idx == 0 {
                self.curr_idx = span.offset;
            } else {
                self.curr_idx = self.curr_idx.wrapping_add(1);
            }
            if self.buckets_idx >= self.buckets.len() {
                return false;
            }
            while self.idx_in_span >= span.length {
                self.idx_in_span = 0;
                self.spans_idx += 1;
                if self.spans_idx >= self.spans.len() {
                    return false;
                }
                span = self.spans[self.spans_idx];
                self.curr_idx = self.curr_idx.wrapping_add(span.offset);
            }
            self.curr_count = self.buckets[self.buckets_idx];
            self.idx_in_span += 1;
            self.buckets_idx += 1;
            return true;
        }
        // Merge all buckets of the original schema that fall into one target bucket.
        let (mut orig_idx, mut spans_idx, mut idx_in_span) =
            (self.orig_idx, self.spans_idx, self.idx_in_span);
        let mut first = true;
        self.curr_count = 0.0;
        loop {
            if self.buckets_idx == 0 {
                orig_idx = span.offset;
            } else {
                orig_idx = orig_idx.wrapping_add(1);
            }
            if self.buckets_idx >= self.buckets.len() {
                return !first;
            }
            while idx_in_span >= span.length {
                idx_in_span = 0;
                spans_idx += 1;
                if spans_idx >= self.spans.len() {
                    return !first;
                }
                span = self.spans[spans_idx];
                orig_idx = orig_idx.wrapping_add(span.offset);
            }
            let curr = target_idx(orig_idx, self.schema, self.target_schema);
            if first {
                self.curr_idx = curr;
                first = false;
            } else if curr != self.curr_idx {
                return true;
            }
            self.curr_count += self.buckets[self.buckets_idx];
            idx_in_span += 1;
            self.buckets_idx += 1;
            self.orig_idx = orig_idx;
            self.spans_idx = spans_idx;
            self.idx_in_span = idx_in_span;
        }
    }

    /// The current bucket's count and index, without computing its bounds.
    pub(crate) fn stripped(&self) -> (f64, i32) {
        (self.curr_count, self.curr_idx)
    }

    pub(crate) fn at(&self) -> Bucket<f64> {
        make_bucket(
            self.curr_count,
            self.curr_idx,
            self.target_schema,
            self.positive,
            self.custom_values,
        )
    }
}

impl Iterator for FloatBucketIter<'_> {
    type Item = Bucket<f64>;
    fn next(&mut self) -> Option<Bucket<f64>> {
        self.advance().then(|| self.at())
    }
}

/// Iterator over one side's buckets from the far end towards zero (positive descending,
/// negative ascending in value).
#[derive(Debug, Clone)]
pub struct ReverseFloatBucketIter<'a> {
    spans: &'a [Span],
    buckets: &'a [f64],
    custom_values: &'a [f64],
    schema: i32,
    positive: bool,
    spans_idx: isize,
    idx_in_span: i64,
    buckets_idx: isize,
    curr_idx: i32,
}

impl<'a> ReverseFloatBucketIter<'a> {
    pub(crate) fn new(h: &'a FloatHistogram, positive: bool) -> Self {
        let (spans, buckets, custom_values): (&[Span], &[f64], &[f64]) = if positive {
            (&h.positive_spans, &h.positive_buckets, &h.custom_values)
        } else {
            (&h.negative_spans, &h.negative_buckets, &[])
        };
        let curr_idx = spans.iter().fold(0i32, |acc, s| {
            acc.wrapping_add(s.offset).wrapping_add(s.length as i32)
        });
        ReverseFloatBucketIter {
            spans,
            buckets,
            custom_values,
            schema: h.schema,
            positive,
            spans_idx: spans.len() as isize - 1,
            idx_in_span: spans.last().map_or(0, |s| s.length as i64 - 1),
            buckets_idx: buckets.len() as isize - 1,
            curr_idx,
        }
    }
}

impl Iterator for ReverseFloatBucketIter<'_> {
    type Item = Bucket<f64>;
    fn next(&mut self) -> Option<Bucket<f64>> {
        self.curr_idx = self.curr_idx.wrapping_sub(1);
        if self.buckets_idx < 0 || self.spans_idx < 0 {
            return None;
        }
        while self.idx_in_span < 0 {
            self.spans_idx -= 1;
            if self.spans_idx < 0 {
                return None;
            }
            let s = self.spans_idx as usize;
            self.idx_in_span = self.spans[s].length as i64 - 1;
            self.curr_idx = self.curr_idx.wrapping_sub(self.spans[s + 1].offset);
        }
        let count = self.buckets[self.buckets_idx as usize];
        self.buckets_idx -= 1;
        self.idx_in_span -= 1;
        Some(make_bucket(
            count,
            self.curr_idx,
            self.schema,
            self.positive,
            self.custom_values,
        ))
    }
}

/// All buckets in order (ascending, or descending for the reverse variant): one side, the
/// zero bucket when populated, the other side. A bucket overlapping the zero bucket is cut at
/// the zero threshold.
#[derive(Debug, Clone)]
pub struct AllFloatBucketIter<'a> {
    zero: Option<Bucket<f64>>,
    zero_threshold: f64,
    left: ReverseFloatBucketIter<'a>,
    right: FloatBucketIter<'a>,
    state: i8,
}

impl Iterator for AllFloatBucketIter<'_> {
    type Item = Bucket<f64>;
    fn next(&mut self) -> Option<Bucket<f64>> {
        let zt = self.zero_threshold;
        let clamp = |mut b: Bucket<f64>| {
            if b.upper < 0.0 && b.upper > -zt {
                b.upper = -zt;
            } else if b.lower > 0.0 && b.lower < zt {
                b.lower = zt;
            }
            b
        };
        loop {
            match self.state {
                -1 => match self.left.next() {
                    Some(b) => return Some(clamp(b)),
                    None => self.state = 0,
                },
                0 => {
                    self.state = 1;
                    if let Some(z) = self.zero.take() {
                        return Some(z);
                    }
                }
                1 => match self.right.next() {
                    Some(b) => return Some(clamp(b)),
                    None => self.state = 2,
                },
                _ => return None,
            }
        }
    }
}

impl FloatHistogram {
    /// The zero bucket `[-zero_threshold, zero_threshold]` with the zero count.
    pub fn zero_bucket(&self) -> Bucket<f64> {
        Bucket {
            lower: -self.zero_threshold,
            upper: self.zero_threshold,
            lower_inclusive: true,
            upper_inclusive: true,
            count: self.zero_count,
            index: 0,
        }
    }

    /// Positive buckets, ascending (including empty buckets inside spans).
    pub fn positive_buckets_iter(&self) -> FloatBucketIter<'_> {
        FloatBucketIter::new(self, true, 0.0, self.schema)
    }

    /// Negative buckets, descending in value (starting next to the zero bucket).
    pub fn negative_buckets_iter(&self) -> FloatBucketIter<'_> {
        FloatBucketIter::new(self, false, 0.0, self.schema)
    }

    /// Positive buckets merged into the lower-resolution `target_schema` (≤ `schema`; ignored
    /// for custom buckets).
    pub fn positive_buckets_iter_with_schema(&self, target_schema: i32) -> FloatBucketIter<'_> {
        FloatBucketIter::new(self, true, 0.0, target_schema.min(self.schema))
    }

    /// Negative buckets merged into the lower-resolution `target_schema`.
    pub fn negative_buckets_iter_with_schema(&self, target_schema: i32) -> FloatBucketIter<'_> {
        FloatBucketIter::new(self, false, 0.0, target_schema.min(self.schema))
    }

    /// Positive buckets, descending (from the highest down to the zero bucket).
    pub fn positive_reverse_buckets_iter(&self) -> ReverseFloatBucketIter<'_> {
        ReverseFloatBucketIter::new(self, true)
    }

    /// Negative buckets, ascending in value (from the lowest up to the zero bucket).
    pub fn negative_reverse_buckets_iter(&self) -> ReverseFloatBucketIter<'_> {
        ReverseFloatBucketIter::new(self, false)
    }

    /// All buckets in ascending order: negative, zero (when its count is > 0), positive.
    pub fn all_buckets(&self) -> AllFloatBucketIter<'_> {
        AllFloatBucketIter {
            zero: (self.zero_count > 0.0).then(|| self.zero_bucket()),
            zero_threshold: self.zero_threshold,
            left: ReverseFloatBucketIter::new(self, false),
            right: FloatBucketIter::new(self, true, 0.0, self.schema),
            state: -1,
        }
    }

    /// All buckets in descending order: positive, zero (when its count is > 0), negative.
    pub fn all_reverse_buckets(&self) -> AllFloatBucketIter<'_> {
        AllFloatBucketIter {
            zero: (self.zero_count > 0.0).then(|| self.zero_bucket()),
            zero_threshold: self.zero_threshold,
            left: ReverseFloatBucketIter::new(self, true),
            right: FloatBucketIter::new(self, false, 0.0, self.schema),
            state: -1,
        }
    }
}

/// Iterator over one side of an integer [`Histogram`] (absolute counts from the deltas).
#[derive(Debug, Clone)]
pub struct IntBucketIter<'a> {
    spans: &'a [Span],
    buckets: &'a [i64],
    custom_values: &'a [f64],
    schema: i32,
    positive: bool,
    spans_idx: usize,
    idx_in_span: u32,
    buckets_idx: usize,
    curr_count: i64,
    curr_idx: i32,
}

impl Iterator for IntBucketIter<'_> {
    type Item = Bucket<u64>;
    fn next(&mut self) -> Option<Bucket<u64>> {
        if self.spans_idx >= self.spans.len() {
            return None;
        }
        let mut span = self.spans[self.spans_idx];
        if self.buckets_idx == 0 {
            self.curr_idx = span.offset;
        } else {
            self.curr_idx = self.curr_idx.wrapping_add(1);
        }
        while self.idx_in_span >= span.length {
            self.idx_in_span = 0;
            self.spans_idx += 1;
            if self.spans_idx >= self.spans.len() {
                return None;
            }
            span = self.spans[self.spans_idx];
            self.curr_idx = self.curr_idx.wrapping_add(span.offset);
        }
        if self.buckets_idx >= self.buckets.len() {
            return None;
        }
        self.curr_count = self.curr_count.wrapping_add(self.buckets[self.buckets_idx]);
        self.idx_in_span += 1;
        self.buckets_idx += 1;
        Some(make_bucket(
            self.curr_count as u64,
            self.curr_idx,
            self.schema,
            self.positive,
            self.custom_values,
        ))
    }
}

impl Histogram {
    fn int_iter(&self, positive: bool) -> IntBucketIter<'_> {
        let (spans, buckets, custom_values): (&[Span], &[i64], &[f64]) = if positive {
            (
                &self.positive_spans,
                &self.positive_buckets,
                &self.custom_values,
            )
        } else {
            (&self.negative_spans, &self.negative_buckets, &[])
        };
        IntBucketIter {
            spans,
            buckets,
            custom_values,
            schema: self.schema,
            positive,
            spans_idx: 0,
            idx_in_span: 0,
            buckets_idx: 0,
            curr_count: 0,
            curr_idx: 0,
        }
    }

    /// Positive buckets, ascending, with absolute counts.
    pub fn positive_buckets_iter(&self) -> IntBucketIter<'_> {
        self.int_iter(true)
    }

    /// Negative buckets, descending in value, with absolute counts.
    pub fn negative_buckets_iter(&self) -> IntBucketIter<'_> {
        self.int_iter(false)
    }

    /// The zero bucket `[-zero_threshold, zero_threshold]` with the zero count.
    pub fn zero_bucket(&self) -> Bucket<u64> {
        Bucket {
            lower: -self.zero_threshold,
            upper: self.zero_threshold,
            lower_inclusive: true,
            upper_inclusive: true,
            count: self.zero_count,
            index: 0,
        }
    }
}
