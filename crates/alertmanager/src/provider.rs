//! The alert store: every alert the API received, by fingerprint, with Alertmanager's merge
//! rule on re-post, its limits on how many alerts it holds, subscriptions for the dispatcher
//! and inhibitor, garbage collection of resolved alerts, and which alerts were processed
//! (Alertmanager's marker: an alert is `unprocessed` until a flush or an API listing checked
//! its silences and inhibitions).
//!
//! Owns alert state only; grouping, muting and delivery belong to `dispatch`, `inhibit`,
//! `silence` and `notify`.

mod subscription;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use jiff::Timestamp;
use parking_lot::Mutex;

use bongsu_telemetry::{Encoder, Family};

use crate::types::{Alert, Clock, Fingerprint};
use subscription::{Subscriber, SubscriberMetrics};
pub use subscription::{Subscription, SUBSCRIBER_CAPACITY};

/// How often resolved alerts are dropped from the store (Alertmanager's
/// `--alerts.gc-interval` default).
pub const GC_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// bongsu's `--alertmanager.max-alerts` default: enough for any single server's rules, small
/// enough that a runaway sender cannot take all memory.
pub const DEFAULT_MAX_ALERTS: usize = 100_000;

/// How many alerts the store takes; `None` sets no limit. Both refuse only alerts with a new
/// fingerprint: an alert already stored is always updated, so it can still resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertLimits {
    /// Alertmanager's `--alerts.per-alertname-limit`: most alerts of one `alertname` that are
    /// not resolved.
    pub per_alertname: Option<usize>,
    /// bongsu's `--alertmanager.max-alerts`: most alerts stored, resolved ones not yet
    /// collected included (Alertmanager has no such limit). At the limit resolved alerts are
    /// collected at once to make room.
    pub max_alerts: Option<usize>,
}

impl Default for AlertLimits {
    fn default() -> AlertLimits {
        AlertLimits {
            per_alertname: None,
            max_alerts: Some(DEFAULT_MAX_ALERTS),
        }
    }
}

/// All alerts, shared by the API, the dispatcher and the inhibitor.
pub struct AlertStore {
    clock: Clock,
    limits: AlertLimits,
    /// Shared with subscriptions, which re-read the alerts when their channel overflowed.
    inner: Arc<Mutex<Inner>>,
    /// Refused by `per_alertname` (`alertmanager_alerts_limited_total`).
    limited_per_alertname: AtomicU64,
    /// Refused by `max_alerts`.
    limited_max_alerts: AtomicU64,
    subscriber_metrics: Arc<SubscriberMetrics>,
}

struct Inner {
    alerts: HashMap<Fingerprint, Arc<Alert>>,
    /// The stored alerts by `alertname` ("" when the label is missing), for the per-name
    /// limit.
    by_name: HashMap<String, HashSet<Fingerprint>>,
    /// Alerts whose muting was checked at least once; forgotten with the alert.
    processed: HashSet<Fingerprint>,
    subscribers: Vec<Subscriber>,
}

fn alertname(a: &Alert) -> &str {
    a.labels.get("alertname").map_or("", String::as_str)
}

impl Inner {
    fn insert(&mut self, fp: Fingerprint, alert: Arc<Alert>) {
        self.by_name
            .entry(alertname(&alert).to_string())
            .or_default()
            .insert(fp);
        self.alerts.insert(fp, alert);
    }

    /// Drops resolved alerts; returns their fingerprints.
    fn drop_resolved(&mut self, now: Timestamp) -> Vec<Fingerprint> {
        let gone: Vec<Fingerprint> = self
            .alerts
            .iter()
            .filter(|(_, a)| a.resolved_at(now))
            .map(|(fp, _)| *fp)
            .collect();
        for fp in &gone {
            let Some(a) = self.alerts.remove(fp) else {
                continue;
            };
            self.processed.remove(fp);
            let name = alertname(&a);
            if let Some(set) = self.by_name.get_mut(name) {
                set.remove(fp);
                if set.is_empty() {
                    self.by_name.remove(name);
                }
            }
        }
        gone
    }

    /// Whether `name` has `limit` alerts that are not resolved.
    fn name_full(&self, name: &str, limit: usize, now: Timestamp) -> bool {
        let Some(fps) = self.by_name.get(name) else {
            return limit == 0;
        };
        fps.len() >= limit
            && fps
                .iter()
                .filter(|fp| self.alerts.get(fp).is_some_and(|a| !a.resolved_at(now)))
                .take(limit)
                .count()
                >= limit
    }
}

impl AlertStore {
    /// An empty store with the default limits.
    pub fn new(clock: Clock) -> AlertStore {
        AlertStore {
            clock,
            limits: AlertLimits::default(),
            inner: Arc::new(Mutex::new(Inner {
                alerts: HashMap::new(),
                by_name: HashMap::new(),
                processed: HashSet::new(),
                subscribers: Vec::new(),
            })),
            limited_per_alertname: AtomicU64::new(0),
            limited_max_alerts: AtomicU64::new(0),
            subscriber_metrics: Arc::default(),
        }
    }

    /// The same store, taking alerts up to `limits`.
    pub fn with_limits(mut self, limits: AlertLimits) -> AlertStore {
        self.limits = limits;
        self
    }

    /// Stores alerts, merging each with the stored one of the same fingerprint when their
    /// activity ranges overlap (as Alertmanager's in-memory provider), and passes the results
    /// to every subscriber. An alert with a new fingerprint beyond a limit is dropped,
    /// counted and logged, as Alertmanager drops it (the API still answers 200); the sender
    /// re-sends it, so it enters once there is room.
    pub fn put(&self, alerts: Vec<Alert>) {
        let now = self.clock.now();
        let mut inner = self.inner.lock();
        let (mut by_name, mut by_total, mut collected) = (0u64, 0u64, false);
        for mut alert in alerts {
            let fp = alert.fingerprint();
            if let Some(old) = inner.alerts.get(&fp) {
                let overlaps = (alert.ends_at > old.starts_at && alert.ends_at < old.ends_at)
                    || (alert.starts_at > old.starts_at && alert.starts_at < old.ends_at);
                if overlaps {
                    alert = old.merge(&alert, now);
                }
            } else {
                if let Some(max) = self.limits.max_alerts {
                    if inner.alerts.len() >= max && !collected {
                        // Resolved alerts would go at the next collection anyway; dropping
                        // them now (once per call, as it scans the store) keeps the limit on
                        // live alerts.
                        collected = true;
                        let gone = inner.drop_resolved(now).len();
                        tracing::debug!(
                            gone,
                            "collected resolved alerts early at --alertmanager.max-alerts"
                        );
                    }
                    if inner.alerts.len() >= max {
                        by_total += 1;
                        continue;
                    }
                }
                if let Some(limit) = self.limits.per_alertname {
                    if inner.name_full(alertname(&alert), limit, now) {
                        by_name += 1;
                        continue;
                    }
                }
            }
            let alert = Arc::new(alert);
            inner.insert(fp, alert.clone());
            let metrics = &self.subscriber_metrics;
            inner.subscribers.retain(|s| s.offer(&alert, metrics));
        }
        drop(inner);
        if by_total > 0 {
            self.limited_max_alerts
                .fetch_add(by_total, Ordering::Relaxed);
            tracing::warn!(
                dropped = by_total,
                limit = self.limits.max_alerts,
                "the alert store is full (--alertmanager.max-alerts); new alerts were dropped"
            );
        }
        if by_name > 0 {
            self.limited_per_alertname
                .fetch_add(by_name, Ordering::Relaxed);
            tracing::warn!(
                dropped = by_name,
                limit = self.limits.per_alertname,
                "alerts dropped at --alerts.per-alertname-limit"
            );
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

    /// The stored alerts and a subscription to every alert put from now on, taken atomically
    /// so nothing is missed or seen twice.
    pub fn subscribe(&self) -> (Vec<Arc<Alert>>, Subscription) {
        let mut inner = self.inner.lock();
        let (subscriber, subscription) = Subscription::new(Arc::downgrade(&self.inner));
        inner.subscribers.push(subscriber);
        (inner.alerts.values().cloned().collect(), subscription)
    }

    /// Drops resolved alerts; returns their fingerprints.
    pub fn gc(&self) -> Vec<Fingerprint> {
        let now = self.clock.now();
        self.inner.lock().drop_resolved(now)
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Alerts dropped by each limit so far: per alertname, then in total.
    pub fn limited(&self) -> (u64, u64) {
        (
            self.limited_per_alertname.load(Ordering::Relaxed),
            self.limited_max_alerts.load(Ordering::Relaxed),
        )
    }

    /// Writes the store's limit and subscription metric families.
    pub fn write_metrics(&self, enc: &mut Encoder<'_>) {
        let (per_name, total) = self.limited();
        enc.single(
            &PER_ALERT_LIMIT,
            self.limits.per_alertname.unwrap_or(0) as f64,
        );
        enc.single(&LIMITED, per_name as f64);
        enc.single(&ALERTS_LIMIT, self.limits.max_alerts.unwrap_or(0) as f64);
        enc.single(&ALERTS_LIMITED, total as f64);
        self.subscriber_metrics.encode(enc);
    }
}

static PER_ALERT_LIMIT: Family = Family::gauge(
    "alertmanager_alerts_per_alert_limit",
    "Current limit on number of alerts per alert name",
    &[],
);
static LIMITED: Family = Family::counter(
    "alertmanager_alerts_limited_total",
    "Total number of alerts that were dropped due to per alert name limit",
    &[],
);
static ALERTS_LIMIT: Family = Family::gauge(
    "bongsu_alertmanager_alerts_limit",
    "Most alerts the store holds (--alertmanager.max-alerts); 0 means no limit.",
    &[],
);
static ALERTS_LIMITED: Family = Family::counter(
    "bongsu_alertmanager_alerts_limited_total",
    "Alerts with a new fingerprint dropped because the store was full (--alertmanager.max-alerts).",
    &[],
);

#[cfg(test)]
mod tests;
