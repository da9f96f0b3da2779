//! What the receiver kinds' unit tests share: a configuration holding one entry of any kind,
//! the default templates, alerts and notification contexts.

use std::sync::Arc;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use super::{NotifyContext, ReceiverKind};
use crate::config::Config;
use crate::matcher::LabelSet;
use crate::types::Alert;

/// `alertmanager.yml` with `global` as the body of its `global` section and one receiver,
/// `t`, holding one `K` entry (continuation lines of `entry` indented by four spaces); the
/// error's text when it does not load.
pub fn load<K: ReceiverKind>(global: &str, entry: &str) -> Result<Config, String> {
    let yaml = format!(
        "global:\n  {global}\nroute: {{receiver: t}}\nreceivers:\n- name: t\n  {}_configs:\n  - {entry}\n",
        K::NAME
    );
    Config::parse(&yaml, None).map_err(|e| e.to_string())
}

/// The entry of [`load`]'s configuration, which must load.
pub fn entry<K: ReceiverKind>(global: &str, entry: &str) -> K {
    let cfg = load::<K>(global, entry).unwrap_or_else(|e| panic!("{e}"));
    cfg.receivers[0].configs::<K>()[0].clone()
}

/// bongsu's notification templates, as notifiers take them.
pub fn templates() -> Arc<NotificationTemplates> {
    Arc::new(NotificationTemplates::with_defaults())
}

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
        notification_reason: "first notification",
    }
}

/// The paging receivers' fixtures: receiver `pager`, a group of `Down` alerts with an
/// annotation that needs escaping and a generator URL.
pub mod paging {
    use super::super::NotifyContext;
    use crate::matcher::LabelSet;
    use crate::types::Alert;

    pub fn ctx() -> NotifyContext {
        NotifyContext {
            receiver: "pager".into(),
            group_key: "{}:{alertname=\"Down\"}".into(),
            group_labels: LabelSet::from([("alertname".to_string(), "Down".to_string())]),
            external_url: "http://am.example:9093".into(),
            now: jiff::Timestamp::from_second(2_000).unwrap(),
            notification_reason: "first notification",
        }
    }

    /// An alert started at 1000s; resolved (ended at 1500s) or firing as of `ctx().now`.
    pub fn alert(instance: &str, resolved: bool) -> Alert {
        Alert {
            labels: LabelSet::from([
                ("alertname".to_string(), "Down".to_string()),
                ("instance".to_string(), instance.to_string()),
            ]),
            annotations: LabelSet::from([(
                "summary".to_string(),
                "it <broke> & stayed".to_string(),
            )]),
            starts_at: jiff::Timestamp::from_second(1_000).unwrap(),
            ends_at: jiff::Timestamp::from_second(if resolved { 1_500 } else { 9_000 }).unwrap(),
            generator_url: "http://prom/graph?g0.expr=up&x=1".into(),
            updated_at: jiff::Timestamp::from_second(1_000).unwrap(),
            timeout: false,
        }
    }
}
