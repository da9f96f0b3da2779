//! The bounded queue between rule evaluation and the sender: pushing never waits, and when
//! full the oldest alerts make room and are counted as dropped.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::sync::Notify;

use bongsu_model::alert::Alert;

/// Most alerts sent in one request, as Prometheus' `maxBatchSize`.
pub const MAX_BATCH: usize = 256;

pub struct Queue {
    capacity: usize,
    alerts: Mutex<VecDeque<Alert>>,
    /// Alerts dropped here or because no Alertmanager took them.
    pub dropped: AtomicU64,
    pub more: Notify,
}

impl Queue {
    pub fn new(capacity: usize) -> Queue {
        Queue {
            capacity,
            alerts: Mutex::new(VecDeque::new()),
            dropped: AtomicU64::new(0),
            more: Notify::new(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.alerts.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.alerts.lock().is_empty()
    }

    /// Appends `alerts`, dropping the oldest (of the queue, then of `alerts`) beyond capacity.
    pub fn push(&self, mut alerts: Vec<Alert>) {
        if alerts.is_empty() {
            return;
        }
        let mut dropped = 0;
        if alerts.len() > self.capacity {
            dropped += alerts.len() - self.capacity;
            alerts.drain(..alerts.len() - self.capacity);
        }
        {
            let mut q = self.alerts.lock();
            let overflow = (q.len() + alerts.len()).saturating_sub(self.capacity);
            q.drain(..overflow);
            dropped += overflow;
            q.extend(alerts);
        }
        if dropped > 0 {
            self.dropped.fetch_add(dropped as u64, Ordering::Relaxed);
            tracing::warn!(
                count = dropped,
                "alert notification queue full, dropping alerts"
            );
        }
        self.more.notify_one();
    }

    /// Takes up to `MAX_BATCH` alerts, oldest first.
    pub fn batch(&self) -> Vec<Alert> {
        let mut q = self.alerts.lock();
        let n = q.len().min(MAX_BATCH);
        q.drain(..n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::Labels;

    fn alerts(from: usize, n: usize) -> Vec<Alert> {
        (from..from + n)
            .map(|i| Alert {
                labels: Labels::from_pairs(&[("i", &i.to_string())]).unwrap(),
                annotations: Default::default(),
                starts_at: 0,
                ends_at: None,
                generator_url: String::new(),
            })
            .collect()
    }

    fn ids(v: &[Alert]) -> Vec<String> {
        v.iter()
            .map(|a| a.labels.get("i").unwrap().to_string())
            .collect()
    }

    #[test]
    fn full_queue_drops_oldest_and_counts() {
        let q = Queue::new(3);
        q.push(alerts(0, 2));
        q.push(alerts(2, 2));
        assert_eq!(q.dropped.load(Ordering::Relaxed), 1);
        q.push(alerts(10, 5));
        assert_eq!(q.dropped.load(Ordering::Relaxed), 1 + 3 + 2);
        assert_eq!(ids(&q.batch()), ["12", "13", "14"]);
        assert!(q.is_empty());
    }

    #[test]
    fn batches_are_bounded() {
        let q = Queue::new(1000);
        q.push(alerts(0, 300));
        assert_eq!(q.batch().len(), MAX_BATCH);
        assert_eq!(q.batch().len(), 300 - MAX_BATCH);
    }
}
