//! Float arithmetic whose exact results are part of PromQL's semantics: the mean that
//! `avg` and `avg_over_time` share, the ordering `quantile` sorts by, and Go's `almost.Equal`.
//! Everything here is pure; evaluation lives elsewhere.

use std::cmp::Ordering;

use super::eval::kahan_inc;

/// A running mean as Prometheus computes it: a compensated sum divided at the end, switching
/// to an incremental mean once the sum would overflow (so the mean of two values near
/// `f64::MAX` is not infinite).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Mean {
    count: f64,
    sum: f64,
    c: f64,
    mean: f64,
    incremental: bool,
}

impl Mean {
    pub fn push(&mut self, v: f64) {
        self.count += 1.0;
        if self.count == 1.0 {
            self.sum = v;
            return;
        }
        if !self.incremental {
            let (sum, c) = kahan_inc(v, self.sum, self.c);
            if !sum.is_infinite() {
                (self.sum, self.c) = (sum, c);
                return;
            }
            self.incremental = true;
            self.mean = self.sum / (self.count - 1.0);
            self.c /= self.count - 1.0;
        }
        let q = (self.count - 1.0) / self.count;
        (self.mean, self.c) = kahan_inc(v / self.count, q * self.mean, q * self.c);
    }

    pub fn value(&self) -> f64 {
        if self.incremental {
            self.mean + self.c
        } else {
            self.sum / self.count + self.c / self.count
        }
    }
}

/// The order `quantile`, `quantile_over_time` and `mad_over_time` sort values in: NaN below
/// every number, so a NaN among the inputs pulls low quantiles to NaN and leaves high ones.
pub(super) fn nan_first(a: &f64, b: &f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// Go's `almost.Equal`: equal, or within relative tolerance `eps` (NaNs are equal).
pub(super) fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    let diff = (a - b).abs();
    let sum = a.abs() + b.abs();
    if a == 0.0 || b == 0.0 || sum < f64::MIN_POSITIVE {
        return diff < eps * f64::MIN_POSITIVE;
    }
    diff / sum.min(f64::MAX) < eps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean(vs: &[f64]) -> f64 {
        let mut m = Mean::default();
        vs.iter().for_each(|&v| m.push(v));
        m.value()
    }

    #[test]
    fn mean_does_not_overflow_near_max() {
        let big = f64::MAX * 0.9;
        assert!((mean(&[big, big, big]) - big).abs() / big < 1e-12);
        assert_eq!(mean(&[big, -big]), 0.0);
        assert!(mean(&[f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        assert_eq!(mean(&[f64::INFINITY, 1.0]), f64::INFINITY);
    }

    #[test]
    fn mean_is_compensated() {
        assert_eq!(mean(&[1e100, 1.0, -1e100, 1.0]), 0.5);
    }

    #[test]
    fn nan_sorts_first() {
        let mut v = [2.0, f64::NAN, -1.0];
        v.sort_by(nan_first);
        assert!(v[0].is_nan());
        assert_eq!(&v[1..], &[-1.0, 2.0]);
    }

    #[test]
    fn almost_equal_is_relative() {
        assert!(almost_equal(1.0, 1.0 + 1e-13, 1e-12));
        assert!(!almost_equal(1.0, 1.0 + 1e-11, 1e-12));
        assert!(!almost_equal(0.0, 1e-300, 1e-12));
    }
}
