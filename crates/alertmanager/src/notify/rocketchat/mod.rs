//! Rocket.Chat (`rocketchat_configs`): `chat.postMessage` with the token pair inherited
//! from `global`.
//!
//! `config` is the kind's entry: how it loads, inherits from `global` and prints, and what
//! `ReceiverKind` needs; `notifier` delivers.

mod config;
mod notifier;

pub use config::{RocketchatAction, RocketchatConfig, RocketchatField};
pub use notifier::Rocketchat;
