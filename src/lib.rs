//! The `bongsu` binary's own code that tests drive too: the OpenMetrics backfill importer
//! behind `bongsu import openmetrics`, and the log store behind rules on LogQL
//! (`log_rules`).
//!
//! Everything else lives in the library crates under `crates/` (see `ARCHITECTURE.md`); the
//! binary (`main.rs`) parses flags and wires them together.

pub mod backfill;
pub mod log_rules;
