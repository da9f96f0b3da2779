//! Delivering notifications: the receiver kinds (a folder each, all listed once in
//! `registry`), the notifier interface every kind implements, the integrations built from a
//! receiver's entries, the data a notification carries, and
//! the pipeline a group flush goes through (time intervals → inhibition → silences → per
//! integration: dedup against the notification log → send with retries → log).

mod data;
pub mod discord;
pub mod email;
mod gojson;
pub mod incidentio;
pub mod jira;
mod kind;
pub mod mattermost;
mod metrics;
pub mod msteams;
pub mod msteamsv2;
pub mod opsgenie;
pub mod pagerduty;
mod pipeline;
pub mod pushover;
pub mod registry;
mod render;
mod retrier;
pub mod rocketchat;
pub mod slack;
pub mod telegram;
#[cfg(test)]
mod test_support;
pub mod victorops;
pub mod webex;
pub mod webhook;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use crate::config::Receiver;
use crate::matcher::LabelSet;
use crate::nflog::ReceiverData;
use crate::types::Alert;
use registry::BUILD_ORDER;

pub use data::{notification_data, DataJson};
pub use kind::{IntegrationConfig, ReceiverKind};
pub use metrics::{write_metrics, NotifyMetrics};
pub use pipeline::{FlushInfo, Pipeline};
pub use render::Render;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a notifier knows about the notification besides its alerts.
#[derive(Debug, Clone)]
pub struct NotifyContext {
    pub receiver: String,
    pub group_key: String,
    pub group_labels: LabelSet,
    pub external_url: String,
    /// The time of the flush: alerts ended by then are resolved.
    pub now: jiff::Timestamp,
    /// Why the dedup stage notifies (Alertmanager 0.32+'s `notification_reason`):
    /// [`pipeline::notify_reason`]'s answer.
    pub notification_reason: &'static str,
}

/// Why a notification attempt failed, and whether trying again may help.
#[derive(Debug, Clone)]
pub struct NotifyError {
    pub retry: bool,
    pub message: String,
    /// The `reason` label of `alertmanager_notifications_failed_total`.
    pub reason: &'static str,
}

impl NotifyError {
    pub fn permanent(message: impl Into<String>) -> NotifyError {
        NotifyError {
            retry: false,
            message: message.into(),
            reason: "other",
        }
    }

    pub fn transient(message: impl Into<String>) -> NotifyError {
        NotifyError {
            retry: true,
            message: message.into(),
            reason: "other",
        }
    }
}

/// One way of delivering a notification (a webhook, an email server, …).
pub trait Notifier: Send + Sync {
    /// Sends one notification with `alerts` (firing and resolved, already filtered by
    /// `send_resolved`).
    fn notify<'a>(
        &'a self,
        ctx: &'a NotifyContext,
        alerts: &'a [Alert],
    ) -> BoxFuture<'a, Result<(), NotifyError>>;

    /// `notify` for notifiers that keep data about a group's last notification (Slack's
    /// `update_message`): `data` holds what the notification log kept from the last
    /// successful notification, and what is in it after a success is logged with this one.
    fn notify_with_data<'a>(
        &'a self,
        ctx: &'a NotifyContext,
        alerts: &'a [Alert],
        data: &'a mut ReceiverData,
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        let _ = data;
        self.notify(ctx, alerts)
    }
}

/// A notifier that needs nothing but the notification: every kind but Slack (whose
/// `update_message` keeps state across notifications) implements this and so is a
/// [`Notifier`].
pub trait Deliver: Send + Sync {
    fn deliver(
        &self,
        ctx: &NotifyContext,
        alerts: &[Alert],
    ) -> impl Future<Output = Result<(), NotifyError>> + Send;
}

impl<T: Deliver> Notifier for T {
    fn notify<'a>(
        &'a self,
        ctx: &'a NotifyContext,
        alerts: &'a [Alert],
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.deliver(ctx, alerts))
    }
}

/// A notifier of a receiver with its settings.
pub struct Integration {
    /// The kind: `webhook`, `email`, …
    pub kind: &'static str,
    /// Position among the receiver's notifiers of this kind.
    pub index: usize,
    pub send_resolved: bool,
    pub notifier: Box<dyn Notifier>,
}

impl Integration {
    /// The notification log's name for it: `receiver/kind/index`.
    pub fn log_name(&self, receiver: &str) -> String {
        format!("{receiver}/{}/{}", self.kind, self.index)
    }
}

/// The notifier of the built-in default receiver (no `--alertmanager.config.file`): logs
/// each notification.
struct LogNotifier;

impl Deliver for LogNotifier {
    async fn deliver(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        for a in alerts {
            let status = if a.resolved_at(ctx.now) {
                "resolved"
            } else {
                "firing"
            };
            tracing::info!(
                receiver = %ctx.receiver,
                group = %ctx.group_key,
                status,
                labels = %crate::route::label_set_string(&a.labels),
                "alert"
            );
        }
        Ok(())
    }
}

/// The integrations of a receiver, rendering with `templates`. `log` adds the logging
/// notifier (the default receiver).
pub fn integrations(
    r: &Receiver,
    templates: &Arc<NotificationTemplates>,
    log: bool,
) -> Result<Vec<Arc<Integration>>, String> {
    let mut out = Vec::new();
    for kind in BUILD_ORDER {
        for (index, c) in r.entries_of(kind).enumerate() {
            out.push(Integration {
                kind,
                index,
                send_resolved: c.send_resolved(),
                notifier: c.notifier(templates)?,
            });
        }
    }
    if log {
        out.push(Integration {
            kind: "log",
            index: 0,
            send_resolved: true,
            notifier: Box::new(LogNotifier),
        });
    }
    Ok(out.into_iter().map(Arc::new).collect())
}
