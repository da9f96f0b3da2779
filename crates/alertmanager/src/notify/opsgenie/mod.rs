//! Opsgenie (`opsgenie_configs`): the Alert API v2, alerts created, updated and closed per
//! group.
//!
//! `config` is the kind's entry: how it loads, inherits from `global` and prints, and what
//! `ReceiverKind` needs; `notifier` delivers.

mod config;
mod notifier;

pub use config::{OpsgenieConfig, OpsgenieResponder};
pub use notifier::Opsgenie;
