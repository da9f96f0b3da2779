//! Prometheus' `rules.SendAlerts`: a rule's alerts become notifications (Alertmanager's
//! `postableAlert` shape, [`bongsu_model::alert::Alert`]) with their generator URL, handed to
//! whatever sends them on. The notifier is one such sender; this module does not know it.

use bongsu_model::alert::{generator_url, Alert as Notification};

use crate::alerting::Alert;
use crate::group::{AlertOrigin, AlertSink};
use crate::logs::logs_link;

impl Alert {
    /// As Prometheus' `sendAlerts`: a resolved alert ends when it resolved, a firing one when
    /// its validity (set by the rule from the resend delay and interval) runs out.
    pub fn to_notification(self, generator_url: &str) -> Notification {
        Notification {
            ends_at: self.resolved_at.or(self.valid_until),
            starts_at: self.fired_at.unwrap_or(self.active_at),
            labels: self.labels,
            annotations: self.annotations,
            generator_url: generator_url.to_string(),
        }
    }
}

/// The [`AlertSink`] that converts alerts and passes them to `send` (the notifier).
pub struct SendAlerts<F> {
    external_url: String,
    send: F,
}

impl<F: Fn(Vec<Notification>) + Send + Sync> SendAlerts<F> {
    /// `external_url` is `--web.external-url`, the base of each alert's generator URL.
    pub fn new(external_url: impl Into<String>, send: F) -> SendAlerts<F> {
        SendAlerts {
            external_url: external_url.into(),
            send,
        }
    }
}

impl<F: Fn(Vec<Notification>) + Send + Sync> AlertSink for SendAlerts<F> {
    fn send(&self, origin: &AlertOrigin<'_>, alerts: Vec<Alert>) {
        let notifications = match *origin {
            AlertOrigin::Promql { expr } => {
                let url = generator_url(&self.external_url, expr);
                alerts
                    .into_iter()
                    .map(|a| a.to_notification(&url))
                    .collect()
            }
            AlertOrigin::Logql {
                selection,
                rule_labels,
            } => alerts
                .into_iter()
                .map(|a| {
                    let url = logs_link(&self.external_url, selection, rule_labels, &a);
                    a.to_notification(&url)
                })
                .collect(),
        };
        (self.send)(notifications);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use bongsu_model::Labels;

    use super::*;
    use crate::alerting::AlertState;

    fn rule_alert(name: &str, resolved_at: Option<i64>) -> Alert {
        Alert {
            state: AlertState::Firing,
            labels: Labels::from_pairs(&[("alertname", name)]).unwrap(),
            annotations: Default::default(),
            value: 1.0,
            active_at: 1_000,
            fired_at: Some(2_000),
            resolved_at,
            last_sent_at: Some(3_000),
            valid_until: Some(243_000),
            keep_firing_since: None,
        }
    }

    #[test]
    fn alerts_become_notifications_with_their_generator_url() {
        let got = Mutex::new(Vec::new());
        let sink = SendAlerts::new("http://bongsu:9090/", |a: Vec<Notification>| {
            got.lock().unwrap().extend(a)
        });
        sink.send(
            &AlertOrigin::Promql { expr: "up == 0" },
            vec![rule_alert("Firing", None), rule_alert("Gone", Some(5_000))],
        );
        let got = got.into_inner().unwrap();
        assert_eq!((got[0].starts_at, got[0].ends_at), (2_000, Some(243_000)));
        assert_eq!(
            got[0].generator_url,
            "http://bongsu:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
        );
        // A resolved alert ends when it resolved.
        assert_eq!(got[1].ends_at, Some(5_000));
    }
}
