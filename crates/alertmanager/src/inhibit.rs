//! Inhibition: an alert matching a rule's target matchers is muted while a firing alert
//! matching its source matchers agrees with it on the rule's `equal` labels.
//!
//! As in Alertmanager, each rule keeps a cache of the alerts matching its source side, fed
//! from the alert store's subscription, and an alert that matches both sides of a rule is
//! never inhibited by an alert that also matches both sides (so no alert inhibits itself).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::config::InhibitRule;
use crate::matcher::{equal_labels, LabelSet};
use crate::provider::AlertStore;
use crate::types::{Alert, Clock, Fingerprint};

struct Rule {
    rule: InhibitRule,
    sources: Mutex<HashMap<Fingerprint, Arc<Alert>>>,
}

/// The inhibition rules of one configuration.
pub struct Inhibitor {
    clock: Clock,
    rules: Vec<Rule>,
}

impl Inhibitor {
    /// Builds the rules and keeps their source caches current until the returned task is
    /// aborted.
    pub fn start(
        rules: &[InhibitRule],
        store: &AlertStore,
    ) -> (Arc<Inhibitor>, tokio::task::JoinHandle<()>) {
        let ih = Arc::new(Inhibitor {
            clock: store.clock(),
            rules: rules
                .iter()
                .map(|r| Rule {
                    rule: r.clone(),
                    sources: Mutex::new(HashMap::new()),
                })
                .collect(),
        });
        let (initial, mut rx) = store.subscribe();
        for a in initial {
            ih.observe(a);
        }
        let me = ih.clone();
        let task = tokio::spawn(async move {
            while let Some(a) = rx.recv().await {
                me.observe(a);
            }
        });
        (ih, task)
    }

    fn observe(&self, a: Arc<Alert>) {
        for r in &self.rules {
            if r.rule.source_matchers.matches(&a.labels) {
                r.sources.lock().insert(a.fingerprint(), a.clone());
            }
        }
    }

    /// The fingerprint of an alert inhibiting one with `labels`, if any.
    pub fn inhibited_by(&self, labels: &LabelSet) -> Option<Fingerprint> {
        let now = self.clock.now();
        for r in &self.rules {
            if !r.rule.target_matchers.matches(labels) {
                continue;
            }
            let two_sided = r.rule.source_matchers.matches(labels);
            let mut sources = r.sources.lock();
            sources.retain(|_, a| !a.resolved_at(now));
            let found = sources.values().find(|a| {
                equal_labels(&r.rule.equal, &a.labels, labels)
                    && !(two_sided && r.rule.target_matchers.matches(&a.labels))
            });
            if let Some(a) = found {
                return Some(a.fingerprint());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::Matchers;
    use crate::types::test_alert;
    use std::time::Duration;

    fn alert(c: &Clock, pairs: &[(&str, &str)], secs: u64) -> Alert {
        test_alert(c.now(), pairs, Duration::from_secs(secs))
    }

    fn rule(src: &str, tgt: &str, equal: &[&str]) -> InhibitRule {
        InhibitRule {
            name: String::new(),
            source_matchers: Matchers::parse(src).unwrap(),
            target_matchers: Matchers::parse(tgt).unwrap(),
            equal: equal.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn source_mutes_target_with_equal_labels() {
        let c = Clock::new();
        let store = AlertStore::new(c);
        let (ih, task) = Inhibitor::start(
            &[rule("severity=critical", "severity=warning", &["cluster"])],
            &store,
        );
        let crit = alert(&c, &[("severity", "critical"), ("cluster", "a")], 60);
        store.put(vec![crit.clone()]);
        tokio::task::yield_now().await;
        let warn_a = alert(&c, &[("severity", "warning"), ("cluster", "a")], 60);
        let warn_b = alert(&c, &[("severity", "warning"), ("cluster", "b")], 60);
        assert_eq!(ih.inhibited_by(&warn_a.labels), Some(crit.fingerprint()));
        assert_eq!(ih.inhibited_by(&warn_b.labels), None);
        assert_eq!(ih.inhibited_by(&crit.labels), None);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(
            ih.inhibited_by(&warn_a.labels),
            None,
            "a resolved source stops"
        );
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn alert_does_not_inhibit_itself() {
        let c = Clock::new();
        let store = AlertStore::new(c);
        store.put(vec![alert(&c, &[("alertname", "x"), ("team", "t")], 60)]);
        let (ih, task) = Inhibitor::start(&[rule("team=t", "alertname=x", &[])], &store);
        assert_eq!(
            ih.inhibited_by(&alert(&c, &[("alertname", "x"), ("team", "t")], 60).labels),
            None
        );
        let other = alert(&c, &[("alertname", "x")], 60);
        assert!(ih.inhibited_by(&other.labels).is_some());
        task.abort();
    }
}
