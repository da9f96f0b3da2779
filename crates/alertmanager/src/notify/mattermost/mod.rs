//! Mattermost (`mattermost_configs`): an incoming webhook with attachments, props and
//! priority.
//!
//! `config` is the kind's entry: how it loads, inherits from `global` and prints, and what
//! `ReceiverKind` needs; `notifier` delivers.

mod config;
mod notifier;

pub use config::{
    MattermostAttachment, MattermostConfig, MattermostField, MattermostPriority, MattermostProps,
};
pub use notifier::Mattermost;
