//! [`Scale`]: a robust running estimate of a model's typical error, for its band.

/// The ratio of a normal distribution's standard deviation to its mean absolute deviation.
const SIGMA_PER_MAE: f64 = 1.253_314_137_315_500_3;

/// Errors larger than this many current scales are clipped before they are learnt, so one
/// anomaly does not widen the band for the anomalies after it.
const CLIP: f64 = 4.0;

/// An exponentially weighted mean absolute error, clipped, reported as a standard deviation.
#[derive(Debug, Clone)]
pub struct Scale {
    mae: f64,
    alpha: f64,
    seen: usize,
}

impl Scale {
    /// `alpha` is the weight of each new error (e.g. 2 / (N + 1) for an N-value memory).
    pub fn new(alpha: f64) -> Scale {
        Scale {
            mae: 0.0,
            alpha,
            seen: 0,
        }
    }

    /// The current estimate as a standard deviation (0 before any error is learnt).
    pub fn sigma(&self) -> f64 {
        self.mae * SIGMA_PER_MAE
    }

    /// Errors learnt so far.
    pub fn seen(&self) -> usize {
        self.seen
    }

    /// Learns one error (`y − yhat`).
    pub fn learn(&mut self, err: f64) {
        let mut e = err.abs();
        if !e.is_finite() {
            return;
        }
        if self.seen > 0 && self.mae > 0.0 {
            e = e.min(CLIP * self.mae);
        }
        // The first errors are averaged plainly, so the estimate does not start near zero.
        let w = self.alpha.max(1.0 / (self.seen + 1) as f64);
        self.mae += w * (e - self.mae);
        self.seen += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_outlier_does_not_blow_up_the_scale() {
        let mut s = Scale::new(0.05);
        for i in 0..100 {
            s.learn(if i % 2 == 0 { 1.0 } else { -1.0 });
        }
        let before = s.sigma();
        s.learn(1_000.0);
        assert!(s.sigma() < before * 1.2, "{} vs {before}", s.sigma());
    }
}
