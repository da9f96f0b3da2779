//! Recording and alerting rules: rule files (the Prometheus format), their evaluation on a
//! schedule, and the alert state machine.
//!
//! Rules read through `promql::Engine` and write through the `tsdb` appender; they know
//! nothing of HTTP (the API reads their state) and do not send alerts anywhere (notification
//! is a separate layer that reads the active alerts).

pub mod alerting;
pub mod check;
pub mod file;
pub mod group;
pub mod manager;
pub mod recording;
pub mod template;
mod yaml_pos;

pub use file::{parse, parse_file, Rule, RuleFileErrors, RuleGroup, RuleGroups};
pub use template::{NoTemplates, TemplateData, TemplateExpander};
