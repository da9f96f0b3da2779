//! Jira (`jira_configs`): one issue per alert group, created, updated, reopened and resolved.
//!
//! `config` is the kind's entry: how it loads, inherits from `global` and prints, and what
//! `ReceiverKind` needs; `notifier` delivers.

mod body;
mod config;
mod notifier;

pub use config::{JiraConfig, JiraField};
pub use notifier::Jira;
