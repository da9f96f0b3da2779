//! incident.io (`incidentio_configs`): the webhook-style payload POSTed to an HTTP alert
//! source.
//!
//! `config` is the kind's entry: how it loads, inherits from `global` and prints, and what
//! `ReceiverKind` needs; `notifier` delivers.

mod config;
mod notifier;

pub use config::IncidentioConfig;
pub use notifier::Incidentio;
