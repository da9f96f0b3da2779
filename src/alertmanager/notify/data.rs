//! The data of one notification, Alertmanager's `template.Data`: what the webhook payload
//! carries and what notification templates will render.

use serde::Serialize;

use super::NotifyContext;
use crate::alertmanager::matcher::LabelSet;
use crate::alertmanager::types::{Alert, GO_ZERO_TIME};
use crate::template::alertmanager::quote_meta;

/// One alert of a notification.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DataAlert {
    pub status: &'static str,
    pub labels: LabelSet,
    pub annotations: LabelSet,
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    pub fingerprint: String,
}

/// A notification's data.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Data {
    pub receiver: String,
    pub status: &'static str,
    pub alerts: Vec<DataAlert>,
    #[serde(rename = "groupLabels")]
    pub group_labels: LabelSet,
    #[serde(rename = "commonLabels")]
    pub common_labels: LabelSet,
    #[serde(rename = "commonAnnotations")]
    pub common_annotations: LabelSet,
    #[serde(rename = "externalURL")]
    pub external_url: String,
}

impl Data {
    /// Builds the data as Alertmanager does; firing alerts carry Go's zero time as their end
    /// (the pipeline has already cleared it), and the receiver name is regex-quoted.
    pub fn new(ctx: &NotifyContext, alerts: &[Alert]) -> Data {
        let now = ctx.now;
        let mut firing = false;
        let list: Vec<DataAlert> = alerts
            .iter()
            .map(|a| {
                let resolved = a.resolved_at(now);
                firing |= !resolved;
                DataAlert {
                    status: if resolved { "resolved" } else { "firing" },
                    labels: a.labels.clone(),
                    annotations: a.annotations.clone(),
                    starts_at: a.starts_at.to_string(),
                    ends_at: if resolved {
                        a.ends_at.to_string()
                    } else {
                        GO_ZERO_TIME.to_string()
                    },
                    generator_url: a.generator_url.clone(),
                    fingerprint: a.fingerprint().to_string(),
                }
            })
            .collect();
        Data {
            receiver: quote_meta(&ctx.receiver),
            status: if firing { "firing" } else { "resolved" },
            group_labels: ctx.group_labels.clone(),
            common_labels: common(alerts.iter().map(|a| &a.labels)),
            common_annotations: common(alerts.iter().map(|a| &a.annotations)),
            external_url: ctx.external_url.clone(),
            alerts: list,
        }
    }
}

/// The pairs every set has with the same value.
fn common<'a>(mut sets: impl Iterator<Item = &'a LabelSet>) -> LabelSet {
    let Some(first) = sets.next() else {
        return LabelSet::new();
    };
    let mut out = first.clone();
    for s in sets {
        out.retain(|k, v| s.get(k) == Some(v));
    }
    out
}
