//! Alerts and a notification context for the notifiers' unit tests.

use super::NotifyContext;
use crate::alertmanager::matcher::LabelSet;
use crate::alertmanager::types::Alert;

/// An alert named `name` that started at 00:00 and ends at `ends_at` (02:00 by default,
/// so it fires at the 01:00 flush of [`ctx`]).
pub fn alert(name: &str, ends_at: Option<jiff::Timestamp>) -> Alert {
    let mut labels = LabelSet::new();
    labels.insert("alertname".into(), name.into());
    let start: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    Alert {
        labels,
        annotations: LabelSet::new(),
        starts_at: start,
        ends_at: ends_at.unwrap_or("2026-01-01T02:00:00Z".parse().unwrap()),
        generator_url: String::new(),
        updated_at: start,
        timeout: false,
    }
}

/// Receiver `t`, an empty group, flushed at 01:00.
pub fn ctx() -> NotifyContext {
    NotifyContext {
        receiver: "t".into(),
        group_key: "{}:{}".into(),
        group_labels: LabelSet::new(),
        external_url: "http://am".into(),
        now: "2026-01-01T01:00:00Z".parse().unwrap(),
    }
}
