//! Classic histograms (cumulative `_bucket{le=…}` series with `_count` and `_sum`) to native
//! histograms with custom buckets (NHCB), as upstream's `util/convertnhcb`, and back
//! (upstream's `ConvertNHCBToClassic`, numbers only: callers build the series' labels).
//!
//! [`ClassicHistogramBuilder`] collects one classic histogram's samples in any order (a
//! scrape or a `load_with_nhcb` block sees them one at a time); [`from_classic`] converts a
//! complete one in one call.

use std::sync::Arc;

use super::fmt::go_g;
use super::validate::HistogramError;
use super::{FloatHistogram, Histogram, HistogramValue, Span, CUSTOM_BUCKETS_SCHEMA};

/// A classic histogram being collected: buckets sorted by `le`, count and sum. The first
/// error sticks: later calls return it again.
#[derive(Debug, Clone, Default)]
pub struct ClassicHistogramBuilder {
    buckets: Vec<(f64, f64)>,
    count: f64,
    sum: f64,
    has_count: bool,
    err: Option<HistogramError>,
}

fn conversion(msg: String) -> HistogramError {
    HistogramError::Conversion(msg)
}

impl ClassicHistogramBuilder {
    pub fn new() -> ClassicHistogramBuilder {
        ClassicHistogramBuilder::default()
    }

    /// Forgets everything collected, to start the next histogram.
    pub fn reset(&mut self) {
        self.buckets.clear();
        self.count = 0.0;
        self.sum = 0.0;
        self.has_count = false;
        self.err = None;
    }

    /// The error that stopped the collection, if any.
    pub fn err(&self) -> Option<&HistogramError> {
        self.err.as_ref()
    }

    fn fail(&mut self, e: HistogramError) -> Result<(), HistogramError> {
        self.err = Some(e.clone());
        Err(e)
    }

    /// Records the cumulative `count` of the bucket with upper bound `le`. A repeated `le` is
    /// ignored; counts must not decrease with `le`.
    pub fn set_bucket_count(&mut self, le: f64, count: f64) -> Result<(), HistogramError> {
        if let Some(e) = &self.err {
            return Err(e.clone());
        }
        if le.is_nan() {
            return self.fail(conversion("bucket boundary must not be NaN".into()));
        }
        if count < 0.0 {
            return self.fail(conversion(format!(
                "bucket count must be non-negative: le={}, count={}",
                go_g(le),
                go_g(count)
            )));
        }
        let Some(&(last_le, last_count)) = self.buckets.last() else {
            self.buckets.push((le, count));
            return Ok(());
        };
        if last_le < le {
            if count < last_count {
                return self.fail(not_cumulative(count, '<', last_count));
            }
            self.buckets.push((le, count));
            return Ok(());
        }
        if last_le == le {
            return Ok(());
        }
        let i = self.buckets.partition_point(|b| b.0 < le);
        if self.buckets[i].0 == le {
            return Ok(());
        }
        if i > 0 && count < self.buckets[i - 1].1 {
            return self.fail(not_cumulative(count, '<', self.buckets[i - 1].1));
        }
        if count > self.buckets[i].1 {
            return self.fail(not_cumulative(count, '>', self.buckets[i].1));
        }
        self.buckets.insert(i, (le, count));
        Ok(())
    }

    /// Records `_count`.
    pub fn set_count(&mut self, count: f64) -> Result<(), HistogramError> {
        if let Some(e) = &self.err {
            return Err(e.clone());
        }
        if count < 0.0 {
            return self.fail(conversion(format!(
                "count must be non-negative: count={}",
                go_g(count)
            )));
        }
        self.count = count;
        self.has_count = true;
        Ok(())
    }

    /// Records `_sum`.
    pub fn set_sum(&mut self, sum: f64) -> Result<(), HistogramError> {
        if let Some(e) = &self.err {
            return Err(e.clone());
        }
        self.sum = sum;
        Ok(())
    }

    /// The NHCB: an integer histogram when every count is integral, else a float one. Without
    /// `_count`, the highest bucket's count is used; without a `+Inf` bucket, one with the
    /// count is added. The count must equal the `+Inf` bucket's.
    pub fn convert(&self) -> Result<HistogramValue, HistogramError> {
        if let Some(e) = &self.err {
            return Err(e.clone());
        }
        let mut buckets = self.buckets.clone();
        let mut count = self.count;
        if !self.has_count {
            if let Some(&(_, c)) = buckets.last() {
                count = c;
            }
        }
        if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
            buckets.push((f64::INFINITY, count));
        }
        let integral = |v: f64| v == (v.round() as i64) as f64;
        if buckets.iter().all(|b| integral(b.1)) && count == (count.round() as u64) as f64 {
            return self
                .to_int(&buckets, count.round() as u64)
                .map(|h| HistogramValue::Int(Arc::new(h)));
        }
        self.to_float(&buckets, count)
            .map(|h| HistogramValue::Float(Arc::new(h)))
    }

    fn to_int(&self, buckets: &[(f64, f64)], count: u64) -> Result<Histogram, HistogramError> {
        let mut h = Histogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count,
            sum: self.sum,
            positive_spans: vec![Span {
                offset: 0,
                length: buckets.len() as u32,
            }],
            positive_buckets: Vec::with_capacity(buckets.len()),
            custom_values: bounds(buckets),
            ..Histogram::default()
        };
        let (mut prev_count, mut prev_delta) = (0i64, 0i64);
        for &(_, c) in buckets {
            let delta = (c as i64).wrapping_sub(prev_count);
            h.positive_buckets.push(delta.wrapping_sub(prev_delta));
            prev_count = c as i64;
            prev_delta = delta;
        }
        let &(last_le, last_count) = buckets.last().unwrap_or(&(f64::INFINITY, 0.0));
        if count != last_count as u64 {
            return Err(conversion(format!(
                "count mismatch: count={count} != le={} count={}",
                go_g(last_le),
                go_g(last_count)
            )));
        }
        h.compact(2);
        Ok(h)
    }

    fn to_float(
        &self,
        buckets: &[(f64, f64)],
        count: f64,
    ) -> Result<FloatHistogram, HistogramError> {
        let mut h = FloatHistogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count,
            sum: self.sum,
            positive_spans: vec![Span {
                offset: 0,
                length: buckets.len() as u32,
            }],
            positive_buckets: Vec::with_capacity(buckets.len()),
            custom_values: bounds(buckets),
            ..FloatHistogram::default()
        };
        let mut prev = 0.0;
        for &(_, c) in buckets {
            h.positive_buckets.push(c - prev);
            prev = c;
        }
        let &(last_le, last_count) = buckets.last().unwrap_or(&(f64::INFINITY, 0.0));
        if count != last_count {
            return Err(conversion(format!(
                "count mismatch: count={} != le={} count={}",
                go_g(count),
                go_g(last_le),
                go_g(last_count)
            )));
        }
        h.compact(0);
        Ok(h)
    }
}

/// The custom bounds: every `le` but the final +Inf.
fn bounds(buckets: &[(f64, f64)]) -> Vec<f64> {
    buckets[..buckets.len().saturating_sub(1)]
        .iter()
        .map(|b| b.0)
        .collect()
}

fn not_cumulative(count: f64, op: char, other: f64) -> HistogramError {
    conversion(format!(
        "count is not cumulative: {} {op} {}",
        go_g(count),
        go_g(other)
    ))
}

/// Converts a complete classic histogram: `(le, cumulative count)` pairs in any order,
/// `_count` and `_sum`. The result is upstream's NHCB (integer when all counts are integral,
/// see [`from_classic_value`]) as the query engine sees it: float counts.
pub fn from_classic(
    buckets: &[(f64, f64)],
    count: f64,
    sum: f64,
) -> Result<FloatHistogram, HistogramError> {
    from_classic_value(buckets, count, sum).map(|v| v.to_float())
}

/// As [`from_classic`], keeping the kind upstream stores: [`HistogramValue::Int`] when every
/// count is integral, else [`HistogramValue::Float`] (what a scrape appends).
pub fn from_classic_value(
    buckets: &[(f64, f64)],
    count: f64,
    sum: f64,
) -> Result<HistogramValue, HistogramError> {
    let mut b = ClassicHistogramBuilder::new();
    for &(le, c) in buckets {
        b.set_bucket_count(le, c)?;
    }
    b.set_count(count)?;
    b.set_sum(sum)?;
    b.convert()
}

/// A classic histogram's numbers, from an NHCB.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassicHistogram {
    /// `(le, cumulative count)` for every custom bound, then `(+Inf, total in buckets)`.
    pub buckets: Vec<(f64, f64)>,
    pub count: f64,
    pub sum: f64,
}

impl FloatHistogram {
    /// The classic histogram of a valid NHCB (upstream's `ConvertNHCBToClassic`; the caller
    /// names the series `<name>_bucket{le=…}`, `<name>_count`, `<name>_sum`).
    pub fn to_classic(&self) -> Result<ClassicHistogram, HistogramError> {
        if !self.uses_custom_buckets() {
            return Err(HistogramError::Unsupported(
                "unsupported histogram schema, not a NHCB".into(),
            ));
        }
        self.validate()?;
        let mut per_bucket = vec![0.0; self.custom_values.len() + 1];
        let mut idx = 0usize;
        let mut curr = 0usize;
        for span in &self.positive_spans {
            idx += span.offset.max(0) as usize;
            for _ in 0..span.length {
                if let (Some(slot), Some(v)) =
                    (per_bucket.get_mut(idx), self.positive_buckets.get(curr))
                {
                    *slot = *v;
                }
                idx += 1;
                curr += 1;
            }
        }
        let mut buckets = Vec::with_capacity(per_bucket.len());
        let mut cum = 0.0;
        for (i, le) in self.custom_values.iter().enumerate() {
            cum += per_bucket[i];
            buckets.push((*le, cum));
        }
        cum += per_bucket[per_bucket.len() - 1];
        buckets.push((f64::INFINITY, cum));
        Ok(ClassicHistogram {
            buckets,
            count: self.count,
            sum: self.sum,
        })
    }
}

impl Histogram {
    /// As [`FloatHistogram::to_classic`].
    pub fn to_classic(&self) -> Result<ClassicHistogram, HistogramError> {
        if !self.uses_custom_buckets() {
            return Err(HistogramError::Unsupported(
                "unsupported histogram schema, not a NHCB".into(),
            ));
        }
        self.validate()?;
        self.to_float().to_classic()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(v: HistogramValue) -> Histogram {
        match v {
            HistogramValue::Int(h) => (*h).clone(),
            HistogramValue::Float(h) => panic!("float: {h:?}"),
        }
    }

    fn float(v: HistogramValue) -> FloatHistogram {
        match v {
            HistogramValue::Float(h) => (*h).clone(),
            HistogramValue::Int(h) => panic!("int: {h:?}"),
        }
    }

    fn nhcb_int(
        count: u64,
        sum: f64,
        spans: Vec<Span>,
        buckets: Vec<i64>,
        bounds: Vec<f64>,
    ) -> Histogram {
        Histogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count,
            sum,
            positive_spans: spans,
            positive_buckets: buckets,
            custom_values: bounds,
            ..Histogram::default()
        }
    }

    fn one_span(n: u32) -> Vec<Span> {
        vec![Span {
            offset: 0,
            length: n,
        }]
    }

    // Upstream's TestNHCBConvert cases.
    #[test]
    fn converts_as_upstream() {
        let b = ClassicHistogramBuilder::new();
        assert_eq!(
            int(b.convert().unwrap()),
            nhcb_int(0, 0.0, vec![], vec![], vec![])
        );

        let mut b = ClassicHistogramBuilder::new();
        b.set_sum(1000.25).unwrap();
        assert_eq!(
            int(b.convert().unwrap()),
            nhcb_int(0, 1000.25, vec![], vec![], vec![])
        );

        b.set_bucket_count(0.5, 1000.0).unwrap();
        let h = int(b.convert().unwrap());
        assert_eq!(
            h,
            nhcb_int(1000, 1000.25, one_span(1), vec![1000], vec![0.5])
        );
        assert!(h.validate().is_ok());

        let mut b = ClassicHistogramBuilder::new();
        b.set_sum(1000.25).unwrap();
        b.set_bucket_count(0.5, 1337.42).unwrap();
        let h = float(b.convert().unwrap());
        assert_eq!(h.count, 1337.42);
        assert_eq!(h.positive_spans, one_span(1));
        assert_eq!(h.positive_buckets, vec![1337.42]);
        assert_eq!(h.custom_values, vec![0.5]);

        let want = nhcb_int(
            1000,
            1000.25,
            one_span(3),
            vec![50, 850, -850],
            vec![0.5, 1.0],
        );
        let mut b = ClassicHistogramBuilder::new();
        b.set_count(1000.0).unwrap();
        b.set_sum(1000.25).unwrap();
        b.set_bucket_count(0.5, 50.0).unwrap();
        b.set_bucket_count(1.0, 950.0).unwrap();
        b.set_bucket_count(f64::INFINITY, 1000.0).unwrap();
        assert_eq!(int(b.convert().unwrap()), want);

        // Mixed order.
        let mut b = ClassicHistogramBuilder::new();
        b.set_bucket_count(0.5, 50.0).unwrap();
        b.set_bucket_count(f64::INFINITY, 1000.0).unwrap();
        b.set_bucket_count(1.0, 950.0).unwrap();
        b.set_count(1000.0).unwrap();
        b.set_sum(1000.25).unwrap();
        assert_eq!(int(b.convert().unwrap()), want);

        let mut b = ClassicHistogramBuilder::new();
        b.set_count(1000.0).unwrap();
        b.set_sum(1000.25).unwrap();
        b.set_bucket_count(0.5, 50.0).unwrap();
        b.set_bucket_count(1.0, 950.5).unwrap();
        b.set_bucket_count(f64::INFINITY, 1000.0).unwrap();
        let h = float(b.convert().unwrap());
        assert_eq!(h.positive_buckets, vec![50.0, 900.5, 49.5]);
        assert_eq!(h.custom_values, vec![0.5, 1.0]);
        assert!(h.validate().is_ok());
    }

    #[test]
    fn rejects_as_upstream() {
        let mut b = ClassicHistogramBuilder::new();
        b.set_bucket_count(0.5, 50.0).unwrap();
        b.set_bucket_count(1.0, 950.0).unwrap();
        let e = b.set_bucket_count(f64::INFINITY, 900.0).unwrap_err();
        assert_eq!(e.to_string(), "count is not cumulative: 900 < 950");
        assert_eq!(b.convert().unwrap_err(), e);

        let mut b = ClassicHistogramBuilder::new();
        assert_eq!(
            b.set_count(-1000.0).unwrap_err().to_string(),
            "count must be non-negative: count=-1000"
        );
        let mut b = ClassicHistogramBuilder::new();
        b.set_bucket_count(1.0, 5.0).unwrap();
        assert_eq!(
            b.set_bucket_count(f64::NAN, 10.0).unwrap_err().to_string(),
            "bucket boundary must not be NaN"
        );
        let mut b = ClassicHistogramBuilder::new();
        b.set_bucket_count(1.0, 5.0).unwrap();
        b.set_bucket_count(3.0, 7.0).unwrap();
        assert_eq!(
            b.set_bucket_count(2.0, 8.0).unwrap_err().to_string(),
            "count is not cumulative: 8 > 7"
        );
        assert_eq!(
            from_classic(&[(1.0, 5.0), (f64::INFINITY, 6.0)], 7.0, 1.0)
                .unwrap_err()
                .to_string(),
            "count mismatch: count=7 != le=+Inf count=6"
        );
        assert_eq!(
            from_classic(&[(1.0, -1.0)], 7.0, 1.0)
                .unwrap_err()
                .to_string(),
            "bucket count must be non-negative: le=1, count=-1"
        );
    }

    #[test]
    fn from_classic_and_back() {
        let buckets = [(0.1, 1.0), (0.5, 1.0), (1.0, 4.0), (f64::INFINITY, 6.0)];
        let h = from_classic(&buckets, 6.0, 3.5).unwrap();
        assert_eq!(h.custom_values, vec![0.1, 0.5, 1.0]);
        assert_eq!(h.count, 6.0);
        let c = h.to_classic().unwrap();
        assert_eq!(c.buckets, buckets.to_vec());
        assert_eq!((c.count, c.sum), (6.0, 3.5));
        assert!(matches!(
            from_classic_value(&buckets, 6.0, 3.5).unwrap(),
            HistogramValue::Int(_)
        ));
        let HistogramValue::Int(ih) = from_classic_value(&buckets, 6.0, 3.5).unwrap() else {
            unreachable!()
        };
        assert_eq!(ih.to_classic().unwrap(), c);
        assert!(FloatHistogram::default().to_classic().is_err());
    }
}
