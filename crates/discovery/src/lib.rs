//! Service discovery: where the targets of a scrape job or the Alertmanagers of `alerting`
//! come from. bongsu implements Prometheus' `static_configs` and `file_sd_configs`.
//!
//! This crate owns those two sections' configuration model and validation, and turning them
//! into [`TargetGroup`]s (reading and globbing file_sd files, within a size bound). It does not
//! relabel, watch files on a schedule or scrape: its users (`scrape`, `notifier`) do.

mod config;
mod groups;

use thiserror::Error;

pub use config::{FileSdConfig, StaticConfig};
pub use groups::{
    expand_patterns, read_file_groups, static_groups, TargetGroup, MAX_SD_FILE_BYTES,
};

/// A semantic error in a discovery section, with Prometheus' wording.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ConfigError(String);
