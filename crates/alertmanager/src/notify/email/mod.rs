//! Email (`email_configs`): SMTP delivery, with the `smtp_*` globals as defaults; the SMTP
//! client, its TLS and the MIME message are this kind's own.
//!
//! `config` is the kind's entry: how it loads, inherits from `global` and prints, and what
//! `ReceiverKind` needs; `notifier` delivers.

mod address;
mod config;
mod message;
mod notifier;
mod smtp;
mod tls;

pub use config::{EmailConfig, ThreadingConfig, DEFAULT_EMAIL_HTML, DEFAULT_EMAIL_SUBJECT};
pub use notifier::Email;
