//! Arithmetic on [`FloatHistogram`]s as the query engine does it (upstream's `Add`, `Sub`,
//! `KahanAdd`, `Mul`, `Div`): schemas reconciled by reducing the finer one, zero buckets
//! widened to a common threshold, custom-bucket histograms added on their common bounds,
//! counter reset hints combined.

use super::bounds::custom_bucket_bounds_match;
use super::buckets::FloatBucketIter;
use super::kahan::kahan_inc;
use super::nhcb::{add_custom_buckets_with_mismatches, intersect_custom_bucket_bounds};
use super::spans::{add_buckets, compact_buckets, reduce_resolution};
use super::validate::{check_spans, HistogramError, HistogramErrorKind};
use super::{CounterResetHint, FloatHistogram, Span};

/// Positive and negative spans with their buckets.
type SidesOf<T> = ((Vec<Span>, Vec<T>), (Vec<Span>, Vec<T>));

/// What [`FloatHistogram::add`] and friends report besides the sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddOutcome {
    /// One operand said `CounterReset` and the other `NotCounterReset`; the result's hint is
    /// `Unknown` (PromQL warns).
    pub counter_reset_collision: bool,
    /// Custom-bucket histograms with different bounds were added on the bounds they share
    /// (PromQL adds an info annotation).
    pub nhcb_bounds_reconciled: bool,
}

impl FloatHistogram {
    /// Scales all counts and the sum by `factor`. A negative factor makes it a gauge.
    pub fn mul(&mut self, factor: f64) -> &mut Self {
        self.zero_count *= factor;
        self.count *= factor;
        self.sum *= factor;
        self.positive_buckets.iter_mut().for_each(|b| *b *= factor);
        self.negative_buckets.iter_mut().for_each(|b| *b *= factor);
        if factor < 0.0 {
            self.counter_reset_hint = CounterResetHint::Gauge;
        }
        self
    }

    /// Divides all counts and the sum by `scalar`. Dividing by 0 removes all buckets (count,
    /// sum and zero count become ±Inf or NaN). A negative scalar makes it a gauge.
    pub fn div(&mut self, scalar: f64) -> &mut Self {
        self.zero_count /= scalar;
        self.count /= scalar;
        self.sum /= scalar;
        if scalar == 0.0 {
            self.positive_buckets.clear();
            self.negative_buckets.clear();
            self.positive_spans.clear();
            self.negative_spans.clear();
            return self;
        }
        self.positive_buckets.iter_mut().for_each(|b| *b /= scalar);
        self.negative_buckets.iter_mut().for_each(|b| *b /= scalar);
        if scalar < 0.0 {
            self.counter_reset_hint = CounterResetHint::Gauge;
        }
        self
    }

    /// Adds `other` into `self`. The result may hold empty buckets or adjacent spans; call
    /// [`compact`](Self::compact) to normalize. Errors when one is a custom-bucket histogram
    /// and the other is not (`self` is then unchanged).
    pub fn add(&mut self, other: &FloatHistogram) -> Result<AddOutcome, HistogramError> {
        self.add_or_sub(other, false)
    }

    /// Subtracts `other` from `self`, like [`add`](Self::add). The counter reset hint is
    /// combined as for `add`; PromQL's `-` sets it to gauge afterwards.
    pub fn sub(&mut self, other: &FloatHistogram) -> Result<AddOutcome, HistogramError> {
        self.add_or_sub(other, true)
    }

    fn add_or_sub(
        &mut self,
        other: &FloatHistogram,
        negative: bool,
    ) -> Result<AddOutcome, HistogramError> {
        self.check_schema_and_bounds(other)?;
        let mut out = AddOutcome {
            counter_reset_collision: self.adjust_counter_reset(other),
            nhcb_bounds_reconciled: false,
        };
        let sign = if negative { -1.0 } else { 1.0 };
        if !self.uses_custom_buckets() {
            let (other_zero_count, _) = self.reconcile_zero_buckets(other, None);
            self.zero_count += sign * other_zero_count;
        }
        self.count += sign * other.count;
        self.sum += sign * other.sum;

        if self.uses_custom_buckets() {
            if custom_bucket_bounds_match(&self.custom_values, &other.custom_values) {
                add_buckets(
                    self.schema,
                    self.zero_threshold,
                    negative,
                    &mut self.positive_spans,
                    &mut self.positive_buckets,
                    None,
                    &other.positive_spans,
                    &other.positive_buckets,
                    None,
                );
            } else {
                out.nhcb_bounds_reconciled = true;
                let bounds =
                    intersect_custom_bucket_bounds(&self.custom_values, &other.custom_values);
                let (spans, buckets, _) = add_custom_buckets_with_mismatches(
                    negative,
                    (
                        &self.positive_spans,
                        &self.positive_buckets,
                        &self.custom_values,
                    ),
                    (
                        &other.positive_spans,
                        &other.positive_buckets,
                        &other.custom_values,
                    ),
                    None,
                    &bounds,
                );
                self.positive_spans = spans;
                self.positive_buckets = buckets;
                self.custom_values = bounds;
            }
            return Ok(out);
        }

        // `other` on `self`'s schema; borrowed unless it has to be reduced.
        let mut reduced: Option<SidesOf<f64>> = None;
        if other.schema < self.schema {
            self.positive_reduced(other.schema)?;
            self.schema = other.schema;
        } else if other.schema > self.schema {
            let p = reduce_resolution(
                &other.positive_spans,
                &other.positive_buckets,
                other.schema,
                self.schema,
                false,
            )?;
            let n = reduce_resolution(
                &other.negative_spans,
                &other.negative_buckets,
                other.schema,
                self.schema,
                false,
            )?;
            reduced = Some((p, n));
        }
        let ((ops, opb), (ons, onb)) = match &reduced {
            Some(((ps, pb), (ns, nb))) => ((&ps[..], &pb[..]), (&ns[..], &nb[..])),
            None => (
                (&other.positive_spans[..], &other.positive_buckets[..]),
                (&other.negative_spans[..], &other.negative_buckets[..]),
            ),
        };
        add_buckets(
            self.schema,
            self.zero_threshold,
            negative,
            &mut self.positive_spans,
            &mut self.positive_buckets,
            None,
            ops,
            opb,
            None,
        );
        add_buckets(
            self.schema,
            self.zero_threshold,
            negative,
            &mut self.negative_spans,
            &mut self.negative_buckets,
            None,
            ons,
            onb,
            None,
        );
        Ok(out)
    }

    /// Reduces both sides of `self` to `target` without touching `schema`.
    fn positive_reduced(&mut self, target: i32) -> Result<(), HistogramError> {
        let (ps, pb) = reduce_resolution(
            &self.positive_spans,
            &self.positive_buckets,
            self.schema,
            target,
            false,
        )?;
        let (ns, nb) = reduce_resolution(
            &self.negative_spans,
            &self.negative_buckets,
            self.schema,
            target,
            false,
        )?;
        (self.positive_spans, self.positive_buckets) = (ps, pb);
        (self.negative_spans, self.negative_buckets) = (ns, nb);
        Ok(())
    }

    pub(crate) fn check_schema_and_bounds(
        &self,
        other: &FloatHistogram,
    ) -> Result<(), HistogramError> {
        if self.uses_custom_buckets() != other.uses_custom_buckets() {
            return Err(HistogramError::new(HistogramErrorKind::IncompatibleSchema));
        }
        // Spans that disagree with their buckets would make the bucket merge index out of
        // range (upstream panics); refuse them instead.
        for h in [self, other] {
            check_spans(&h.positive_spans, h.positive_buckets.len())
                .map_err(|e| e.context("positive side"))?;
            check_spans(&h.negative_spans, h.negative_buckets.len())
                .map_err(|e| e.context("negative side"))?;
        }
        Ok(())
    }

    /// Combines the counter reset hints for `+`/`-`; true on a CounterReset/NotCounterReset
    /// collision (the result is then Unknown).
    pub(crate) fn adjust_counter_reset(&mut self, other: &FloatHistogram) -> bool {
        use CounterResetHint::*;
        match (self.counter_reset_hint, other.counter_reset_hint) {
            (a, b) if a == b => false,
            (Gauge, _) => false,
            (_, Gauge) => {
                self.counter_reset_hint = Gauge;
                false
            }
            (Unknown, _) => false,
            (_, Unknown) => {
                self.counter_reset_hint = Unknown;
                false
            }
            _ => {
                self.counter_reset_hint = Unknown;
                true
            }
        }
    }

    /// What the zero count would be with the (larger or equal) threshold `larger`; if it falls
    /// inside a populated bucket, the threshold grows to that bucket's bound (returned). With
    /// `c`, its compensation terms are included (Kahan).
    pub(crate) fn zero_count_for_larger_threshold(
        &self,
        larger: f64,
        c: Option<&FloatHistogram>,
    ) -> (f64, f64, f64) {
        let mut c_zero = c.map_or(0.0, |c| c.zero_count);
        if larger == self.zero_threshold {
            return (self.zero_count, larger, c_zero);
        }
        let mut larger = larger;
        'outer: loop {
            let mut hz = self.zero_count;
            for (idx, b) in self.positive_buckets_iter().enumerate() {
                if b.lower >= larger {
                    break;
                }
                (hz, c_zero) = kahan_inc(b.count, hz, c_zero);
                if let Some(c) = c {
                    (hz, c_zero) = kahan_inc(
                        c.positive_buckets.get(idx).copied().unwrap_or(0.0),
                        hz,
                        c_zero,
                    );
                }
                if b.upper > larger {
                    if b.count != 0.0 {
                        larger = b.upper;
                    }
                    break;
                }
            }
            for (idx, b) in self.negative_buckets_iter().enumerate() {
                if b.upper <= -larger {
                    break;
                }
                (hz, c_zero) = kahan_inc(b.count, hz, c_zero);
                if let Some(c) = c {
                    (hz, c_zero) = kahan_inc(
                        c.negative_buckets.get(idx).copied().unwrap_or(0.0),
                        hz,
                        c_zero,
                    );
                }
                if b.lower < -larger {
                    if b.count != 0.0 {
                        larger = -b.lower;
                        continue 'outer;
                    }
                    break;
                }
            }
            return (hz, larger, c_zero);
        }
    }

    /// Empties the buckets inside the zero bucket (their counts are already in the zero
    /// count) and compacts.
    fn trim_buckets_in_zero_bucket(&mut self, c: Option<&mut FloatHistogram>) {
        let zt = self.zero_threshold;
        let n_pos = self
            .positive_buckets_iter()
            .take_while(|b| b.lower < zt)
            .count();
        let n_neg = self
            .negative_buckets_iter()
            .take_while(|b| b.upper > -zt)
            .count();
        self.positive_buckets
            .iter_mut()
            .take(n_pos)
            .for_each(|b| *b = 0.0);
        self.negative_buckets
            .iter_mut()
            .take(n_neg)
            .for_each(|b| *b = 0.0);
        match c {
            Some(c) => {
                c.positive_buckets
                    .iter_mut()
                    .take(n_pos)
                    .for_each(|b| *b = 0.0);
                c.negative_buckets
                    .iter_mut()
                    .take(n_neg)
                    .for_each(|b| *b = 0.0);
                self.kahan_compact(0, c);
            }
            None => {
                self.compact(0);
            }
        }
    }

    /// Widens the zero buckets of `self` (changed) and `other` (not changed: its would-be
    /// zero count is returned, with its compensation) to a common threshold that is not inside
    /// a populated bucket of either.
    pub(crate) fn reconcile_zero_buckets(
        &mut self,
        other: &FloatHistogram,
        mut c: Option<&mut FloatHistogram>,
    ) -> (f64, f64) {
        let mut other_zero_count = other.zero_count;
        let mut other_threshold = other.zero_threshold;
        let mut other_c = 0.0;
        // NaN thresholds never become equal; stop rather than loop forever.
        while other_threshold != self.zero_threshold
            && !other_threshold.is_nan()
            && !self.zero_threshold.is_nan()
        {
            if self.zero_threshold > other_threshold {
                (other_zero_count, other_threshold, other_c) =
                    other.zero_count_for_larger_threshold(self.zero_threshold, None);
            }
            if other_threshold > self.zero_threshold {
                let (zc, zt, czc) =
                    self.zero_count_for_larger_threshold(other_threshold, c.as_deref());
                self.zero_count = zc;
                self.zero_threshold = zt;
                if let Some(c) = c.as_deref_mut() {
                    c.zero_count = czc;
                }
                self.trim_buckets_in_zero_bucket(c.as_deref_mut());
            }
        }
        (other_zero_count, other_c)
    }

    /// Removes empty buckets and merges spans (see upstream's `Compact`); `max_empty_buckets`
    /// is how many empty buckets a span may keep inside rather than being split.
    pub fn compact(&mut self, max_empty_buckets: usize) -> &mut Self {
        compact_buckets(
            &mut self.positive_buckets,
            None,
            &mut self.positive_spans,
            max_empty_buckets,
            false,
        );
        compact_buckets(
            &mut self.negative_buckets,
            None,
            &mut self.negative_spans,
            max_empty_buckets,
            false,
        );
        self
    }

    /// [`compact`](Self::compact) keeping the compensation buckets of `c` in step.
    pub(crate) fn kahan_compact(&mut self, max_empty_buckets: usize, c: &mut FloatHistogram) {
        compact_buckets(
            &mut self.positive_buckets,
            Some(&mut c.positive_buckets),
            &mut self.positive_spans,
            max_empty_buckets,
            false,
        );
        compact_buckets(
            &mut self.negative_buckets,
            Some(&mut c.negative_buckets),
            &mut self.negative_spans,
            max_empty_buckets,
            false,
        );
    }

    /// Iterator used by reset detection: one side, merged into `target_schema`, starting above
    /// `absolute_start`.
    pub(crate) fn bucket_iter_for(
        &self,
        positive: bool,
        absolute_start: f64,
        target_schema: i32,
    ) -> FloatBucketIter<'_> {
        FloatBucketIter::new(self, positive, absolute_start, target_schema)
    }
}
