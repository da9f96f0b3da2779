//! Comparing an expected native histogram with a result, as upstream's promqltest
//! (`compareNativeHistogram`): both compacted, floats almost equal, spans equal up to empty
//! spans, the counter reset hint only when the expectation gives one.

use bongsu_model::{FloatHistogram, Span};

use super::float_eq;

pub fn histogram_eq(exp: &FloatHistogram, got: &FloatHistogram, hint_set: bool) -> bool {
    let (exp, got) = (compacted(exp), compacted(got));
    if exp.schema != got.schema || !float_eq(exp.count, got.count) || !float_eq(exp.sum, got.sum) {
        return false;
    }
    if exp.uses_custom_buckets() && !bounds_match(&exp.custom_values, &got.custom_values) {
        return false;
    }
    if exp.zero_threshold != got.zero_threshold || !float_eq(exp.zero_count, got.zero_count) {
        return false;
    }
    if !spans_match(&exp.negative_spans, &got.negative_spans)
        || !buckets_match(&exp.negative_buckets, &got.negative_buckets)
        || !spans_match(&exp.positive_spans, &got.positive_spans)
        || !buckets_match(&exp.positive_buckets, &got.positive_buckets)
    {
        return false;
    }
    !hint_set || exp.counter_reset_hint == got.counter_reset_hint
}

fn compacted(h: &FloatHistogram) -> FloatHistogram {
    let mut h = h.clone();
    h.compact(0);
    h
}

fn bounds_match(a: &[f64], b: &[f64]) -> bool {
    bongsu_model::histogram::custom_bucket_bounds_match(a, b)
}

fn buckets_match(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| float_eq(*x, *y))
}

/// Spans with zero-length spans folded into the next one.
fn normalized(spans: &[Span]) -> Vec<Span> {
    let mut out = Vec::with_capacity(spans.len());
    let mut pending = 0;
    for s in spans {
        if s.length == 0 {
            pending += s.offset;
            continue;
        }
        out.push(Span {
            offset: s.offset + pending,
            length: s.length,
        });
        pending = 0;
    }
    out
}

fn spans_match(a: &[Span], b: &[Span]) -> bool {
    normalized(a) == normalized(b)
}
