//! Alerts from bongsu's own alerting rules, handed over in process by the notifier (after
//! external labels and `alert_relabel_configs`), enter the store as Prometheus would post
//! them to `/api/v2/alerts`.

use std::collections::BTreeMap;

use jiff::Timestamp;

use bongsu_model::alert::{Alert as SentAlert, AlertReceiver};

use crate::server::Alertmanager;
use crate::types::{add, Alert};

fn from_millis(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl AlertReceiver for Alertmanager {
    fn receive(&self, alerts: &[SentAlert]) {
        let now = self.clock.now();
        let resolve_timeout = self
            .running()
            .map(|r| r.config.global.resolve_timeout)
            .unwrap_or_default();
        let converted: Vec<Alert> = alerts
            .iter()
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
                let starts_at = from_millis(a.starts_at);
                let (ends_at, timeout) = match a.ends_at {
                    Some(ms) => (from_millis(ms), false),
                    None => (add(now, resolve_timeout), true),
                };
                Some(Alert {
                    labels,
                    annotations: a
                        .annotations
                        .iter()
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    starts_at,
                    ends_at: ends_at.max(starts_at),
                    generator_url: a.generator_url.clone(),
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
    use crate::server::Options;
    use crate::types::Clock;
    use bongsu_model::Labels;

    fn sent(now: i64, ends_at: Option<i64>) -> SentAlert {
        SentAlert {
            labels: Labels::from_pairs(&[("alertname", "High"), ("empty", ""), ("job", "x")])
                .unwrap(),
            annotations: BTreeMap::from([("summary".to_string(), "s".to_string())]),
            starts_at: now - 1_000,
            ends_at,
            generator_url: "http://b:9090/graph?g0.expr=up&g0.tab=1".into(),
        }
    }

    #[tokio::test]
    async fn rule_alerts_enter_the_store_as_prometheus_posts_them() {
        let am = Alertmanager::start(Options::default(), None, Clock::new()).unwrap();
        let now = am.clock.now().as_millisecond();
        am.receive(&[sent(now, Some(now + 240_000))]);
        let a = am.store.list().pop().unwrap();
        assert_eq!(a.labels.len(), 2, "empty labels are dropped");
        assert_eq!(a.starts_at.as_millisecond(), now - 1_000);
        assert_eq!(a.ends_at.as_millisecond(), now + 240_000);
        assert_eq!(a.generator_url, "http://b:9090/graph?g0.expr=up&g0.tab=1");
        am.receive(&[sent(now, Some(now - 500))]);
        let a = am.store.list().pop().unwrap();
        assert_eq!(
            a.ends_at.as_millisecond(),
            now - 500,
            "the resolve time wins"
        );
        am.shutdown();
    }
}
