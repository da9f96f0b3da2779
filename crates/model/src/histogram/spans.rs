//! Span and bucket-slice algorithms shared by both histogram types: compaction, resolution
//! reduction, adding one bucket layout into another, and layout equality. Counts are either
//! absolute (`FloatHistogram`) or deltas (`Histogram`), chosen by a `delta` flag as upstream's
//! generic functions do; an optional compensation slice (Kahan summation) moves in step with
//! the float buckets.

use super::bounds::{get_bound_exponential, is_exponential_schema, target_idx};
use super::kahan::kahan_inc;
use super::validate::{spans_buckets_mismatch, HistogramError, HistogramErrorKind};
use super::Span;

/// A bucket count: `f64` (absolute) or `i64` (absolute or delta). Integer arithmetic wraps, as
/// Go's does, so corrupt input cannot panic.
pub(crate) trait Count: Copy + PartialEq + Default + std::fmt::Debug {
    fn add(self, o: Self) -> Self;
    fn neg(self) -> Self;
    fn is_zero(self) -> bool {
        self == Self::default()
    }
}

impl Count for f64 {
    fn add(self, o: f64) -> f64 {
        self + o
    }
    fn neg(self) -> f64 {
        -self
    }
}

impl Count for i64 {
    fn add(self, o: i64) -> i64 {
        self.wrapping_add(o)
    }
    fn neg(self) -> i64 {
        self.wrapping_neg()
    }
}

/// Removes empty buckets at the start and end of spans, merges spans at most
/// `max_empty_buckets` apart (and adjacent ones), and splits spans at runs of more than
/// `max_empty_buckets` empty buckets (upstream's `compactBuckets`). A bucket with a non-zero
/// compensation counts as populated.
pub(crate) fn compact_buckets<T: Count>(
    buckets: &mut Vec<T>,
    mut comp: Option<&mut Vec<f64>>,
    spans: &mut Vec<Span>,
    max_empty_buckets: usize,
    delta: bool,
) {
    let max_empty = max_empty_buckets.min(i32::MAX as usize) as i64;
    // Fast path: no empty bucket, no mergeable offset, no empty span.
    let mut abs = T::default();
    let mut nothing_to_do = true;
    for b in buckets.iter() {
        abs = if delta { abs.add(*b) } else { *b };
        if abs.is_zero() {
            nothing_to_do = false;
            break;
        }
    }
    if nothing_to_do
        && !spans
            .iter()
            .any(|s| s.offset as i64 <= max_empty || s.length == 0)
    {
        return;
    }

    // Merge spans with zero offset into their predecessor.
    if spans.len() > 1 {
        let mut i_span = 0;
        for i in 1..spans.len() {
            let span = spans[i];
            if span.offset == 0 {
                spans[i_span].length = spans[i_span].length.wrapping_add(span.length);
                continue;
            }
            i_span += 1;
            spans[i_span] = span;
        }
        spans.truncate(i_span + 1);
    }
    // Drop zero-length spans (their offset moves to the next span).
    let mut i_span = 0;
    for i in 0..spans.len() {
        let span = spans[i];
        if span.length == 0 {
            if i + 1 < spans.len() {
                spans[i + 1].offset = spans[i + 1].offset.wrapping_add(span.offset);
            }
            continue;
        }
        spans[i_span] = span;
        i_span += 1;
    }
    spans.truncate(i_span);
    if spans.is_empty() {
        buckets.clear();
        if let Some(c) = comp.as_deref_mut() {
            c.clear();
        }
        return;
    }

    // Cut empty buckets at the start and end of spans, and runs of more than
    // `max_empty_buckets` inside spans.
    let mut i_bucket = 0usize;
    let mut i_span = 0usize;
    let mut pos_in_span: u32 = 0;
    abs = T::default();
    while i_bucket < buckets.len() && i_span < spans.len() {
        abs = if delta {
            abs.add(buckets[i_bucket])
        } else {
            buckets[i_bucket]
        };
        let n_empty = {
            let mut i = 0usize;
            let mut a = abs;
            let mut c = comp.as_deref().map_or(0.0, |c| c[i_bucket]);
            while (i as u64) + (pos_in_span as u64) < spans[i_span].length as u64
                && a.is_zero()
                && c == 0.0
            {
                i += 1;
                if i + i_bucket >= buckets.len() {
                    break;
                }
                a = buckets[i + i_bucket];
                c = comp.as_deref().map_or(0.0, |c| c[i + i_bucket]);
            }
            i
        };
        if n_empty > 0 {
            let remaining = (spans[i_span].length - pos_in_span) as usize;
            if pos_in_span > 0 && n_empty < remaining && n_empty as i64 <= max_empty {
                // A few empty buckets inside a span: keep them.
                i_bucket += n_empty;
                if delta {
                    abs = T::default();
                }
                pos_in_span += n_empty as u32;
                continue;
            }
            if delta && i_bucket + n_empty < buckets.len() {
                abs = buckets[i_bucket].neg();
                buckets[i_bucket + n_empty] = buckets[i_bucket + n_empty].add(buckets[i_bucket]);
            }
            buckets.drain(i_bucket..i_bucket + n_empty);
            if let Some(c) = comp.as_deref_mut() {
                c.drain(i_bucket..i_bucket + n_empty);
            }
            if pos_in_span == 0 {
                if n_empty == spans[i_span].length as usize {
                    // The whole span is empty.
                    let offset = spans[i_span].offset;
                    spans.remove(i_span);
                    if spans.len() > i_span {
                        spans[i_span].offset = spans[i_span]
                            .offset
                            .wrapping_add(offset)
                            .wrapping_add(n_empty as i32);
                    }
                    continue;
                }
                spans[i_span].length -= n_empty as u32;
                spans[i_span].offset = spans[i_span].offset.wrapping_add(n_empty as i32);
                continue;
            }
            // In the middle or at the end of the span: split it.
            let new_span = Span {
                offset: n_empty as i32,
                length: spans[i_span].length - pos_in_span - n_empty as u32,
            };
            spans[i_span].length = pos_in_span;
            i_span += 1;
            pos_in_span = 0;
            if new_span.length == 0 {
                if i_span < spans.len() {
                    spans[i_span].offset = spans[i_span].offset.wrapping_add(n_empty as i32);
                }
                continue;
            }
            spans.insert(i_span, new_span);
            continue;
        }
        i_bucket += 1;
        pos_in_span += 1;
        if pos_in_span >= spans[i_span].length {
            pos_in_span = 0;
            i_span += 1;
        }
    }
    if max_empty == 0 || buckets.is_empty() || spans.is_empty() {
        return;
    }

    // Merge spans whose gap is small enough, filling the gap with empty buckets.
    let mut i_bucket = (spans[0].length as usize).min(buckets.len());
    if delta {
        abs = sum(&buckets[..i_bucket]);
    }
    let mut i_span = 1;
    while i_span < spans.len() {
        let offset = spans[i_span].offset;
        let l = spans[i_span].length as usize;
        if offset as i64 > max_empty || offset < 0 || i_bucket + l > buckets.len() {
            if delta {
                abs = abs.add(sum(&buckets[i_bucket..(i_bucket + l).min(buckets.len())]));
            }
            i_bucket += l;
            i_span += 1;
            continue;
        }
        let offset = offset as usize;
        spans[i_span - 1].length += offset as u32 + spans[i_span].length;
        spans.remove(i_span);
        buckets.splice(
            i_bucket..i_bucket,
            std::iter::repeat_n(T::default(), offset),
        );
        if delta && offset > 0 {
            buckets[i_bucket] = abs.neg();
            buckets[i_bucket + offset] = buckets[i_bucket + offset].add(abs);
        }
        if let Some(c) = comp.as_deref_mut() {
            c.splice(i_bucket..i_bucket, std::iter::repeat_n(0.0, offset));
        }
        i_bucket += offset;
        if delta {
            abs = sum(&buckets[i_bucket..i_bucket + l]);
        }
        i_bucket += l;
    }
}

fn sum<T: Count>(s: &[T]) -> T {
    s.iter().fold(T::default(), |a, b| a.add(*b))
}

/// The spans and buckets of `spans`/`buckets` (schema `origin_schema`) merged into the lower
/// resolution `target_schema` (upstream's `reduceResolution`). Errors on spans that do not
/// match the buckets.
pub(crate) fn reduce_resolution<T: Count>(
    spans: &[Span],
    buckets: &[T],
    origin_schema: i32,
    target_schema: i32,
    delta: bool,
) -> Result<(Vec<Span>, Vec<T>), HistogramError> {
    let mut target_spans: Vec<Span> = Vec::with_capacity(spans.len());
    let mut target_buckets: Vec<T> = Vec::with_capacity(buckets.len());
    let mut bucket_idx: i32 = 0;
    let mut count_idx = 0usize;
    let mut last_bucket_count = T::default();
    let mut last_target_idx: i32 = 0;
    let mut last_target_count = T::default();
    for (n, span) in spans.iter().enumerate() {
        if n > 0 && span.offset < 0 {
            return Err(HistogramError::with_prefix(
                HistogramErrorKind::SpanNegativeOffset,
                format!("span number {} with offset {}: ", n + 1, span.offset),
            ));
        }
        bucket_idx = bucket_idx.wrapping_add(span.offset);
        for _ in 0..span.length {
            let Some(&b) = buckets.get(count_idx) else {
                return Err(HistogramError::with_prefix(
                    HistogramErrorKind::SpansBucketsMismatch,
                    format!("have {} buckets but spans need more: ", buckets.len()),
                ));
            };
            let t_idx = target_idx(bucket_idx, origin_schema, target_schema);
            if target_spans.is_empty() {
                target_spans.push(Span {
                    offset: t_idx,
                    length: 1,
                });
                target_buckets.push(b);
                last_target_idx = t_idx;
                last_bucket_count = b;
                last_target_count = b;
            } else if last_target_idx == t_idx {
                let last = target_buckets.len() - 1;
                if delta {
                    last_bucket_count = last_bucket_count.add(b);
                    target_buckets[last] = target_buckets[last].add(last_bucket_count);
                    last_target_count = last_target_count.add(last_bucket_count);
                } else {
                    target_buckets[last] = target_buckets[last].add(b);
                }
            } else {
                if last_target_idx.wrapping_add(1) == t_idx {
                    let last = target_spans.len() - 1;
                    target_spans[last].length += 1;
                } else {
                    target_spans.push(Span {
                        offset: t_idx.wrapping_sub(last_target_idx).wrapping_sub(1),
                        length: 1,
                    });
                }
                last_target_idx = t_idx;
                if delta {
                    last_bucket_count = last_bucket_count.add(b);
                    target_buckets.push(last_bucket_count.add(last_target_count.neg()));
                    last_target_count = last_bucket_count;
                } else {
                    target_buckets.push(b);
                }
            }
            bucket_idx = bucket_idx.wrapping_add(1);
            count_idx += 1;
        }
    }
    if count_idx != buckets.len() {
        return Err(spans_buckets_mismatch(count_idx, buckets.len()));
    }
    Ok((target_spans, target_buckets))
}

/// Whether two span lists describe the same bucket layout, ignoring zero-length spans
/// (upstream's `spansMatch`).
pub(crate) fn spans_match(s1: &[Span], s2: &[Span]) -> bool {
    let norm = |s: &[Span]| -> Vec<Span> {
        let mut out: Vec<Span> = Vec::with_capacity(s.len());
        let mut carry = 0i32;
        for sp in s {
            if sp.length == 0 {
                carry = carry.wrapping_add(sp.offset);
                continue;
            }
            out.push(Span {
                offset: sp.offset.wrapping_add(carry),
                length: sp.length,
            });
            carry = 0;
        }
        out
    };
    norm(s1) == norm(s2)
}

/// Adds (or, with `negative`, subtracts) the buckets `spans_b`/`buckets_b` into
/// `spans_a`/`buckets_a`, inserting buckets that `a` lacks (upstream's `addBuckets` and
/// `kahanAddBuckets`). Both use `schema`; buckets of `b` whose upper bound is ≤ `threshold`
/// (inside the zero bucket) are skipped. With `comp_a`, sums are Kahan-compensated there
/// (and `comp_b`, `b`'s compensation, is added too).
#[allow(clippy::too_many_arguments)]
pub(crate) fn add_buckets(
    schema: i32,
    threshold: f64,
    negative: bool,
    spans_a: &mut Vec<Span>,
    buckets_a: &mut Vec<f64>,
    mut comp_a: Option<&mut Vec<f64>>,
    spans_b: &[Span],
    buckets_b: &[f64],
    comp_b: Option<&[f64]>,
) {
    let inc = |buckets_a: &mut Vec<f64>,
               comp_a: &mut Option<&mut Vec<f64>>,
               i: usize,
               b: f64,
               cb: f64| match comp_a {
        None => buckets_a[i] += b,
        Some(c) => {
            (buckets_a[i], c[i]) = kahan_inc(b, buckets_a[i], c[i]);
            if cb != 0.0 {
                (buckets_a[i], c[i]) = kahan_inc(cb, buckets_a[i], c[i]);
            }
        }
    };
    // Zero-length spans in `a` would trip the merge (upstream indexes past the buckets on a
    // leading one); drop them, carrying their offsets, which keeps the layout.
    if spans_a.iter().any(|s| s.length == 0) {
        let mut carry = 0i32;
        spans_a.retain_mut(|s| {
            if s.length == 0 {
                carry = carry.wrapping_add(s.offset);
                return false;
            }
            s.offset = s.offset.wrapping_add(carry);
            carry = 0;
            true
        });
    }
    let mut i_span: isize = -1;
    let mut i_bucket: isize = -1;
    let mut i_in_span: i32 = 0;
    let mut index_a: i32 = 0;
    let mut index_b: i32 = 0;
    let mut b_idx = 0usize;
    let mut lower_than_threshold = true;
    for span_b in spans_b {
        index_b = index_b.wrapping_add(span_b.offset);
        for _ in 0..span_b.length {
            if b_idx >= buckets_b.len() {
                return;
            }
            'bucket: {
                if lower_than_threshold
                    && is_exponential_schema(schema)
                    && get_bound_exponential(index_b, schema) <= threshold
                {
                    break 'bucket;
                }
                lower_than_threshold = false;
                let mut bucket_b = buckets_b[b_idx];
                let mut comp_bucket_b = comp_b.and_then(|c| c.get(b_idx).copied()).unwrap_or(0.0);
                if negative {
                    bucket_b = -bucket_b;
                    comp_bucket_b = -comp_bucket_b;
                }
                if i_span == -1 {
                    if spans_a.is_empty() || spans_a[0].offset > index_b {
                        // Before all others.
                        buckets_a.insert(0, bucket_b);
                        if let Some(c) = comp_a.as_deref_mut() {
                            c.insert(0, comp_bucket_b);
                        }
                        if !spans_a.is_empty() && spans_a[0].offset == index_b.wrapping_add(1) {
                            spans_a[0].length += 1;
                            spans_a[0].offset -= 1;
                            break 'bucket;
                        }
                        spans_a.insert(
                            0,
                            Span {
                                offset: index_b,
                                length: 1,
                            },
                        );
                        if spans_a.len() > 1 {
                            spans_a[1].offset =
                                spans_a[1].offset.wrapping_sub(index_b.wrapping_add(1));
                        }
                        break 'bucket;
                    } else if spans_a[0].offset == index_b {
                        inc(buckets_a, &mut comp_a, 0, bucket_b, comp_bucket_b);
                        break 'bucket;
                    }
                    i_span = 0;
                    i_bucket = 0;
                    i_in_span = 0;
                    index_a = spans_a[0].offset;
                }
                let mut delta_index = index_b.wrapping_sub(index_a);
                loop {
                    let remaining = spans_a[i_span as usize].length as i32 - i_in_span;
                    if delta_index < remaining {
                        i_bucket += delta_index as isize;
                        i_in_span += delta_index;
                        inc(
                            buckets_a,
                            &mut comp_a,
                            i_bucket as usize,
                            bucket_b,
                            comp_bucket_b,
                        );
                        break;
                    }
                    delta_index -= remaining;
                    i_bucket += remaining as isize;
                    i_span += 1;
                    let n = spans_a.len() as isize;
                    if i_span == n || delta_index < spans_a[i_span as usize].offset {
                        // In the gap after the previous span (or after all spans).
                        buckets_a.insert(i_bucket as usize, bucket_b);
                        if let Some(c) = comp_a.as_deref_mut() {
                            c.insert(i_bucket as usize, comp_bucket_b);
                        }
                        if delta_index == 0 {
                            // Right after the previous span: extend it.
                            if i_span < n {
                                spans_a[i_span as usize].offset -= 1;
                            }
                            i_span -= 1;
                            i_in_span = spans_a[i_span as usize].length as i32;
                            spans_a[i_span as usize].length += 1;
                        } else if i_span < n && delta_index == spans_a[i_span as usize].offset - 1 {
                            // Right before the next span: extend that one.
                            i_in_span = 0;
                            spans_a[i_span as usize].offset -= 1;
                            spans_a[i_span as usize].length += 1;
                        } else {
                            i_in_span = 0;
                            if i_span < n {
                                spans_a[i_span as usize].offset -= delta_index + 1;
                            }
                            spans_a.insert(
                                i_span as usize,
                                Span {
                                    offset: delta_index,
                                    length: 1,
                                },
                            );
                        }
                        break 'bucket;
                    }
                    delta_index -= spans_a[i_span as usize].offset;
                    i_in_span = 0;
                }
            }
            index_a = index_b;
            index_b = index_b.wrapping_add(1);
            b_idx += 1;
        }
    }
}
