//! Kahan–Neumaier compensated summation, as upstream's `util/kahansum`, and
//! [`FloatHistogram::kahan_add`], with which the query engine sums histograms (`sum`, `avg`,
//! `sum_over_time`, …): a second histogram carries the compensation terms bucket by bucket.

use super::bounds::custom_bucket_bounds_match;
use super::nhcb::{add_custom_buckets_with_mismatches, intersect_custom_bucket_bounds};
use super::ops::AddOutcome;
use super::spans::add_buckets;
use super::validate::HistogramError;
use super::{FloatHistogram, Span};

/// Adds `inc` to `sum` with compensation `c`; returns the new sum and compensation. On an
/// infinite sum the compensation resets to 0.
pub fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Subtracts `dec` from `sum` with compensation `c`.
pub fn kahan_dec(dec: f64, sum: f64, c: f64) -> (f64, f64) {
    kahan_inc(-dec, sum, c)
}

impl FloatHistogram {
    /// Adds `other` into `self` with Kahan summation (upstream's `KahanAdd`): `c` holds the
    /// compensation terms (`None` starts a new one); the updated compensation is returned.
    /// The final value is `self` plus the returned compensation (added with
    /// [`add`](Self::add)).
    pub fn kahan_add(
        &mut self,
        other: &FloatHistogram,
        c: Option<FloatHistogram>,
    ) -> Result<(FloatHistogram, AddOutcome), HistogramError> {
        self.check_schema_and_bounds(other)?;
        let mut out = AddOutcome {
            counter_reset_collision: self.adjust_counter_reset(other),
            nhcb_bounds_reconciled: false,
        };
        let mut c = c.unwrap_or_else(|| self.new_compensation_histogram());
        if !self.uses_custom_buckets() {
            let (ozc, occ) = self.reconcile_zero_buckets(other, Some(&mut c));
            (self.zero_count, c.zero_count) = kahan_inc(ozc, self.zero_count, c.zero_count);
            (self.zero_count, c.zero_count) = kahan_inc(occ, self.zero_count, c.zero_count);
        }
        (self.count, c.count) = kahan_inc(other.count, self.count, c.count);
        (self.sum, c.sum) = kahan_inc(other.sum, self.sum, c.sum);
        c.positive_buckets.resize(self.positive_buckets.len(), 0.0);
        c.negative_buckets.resize(self.negative_buckets.len(), 0.0);

        if self.uses_custom_buckets() {
            if custom_bucket_bounds_match(&self.custom_values, &other.custom_values) {
                add_buckets(
                    self.schema,
                    self.zero_threshold,
                    false,
                    &mut self.positive_spans,
                    &mut self.positive_buckets,
                    Some(&mut c.positive_buckets),
                    &other.positive_spans,
                    &other.positive_buckets,
                    None,
                );
            } else {
                out.nhcb_bounds_reconciled = true;
                let bounds =
                    intersect_custom_bucket_bounds(&self.custom_values, &other.custom_values);
                let (spans, buckets, comp) = add_custom_buckets_with_mismatches(
                    false,
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
                    Some(&c.positive_buckets),
                    &bounds,
                );
                self.positive_spans = spans;
                self.positive_buckets = buckets;
                c.positive_buckets = comp;
                self.custom_values = bounds.clone();
                c.custom_values = bounds;
            }
            c.positive_spans = self.positive_spans.clone();
            return Ok((c, out));
        }

        if other.schema < self.schema {
            let (s, b, cb) = kahan_reduce_resolution(
                &self.positive_spans,
                &self.positive_buckets,
                &c.positive_buckets,
                self.schema,
                other.schema,
            );
            (
                self.positive_spans,
                self.positive_buckets,
                c.positive_buckets,
            ) = (s, b, cb);
            let (s, b, cb) = kahan_reduce_resolution(
                &self.negative_spans,
                &self.negative_buckets,
                &c.negative_buckets,
                self.schema,
                other.schema,
            );
            (
                self.negative_spans,
                self.negative_buckets,
                c.negative_buckets,
            ) = (s, b, cb);
            self.schema = other.schema;
        }
        // `other` on `self`'s schema, with the compensation its reduction produced; borrowed
        // when no reduction is needed.
        let (mut rp, mut rn) = (None, None);
        if other.schema > self.schema {
            if !other.positive_buckets.is_empty() {
                let zeros = vec![0.0; other.positive_buckets.len()];
                rp = Some(kahan_reduce_resolution(
                    &other.positive_spans,
                    &other.positive_buckets,
                    &zeros,
                    other.schema,
                    self.schema,
                ));
            }
            if !other.negative_buckets.is_empty() {
                let zeros = vec![0.0; other.negative_buckets.len()];
                rn = Some(kahan_reduce_resolution(
                    &other.negative_spans,
                    &other.negative_buckets,
                    &zeros,
                    other.schema,
                    self.schema,
                ));
            }
        }
        let (ops, opb, opc): (&[Span], &[f64], Option<&[f64]>) = match &rp {
            Some((s, b, c)) => (s, b, Some(c)),
            None => (&other.positive_spans, &other.positive_buckets, None),
        };
        let (ons, onb, onc): (&[Span], &[f64], Option<&[f64]>) = match &rn {
            Some((s, b, c)) => (s, b, Some(c)),
            None => (&other.negative_spans, &other.negative_buckets, None),
        };
        add_buckets(
            self.schema,
            self.zero_threshold,
            false,
            &mut self.positive_spans,
            &mut self.positive_buckets,
            Some(&mut c.positive_buckets),
            ops,
            opb,
            opc,
        );
        add_buckets(
            self.schema,
            self.zero_threshold,
            false,
            &mut self.negative_spans,
            &mut self.negative_buckets,
            Some(&mut c.negative_buckets),
            ons,
            onb,
            onc,
        );
        c.schema = self.schema;
        c.zero_threshold = self.zero_threshold;
        c.positive_spans = self.positive_spans.clone();
        c.negative_spans = self.negative_spans.clone();
        Ok((c, out))
    }

    /// A compensation histogram for [`kahan_add`](Self::kahan_add): `self`'s layout, zero
    /// counts.
    fn new_compensation_histogram(&self) -> FloatHistogram {
        FloatHistogram {
            counter_reset_hint: self.counter_reset_hint,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            custom_values: self.custom_values.clone(),
            positive_buckets: vec![0.0; self.positive_buckets.len()],
            positive_spans: self.positive_spans.clone(),
            negative_spans: self.negative_spans.clone(),
            negative_buckets: if self.uses_custom_buckets() {
                Vec::new()
            } else {
                vec![0.0; self.negative_buckets.len()]
            },
            ..FloatHistogram::default()
        }
    }
}

/// [`reduce_resolution`] on float buckets with their compensation buckets (merged with Kahan
/// summation).
fn kahan_reduce_resolution(
    spans: &[Span],
    buckets: &[f64],
    comp: &[f64],
    origin_schema: i32,
    target_schema: i32,
) -> (Vec<Span>, Vec<f64>, Vec<f64>) {
    use super::bounds::target_idx;
    let mut t_spans: Vec<Span> = Vec::new();
    let mut t_buckets: Vec<f64> = Vec::new();
    let mut t_comp: Vec<f64> = Vec::new();
    let mut bucket_idx: i32 = 0;
    let mut count_idx = 0usize;
    let mut last_t_idx: i32 = 0;
    for span in spans {
        bucket_idx = bucket_idx.wrapping_add(span.offset);
        for _ in 0..span.length {
            let (Some(&b), cb) = (
                buckets.get(count_idx),
                comp.get(count_idx).copied().unwrap_or(0.0),
            ) else {
                return (t_spans, t_buckets, t_comp);
            };
            let t = target_idx(bucket_idx, origin_schema, target_schema);
            if t_spans.is_empty() {
                t_spans.push(Span {
                    offset: t,
                    length: 1,
                });
                t_buckets.push(b);
                t_comp.push(cb);
                last_t_idx = t;
            } else if last_t_idx == t {
                let l = t_buckets.len() - 1;
                (t_buckets[l], t_comp[l]) = kahan_inc(b, t_buckets[l], t_comp[l]);
                (t_buckets[l], t_comp[l]) = kahan_inc(cb, t_buckets[l], t_comp[l]);
            } else {
                if last_t_idx.wrapping_add(1) == t {
                    let l = t_spans.len() - 1;
                    t_spans[l].length += 1;
                } else {
                    t_spans.push(Span {
                        offset: t.wrapping_sub(last_t_idx).wrapping_sub(1),
                        length: 1,
                    });
                }
                last_t_idx = t;
                t_buckets.push(b);
                t_comp.push(cb);
            }
            bucket_idx = bucket_idx.wrapping_add(1);
            count_idx += 1;
        }
    }
    (t_spans, t_buckets, t_comp)
}
