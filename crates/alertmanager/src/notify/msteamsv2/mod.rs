//! Microsoft Teams workflows (`msteamsv2_configs`): an Adaptive Card POSTed to a Power
//! Automate workflow.
//!
//! `config` is the kind's entry: how it loads, inherits from `global` and prints, and what
//! `ReceiverKind` needs; `notifier` delivers.

mod config;
mod notifier;

pub use config::MsTeamsV2Config;
pub use notifier::MsTeamsV2;
