//! The seam where a scrape config's `pipeline_stages` run on each entry between its target and
//! the destination: [`JobPipeline::process`] for each entry read. The stages themselves are the
//! `stages` module's; until it is plugged in here, a job with stages is refused at start
//! ("pipeline_stages is not supported by bongsu yet") and a job without passes entries on
//! unchanged, which is what an empty pipeline does. (Stages that hold entries, such as
//! `multiline`, also need their `flush` called once per tailer round, in `Tailer::round`.)

use crate::config::ScrapeConfig;
use crate::{CollectError, Entry};

/// One scrape config's pipeline.
#[derive(Debug)]
pub(crate) struct JobPipeline;

impl JobPipeline {
    pub(crate) fn new(sc: &ScrapeConfig) -> Result<JobPipeline, CollectError> {
        if !sc.pipeline_stages.is_empty() {
            return Err(CollectError::Unsupported("pipeline_stages"));
        }
        Ok(JobPipeline)
    }

    /// Runs the stages on `entry`, pushing what comes out (none if dropped).
    pub(crate) fn process(&mut self, entry: Entry, out: &mut Vec<Entry>) {
        out.push(entry);
    }
}
