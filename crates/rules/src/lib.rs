//! Recording and alerting rules: rule files (the Prometheus format), their evaluation on a
//! schedule, and the alert state machine.
//!
//! Rules read through `promql::Engine` (PromQL rules) or a [`logs::LogQuerier`] (LogQL rules,
//! Loki's ruler) and write through the `tsdb` appender; they know nothing of HTTP (the API reads their state) and do not send alerts anywhere: [`SendAlerts`]
//! turns them into notifications for whatever sender the binary wires in.

pub mod alerting;
pub mod check;
pub mod file;
pub mod group;
pub mod logs;
pub mod manager;
mod metrics;
pub mod recording;
mod send;
pub mod template;
pub mod unittest;
mod yaml_pos;

pub use file::{
    parse, parse_as, parse_file, parse_file_as, QueryLang, Rule, RuleFileErrors, RuleGroup,
    RuleGroups,
};
pub use logs::LogQuerier;
pub use send::SendAlerts;
pub use template::{EngineQuery, PromTemplates, TemplateData, TemplateExpander};

/// Maps and sets keyed by label sets, with xxHash3: label sets come from the rules' own query
/// results, and SipHash dominated evaluation profiles.
pub(crate) type LabelsMap<V> =
    std::collections::HashMap<bongsu_model::Labels, V, xxhash_rust::xxh3::Xxh3DefaultBuilder>;
pub(crate) type LabelsSet =
    std::collections::HashSet<bongsu_model::Labels, xxhash_rust::xxh3::Xxh3DefaultBuilder>;
