//! Delivering notifications: the notifier interface every receiver kind implements, the
//! integrations built from a receiver's configuration, the data a notification carries, and
//! the pipeline a group flush goes through (time intervals → inhibition → silences → per
//! integration: dedup against the notification log → send with retries → log).
//!
//! Receiver kinds whose notifier is not built yet (email, Slack, Discord, Microsoft Teams,
//! Telegram) are recognised but every attempt fails with "… not supported yet".

mod api;
mod data;
mod metrics;
mod opsgenie;
mod pagerduty;
mod pipeline;
mod pushover;
mod render;
mod victorops;
mod webhook;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::alertmanager::config::Receiver;
use crate::alertmanager::matcher::LabelSet;
use crate::alertmanager::types::Alert;
use crate::template::alertmanager::NotificationTemplates;

pub use data::{notification_data, DataJson};
pub use metrics::{render as render_metrics, NotifyMetrics};
pub use opsgenie::Opsgenie;
pub use pagerduty::Pagerduty;
pub use pipeline::{FlushInfo, Pipeline};
pub use pushover::Pushover;
pub use render::Render;
pub use victorops::Victorops;
pub use webhook::Webhook;

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

/// A notifier of a kind bongsu cannot deliver to yet: every attempt fails without retry.
struct Unsupported(&'static str);

impl Notifier for Unsupported {
    fn notify<'a>(
        &'a self,
        _: &'a NotifyContext,
        _: &'a [Alert],
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        let kind = self.0;
        Box::pin(async move {
            Err(NotifyError::permanent(format!(
                "{kind} notifications are not supported yet"
            )))
        })
    }
}

/// The notifier of the built-in default receiver (no `--alertmanager.config.file`): logs
/// each notification.
struct LogNotifier;

impl Notifier for LogNotifier {
    fn notify<'a>(
        &'a self,
        ctx: &'a NotifyContext,
        alerts: &'a [Alert],
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(async move {
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
                    labels = %crate::alertmanager::route::label_set_string(&a.labels),
                    "alert"
                );
            }
            Ok(())
        })
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
    for (i, w) in r.webhook_configs.iter().enumerate() {
        out.push(Integration {
            kind: "webhook",
            index: i,
            send_resolved: w.send_resolved,
            notifier: Box::new(Webhook::new(w.clone(), templates.clone())?),
        });
    }
    for (i, c) in r.pagerduty_configs.iter().enumerate() {
        out.push(Integration {
            kind: "pagerduty",
            index: i,
            send_resolved: c.send_resolved,
            notifier: Box::new(Pagerduty::new(c.clone(), templates.clone())?),
        });
    }
    for (i, c) in r.opsgenie_configs.iter().enumerate() {
        out.push(Integration {
            kind: "opsgenie",
            index: i,
            send_resolved: c.send_resolved,
            notifier: Box::new(Opsgenie::new(c.clone(), templates.clone())?),
        });
    }
    for (i, c) in r.victorops_configs.iter().enumerate() {
        out.push(Integration {
            kind: "victorops",
            index: i,
            send_resolved: c.send_resolved,
            notifier: Box::new(Victorops::new(c.clone(), templates.clone())?),
        });
    }
    for (i, c) in r.pushover_configs.iter().enumerate() {
        out.push(Integration {
            kind: "pushover",
            index: i,
            send_resolved: c.send_resolved,
            notifier: Box::new(Pushover::new(c.clone(), templates.clone())?),
        });
    }
    let unsupported = [
        (
            "email",
            r.email_configs
                .iter()
                .map(|c| c.send_resolved)
                .collect::<Vec<_>>(),
        ),
        (
            "slack",
            r.slack_configs.iter().map(|c| c.send_resolved).collect(),
        ),
        (
            "discord",
            r.discord_configs.iter().map(|c| c.send_resolved).collect(),
        ),
        (
            "msteams",
            r.msteams_configs.iter().map(|c| c.send_resolved).collect(),
        ),
        (
            "telegram",
            r.telegram_configs.iter().map(|c| c.send_resolved).collect(),
        ),
    ];
    for (kind, list) in unsupported {
        for (i, send_resolved) in list.into_iter().enumerate() {
            out.push(Integration {
                kind,
                index: i,
                send_resolved,
                notifier: Box::new(Unsupported(kind)),
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
