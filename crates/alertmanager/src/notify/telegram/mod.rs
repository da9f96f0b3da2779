//! Telegram (`telegram_configs`): the Bot API's `sendMessage`.
//!
//! `config` is the kind's entry: how it loads, inherits from `global` and prints, and what
//! `ReceiverKind` needs; `notifier` delivers.

mod config;
mod notifier;

pub use config::TelegramConfig;
pub use notifier::Telegram;
