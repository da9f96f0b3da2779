//! Webhook: Alertmanager's JSON payload POSTed to a URL (`webhook_configs`).
//!
//! `config` is the kind's entry: how it loads, inherits from `global` and prints, and what
//! `ReceiverKind` needs; `notifier` delivers.

mod config;
mod notifier;

pub use config::WebhookConfig;
pub use notifier::Webhook;
