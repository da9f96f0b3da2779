//! Notification metrics with Alertmanager's names and labels, kept per server so reloads
//! keep counting and tests see only their own.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use bongsu_telemetry::{Encoder, Family, Histogram};

use super::registry::KINDS;

/// Alertmanager's buckets for `alertmanager_notification_latency_seconds`.
const LATENCY_BUCKETS: &[f64] = &[1.0, 5.0, 10.0, 15.0, 20.0];

/// Failure reasons of `alertmanager_notifications_failed_total`.
const REASONS: &[&str] = &[
    "authError",
    "clientError",
    "contextCanceled",
    "contextDeadlineExceeded",
    "other",
    "rateLimited",
    "serverError",
];

struct PerKind {
    notifications: AtomicU64,
    failed: BTreeMap<&'static str, AtomicU64>,
    requests: AtomicU64,
    requests_failed: AtomicU64,
    latency: Histogram,
}

impl PerKind {
    fn new() -> PerKind {
        PerKind {
            notifications: AtomicU64::new(0),
            failed: REASONS.iter().map(|r| (*r, AtomicU64::new(0))).collect(),
            requests: AtomicU64::new(0),
            requests_failed: AtomicU64::new(0),
            latency: Histogram::new(LATENCY_BUCKETS),
        }
    }
}

/// The counters of one server.
pub struct NotifyMetrics {
    kinds: Mutex<BTreeMap<&'static str, std::sync::Arc<PerKind>>>,
}

impl Default for NotifyMetrics {
    fn default() -> NotifyMetrics {
        // Every kind's counters exist from the start, at zero.
        NotifyMetrics {
            kinds: Mutex::new(
                KINDS
                    .iter()
                    .map(|k| (k.name, std::sync::Arc::new(PerKind::new())))
                    .collect(),
            ),
        }
    }
}

impl NotifyMetrics {
    fn kind(&self, kind: &'static str) -> std::sync::Arc<PerKind> {
        self.kinds
            .lock()
            .entry(kind)
            .or_insert_with(|| std::sync::Arc::new(PerKind::new()))
            .clone()
    }

    /// One attempt (request) to an integration, and how long it took.
    pub fn request(&self, kind: &'static str, took: std::time::Duration, failed: bool) {
        let k = self.kind(kind);
        k.requests.fetch_add(1, Ordering::Relaxed);
        k.latency.observe(took);
        if failed {
            k.requests_failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One notification (all its attempts), and why it failed if it did.
    pub fn notification(&self, kind: &'static str, failure: Option<&'static str>) {
        let k = self.kind(kind);
        k.notifications.fetch_add(1, Ordering::Relaxed);
        if let Some(reason) = failure {
            if let Some(c) = k.failed.get(reason) {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn notifications(&self, kind: &'static str) -> u64 {
        self.kind(kind).notifications.load(Ordering::Relaxed)
    }

    pub fn failed(&self, kind: &'static str) -> u64 {
        self.kind(kind)
            .failed
            .values()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    pub fn requests(&self, kind: &'static str) -> u64 {
        self.kind(kind).requests.load(Ordering::Relaxed)
    }
}

static NOTIFICATIONS: Family = Family::counter(
    "alertmanager_notifications_total",
    "The total number of attempted notifications.",
    &["integration"],
);
static REQUESTS: Family = Family::counter(
    "alertmanager_notification_requests_total",
    "The total number of attempted notification requests.",
    &["integration"],
);
static REQUESTS_FAILED: Family = Family::counter(
    "alertmanager_notification_requests_failed_total",
    "The total number of failed notification requests.",
    &["integration"],
);
static FAILED: Family = Family::counter(
    "alertmanager_notifications_failed_total",
    "The total number of failed notifications.",
    &["integration", "reason"],
);
static LATENCY: Family = Family::histogram(
    "alertmanager_notification_latency_seconds",
    "The latency of notifications in seconds.",
    &["integration"],
);

/// Writes the notification families.
pub fn write_metrics(m: &NotifyMetrics, enc: &mut Encoder<'_>) {
    let kinds: Vec<(&'static str, std::sync::Arc<PerKind>)> = m
        .kinds
        .lock()
        .iter()
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64;
    let mut counter = |family: &Family, f: &dyn Fn(&PerKind) -> &AtomicU64| {
        let mut fe = enc.family(family);
        for (k, v) in &kinds {
            fe.sample(&[k], load(f(v)));
        }
    };
    counter(&NOTIFICATIONS, &|v| &v.notifications);
    counter(&REQUESTS, &|v| &v.requests);
    counter(&REQUESTS_FAILED, &|v| &v.requests_failed);
    let mut failed = enc.family(&FAILED);
    for (k, v) in &kinds {
        for (reason, c) in &v.failed {
            failed.sample(&[k, reason], load(c));
        }
    }
    let mut latency = enc.family(&LATENCY);
    for (k, v) in &kinds {
        latency.metric(&[k], &v.latency);
    }
}
