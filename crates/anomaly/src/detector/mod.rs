//! Detectors: a PromQL query whose result series are each modelled, evaluated at an interval,
//! the scores written back as series for alerting rules and dashboards.
//!
//! [`config`] reads detector files; [`run::Detector`] is one detector's state and rounds;
//! [`manager::DetectorManager`] runs them and applies reloads; [`metrics`] reports their cost.

pub mod config;
pub mod manager;
pub mod metrics;
pub mod run;

pub use config::{load_file, load_files, ConfigError, DetectorConfig, DetectorFile};
pub use manager::DetectorManager;
pub use run::{Detector, DetectorError, Round, OUTPUT_NAMES};
