//! Promtail's pipeline stages: what a scrape config's `pipeline_stages` do to each line
//! between its target and its destination — parse it (`json`, `logfmt`, `regex`, `docker`,
//! `cri`), set labels, structured metadata and the time from what was parsed, rewrite the
//! line (`output`, `template`, `replace`, `pack`, `decolorize`), drop, sample, rate-limit or
//! join lines (`drop`, `match`, `sampling`, `limit`, `multiline`), and count them as
//! Prometheus series (`metrics`).
//!
//! [`Pipeline`] is the whole: built from the YAML list with Promtail's errors
//! ([`StageError`]), it takes an [`Entry`](crate::Entry) and gives 0..n entries. Stages are
//! declared once, in the table in `pipeline`. Between stages each entry carries Promtail's
//! extracted map (`value`), which never leaves the pipeline.
//!
//! Not here: where lines come from and go (targets, destinations), the period at which
//! [`Pipeline::flush`] and [`PipelineMetrics::append_to`] are called (the owner's), the
//! TSDB itself (reached through `bongsu_storage::Appendable`). Differences from Promtail
//! are listed in `crates/logcollect/STAGES.md`.

mod container;
mod extract;
mod filter;
mod item;
mod labels;
mod line;
mod match_stage;
mod metrics;
mod multiline;
mod pipeline;
mod template;
mod time;
mod value;

#[cfg(test)]
mod tests;

pub use labels::TENANT_LABEL;
pub use metrics::{AppendStats, PipelineMetrics, DEFAULT_PREFIX, MAX_SERIES_PER_METRIC};
pub use multiline::MAX_STREAMS as MAX_MULTILINE_STREAMS;
pub use pipeline::{stage_names, Pipeline, StageError};
