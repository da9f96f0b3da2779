//! Webex (`webex_configs`): a room's messages API, authorized by the receiver's own bot token.
//!
//! `config` is the kind's entry: how it loads, inherits from `global` and prints, and what
//! `ReceiverKind` needs; `notifier` delivers.

mod config;
mod notifier;

pub use config::WebexConfig;
pub use notifier::Webex;
