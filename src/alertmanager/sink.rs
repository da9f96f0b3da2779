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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alertmanager::server::Options;
    use crate::alertmanager::types::Clock;
    use crate::model::Labels;
    use crate::rules::alerting::{Alert as RuleAlert, AlertState};

    fn rule_alert(now: i64, resolved_at: Option<i64>) -> RuleAlert {
        RuleAlert {
            state: AlertState::Firing,
            labels: Labels::from_pairs(&[("alertname", "High"), ("empty", ""), ("job", "x")])
                .unwrap(),
            annotations: BTreeMap::from([("summary".to_string(), "s".to_string())]),
            value: 1.0,
            active_at: now - 2_000,
            fired_at: Some(now - 1_000),
            resolved_at,
            last_sent_at: None,
            valid_until: Some(now + 240_000),
            keep_firing_since: None,
        }
    }

    #[tokio::test]
    async fn rule_alerts_enter_the_store_as_prometheus_posts_them() {
        let opts = Options {
            external_url: "http://b:9090/".into(),
            ..Options::default()
        };
        let am = Alertmanager::start(opts, None, Clock::new()).unwrap();
        let now = am.clock.now().as_millisecond();
        am.send("up == 0", vec![rule_alert(now, None)]);
        let a = am.store.list().pop().unwrap();
        assert_eq!(a.labels.len(), 2, "empty labels are dropped");
        assert_eq!(a.starts_at.as_millisecond(), now - 1_000);
        assert_eq!(a.ends_at.as_millisecond(), now + 240_000);
        assert_eq!(
            a.generator_url,
            "http://b:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
        );
        am.send("up == 0", vec![rule_alert(now, Some(now - 500))]);
        let a = am.store.list().pop().unwrap();
        assert_eq!(
            a.ends_at.as_millisecond(),
            now - 500,
            "the resolve time wins"
        );
        am.shutdown();
    }
}
