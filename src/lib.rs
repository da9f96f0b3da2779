//! bongsu: a single-binary, Prometheus-compatible monitoring system.
//!
//! Data flows one way through the modules: `exposition` → `tsdb` → `promql` → `api`. Lower
//! layers never import higher ones. See `ARCHITECTURE.md` at the repository root.

pub mod exposition;
pub mod model;
pub mod tsdb;
