//! The histogram operations the engine uses, in one place: thin calls into the model's
//! `FloatHistogram` arithmetic (issue #18), with the outcome flags and error kinds the engine
//! turns into annotations.

use bongsu_model::histogram::{AddOutcome, Bucket, HistogramError, HistogramErrorKind};
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
    Other,
}

/// One bucket of a histogram, as the quantile and variance estimates read it.
pub(crate) type HBucket = Bucket<f64>;

fn op_error(e: HistogramError) -> OpError {
    match e.kind() {
        Some(HistogramErrorKind::IncompatibleSchema) => OpError::IncompatibleSchema,
        _ => OpError::Other,
    }
}

fn outcome(o: AddOutcome) -> Outcome {
    Outcome {
        counter_reset_collision: o.counter_reset_collision,
        nhcb_bounds_reconciled: o.nhcb_bounds_reconciled,
    }
}

/// `a += b`.
pub(crate) fn add(a: &mut FloatHistogram, b: &FloatHistogram) -> Result<Outcome, OpError> {
    a.add(b).map(outcome).map_err(op_error)
}

/// `a -= b`.
pub(crate) fn sub(a: &mut FloatHistogram, b: &FloatHistogram) -> Result<Outcome, OpError> {
    a.sub(b).map(outcome).map_err(op_error)
}

/// Removes empty buckets and merges spans, as upstream's `Compact(0)`.
pub(crate) fn compact(a: &mut FloatHistogram) {
    a.compact(0);
}

/// Whether `cur` is a counter reset after `prev`.
pub(crate) fn detect_reset(cur: &FloatHistogram, prev: &FloatHistogram) -> bool {
    cur.detect_reset(prev)
}

/// Upstream's `Equals`.
pub(crate) fn equals(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    a.equals(b)
}

/// All buckets in ascending order (negative, zero when populated, positive).
pub(crate) fn buckets(h: &FloatHistogram) -> Vec<HBucket> {
    h.all_buckets().collect()
}

/// A copy reduced to `schema` when that is lower (upstream's `CopyToSchema`).
pub(crate) fn copy_to_schema(h: &FloatHistogram, schema: i32) -> FloatHistogram {
    h.copy_to_schema(schema).unwrap_or_else(|_| h.clone())
}

/// `a += b` with Kahan summation; `c` carries the compensation (see [`kahan_finish`]).
pub(crate) fn kahan_add(
    a: &mut FloatHistogram,
    b: &FloatHistogram,
    c: &mut Option<FloatHistogram>,
) -> Result<Outcome, OpError> {
    let (nc, o) = a.kahan_add(b, c.take()).map_err(op_error)?;
    *c = Some(nc);
    Ok(outcome(o))
}

/// The compensated sum: `a` plus the compensation `c` divided by `div` (the count, for a mean).
pub(crate) fn kahan_finish(a: &mut FloatHistogram, c: Option<FloatHistogram>, div: Option<f64>) {
    if let Some(n) = div {
        a.div(n);
    }
    if let Some(mut c) = c {
        if let Some(n) = div {
            c.div(n);
        }
        // The compensation has the sum's layout: adding it cannot fail.
        let _ = a.add(&c);
    }
}

/// A running mean of histograms as upstream's `avg` and `avg_over_time`: a compensated sum
/// divided at the end, or, once that sum would overflow, an incremental mean.
#[derive(Clone)]
pub(crate) struct HistMean {
    sum: FloatHistogram,
    c: Option<FloatHistogram>,
    count: f64,
    /// Set once the sum overflowed.
    mean: Option<FloatHistogram>,
    /// Custom-bucket histograms with different bounds were combined.
    pub reconciled: bool,
}

impl HistMean {
    pub fn new(h: &FloatHistogram) -> HistMean {
        HistMean {
            sum: h.clone(),
            c: None,
            count: 1.0,
            mean: None,
            reconciled: false,
        }
    }

    pub fn push(&mut self, h: &FloatHistogram) -> Result<(), OpError> {
        self.count += 1.0;
        let n = self.count;
        if self.mean.is_none() {
            let mut sum = self.sum.clone();
            let mut c = self.c.clone();
            self.reconciled |= kahan_add(&mut sum, h, &mut c)?.nhcb_bounds_reconciled;
            if !sum.has_overflow() {
                (self.sum, self.c) = (sum, c);
                return Ok(());
            }
            let mut mean = self.sum.clone();
            mean.div(n - 1.0);
            self.mean = Some(mean);
            if let Some(c) = &mut self.c {
                c.div(n - 1.0);
            }
        }
        let q = (n - 1.0) / n;
        if let Some(c) = &mut self.c {
            c.mul(q);
        }
        let mut to_add = h.clone();
        to_add.div(n);
        if let Some(mean) = &mut self.mean {
            mean.mul(q);
            self.reconciled |= kahan_add(mean, &to_add, &mut self.c)?.nhcb_bounds_reconciled;
        }
        Ok(())
    }

    pub fn finish(self) -> FloatHistogram {
        match self.mean {
            Some(mut mean) => {
                if let Some(c) = self.c {
                    let _ = mean.add(&c);
                }
                mean
            }
            None => {
                let mut sum = self.sum;
                kahan_finish(&mut sum, self.c, Some(self.count));
                sum
            }
        }
    }
}
