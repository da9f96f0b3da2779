//! Span arithmetic of the histogram chunks, as Prometheus' `chunkenc/histogram_meta.go`:
//! walking bucket indexes, deciding whether a histogram's buckets fit a chunk's layout, and
//! widening layouts and bucket lists by "inserts".

use bongsu_model::Span;

/// Buckets the spans describe, or `None` if that overflows (only damaged data does).
pub(crate) fn count_spans(spans: &[Span]) -> Option<usize> {
    spans
        .iter()
        .try_fold(0usize, |n, s| n.checked_add(s.length as usize))
}

/// Walks the bucket indexes of a span list (Prometheus' `bucketIterator`).
pub(crate) struct BucketIndexes<'a> {
    spans: &'a [Span],
    span: usize,
    bucket: i64,
    idx: i64,
}

impl<'a> BucketIndexes<'a> {
    pub(crate) fn new(spans: &'a [Span]) -> BucketIndexes<'a> {
        BucketIndexes {
            spans,
            span: 0,
            bucket: -1,
            idx: -1 + spans.first().map_or(0, |s| i64::from(s.offset)),
        }
    }
}

impl Iterator for BucketIndexes<'_> {
    type Item = i64;
    fn next(&mut self) -> Option<i64> {
        if self.span >= self.spans.len() {
            return None;
        }
        if self.bucket < i64::from(self.spans[self.span].length) - 1 {
            self.bucket += 1;
            self.idx += 1;
            return Some(self.idx);
        }
        while self.span + 1 < self.spans.len() {
            self.span += 1;
            self.idx += i64::from(self.spans[self.span].offset) + 1;
            self.bucket = 0;
            if self.spans[self.span].length == 0 {
                self.idx -= 1;
                continue;
            }
            return Some(self.idx);
        }
        // Stay exhausted.
        self.span = self.spans.len();
        None
    }
}

/// `num` buckets to insert before position `pos` of a bucket list; the first has index
/// `bucket_idx` (Prometheus' `Insert`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Insert {
    pub pos: usize,
    pub num: usize,
    pub bucket_idx: i64,
}

/// Appends bucket `b` to a span list being built.
fn add_bucket(spans: &mut Vec<Span>, last: &mut i64, b: i64) {
    let mut offset = b - *last - 1;
    if offset == 0 && !spans.is_empty() {
        if let Some(s) = spans.last_mut() {
            s.length += 1;
        }
    } else {
        if spans.is_empty() {
            offset += 1;
        }
        spans.push(Span {
            offset: offset as i32,
            length: 1,
        });
    }
    *last = b;
}

/// Prometheus' `expandSpansBothWays` (gauge histograms): the inserts each side needs and the
/// merged spans.
pub(crate) fn expand_spans_both_ways(
    a: &[Span],
    b: &[Span],
) -> (Vec<Insert>, Vec<Insert>, Vec<Span>) {
    let (mut ai, mut bi) = (BucketIndexes::new(a), BucketIndexes::new(b));
    let (mut f_inserts, mut b_inserts, mut merged) = (Vec::new(), Vec::new(), Vec::new());
    let mut last = 0i64;
    let (mut f_inter, mut b_inter) = (Insert::default(), Insert::default());
    let (mut av, mut bv) = (ai.next(), bi.next());
    loop {
        match (av, bv) {
            (Some(x), Some(y)) if x == y => {
                if f_inter.num > 0 {
                    f_inserts.push(f_inter);
                    f_inter.num = 0;
                }
                if b_inter.num > 0 {
                    b_inserts.push(b_inter);
                    b_inter.num = 0;
                }
                add_bucket(&mut merged, &mut last, x);
                av = ai.next();
                bv = bi.next();
                f_inter.pos += 1;
                b_inter.pos += 1;
            }
            (Some(x), Some(y)) if x < y => {
                b_inter.num += 1;
                if f_inter.num > 0 {
                    f_inserts.push(f_inter);
                    f_inter.num = 0;
                }
                add_bucket(&mut merged, &mut last, x);
                f_inter.pos += 1;
                av = ai.next();
            }
            (Some(_), Some(y)) => {
                f_inter.num += 1;
                if b_inter.num > 0 {
                    b_inserts.push(b_inter);
                    b_inter.num = 0;
                }
                add_bucket(&mut merged, &mut last, y);
                b_inter.pos += 1;
                bv = bi.next();
            }
            (Some(x), None) => {
                b_inter.num += 1;
                add_bucket(&mut merged, &mut last, x);
                av = ai.next();
            }
            (None, Some(y)) => {
                f_inter.num += 1;
                add_bucket(&mut merged, &mut last, y);
                bv = bi.next();
            }
            (None, None) => {
                if f_inter.num > 0 {
                    f_inserts.push(f_inter);
                }
                if b_inter.num > 0 {
                    b_inserts.push(b_inter);
                }
                return (f_inserts, b_inserts, merged);
            }
        }
    }
}

/// A bucket count type of the two chunk kinds.
pub(crate) trait BucketValue:
    Copy + Default + PartialOrd + std::ops::Add<Output = Self> + std::ops::Neg<Output = Self>
{
}
impl BucketValue for i64 {}
impl BucketValue for f64 {}

/// Prometheus' `expandIntSpansAndBuckets` / `expandFloatSpansAndBuckets` for counters: the
/// forward inserts (buckets new in `b`), the backward inserts (empty buckets of `a` missing in
/// `b`), or `None` when a bucket decreased or a non-empty bucket disappeared (a counter
/// reset). With `deltas`, bucket values are deltas (integer histograms).
pub(crate) fn expand_spans_and_buckets<V: BucketValue>(
    a: &[Span],
    b: &[Span],
    a_buckets: &[V],
    b_buckets: &[V],
    deltas: bool,
) -> Option<(Vec<Insert>, Vec<Insert>)> {
    let (mut ai, mut bi) = (BucketIndexes::new(a), BucketIndexes::new(b));
    let (mut a_inserts, mut b_inserts) = (Vec::new(), Vec::new());
    let (mut a_inter, mut b_inter) = (Insert::default(), Insert::default());
    let (mut a_idx, mut b_idx) = (ai.next(), bi.next());
    let (mut a_count, mut b_count) = (V::default(), V::default());
    let (mut a_ci, mut b_ci) = (0usize, 0usize);
    if a_idx.is_some() {
        a_count = *a_buckets.first()?;
    }
    if b_idx.is_some() {
        b_count = *b_buckets.first()?;
    }
    fn add_insert(inserts: &mut Vec<Insert>, ins: &mut Insert, other: i64) {
        if ins.num == 0 {
            ins.bucket_idx = other;
        } else if ins.bucket_idx + ins.num as i64 != other {
            inserts.push(*ins);
            ins.num = 0;
            ins.bucket_idx = other;
        }
        ins.num += 1;
    }
    let next_count = |count: V, buckets: &[V], i: usize| -> Option<V> {
        let v = *buckets.get(i)?;
        Some(if deltas { count + v } else { v })
    };
    loop {
        match (a_idx, b_idx) {
            (Some(x), Some(y)) if x == y => {
                if a_count > b_count {
                    return None;
                }
                // Advance a.
                if a_inter.num > 0 {
                    a_inserts.push(a_inter);
                    a_inter.num = 0;
                }
                a_idx = ai.next();
                a_inter.pos += 1;
                a_ci += 1;
                if a_idx.is_some() {
                    a_count = next_count(a_count, a_buckets, a_ci)?;
                }
                // Advance b.
                if b_inter.num > 0 {
                    b_inserts.push(b_inter);
                    b_inter.num = 0;
                }
                b_idx = bi.next();
                b_inter.pos += 1;
                b_ci += 1;
                if b_idx.is_some() {
                    b_count = next_count(b_count, b_buckets, b_ci)?;
                }
            }
            (Some(x), other) if other.is_none_or(|y| x < y) => {
                if a_count != V::default() {
                    return None;
                }
                add_insert(&mut b_inserts, &mut b_inter, x);
                if a_inter.num > 0 {
                    a_inserts.push(a_inter);
                    a_inter.num = 0;
                }
                a_idx = ai.next();
                a_inter.pos += 1;
                a_ci += 1;
                if a_idx.is_some() {
                    a_count = next_count(a_count, a_buckets, a_ci)?;
                }
            }
            (_, Some(y)) => {
                add_insert(&mut a_inserts, &mut a_inter, y);
                if b_inter.num > 0 {
                    b_inserts.push(b_inter);
                    b_inter.num = 0;
                }
                b_idx = bi.next();
                b_inter.pos += 1;
                b_ci += 1;
                if b_idx.is_some() {
                    b_count = next_count(b_count, b_buckets, b_ci)?;
                }
            }
            (None, None) => {
                if a_inter.num > 0 {
                    a_inserts.push(a_inter);
                }
                if b_inter.num > 0 {
                    b_inserts.push(b_inter);
                }
                return Some((a_inserts, b_inserts));
            }
            _ => unreachable!("all cases covered above"),
        }
    }
}

/// Prometheus' `insert`: `input` with the empty buckets of `inserts` added (as deltas when
/// `deltas`), into a vector of length `out_len`.
pub(crate) fn insert<V: BucketValue>(
    input: &[V],
    out_len: usize,
    inserts: &[Insert],
    deltas: bool,
) -> Vec<V> {
    let mut out = Vec::with_capacity(out_len);
    let mut v = V::default();
    let mut ii = 0;
    for (i, &d) in input.iter().enumerate() {
        if ii >= inserts.len() || i != inserts[ii].pos {
            out.push(d);
            v = v + d;
            continue;
        }
        let mut first = true;
        while ii < inserts.len() && i == inserts[ii].pos {
            if deltas && first {
                out.push(-v);
                first = false;
            } else {
                out.push(V::default());
            }
            for _ in 1..inserts[ii].num {
                out.push(V::default());
            }
            ii += 1;
        }
        out.push(if deltas { d + v } else { d });
        v = v + d;
    }
    while ii < inserts.len() {
        out.push(if deltas { -v } else { V::default() });
        for _ in 1..inserts[ii].num {
            out.push(V::default());
        }
        ii += 1;
        v = V::default();
    }
    out
}

/// Prometheus' `adjustForInserts`: `spans` widened by the buckets of `inserts`.
pub(crate) fn adjust_for_inserts(spans: &[Span], inserts: &[Insert]) -> Vec<Span> {
    if inserts.is_empty() {
        return spans.to_vec();
    }
    let mut merged = Vec::new();
    let mut last = 0i64;
    let mut i = 0;
    let (mut ins_idx, mut ins_num) = (inserts[0].bucket_idx, inserts[0].num);
    let consume = |i: &mut usize, idx: &mut i64, num: &mut usize| {
        *num -= 1;
        if *num == 0 {
            *i += 1;
            if let Some(n) = inserts.get(*i) {
                *idx = n.bucket_idx;
                *num = n.num;
            }
        } else {
            *idx += 1;
        }
    };
    let mut it = BucketIndexes::new(spans);
    let mut bucket = it.next();
    while let Some(b) = bucket {
        if i < inserts.len() && ins_idx < b {
            add_bucket(&mut merged, &mut last, ins_idx);
            consume(&mut i, &mut ins_idx, &mut ins_num);
        } else {
            add_bucket(&mut merged, &mut last, b);
            bucket = it.next();
        }
    }
    while i < inserts.len() {
        add_bucket(&mut merged, &mut last, ins_idx);
        consume(&mut i, &mut ins_idx, &mut ins_num);
    }
    merged
}
