//! Alerts from bongsu's own alerting rules delivered to its Alertmanager in process, as
//! Prometheus' notifier would post them to `/api/v2/alerts`: starts at the time the alert
//! fired, ends when it resolved or else when its validity runs out.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::alertmanager::server::Alertmanager;
use crate::alertmanager::types::Alert;
use crate::rules::group::AlertSink;

fn from_millis(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl AlertSink for Alertmanager {
    fn send(&self, expr: &str, alerts: Vec<crate::rules::alerting::Alert>) {
        let now = self.clock.now();
        let resolve_timeout = self
            .running()
            .map(|r| r.config.global.resolve_timeout)
            .unwrap_or_default();
        let generator_url = self.generator_url(expr);
        let converted: Vec<Alert> = alerts
            .into_iter()
            .filter_map(|a| {
                let labels: BTreeMap<String, String> = a
                    .labels
                    .iter()
                    .filter(|l| !l.value.is_empty())
                    .map(|l| (l.name.to_string(), l.value.to_string()))
                    .collect();
                if labels.is_empty() {
                    return None;
                }
                let starts_at = from_millis(a.fired_at.unwrap_or(a.active_at));
                let (ends_at, timeout) = match a.resolved_at.or(a.valid_until) {
                    Some(ms) => (from_millis(ms), false),
                    None => (crate::alertmanager::types::add(now, resolve_timeout), true),
                };
                Some(Alert {
                    labels,
                    annotations: a
                        .annotations
                        .into_iter()
                        .filter(|(_, v)| !v.is_empty())
                        .collect(),
                    starts_at,
                    ends_at: ends_at.max(starts_at),
                    generator_url: generator_url.clone(),
                    updated_at: now,
                    timeout,
                })
            })
            .collect();
        self.metrics_alerts_received(&converted, 0, now);
        self.store.put(converted);
    }
}
