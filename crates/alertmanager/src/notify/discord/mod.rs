//! Discord (`discord_configs`): a webhook execution with one embed.
//!
//! `config` is the kind's entry: how it loads, inherits from `global` and prints, and what
//! `ReceiverKind` needs; `notifier` delivers.

mod config;
mod notifier;

pub use config::DiscordConfig;
pub use notifier::Discord;
