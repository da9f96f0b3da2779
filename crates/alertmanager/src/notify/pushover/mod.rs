//! Pushover (`pushover_configs`): the messages API, with priorities and emergency retries.
//!
//! `config` is the kind's entry: how it loads, inherits from `global` and prints, and what
//! `ReceiverKind` needs; `notifier` delivers.

mod config;
mod notifier;

pub use config::PushoverConfig;
pub use notifier::Pushover;
