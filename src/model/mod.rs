//! The data model shared by every layer: label sets, label matchers and samples.
//!
//! This module owns the *shape* of series data and its validation rules (as Prometheus defines
//! them). It does no I/O and knows nothing about storage, HTTP or PromQL.

mod labels;
mod matcher;
mod sample;

pub use labels::{
    stable_hash_of, Label, Labels, LabelsBuilder, LabelsError, SymbolTable, MAX_LABELS, METRIC_NAME,
};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use sample::{is_stale_nan, Sample, STALE_NAN, STALE_NAN_BITS};
