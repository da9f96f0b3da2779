//! Custom-bucket (NHCB) histograms whose bounds differ: adding, subtracting and comparing
//! them on the bounds both share (upstream reconciles mismatched bounds to their
//! intersection; a bucket whose bound is dropped merges into the next shared bound above).

use super::buckets::{Bucket, FloatBucketIter};
use super::kahan::{kahan_dec, kahan_inc};
use super::{FloatHistogram, Span, CUSTOM_BUCKETS_SCHEMA};

/// The bounds present in both (sorted) bound lists.
pub(crate) fn intersect_custom_bucket_bounds(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push(a[i]);
            i += 1;
            j += 1;
        } else if a[i] < b[j] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// `a + b` (or `a - b`) on the layout of `intersected` bounds, each bucket of either mapped
/// to the first intersected bound ≥ its own bound (else the +Inf bucket). `comp_a` (Kahan
/// compensation of `a`) is folded in. Returns spans, buckets and compensation buckets; buckets
/// with zero value and zero compensation are left out.
pub(crate) fn add_custom_buckets_with_mismatches(
    negative: bool,
    a: (&[Span], &[f64], &[f64]),
    b: (&[Span], &[f64], &[f64]),
    comp_a: Option<&[f64]>,
    intersected: &[f64],
) -> (Vec<Span>, Vec<f64>, Vec<f64>) {
    let n = intersected.len() + 1;
    let mut target = vec![0.0; n];
    let mut c_target = vec![0.0; n];
    let mut map =
        |spans: &[Span], buckets: &[f64], bounds: &[f64], negative: bool, comp: Option<&[f64]>| {
            let mut src_idx: i64 = 0;
            let mut bucket_idx = 0usize;
            let mut intersect_idx = 0usize;
            for span in spans {
                src_idx += span.offset as i64;
                for _ in 0..span.length {
                    if let Some(&value) = buckets.get(bucket_idx) {
                        let mut t = n - 1;
                        if src_idx >= 0 && (src_idx as usize) < bounds.len() {
                            let src_bound = bounds[src_idx as usize];
                            while intersect_idx < intersected.len() {
                                if intersected[intersect_idx] >= src_bound {
                                    t = intersect_idx;
                                    break;
                                }
                                intersect_idx += 1;
                            }
                        }
                        if negative {
                            (target[t], c_target[t]) = kahan_dec(value, target[t], c_target[t]);
                        } else {
                            (target[t], c_target[t]) = kahan_inc(value, target[t], c_target[t]);
                            if let Some(c) = comp.and_then(|c| c.get(bucket_idx)) {
                                (target[t], c_target[t]) = kahan_inc(*c, target[t], c_target[t]);
                            }
                        }
                    }
                    src_idx += 1;
                    bucket_idx += 1;
                }
            }
        };
    map(a.0, a.1, a.2, false, comp_a);
    map(b.0, b.1, b.2, negative, None);

    let mut spans: Vec<Span> = Vec::new();
    let mut buckets = Vec::new();
    let mut comp = Vec::new();
    let mut last_idx: i32 = -1;
    for i in 0..n {
        if target[i] == 0.0 && c_target[i] == 0.0 {
            continue;
        }
        buckets.push(target[i]);
        comp.push(c_target[i]);
        let idx = i as i32;
        match spans.last_mut() {
            Some(s) if idx == last_idx + 1 => s.length += 1,
            Some(_) => spans.push(Span {
                offset: idx - last_idx - 1,
                length: 1,
            }),
            None => spans.push(Span {
                offset: idx,
                length: 1,
            }),
        }
        last_idx = idx;
    }
    (spans, buckets, comp)
}

impl FloatHistogram {
    /// Reset detection between custom-bucket histograms with different bounds: a reset if the
    /// cumulative count up to any shared bound (not yet counted) went down.
    pub(crate) fn detect_reset_with_mismatched_custom_bounds(
        &self,
        previous: &FloatHistogram,
    ) -> bool {
        if self.schema != CUSTOM_BUCKETS_SCHEMA || previous.schema != CUSTOM_BUCKETS_SCHEMA {
            return false;
        }
        let curr_bounds = &self.custom_values;
        let prev_bounds = &previous.custom_values;
        let mut curr_it = FloatBucketIter::new(self, true, 0.0, CUSTOM_BUCKETS_SCHEMA);
        let mut prev_it = FloatBucketIter::new(previous, true, 0.0, CUSTOM_BUCKETS_SCHEMA);

        // Sum of the buckets up to `bound`, from `bucket` (the one after the previous call)
        // on; returns the sum, the first bucket above `bound` and whether there is one.
        fn rollup(
            it: &mut FloatBucketIter<'_>,
            started: bool,
            bucket: Option<Bucket<f64>>,
            bound: f64,
        ) -> (f64, Option<Bucket<f64>>, bool) {
            let mut b = match (started, bucket) {
                (true, Some(b)) => b,
                _ => match it.next() {
                    Some(b) => b,
                    None => return (0.0, None, false),
                },
            };
            let mut sum = 0.0;
            while b.upper <= bound {
                sum += b.count;
                match it.next() {
                    Some(n) => b = n,
                    None => return (sum, None, false),
                }
            }
            (sum, Some(b), true)
        }

        let (mut ci, mut pi) = (0usize, 0usize);
        let (mut curr_bucket, mut prev_bucket) = (None, None);
        let (mut curr_started, mut curr_more) = (false, false);
        let (mut prev_started, mut prev_more) = (false, false);
        while ci <= curr_bounds.len() && pi <= prev_bounds.len() {
            let cb = curr_bounds.get(ci).copied().unwrap_or(f64::INFINITY);
            let pb = prev_bounds.get(pi).copied().unwrap_or(f64::INFINITY);
            if cb == pb {
                let mut curr_sum = 0.0;
                if !curr_started || curr_more {
                    (curr_sum, curr_bucket, curr_more) =
                        rollup(&mut curr_it, curr_started, curr_bucket, cb);
                    curr_started = true;
                }
                let mut prev_sum = 0.0;
                if !prev_started || prev_more {
                    (prev_sum, prev_bucket, prev_more) =
                        rollup(&mut prev_it, prev_started, prev_bucket, cb);
                    prev_started = true;
                }
                if curr_sum < prev_sum {
                    return true;
                }
                ci += 1;
                pi += 1;
            } else if cb < pb {
                ci += 1;
            } else {
                pi += 1;
            }
        }
        false
    }
}
