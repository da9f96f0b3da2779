//! VictorOps / Splunk On-Call (`victorops_configs`): one event per notification to the REST
//! endpoint.
//!
//! `config` is the kind's entry: how it loads, inherits from `global` and prints, and what
//! `ReceiverKind` needs; `notifier` delivers.

mod config;
mod notifier;

pub use config::VictoropsConfig;
pub use notifier::Victorops;
