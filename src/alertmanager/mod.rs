//! Alertmanager inside bongsu: its configuration (`alertmanager.yml`), label matchers, the
//! routing tree and time intervals.
//!
//! Owns what Alertmanager's `config`, `pkg/labels`, `matcher`, `dispatch/route.go` and
//! `timeinterval` packages define, with the same file format, defaults, validation messages
//! and semantics. It does not own alert storage, the dispatcher's timers, notification
//! delivery or the HTTP API; those build on these types. Nothing here depends on the TSDB,
//! PromQL or scraping.

pub mod config;
pub mod dispatch;
pub mod inhibit;
pub mod matcher;
pub mod nflog;
pub mod notify;
pub mod provider;
pub mod route;
pub mod server;
pub mod silence;
mod snapshot;
pub mod timeinterval;
pub mod types;
