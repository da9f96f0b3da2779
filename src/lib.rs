//! The `bongsu` binary's own code that tests drive too: the OpenMetrics backfill importer
//! behind `bongsu import openmetrics`.
//!
//! Everything else lives in the library crates under `crates/` (see `ARCHITECTURE.md`); the
//! binary (`main.rs`) parses flags and wires them together.

pub mod backfill;
