//! Microsoft Teams connectors (`msteams_configs`): a `MessageCard` POSTed to an incoming
//! webhook.
//!
//! `config` is the kind's entry: how it loads, inherits from `global` and prints, and what
//! `ReceiverKind` needs; `notifier` delivers.

mod config;
mod notifier;

pub use config::MsTeamsConfig;
pub use notifier::MsTeams;
