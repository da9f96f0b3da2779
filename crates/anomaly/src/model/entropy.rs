//! [`RelativeEntropy`]: a change in the *distribution* of recent values, which a distance from
//! a mean does not see (a level shift inside the usual range, a flat line, a change of
//! variance). After Wang et al., "Statistical techniques for online anomaly detection in data
//! centers" (2011): the histogram of the last `window` values is compared by relative entropy
//! (Kullback–Leibler) with the histograms seen before ("hypotheses"); a window like none of
//! them, or like one seen fewer than `min_seen` times, is anomalous.
//!
//! Causal: the histogram's range is the running minimum and maximum of the values so far.
//! `anomaly_score` is `score` for an anomalous window and 0 otherwise; `yhat` is the window's
//! mean and the band its range.

use std::collections::VecDeque;

use serde::Deserialize;

use super::{check_positive, Model, ModelError, Prediction};

/// Most hypotheses kept per series (the oldest rarely seen ones go first).
const MAX_HYPOTHESES: usize = 256;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntropyConfig {
    /// Values whose distribution is compared.
    #[serde(default = "default_window")]
    pub window: usize,
    /// Histogram bins over the running range.
    #[serde(default = "default_bins")]
    pub bins: usize,
    /// A hypothesis seen fewer times than this is still anomalous.
    #[serde(default = "default_min_seen")]
    pub min_seen: u32,
    /// The score of an anomalous window.
    #[serde(default = "default_score")]
    pub score: f64,
}

fn default_window() -> usize {
    52
}
fn default_bins() -> usize {
    5
}
fn default_min_seen() -> u32 {
    4
}
fn default_score() -> f64 {
    2.0
}

/// The chi-square distribution's upper 1% point for `bins − 1` degrees of freedom: twice
/// the window times the relative entropy beyond it means "not this hypothesis" at 99%.
fn chi2_99(dof: usize) -> f64 {
    const TABLE: [f64; 15] = [
        6.635, 9.210, 11.345, 13.277, 15.086, 16.812, 18.475, 20.090, 21.666, 23.209, 24.725,
        26.217, 27.688, 29.141, 30.578,
    ];
    TABLE[dof.clamp(1, TABLE.len()) - 1]
}

struct Hypothesis {
    p: Vec<f64>,
    seen: u32,
}

pub struct RelativeEntropy {
    window: usize,
    bins: usize,
    min_seen: u32,
    score: f64,
    threshold: f64,
    values: VecDeque<f64>,
    lo: f64,
    hi: f64,
    hypotheses: Vec<Hypothesis>,
    scratch: Vec<f64>,
}

impl RelativeEntropy {
    pub fn new(c: &EntropyConfig) -> Result<RelativeEntropy, ModelError> {
        if !(2..=16).contains(&c.bins) {
            return Err(ModelError::Invalid(format!(
                "bins must be between 2 and 16, not {}",
                c.bins
            )));
        }
        super::check_window(c.window)?;
        check_positive("score", c.score)?;
        Ok(RelativeEntropy {
            window: c.window,
            bins: c.bins,
            min_seen: c.min_seen.max(1),
            score: c.score,
            threshold: chi2_99(c.bins - 1) / (2.0 * c.window as f64),
            values: VecDeque::with_capacity(c.window),
            lo: f64::INFINITY,
            hi: f64::NEG_INFINITY,
            hypotheses: Vec::new(),
            scratch: vec![0.0; c.bins],
        })
    }

    /// The window's histogram over the running range, into `scratch`.
    fn histogram(&mut self) {
        self.scratch.iter_mut().for_each(|p| *p = 0.0);
        let width = self.hi - self.lo;
        let n = self.values.len() as f64;
        for v in &self.values {
            let b = (((v - self.lo) / width) * self.bins as f64) as usize;
            self.scratch[b.min(self.bins - 1)] += 1.0 / n;
        }
    }

    /// Whether the current window is anomalous; learns it as a hypothesis.
    fn judge(&mut self) -> bool {
        self.histogram();
        let p = &self.scratch;
        let best = self
            .hypotheses
            .iter_mut()
            .map(|h| {
                let kl: f64 = p
                    .iter()
                    .zip(&h.p)
                    .filter(|(pi, _)| **pi > 0.0)
                    .map(|(pi, qi)| pi * (pi / qi.max(1e-9)).ln())
                    .sum();
                (kl, h)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0));
        match best {
            Some((kl, h)) if kl <= self.threshold => {
                h.seen = h.seen.saturating_add(1);
                h.seen < self.min_seen
            }
            _ => {
                if self.hypotheses.len() == MAX_HYPOTHESES {
                    if let Some(i) =
                        (0..self.hypotheses.len()).min_by_key(|&i| self.hypotheses[i].seen)
                    {
                        self.hypotheses.remove(i);
                    }
                }
                self.hypotheses.push(Hypothesis {
                    p: self.scratch.clone(),
                    seen: 1,
                });
                true
            }
        }
    }
}

impl Model for RelativeEntropy {
    fn observe(&mut self, _t: i64, y: f64) -> Option<Prediction> {
        if !y.is_finite() {
            return None;
        }
        self.lo = self.lo.min(y);
        self.hi = self.hi.max(y);
        if self.values.len() == self.window {
            self.values.pop_front();
        }
        self.values.push_back(y);
        if self.values.len() < self.window || self.hi <= self.lo {
            return None;
        }
        let anomalous = self.judge();
        let n = self.values.len() as f64;
        let mean = self.values.iter().sum::<f64>() / n;
        let (min, max) = self
            .values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        Some(Prediction {
            y,
            yhat: mean,
            yhat_lower: min,
            yhat_upper: max,
            anomaly_score: if anomalous { self.score } else { 0.0 },
        })
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + (self.values.capacity() + self.scratch.capacity()) * std::mem::size_of::<f64>()
            + self
                .hypotheses
                .iter()
                .map(|h| std::mem::size_of::<Hypothesis>() + h.p.capacity() * 8)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_shift_inside_the_range_is_new_then_known() {
        let c = EntropyConfig {
            window: 20,
            bins: 5,
            min_seen: 4,
            score: 2.0,
        };
        let mut m = RelativeEntropy::new(&c).unwrap();
        let mut flagged = Vec::new();
        // A saw-tooth over 0..10 for a long time: after the first windows, nothing new.
        for i in 0..400i64 {
            if m.observe(i, (i % 10) as f64)
                .is_some_and(|p| p.anomaly_score > 1.0)
            {
                flagged.push(i);
            }
        }
        assert!(flagged.iter().all(|&i| i < 60), "{flagged:?}");
        // Then a flat line at 5, inside the usual range: a distance from the mean would not
        // see it; its distribution is new.
        let shift = (400..440i64).any(|i| m.observe(i, 5.0).is_some_and(|p| p.anomaly_score > 1.0));
        assert!(shift);
    }
}
