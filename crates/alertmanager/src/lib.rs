//! Alertmanager inside bongsu: its configuration (`alertmanager.yml`), label matchers, the
//! routing tree, time intervals, and the pipeline that turns posted alerts into
//! notifications.
//!
//! Owns what Alertmanager's `config`, `pkg/labels`, `matcher`, `dispatch`, `timeinterval`,
//! `provider/mem`, `inhibit`, `silence`, `nflog`, `notify` and `api/v2` packages define, with
//! the same file format, defaults, validation messages and semantics. Data flows
//! `api` → `provider` (alert store) → `dispatch` (groups and their timers) → `notify`
//! (time intervals, `inhibit`, `silence`, dedup against `nflog`, delivery with retries);
//! `server` ties them to a configuration. Nothing here depends on the TSDB, PromQL or
//! scraping.

pub mod api;
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
mod sink;
mod snapshot;
pub mod timeinterval;
pub mod types;
