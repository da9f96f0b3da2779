//! Syslog targets: Promtail's `syslog` scrape config. A target listens on one TCP (optionally
//! TLS) or UDP address, parses RFC 5424 or RFC 3164 messages, labels each with the
//! `__syslog_*` labels, applies the scrape config's `relabel_configs`, drops the `__` labels and
//! sends an [`Entry`] per message into a bounded channel (a full channel stops reading, so a
//! slow destination slows the senders down instead of filling memory).
//!
//! - `config`: the `syslog:` block with Promtail's keys and defaults.
//! - `framing`: octet counting and non-transparent framing over a byte stream.
//! - `rfc5424`, `rfc3164`: the two message formats, into one [`Message`].
//! - `labels`: a message to an `Entry` (labels, relabeling, timestamp, line).
//! - `listener`: the TCP, TLS and UDP loops, connection limits and idle timeouts.
//!
//! Not here: pipeline stages (the caller runs them on the entries), where entries go, and
//! reading the scrape config around the block (`config`).

mod config;
mod framing;
mod labels;
mod listener;
mod message;
mod metrics;
pub mod rfc3164;
pub mod rfc5424;
#[cfg(test)]
mod tests;

use thiserror::Error;

pub use config::{
    Protocol, SyslogConfig, SyslogFormat, SyslogTlsConfig, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH_LIMIT,
};
pub use framing::NEWLINE_FLUSH_DELAY;
pub use listener::{SyslogTarget, MAX_CONNECTIONS};
pub use message::{Message, ParseError, StructuredData};
pub use metrics::SyslogMetrics;

/// Why a syslog target could not start.
#[derive(Debug, Error)]
pub enum SyslogError {
    #[error("{0}")]
    Config(String),
    #[error("error setting up syslog target: {0}")]
    Listen(std::io::Error),
    #[error("error setting up syslog target: {0}")]
    Tls(String),
}
