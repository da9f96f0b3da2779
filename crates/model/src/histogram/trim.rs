//! PromQL's trim operators on histograms (`h </ x` keeps observations below `x`, `h >/ x`
//! those above), as upstream's `TrimBuckets`: buckets wholly on the wrong side are emptied,
//! a bucket containing `x` keeps an interpolated share (linear for custom and zero buckets,
//! logarithmic for exponential ones), and count and sum are re-estimated from bucket
//! midpoints when anything was cut.

use super::buckets::Bucket;
use super::FloatHistogram;

impl FloatHistogram {
    /// Trims in place (`upper`: drop observations above `rhs`; else below) and compacts;
    /// returns `self`. Trim a copy to keep the original.
    pub fn trim_buckets(&mut self, rhs: f64, upper: bool) -> &mut Self {
        let custom = self.uses_custom_buckets();
        let mut updated_count = 0.0;
        let mut updated_sum = 0.0;
        let mut trimmed = false;
        let mut has_side = [false, false];
        for (side, positive) in [(0usize, true), (1usize, false)] {
            let buckets: Vec<Bucket<f64>> = if positive {
                self.positive_buckets_iter().collect()
            } else {
                self.negative_buckets_iter().collect()
            };
            for (i, b) in buckets.iter().enumerate() {
                if b.count == 0.0 {
                    continue;
                }
                has_side[side] = true;
                let (keep_all, cut) = if upper {
                    (b.upper <= rhs, b.lower < rhs)
                } else {
                    (b.lower >= rhs, b.upper > rhs)
                };
                let slot = if positive {
                    &mut self.positive_buckets[i]
                } else {
                    &mut self.negative_buckets[i]
                };
                if keep_all {
                    updated_count += b.count;
                    updated_sum += midpoint(b.lower, b.upper, positive, custom) * b.count;
                } else if cut {
                    let (keep, mid) = bucket_trim(b, rhs, upper, positive, custom);
                    updated_count += keep;
                    updated_sum += mid * keep;
                    if *slot != keep {
                        *slot = keep;
                        trimmed = true;
                    }
                } else {
                    *slot = 0.0;
                    trimmed = true;
                }
            }
        }
        if self.zero_count > 0.0 {
            let (keep, mid) =
                zero_bucket_trim(self.zero_bucket(), rhs, has_side[1], has_side[0], upper);
            if self.zero_count != keep {
                self.zero_count = keep;
                trimmed = true;
            }
            updated_sum += mid * keep;
            updated_count += keep;
        }
        if trimmed {
            self.count = updated_count;
            self.sum = updated_sum;
            self.compact(0);
        }
        self
    }

    /// Upstream's `Size()`: the bytes a FloatHistogram takes in Go (struct plus slices); PromQL
    /// counts a histogram as `size / 16` samples against its limits.
    pub fn size(&self) -> usize {
        168 + 8
            * (self.positive_spans.len()
                + self.negative_spans.len()
                + self.positive_buckets.len()
                + self.negative_buckets.len()
                + self.custom_values.len())
    }
}

/// The kept count and its midpoint for a bucket with an infinite bound.
fn infinity_bucket_trim(upper: bool, b: &Bucket<f64>, rhs: f64) -> (f64, f64) {
    let zero_if_inf = |x: f64| if x.is_infinite() { 0.0 } else { x };
    if b.lower == f64::NEG_INFINITY {
        if upper {
            if rhs >= b.upper {
                return (b.count, 0.0);
            }
            if rhs > 0.0 && b.upper > 0.0 && b.upper != f64::INFINITY {
                // Only with custom buckets: treat the lower bound as 0, interpolate linearly.
                return (b.count * rhs / b.upper, rhs / 2.0);
            }
            if b.upper <= 0.0 {
                return (b.count, rhs);
            }
            return (0.0, zero_if_inf(b.upper));
        }
        if rhs <= b.lower {
            return (b.count, 0.0);
        }
        if rhs >= 0.0 && b.upper > rhs && b.upper != f64::INFINITY {
            return (b.count * (1.0 - rhs / b.upper), (rhs + b.upper) / 2.0);
        }
        return (0.0, zero_if_inf(b.upper));
    }
    // Upper bound +Inf.
    if upper {
        return (0.0, zero_if_inf(b.lower));
    }
    if rhs >= b.lower {
        return (b.count, rhs);
    }
    (0.0, zero_if_inf(b.lower))
}

/// The share of the bucket's count at or below `rhs`.
fn split(b: &Bucket<f64>, rhs: f64, linear: bool) -> f64 {
    if rhs <= b.lower {
        return 0.0;
    }
    if rhs >= b.upper {
        return b.count;
    }
    b.count * b.fraction_below(rhs, linear)
}

fn zero_bucket_trim(
    z: Bucket<f64>,
    rhs: f64,
    has_negative: bool,
    has_positive: bool,
    upper: bool,
) -> (f64, f64) {
    let mut lower = z.lower;
    let mut up = z.upper;
    if has_negative && !has_positive {
        up = 0.0;
    }
    if has_positive && !has_negative {
        lower = 0.0;
    }
    let (fraction, mid) = if upper {
        if rhs <= lower {
            return (0.0, 0.0);
        }
        if rhs >= up {
            return (z.count, (lower + up) / 2.0);
        }
        ((rhs - lower) / (up - lower), (lower + rhs) / 2.0)
    } else {
        if rhs <= lower {
            return (z.count, (lower + up) / 2.0);
        }
        if rhs >= up {
            return (0.0, 0.0);
        }
        ((up - rhs) / (up - lower), (rhs + up) / 2.0)
    };
    (z.count * fraction, mid)
}

fn bucket_trim(b: &Bucket<f64>, rhs: f64, upper: bool, positive: bool, custom: bool) -> (f64, f64) {
    if b.lower == f64::NEG_INFINITY || b.upper == f64::INFINITY {
        return infinity_bucket_trim(upper, b, rhs);
    }
    let under = split(b, rhs, custom);
    if upper {
        (under, midpoint(b.lower, rhs, positive, custom))
    } else {
        (b.count - under, midpoint(rhs, b.upper, positive, custom))
    }
}

/// The representative value of the surviving interval: arithmetic mean when linear, else
/// the geometric mean (signed by the side).
fn midpoint(lower: f64, upper: f64, positive: bool, linear: bool) -> f64 {
    if lower.is_infinite() {
        if upper.is_infinite() {
            return 0.0;
        }
        if upper > 0.0 {
            return upper / 2.0;
        }
        return upper;
    }
    if upper.is_infinite() {
        return lower;
    }
    if linear {
        return (lower + upper) / 2.0;
    }
    let g = (lower * upper).abs().sqrt();
    if positive {
        g
    } else {
        -g
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Span, CUSTOM_BUCKETS_SCHEMA};
    use super::*;

    fn hist() -> FloatHistogram {
        FloatHistogram {
            count: 30.0,
            sum: 100.0,
            positive_spans: vec![Span {
                offset: 0,
                length: 4,
            }],
            positive_buckets: vec![5.0, 5.0, 10.0, 10.0], // Upper bounds 1, 2, 4, 8.
            ..FloatHistogram::default()
        }
    }

    #[test]
    fn trims_in_place() {
        let mut h = hist();
        h.trim_buckets(4.0, true);
        assert_ne!(h, hist());
        assert_eq!(h.positive_buckets, vec![5.0, 5.0, 10.0]);
        assert_eq!(h.count, 20.0);
        // Midpoints: sqrt(0.5), sqrt(2), sqrt(8) (geometric).
        let want = 0.5f64.sqrt() * 5.0 + 2f64.sqrt() * 5.0 + 8f64.sqrt() * 10.0;
        assert!((h.sum - want).abs() < 1e-9, "{}", h.sum);

        let mut h = hist();
        h.trim_buckets(3.0, false);
        // (2,4] keeps the log-share above 3.
        let share = 10.0 * (1.0 - (3f64.log2() - 1.0));
        assert!((h.positive_buckets[0] - share).abs() < 1e-9);
        assert_eq!(h.positive_buckets.len(), 2);
        assert_eq!(
            h.positive_spans,
            vec![Span {
                offset: 2,
                length: 2
            }]
        );

        // Nothing cut: unchanged.
        let mut h = hist();
        h.trim_buckets(100.0, true);
        assert_eq!(h, hist());
    }

    #[test]
    fn trims_custom_buckets_linearly() {
        let mut h = FloatHistogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count: 10.0,
            sum: 20.0,
            positive_spans: vec![Span {
                offset: 0,
                length: 3,
            }],
            positive_buckets: vec![2.0, 4.0, 4.0],
            custom_values: vec![1.0, 5.0],
            ..FloatHistogram::default()
        };
        h.trim_buckets(3.0, true);
        // [-Inf,1]: all 2 kept (midpoint 0.5); (1,5]: half of 4 kept, midpoint 2; +Inf dropped.
        assert_eq!(h.positive_buckets, vec![2.0, 2.0]);
        assert_eq!(h.count, 4.0);
        assert_eq!(h.sum, 0.5 * 2.0 + 2.0 * 2.0);
    }

    #[test]
    fn size_as_upstream() {
        assert_eq!(hist().size(), 168 + 8 * 5);
    }
}
