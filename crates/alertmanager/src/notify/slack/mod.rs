//! Slack (`slack_configs`): incoming webhooks or bot tokens, attachments, and messages
//! updated in place.
//!
//! `config` is the kind's entry: how it loads, inherits from `global` and prints, and what
//! `ReceiverKind` needs; `notifier` delivers.

mod config;
mod notifier;

pub use config::{SlackAction, SlackConfig, SlackConfirmation, SlackField};
pub use notifier::Slack;
