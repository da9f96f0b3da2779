//! Alerting rules: the alert state machine of Prometheus' `rules/alerting.go`.
//!
//! Each result series of the rule's expression is an alert, identified by its labels (the
//! series' labels without the metric name, plus the rule's labels, plus `alertname`). An alert
//! is `pending` from the first evaluation that returns it, `firing` once it has been returned
//! for `for`, and `inactive` (resolved) when it is no longer returned, unless
//! `keep_firing_for` holds it firing a while longer. Resolved alerts are kept for 15 minutes
//! so their resolution can be sent. While restored, every evaluation yields the `ALERTS` and
//! `ALERTS_FOR_STATE` series.
//!
//! This module owns the state and its transitions; querying, writing the series and
//! scheduling are the group's.

use std::collections::BTreeMap;
use std::time::Duration;

use parking_lot::Mutex;

use bongsu_model::{is_stale_nan, Labels, LabelsBuilder, Matcher, METRIC_NAME};
use bongsu_promql::VectorSample;
use bongsu_storage::Querier;

use super::template::{expand_or_error, TemplateData, TemplateExpander};
use super::LabelsMap;

/// The metric of the synthetic series with one sample per active alert.
pub const ALERTS: &str = "ALERTS";
/// The metric holding each active alert's `activeAt` (Unix seconds), for restoring `for`.
pub const ALERTS_FOR_STATE: &str = "ALERTS_FOR_STATE";
pub const ALERT_NAME: &str = "alertname";
pub const ALERT_STATE: &str = "alertstate";

/// How long a resolved alert is kept (and resent as resolved).
pub const RESOLVED_RETENTION: Duration = Duration::from_secs(15 * 60);

/// Prometheus' error when two results become one alert.
pub const ERR_DUPLICATE_ALERT: &str =
    "vector contains metrics with the same labelset after applying alert labels";

/// The state of one alert, ordered so that the maximum is the rule's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert of a rule. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub state: AlertState,
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    /// The expression's value at the last evaluation.
    pub value: f64,
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub last_sent_at: Option<i64>,
    pub valid_until: Option<i64>,
    pub keep_firing_since: Option<i64>,
}

impl Alert {
    /// Whether this alert is due to be sent at `ts`: never while pending, at once after it
    /// resolved, else every `resend_delay`.
    pub fn needs_sending(&self, ts: i64, resend_delay: Duration) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        let last_sent = self.last_sent_at;
        if let Some(resolved) = self.resolved_at {
            if last_sent.is_none_or(|s| resolved > s) {
                return true;
            }
        }
        match last_sent {
            None => true,
            Some(s) => s + ms(resend_delay) < ts,
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A sample a rule evaluation produced, to be written to storage.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
    /// A native histogram (a recording rule's); `v` then means nothing.
    pub h: Option<Box<bongsu_model::FloatHistogram>>,
}

struct ActiveState {
    active: LabelsMap<Alert>,
    /// `for` state has been restored (or needs no restoring): the series are written.
    restored: bool,
}

/// An alerting rule and its alerts.
pub struct AlertingRule {
    pub name: String,
    pub expr: String,
    pub hold: Duration,
    pub keep_firing_for: Duration,
    /// Group labels overridden by the rule's, as written (templates unexpanded).
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    external_labels: BTreeMap<String, String>,
    external_url: String,
    state: Mutex<ActiveState>,
}

/// What an alerting rule is made of.
pub struct AlertDef {
    pub name: String,
    pub expr: String,
    pub hold: Duration,
    pub keep_firing_for: Duration,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub external_labels: BTreeMap<String, String>,
    pub external_url: String,
}

impl AlertingRule {
    /// A rule without alerts; `restored` says whether its `for` state needs no restoring.
    pub fn new(def: AlertDef, restored: bool) -> AlertingRule {
        AlertingRule {
            name: def.name,
            expr: def.expr,
            hold: def.hold,
            keep_firing_for: def.keep_firing_for,
            labels: def.labels,
            annotations: def.annotations,
            external_labels: def.external_labels,
            external_url: def.external_url,
            state: Mutex::new(ActiveState {
                active: LabelsMap::default(),
                restored,
            }),
        }
    }

    /// Advances the alerts with the expression's result at `ts`; returns the `ALERTS` and
    /// `ALERTS_FOR_STATE` samples (stamped `ts - query_offset`) once restored.
    pub fn eval(
        &self,
        result: &[VectorSample],
        ts: i64,
        query_offset: Duration,
        limit: i64,
        templates: &dyn TemplateExpander,
    ) -> Result<Vec<OutputSample>, String> {
        let template_name = format!("__alert_{}", self.name);
        let mut fresh: LabelsMap<Alert> = LabelsMap::default();
        fresh.reserve(result.len());
        for s in result {
            let series: BTreeMap<String, String> = s
                .labels
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect();
            let data = TemplateData {
                labels: &series,
                external_labels: &self.external_labels,
                external_url: &self.external_url,
                value: s.v,
                time_ms: ts,
            };
            let expand = |text: &str| expand_or_error(templates, &template_name, text, &data);
            let mut b = s.labels.builder();
            b.del(METRIC_NAME);
            for (k, v) in &self.labels {
                b.set(k.as_str(), expand(v));
            }
            b.set(ALERT_NAME, self.name.as_str());
            let labels = b.build().map_err(|e| e.to_string())?;
            let annotations = self
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), expand(v)))
                .collect();
            if fresh.contains_key(&labels) {
                return Err(ERR_DUPLICATE_ALERT.to_string());
            }
            fresh.insert(
                labels.clone(),
                Alert {
                    state: AlertState::Pending,
                    labels,
                    annotations,
                    value: s.v,
                    active_at: ts,
                    fired_at: None,
                    resolved_at: None,
                    last_sent_at: None,
                    valid_until: None,
                    keep_firing_since: None,
                },
            );
        }

        let mut st = self.state.lock();
        let restored = st.restored;
        for (key, alert) in &fresh {
            match st.active.get_mut(key) {
                Some(existing) if existing.state != AlertState::Inactive => {
                    existing.value = alert.value;
                    existing.annotations = alert.annotations.clone();
                }
                _ => {
                    st.active.insert(key.clone(), alert.clone());
                }
            }
        }

        let (hold, keep_for) = (ms(self.hold), ms(self.keep_firing_for));
        let stamp = ts - ms(query_offset);
        let mut out = Vec::new();
        let mut removed = Vec::new();
        let mut active_or_pending = 0i64;
        for (key, a) in st.active.iter_mut() {
            if !fresh.contains_key(key) {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && keep_for > 0 {
                    let since = *a.keep_firing_since.get_or_insert(ts);
                    keep_firing = ts - since < keep_for;
                }
                let expired = a
                    .resolved_at
                    .is_some_and(|r| ts - r > ms(RESOLVED_RETENTION));
                if a.state == AlertState::Pending || expired {
                    removed.push(key.clone());
                }
                if a.state != AlertState::Inactive && !keep_firing {
                    a.state = AlertState::Inactive;
                    a.resolved_at = Some(ts);
                }
                if !keep_firing {
                    continue;
                }
            } else {
                a.keep_firing_since = None;
            }
            active_or_pending += 1;
            if a.state == AlertState::Pending && ts - a.active_at >= hold {
                a.state = AlertState::Firing;
                a.fired_at = Some(ts);
            }
            // A reload may have raised `for`: a firing alert that has not been active that long
            // goes back to pending.
            if a.state == AlertState::Firing && ts - a.active_at < hold {
                a.state = AlertState::Pending;
                a.fired_at = None;
                a.last_sent_at = None;
                a.keep_firing_since = None;
            }
            if restored {
                out.push(self.alerts_sample(a, stamp)?);
                out.push(self.for_state_sample(a, stamp)?);
            }
        }
        for key in removed {
            st.active.remove(&key);
        }
        if limit > 0 && active_or_pending > limit {
            st.active.clear();
            return Err(format!(
                "exceeded limit of {limit} with {active_or_pending} alerts"
            ));
        }
        Ok(out)
    }

    fn base_labels(&self, alert: Option<&Alert>, metric: &str) -> LabelsBuilder {
        let mut b = LabelsBuilder::new();
        for (k, v) in &self.labels {
            b.set(k.as_str(), v.as_str());
        }
        if let Some(a) = alert {
            for l in a.labels.iter() {
                b.set(l.name.clone(), l.value.clone());
            }
        }
        b.set(METRIC_NAME, metric);
        b.set(ALERT_NAME, self.name.as_str());
        b
    }

    fn alerts_sample(&self, a: &Alert, t: i64) -> Result<OutputSample, String> {
        let mut b = self.base_labels(Some(a), ALERTS);
        b.set(ALERT_STATE, a.state.as_str());
        Ok(OutputSample {
            labels: b.build().map_err(|e| e.to_string())?,
            t,
            v: 1.0,
            h: None,
        })
    }

    fn for_state_sample(&self, a: &Alert, t: i64) -> Result<OutputSample, String> {
        Ok(OutputSample {
            labels: self
                .base_labels(Some(a), ALERTS_FOR_STATE)
                .build()
                .map_err(|e| e.to_string())?,
            t,
            v: a.active_at.div_euclid(1000) as f64,
            h: None,
        })
    }

    /// The rule's state: the highest of its alerts'.
    pub fn state(&self) -> AlertState {
        let st = self.state.lock();
        st.active
            .values()
            .map(|a| a.state)
            .max()
            .unwrap_or(AlertState::Inactive)
    }

    /// Alerts that are pending or firing (not the resolved ones still kept), by labels.
    pub fn active_alerts(&self) -> Vec<Alert> {
        let st = self.state.lock();
        let mut out: Vec<Alert> = st
            .active
            .values()
            .filter(|a| a.resolved_at.is_none())
            .cloned()
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }

    /// Every alert kept, the resolved ones included.
    pub fn current_alerts(&self) -> Vec<Alert> {
        let st = self.state.lock();
        st.active.values().cloned().collect()
    }

    /// Marks the alerts due at `ts` as sent and returns copies to send, as Prometheus'
    /// `sendAlerts`: each is valid for four evaluation or resend periods.
    pub fn alerts_to_send(
        &self,
        ts: i64,
        resend_delay: Duration,
        interval: Duration,
    ) -> Vec<Alert> {
        let mut st = self.state.lock();
        let valid_for = 4 * ms(interval.max(resend_delay));
        let mut out = Vec::new();
        for a in st.active.values_mut() {
            if a.needs_sending(ts, resend_delay) {
                a.last_sent_at = Some(ts);
                a.valid_until = Some(ts + valid_for);
                out.push(a.clone());
            }
        }
        out
    }

    pub fn is_restored(&self) -> bool {
        self.state.lock().restored
    }

    pub fn set_restored(&self, restored: bool) {
        self.state.lock().restored = restored;
    }

    /// Takes over the alerts of the same rule in a group being replaced by a reload.
    pub fn copy_alerts_from(&self, other: &AlertingRule) {
        let theirs = other.state.lock().active.clone();
        self.state.lock().active.extend(theirs);
    }

    /// Restores `activeAt` of the current alerts from the `ALERTS_FOR_STATE` series in
    /// `querier` (which covers the outage tolerance up to `ts`), as Prometheus does after a
    /// restart: an alert that was pending keeps its progress, shifted by the downtime, and an
    /// alert that would fire within `grace_period` of `ts` waits that long.
    pub fn restore_for_state(&self, querier: &dyn Querier, ts: i64, grace_period: Duration) {
        if self.hold < grace_period {
            // Restoring could only delay firing beyond `for`.
            self.set_restored(true);
            return;
        }
        let mut matchers = Vec::new();
        let b = self.base_labels(None, ALERTS_FOR_STATE);
        if let Ok(labels) = b.build() {
            for l in labels.iter() {
                // Templated values differ per alert and cannot select.
                if !l.value.contains("{{") {
                    matchers.push(Matcher::equal(&l.name, &l.value));
                }
            }
        }
        let series = match querier.select(&matchers) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(alertname = %self.name, error = %e, "failed to restore 'for' state");
                self.set_restored(true);
                return;
            }
        };
        let last: LabelsMap<(i64, f64)> = series
            .into_iter()
            .filter_map(|s| {
                let last = s.samples.last().map(|x| (x.t, x.v))?;
                Some((s.labels.without_metric_name(), last))
            })
            .collect();
        let hold = ms(self.hold);
        let grace = ms(grace_period);
        let mut st = self.state.lock();
        for a in st.active.values_mut() {
            let Some(&(t, v)) = last.get(&a.labels) else {
                continue;
            };
            if is_stale_nan(v) {
                continue;
            }
            // Prometheus works in whole seconds here.
            let down_at = t.div_euclid(1000) * 1000;
            let mut active_at = (v as i64).saturating_mul(1000);
            let remaining = hold - (down_at - active_at);
            if remaining <= 0 {
                // It was firing when the server stopped; the next evaluation decides.
            } else if remaining < grace {
                active_at = ts + grace - hold;
            } else {
                active_at += ts - down_at;
            }
            a.active_at = active_at;
            tracing::debug!(alertname = %self.name, labels = %a.labels, active_at, "'for' state restored");
        }
        st.restored = true;
    }
}

#[cfg(test)]
#[path = "alerting_tests.rs"]
mod tests;
