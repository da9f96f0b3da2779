//! The seam where a scrape config's `pipeline_stages` run on each entry between its target and
//! the destination: [`JobPipeline::process`] for each entry read, [`JobPipeline::flush`] once
//! per round for what stages hold (`multiline` blocks past their `max_wait_time`). The stages
//! are the `stages` module's; a job without stages passes entries on unchanged.

use serde_yaml_ng::Value;

use crate::config::ScrapeConfig;
use crate::metrics::pipeline_metrics;
use crate::stages::{Pipeline, StageError};
use crate::Entry;

/// One scrape config's pipeline.
#[derive(Debug)]
pub(crate) struct JobPipeline(Pipeline);

impl JobPipeline {
    pub(crate) fn new(sc: &ScrapeConfig) -> Result<JobPipeline, StageError> {
        let stages = Value::Sequence(sc.pipeline_stages.clone());
        Pipeline::new(&stages, &sc.job_name, pipeline_metrics()).map(JobPipeline)
    }

    /// Runs the stages on `entry`, pushing what comes out (none if dropped).
    pub(crate) fn process(&mut self, entry: Entry, out: &mut Vec<Entry>) {
        out.extend(self.0.process(entry));
    }

    /// Pushes what the stages release at `now_ns`.
    pub(crate) fn flush(&mut self, now_ns: i64, out: &mut Vec<Entry>) {
        out.extend(self.0.flush(now_ns));
    }
}
