//! What happens to a group's alerts at each flush, in Alertmanager's order: the route's
//! active and mute time intervals, inhibition, silences, then for each integration of the
//! receiver, concurrently: dedup against the notification log, delivery with retries until
//! the flush's deadline, and a log entry on success.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{Integration, NotifyContext, NotifyMetrics};
use crate::inhibit::Inhibitor;
use crate::matcher::LabelSet;
use crate::nflog::{Entry, NotificationLog, ReceiverData};
use crate::provider::AlertStore;
use crate::silence::Silences;
use crate::timeinterval::{containing, TimeInterval};
use crate::types::{sub, Alert, Clock};

/// Alertmanager's backoff: the first retry after about 500ms, growing by 1.5 with ±50%
/// jitter up to a minute between attempts.
const BACKOFF_INITIAL: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
const BACKOFF_FACTOR: f64 = 1.5;
const BACKOFF_JITTER: f64 = 0.5;

/// Notifications get at least this long, even with a shorter `group_interval`.
pub const MIN_NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// What the pipeline needs to know about the flushing group.
#[derive(Debug, Clone)]
pub struct FlushInfo {
    pub group_key: String,
    pub group_labels: LabelSet,
    pub receiver: String,
    pub group_interval: Duration,
    pub repeat_interval: Duration,
    pub mute_time_intervals: Vec<String>,
    pub active_time_intervals: Vec<String>,
}

/// The pipeline of one configuration.
pub struct Pipeline {
    pub receivers: HashMap<String, Vec<Arc<Integration>>>,
    pub inhibitor: Arc<Inhibitor>,
    pub silences: Arc<Silences>,
    pub nflog: Arc<NotificationLog>,
    pub time_intervals: BTreeMap<String, Vec<TimeInterval>>,
    pub clock: Clock,
    pub external_url: String,
    pub metrics: Arc<NotifyMetrics>,
    /// Told which alerts a flush checked for muting (they stop being `unprocessed`).
    pub store: Arc<AlertStore>,
}

impl Pipeline {
    /// Runs a flush of `alerts` (firing ones with their end already cleared by the caller
    /// as of `now`). True when every integration succeeded or had nothing to do, so the
    /// group may forget its resolved alerts.
    pub async fn exec(
        self: &Arc<Self>,
        info: Arc<FlushInfo>,
        alerts: Vec<Alert>,
        now: jiff::Timestamp,
    ) -> bool {
        // Upstream checks inhibitions before time intervals, so every flushed alert counts
        // as processed even when the route is muted by time.
        self.store
            .mark_processed(alerts.iter().map(Alert::fingerprint));
        match self.muted_by_time(&info, now) {
            Ok(true) => return true,
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, group = %info.group_key, "checking time intervals failed");
                return false;
            }
        }
        let alerts: Vec<Alert> = alerts
            .into_iter()
            .filter(|a| {
                self.inhibitor.inhibited_by(&a.labels).is_none()
                    && self.silences.mutes(&a.labels).is_empty()
            })
            .collect();
        if alerts.is_empty() {
            return true;
        }
        let Some(integrations) = self.receivers.get(&info.receiver) else {
            tracing::error!(receiver = %info.receiver, "receiver not found");
            return false;
        };
        let deadline = Instant::now() + info.group_interval.max(MIN_NOTIFY_TIMEOUT);
        let alerts = Arc::new(alerts);
        let mut tasks = tokio::task::JoinSet::new();
        for integ in integrations {
            let (me, info, alerts, integ) =
                (self.clone(), info.clone(), alerts.clone(), integ.clone());
            tasks.spawn(async move { me.integration(&integ, &info, &alerts, now, deadline).await });
        }
        let mut ok = true;
        while let Some(r) = tasks.join_next().await {
            ok &= r.unwrap_or(false);
        }
        ok
    }

    /// Whether the route is outside its active intervals or inside a mute interval.
    fn muted_by_time(&self, info: &FlushInfo, now: jiff::Timestamp) -> Result<bool, String> {
        if !info.active_time_intervals.is_empty()
            && containing(&self.time_intervals, &info.active_time_intervals, now)?.is_empty()
        {
            return Ok(true);
        }
        Ok(!info.mute_time_intervals.is_empty()
            && !containing(&self.time_intervals, &info.mute_time_intervals, now)?.is_empty())
    }

    async fn integration(
        &self,
        integ: &Integration,
        info: &FlushInfo,
        alerts: &[Alert],
        now: jiff::Timestamp,
        deadline: Instant,
    ) -> bool {
        let log_name = integ.log_name(&info.receiver);
        let (mut firing, mut resolved) = (Vec::new(), Vec::new());
        for a in alerts {
            let fp = a.fingerprint().0;
            if a.resolved_at(now) {
                resolved.push(fp);
            } else {
                firing.push(fp);
            }
        }
        let entry = self.nflog.query(&info.group_key, &log_name);
        let Some(notification_reason) = notify_reason(
            entry.as_ref(),
            &firing,
            &resolved,
            integ.send_resolved,
            sub(now, info.repeat_interval),
        ) else {
            return true;
        };
        let ctx = NotifyContext {
            receiver: info.receiver.clone(),
            group_key: info.group_key.clone(),
            group_labels: info.group_labels.clone(),
            external_url: self.external_url.clone(),
            now,
            notification_reason,
        };
        let mut data = entry.map(|e| e.receiver_data).unwrap_or_default();
        let result = if integ.send_resolved {
            self.send(integ, &ctx, alerts, &mut data, deadline).await
        } else if firing.is_empty() {
            Ok(())
        } else {
            let sent: Vec<Alert> = alerts
                .iter()
                .filter(|a| !a.resolved_at(now))
                .cloned()
                .collect();
            self.send(integ, &ctx, &sent, &mut data, deadline).await
        };
        match result {
            Ok(()) => {
                self.metrics.notification(integ.kind, None);
                self.nflog.log(
                    &log_name,
                    &info.group_key,
                    firing,
                    resolved,
                    info.repeat_interval * 2,
                    data,
                );
                true
            }
            Err((e, attempts)) => {
                self.metrics.notification(integ.kind, Some(e.reason));
                tracing::error!(
                    integration = %log_name,
                    group = %info.group_key,
                    attempts,
                    error = %e.message,
                    "notify for alerts failed"
                );
                false
            }
        }
    }

    /// Sends with retries until success, a permanent error or the deadline; `data` is the
    /// notifier's data from the last notification, updated by the notifier.
    async fn send(
        &self,
        integ: &Integration,
        ctx: &NotifyContext,
        alerts: &[Alert],
        data: &mut ReceiverData,
        deadline: Instant,
    ) -> Result<(), (super::NotifyError, u32)> {
        let mut interval = BACKOFF_INITIAL;
        let mut attempts = 0;
        let mut last_error = String::new();
        loop {
            attempts += 1;
            let started = std::time::Instant::now();
            let r = match tokio::time::timeout_at(deadline, integ.notifier.notify_with_data(ctx, alerts, data))
                .await
            {
                Ok(r) => r,
                Err(_) => Err(super::NotifyError {
                    retry: false,
                    message: format!("notify retry canceled after {attempts} attempts: context deadline exceeded"),
                    reason: "other",
                }),
            };
            self.metrics
                .request(integ.kind, started.elapsed(), r.is_err());
            let e = match r {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if !e.retry {
                return Err((e, attempts));
            }
            // As Alertmanager: said at once, and again only when the cause changes, so an
            // operator sees why without waiting for the retries to run out.
            if e.message != last_error {
                tracing::warn!(integration = integ.kind, attempts, error = %e.message, "notify attempt failed, will retry later");
                last_error.clone_from(&e.message);
            }
            let jitter = 1.0 + BACKOFF_JITTER * (2.0 * rand::random::<f64>() - 1.0);
            let wait = interval.mul_f64(jitter);
            if Instant::now() + wait >= deadline {
                tokio::time::sleep_until(deadline).await;
                return Err((e, attempts));
            }
            tokio::time::sleep(wait).await;
            interval = interval.mul_f64(BACKOFF_FACTOR).min(BACKOFF_MAX);
        }
    }
}

/// Alertmanager's dedup rule: notify when there was no notification yet and something
/// fires; when something fires that was not notified; when everything resolved after a
/// notification of firing alerts; with `send_resolved`, when newly resolved alerts were not
/// notified; or when the last notification is older than the repeat interval. The answer is
/// the reason as `DedupStage.needsUpdate` names it (the notification's
/// `notification_reason`, Alertmanager 0.32+); `None`: no notification.
pub fn notify_reason(
    entry: Option<&Entry>,
    firing: &[u64],
    resolved: &[u64],
    send_resolved: bool,
    repeat_cutoff: jiff::Timestamp,
) -> Option<&'static str> {
    let Some(entry) = entry else {
        return (!firing.is_empty()).then_some("first notification");
    };
    let notified_firing: HashSet<u64> = entry.firing.iter().copied().collect();
    if !firing.iter().all(|f| notified_firing.contains(f)) {
        // After a notification with nothing firing, this is a first one again.
        return Some(if entry.firing.is_empty() {
            "first notification"
        } else {
            "new alerts added"
        });
    }
    if firing.is_empty() {
        return (!entry.firing.is_empty()).then_some("all alerts resolved");
    }
    let notified_resolved: HashSet<u64> = entry.resolved.iter().copied().collect();
    if send_resolved && !resolved.iter().all(|r| notified_resolved.contains(r)) {
        return Some("some alerts resolved");
    }
    (entry.timestamp < repeat_cutoff).then_some("repeat interval elapsed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn needs_update(
        entry: Option<&Entry>,
        firing: &[u64],
        resolved: &[u64],
        send_resolved: bool,
        repeat_cutoff: Timestamp,
    ) -> bool {
        notify_reason(entry, firing, resolved, send_resolved, repeat_cutoff).is_some()
    }

    fn entry(firing: &[u64], resolved: &[u64], ts: i64) -> Entry {
        Entry {
            receiver: "r".into(),
            group_key: "g".into(),
            timestamp: Timestamp::from_second(ts).unwrap(),
            firing: firing.to_vec(),
            resolved: resolved.to_vec(),
            expires_at: Timestamp::MAX,
            receiver_data: ReceiverData::new(),
        }
    }

    #[test]
    fn dedup_rules() {
        let cutoff = Timestamp::from_second(100).unwrap();
        assert!(needs_update(None, &[1], &[], false, cutoff));
        assert!(!needs_update(None, &[], &[1], true, cutoff));
        let e = entry(&[1, 2], &[], 200);
        assert!(
            !needs_update(Some(&e), &[1, 2], &[], true, cutoff),
            "nothing changed"
        );
        assert!(
            !needs_update(Some(&e), &[1], &[], false, cutoff),
            "a subset fires"
        );
        assert!(
            needs_update(Some(&e), &[1], &[2], true, cutoff),
            "newly resolved"
        );
        assert!(
            needs_update(Some(&e), &[1, 3], &[], false, cutoff),
            "a new one fires"
        );
        assert!(
            needs_update(Some(&e), &[], &[1, 2], false, cutoff),
            "all resolved"
        );
        let e = entry(&[], &[1], 200);
        assert!(!needs_update(Some(&e), &[], &[1, 2], true, cutoff));
        let old = entry(&[1], &[], 50);
        assert!(
            needs_update(Some(&old), &[1], &[], false, cutoff),
            "repeat interval passed"
        );
    }

    #[test]
    fn notification_reasons_as_upstream() {
        let cutoff = Timestamp::from_second(100).unwrap();
        let reason = |e: Option<&Entry>, firing: &[u64], resolved: &[u64]| {
            notify_reason(e, firing, resolved, true, cutoff)
        };
        assert_eq!(reason(None, &[1], &[]), Some("first notification"));
        assert_eq!(reason(None, &[], &[1]), None);
        let e = entry(&[1, 2], &[], 200);
        assert_eq!(reason(Some(&e), &[1, 2, 3], &[]), Some("new alerts added"));
        assert_eq!(reason(Some(&e), &[1], &[2]), Some("some alerts resolved"));
        assert_eq!(reason(Some(&e), &[], &[1, 2]), Some("all alerts resolved"));
        assert_eq!(reason(Some(&e), &[1, 2], &[]), None);
        let resolved_before = entry(&[], &[1], 200);
        assert_eq!(
            reason(Some(&resolved_before), &[1], &[]),
            Some("first notification")
        );
        let old = entry(&[1], &[], 50);
        assert_eq!(
            reason(Some(&old), &[1], &[]),
            Some("repeat interval elapsed")
        );
    }
}
