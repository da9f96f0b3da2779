//! The data model shared by every layer: label sets, label matchers, samples (floats and native
//! histograms), log lines,
//! Prometheus' durations and byte sizes, the alert handed from rule evaluation to
//! Alertmanagers, and the links from alerts and series to their logs.
//!
//! This crate owns the *shape* of series data and its validation rules (as Prometheus defines
//! them). It does no I/O and knows nothing about storage, HTTP or PromQL.

pub mod alert;
pub mod histogram;
mod labels;
pub mod log;
pub mod logs_link;
mod matcher;
mod sample;
pub mod units;

pub use histogram::{
    CounterResetHint, FloatHistogram, Histogram, HistogramError, HistogramSample, HistogramValue,
    Span,
};
pub use labels::{
    stable_hash_of, Label, Labels, LabelsBuilder, LabelsError, SymbolTable, MAX_LABELS, METRIC_NAME,
};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use sample::{is_stale_nan, Sample, STALE_NAN, STALE_NAN_BITS};
pub use units::{
    format_prometheus_duration, parse_base2_bytes, parse_prometheus_duration, DURATION_UNITS,
};
