//! Notification metrics with Alertmanager's names and labels, kept per server so reloads
//! keep counting and tests see only their own.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use bongsu_telemetry::Histogram;

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

/// Appends the notification families in the Prometheus text format.
pub fn render(m: &NotifyMetrics, out: &mut String) {
    let kinds: Vec<(&'static str, std::sync::Arc<PerKind>)> = m
        .kinds
        .lock()
        .iter()
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    let counter = |out: &mut String, name: &str, help: &str, f: &dyn Fn(&PerKind) -> u64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (k, v) in &kinds {
            let _ = writeln!(out, "{name}{{integration=\"{k}\"}} {}", f(v));
        }
    };
    counter(
        out,
        "alertmanager_notifications_total",
        "The total number of attempted notifications.",
        &|v| v.notifications.load(Ordering::Relaxed),
    );
    counter(
        out,
        "alertmanager_notification_requests_total",
        "The total number of attempted notification requests.",
        &|v| v.requests.load(Ordering::Relaxed),
    );
    counter(
        out,
        "alertmanager_notification_requests_failed_total",
        "The total number of failed notification requests.",
        &|v| v.requests_failed.load(Ordering::Relaxed),
    );
    let name = "alertmanager_notifications_failed_total";
    let _ = writeln!(
        out,
        "# HELP {name} The total number of failed notifications.\n# TYPE {name} counter"
    );
    for (k, v) in &kinds {
        for (reason, c) in &v.failed {
            let _ = writeln!(
                out,
                "{name}{{integration=\"{k}\",reason=\"{reason}\"}} {}",
                c.load(Ordering::Relaxed)
            );
        }
    }
    let name = "alertmanager_notification_latency_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} The latency of notifications in seconds.\n# TYPE {name} histogram"
    );
    for (k, v) in &kinds {
        v.latency.render(out, name, &format!("integration=\"{k}\""));
    }
}
