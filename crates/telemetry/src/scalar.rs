//! Counters and gauges: one atomic each, so counting never takes a lock.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::encode::{Encode, FamilyEncoder};

/// A count that only goes up.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub const fn new() -> Counter {
        Counter(AtomicU64::new(0))
    }

    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Encode for Counter {
    fn encode(&self, f: &mut FamilyEncoder<'_>, labels: &[&str]) {
        f.sample(labels, self.get() as f64);
    }
}

/// A value that goes up and down; an `f64` kept as its bits.
#[derive(Debug, Default)]
pub struct Gauge(AtomicU64);

impl Gauge {
    pub const fn new() -> Gauge {
        Gauge(AtomicU64::new(0))
    }

    pub fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }

    pub fn add(&self, d: f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + d).to_bits())
            });
    }

    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

impl Encode for Gauge {
    fn encode(&self, f: &mut FamilyEncoder<'_>, labels: &[&str]) {
        f.sample(labels, self.get());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_adds_and_sets() {
        let g = Gauge::new();
        g.add(1.0);
        g.add(1.0);
        g.add(-0.5);
        assert_eq!(g.get(), 1.5);
        g.set(-3.0);
        assert_eq!(g.get(), -3.0);
        let c = Counter::new();
        c.inc();
        c.add(4);
        assert_eq!(c.get(), 5);
    }
}
