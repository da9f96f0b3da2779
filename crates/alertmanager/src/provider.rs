//! The alert store: every alert the API received, by fingerprint, with Alertmanager's merge
//! rule on re-post, subscriptions for the dispatcher and inhibitor, garbage collection of
//! resolved alerts, and which alerts were processed (Alertmanager's marker: an alert is
//! `unprocessed` until a flush or an API listing checked its silences and inhibitions).
//!
//! Owns alert state only; grouping, muting and delivery belong to `dispatch`, `inhibit`,
//! `silence` and `notify`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::types::{Alert, Clock, Fingerprint};

/// How often resolved alerts are dropped from the store (Alertmanager's default).
pub const GC_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// All alerts, shared by the API, the dispatcher and the inhibitor.
pub struct AlertStore {
    clock: Clock,
    inner: Mutex<Inner>,
}

struct Inner {
    alerts: HashMap<Fingerprint, Arc<Alert>>,
    /// Alerts whose muting was checked at least once; forgotten with the alert.
    processed: HashSet<Fingerprint>,
    subscribers: Vec<mpsc::UnboundedSender<Arc<Alert>>>,
}

impl AlertStore {
    pub fn new(clock: Clock) -> AlertStore {
        AlertStore {
            clock,
            inner: Mutex::new(Inner {
                alerts: HashMap::new(),
                processed: HashSet::new(),
                subscribers: Vec::new(),
            }),
        }
    }

    /// Stores alerts, merging each with the stored one of the same fingerprint when their
    /// activity ranges overlap (as Alertmanager's in-memory provider), and passes the results
    /// to every subscriber.
    pub fn put(&self, alerts: Vec<Alert>) {
        let now = self.clock.now();
        let mut inner = self.inner.lock();
        for mut alert in alerts {
            let fp = alert.fingerprint();
            if let Some(old) = inner.alerts.get(&fp) {
                let overlaps = (alert.ends_at > old.starts_at && alert.ends_at < old.ends_at)
                    || (alert.starts_at > old.starts_at && alert.starts_at < old.ends_at);
                if overlaps {
                    alert = old.merge(&alert, now);
                }
            }
            let alert = Arc::new(alert);
            inner.alerts.insert(fp, alert.clone());
            inner.subscribers.retain(|s| s.send(alert.clone()).is_ok());
        }
    }

    pub fn get(&self, fp: Fingerprint) -> Option<Arc<Alert>> {
        self.inner.lock().alerts.get(&fp).cloned()
    }

    /// Every stored alert, resolved ones included.
    pub fn list(&self) -> Vec<Arc<Alert>> {
        self.inner.lock().alerts.values().cloned().collect()
    }

    /// Records that the silences and inhibitions of these alerts were checked.
    pub fn mark_processed(&self, fps: impl IntoIterator<Item = Fingerprint>) {
        let mut inner = self.inner.lock();
        for fp in fps {
            if inner.alerts.contains_key(&fp) {
                inner.processed.insert(fp);
            }
        }
    }

    /// Whether a flush or an API listing checked the alert's muting yet.
    pub fn is_processed(&self, fp: Fingerprint) -> bool {
        self.inner.lock().processed.contains(&fp)
    }

    pub fn len(&self) -> usize {
        self.inner.lock().alerts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stored alerts and a channel of every alert put from now on, taken atomically so
    /// nothing is missed or seen twice.
    pub fn subscribe(&self) -> (Vec<Arc<Alert>>, mpsc::UnboundedReceiver<Arc<Alert>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inner = self.inner.lock();
        inner.subscribers.push(tx);
        (inner.alerts.values().cloned().collect(), rx)
    }

    /// Drops resolved alerts; returns their fingerprints.
    pub fn gc(&self) -> Vec<Fingerprint> {
        let now = self.clock.now();
        let mut inner = self.inner.lock();
        let gone: Vec<Fingerprint> = inner
            .alerts
            .iter()
            .filter(|(_, a)| a.resolved_at(now))
            .map(|(fp, _)| *fp)
            .collect();
        for fp in &gone {
            inner.alerts.remove(fp);
            inner.processed.remove(fp);
        }
        gone
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::LabelSet;
    use jiff::Timestamp;

    fn alert(start: i64, end: i64, updated: i64) -> Alert {
        Alert {
            labels: LabelSet::from([("alertname".to_string(), "x".to_string())]),
            annotations: LabelSet::new(),
            starts_at: Timestamp::from_second(start).unwrap(),
            ends_at: Timestamp::from_second(end).unwrap(),
            generator_url: String::new(),
            updated_at: Timestamp::from_second(updated).unwrap(),
            timeout: false,
        }
    }

    #[tokio::test]
    async fn merges_overlapping_and_replaces_disjoint() {
        let store = AlertStore::new(Clock::starting_at(Timestamp::from_second(1000).unwrap()));
        let (initial, mut rx) = store.subscribe();
        assert!(initial.is_empty());
        store.put(vec![alert(100, 2000, 100)]);
        store.put(vec![alert(200, 3000, 200)]);
        let a = store.list().pop().unwrap();
        assert_eq!(
            a.starts_at.as_second(),
            100,
            "overlap keeps the earliest start"
        );
        assert_eq!(a.ends_at.as_second(), 3000);
        store.put(vec![alert(5000, 6000, 300)]);
        let a = store.list().pop().unwrap();
        assert_eq!(
            a.starts_at.as_second(),
            5000,
            "a later firing replaces the old one"
        );
        for _ in 0..3 {
            assert!(rx.recv().await.is_some());
        }
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn gc_drops_resolved() {
        let store = AlertStore::new(Clock::starting_at(Timestamp::from_second(1000).unwrap()));
        let a = alert(100, 500, 100);
        let gone = a.fingerprint();
        store.put(vec![a]);
        let mut b = alert(100, 5000, 100);
        b.labels.insert("b".into(), "1".into());
        let kept = b.fingerprint();
        store.put(vec![b]);
        let unknown = Fingerprint(7);
        store.mark_processed([gone, kept, unknown]);
        assert!(
            !store.is_processed(unknown),
            "only stored alerts are marked"
        );
        assert_eq!(store.gc(), vec![gone]);
        assert_eq!(store.len(), 1);
        assert!(!store.is_processed(gone), "the marker goes with the alert");
        assert!(store.is_processed(kept));
    }
}
