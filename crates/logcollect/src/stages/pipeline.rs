//! A scrape config's `pipeline_stages` built and run: the stage table (YAML name →
//! constructor), Promtail's pipeline errors, and the entry flow through the stages.
//!
//! Promtail runs each stage as a goroutine joined by channels; here a pipeline is a plain
//! value its owner (a tailer, a syslog connection) calls, so stages run in order on the
//! caller's thread and the stage state (`multiline` buffers, `limit` buckets, fudged
//! timestamps) needs no locks. Entries leave in the order Promtail's channels give them.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use super::item::Item;
use super::metrics::PipelineMetrics;
use super::{
    container, extract, filter, labels, line, match_stage, metrics, multiline, template, time,
};
use crate::Entry;

/// Why a pipeline could not be built; texts are Promtail's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StageError {
    #[error("pipeline_stages must be a list of stages")]
    NotAList,
    #[error(
        "invalid YAML config, make sure each stage of your pipeline is a YAML object (must end with a `:`), check stage `- {0}`"
    )]
    NotAnObject(String),
    #[error("pipeline stage must contain only one key")]
    MoreThanOneKey,
    #[error("Unknown stage type: {0}")]
    Unknown(String),
    #[error("invalid {stage} stage config: {msg}")]
    Invalid { stage: String, msg: String },
    #[error("the {0} stage is not supported by bongsu yet: {1}")]
    NotSupported(&'static str, &'static str),
}

/// What every stage does with the entries reaching it.
pub(crate) trait Stage: Send {
    /// Handles one entry, pushing 0..n entries to `out` (none: dropped or held).
    fn process(&mut self, item: Item, out: &mut Vec<Item>);

    /// Pushes the entries held longer than the stage allows at `now_ns` (`multiline`).
    fn flush(&mut self, _now_ns: i64, _out: &mut Vec<Item>) {}
}

/// A stage that changes each entry in place and never drops one (Promtail's `Processor`).
pub(crate) trait Processor: Send {
    fn apply(&mut self, item: &mut Item);
}

/// Runs a [`Processor`] as a [`Stage`].
pub(crate) struct Each<P>(pub P);

impl<P: Processor> Stage for Each<P> {
    fn process(&mut self, mut item: Item, out: &mut Vec<Item>) {
        self.0.apply(&mut item);
        out.push(item);
    }
}

/// What a stage constructor gets besides its own YAML.
#[derive(Clone)]
pub(crate) struct Context {
    pub metrics: PipelineMetrics,
}

pub(crate) type Built = Result<Box<dyn Stage>, String>;
type Constructor = fn(&Yaml, &Context) -> Built;

/// What the table holds for one YAML name.
enum Kind {
    Run(Constructor),
    /// Known to Promtail, not built by bongsu: building fails with this reason.
    NotSupported(&'static str),
}

const NO_GEOIP: &str = "it needs MaxMind databases, which bongsu does not read";
const NO_WINDOWS: &str = "bongsu collects no Windows event logs";

/// Every stage Promtail has, by its YAML name: the one place a stage kind is declared.
const STAGES: &[(&str, Kind)] = &[
    ("docker", Kind::Run(container::docker)),
    ("cri", Kind::Run(container::cri)),
    ("json", Kind::Run(extract::json)),
    ("logfmt", Kind::Run(extract::logfmt)),
    ("regex", Kind::Run(extract::regex)),
    ("replace", Kind::Run(template::replace)),
    ("template", Kind::Run(template::template)),
    ("pack", Kind::Run(line::pack)),
    ("output", Kind::Run(line::output)),
    ("decolorize", Kind::Run(line::decolorize)),
    ("labels", Kind::Run(labels::labels)),
    ("labelallow", Kind::Run(labels::labelallow)),
    ("labeldrop", Kind::Run(labels::labeldrop)),
    ("static_labels", Kind::Run(labels::static_labels)),
    (
        "structured_metadata",
        Kind::Run(labels::structured_metadata),
    ),
    // Promtail's older name for `structured_metadata`.
    ("non_indexed_labels", Kind::Run(labels::structured_metadata)),
    ("tenant", Kind::Run(labels::tenant)),
    ("timestamp", Kind::Run(time::timestamp)),
    ("drop", Kind::Run(filter::drop)),
    ("sampling", Kind::Run(filter::sampling)),
    ("limit", Kind::Run(filter::limit)),
    ("match", Kind::Run(match_stage::matcher)),
    ("multiline", Kind::Run(multiline::multiline)),
    ("metrics", Kind::Run(metrics::metrics)),
    ("geoip", Kind::NotSupported(NO_GEOIP)),
    ("eventlogmessage", Kind::NotSupported(NO_WINDOWS)),
    ("windowsevent", Kind::NotSupported(NO_WINDOWS)),
];

/// The YAML names of every stage kind bongsu runs, in table order.
pub fn stage_names() -> impl Iterator<Item = &'static str> {
    STAGES
        .iter()
        .filter(|(_, k)| matches!(k, Kind::Run(_)))
        .map(|(n, _)| *n)
}

/// A scrape config's pipeline: its stages in order and their state.
pub struct Pipeline {
    stages: Vec<Box<dyn Stage>>,
    metrics: PipelineMetrics,
    /// The scrape config's `job_name`, for logs.
    job: String,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("stages", &self.stages.len())
            .finish()
    }
}

impl Pipeline {
    /// Builds the pipeline of `stages` (the `pipeline_stages` list as YAML; null is an
    /// empty pipeline). `metrics` receives the `metrics` stages' series and the counts of
    /// dropped lines.
    pub fn new(
        stages: &Yaml,
        job_name: &str,
        metrics: &PipelineMetrics,
    ) -> Result<Pipeline, StageError> {
        let ctx = Context {
            metrics: metrics.clone(),
        };
        Ok(Pipeline {
            stages: build(stages, &ctx)?,
            metrics: metrics.clone(),
            job: job_name.to_string(),
        })
    }

    /// Validates `stages` as [`Pipeline::new`] does, without keeping anything (for
    /// `bongsu check log-config`).
    pub fn check(stages: &Yaml) -> Result<(), StageError> {
        let ctx = Context {
            metrics: PipelineMetrics::default(),
        };
        build(stages, &ctx).map(|_| ())
    }

    /// Runs one entry through the stages; 0..n entries come out.
    pub fn process(&mut self, entry: Entry) -> Vec<Entry> {
        // No stages: the entry leaves as it came (its labels are already a valid set), without
        // the round trip through the extracted map.
        if self.stages.is_empty() {
            return vec![entry];
        }
        let items = run(&mut self.stages, vec![Item::from_entry(entry)]);
        self.finish(items)
    }

    /// Releases what stages hold longer than they may at `now_ns` (Unix nanoseconds):
    /// `multiline` blocks older than `max_wait_time`. Call it about once a second.
    pub fn flush(&mut self, now_ns: i64) -> Vec<Entry> {
        let items = flush(&mut self.stages, now_ns);
        self.finish(items)
    }

    fn finish(&self, items: Vec<Item>) -> Vec<Entry> {
        items
            .into_iter()
            .filter_map(|i| {
                let e = i.into_entry();
                if e.is_none() {
                    tracing::warn!(
                        job = %self.job,
                        "dropping a log line whose pipeline gave it more than {} labels",
                        bongsu_model::MAX_LABELS
                    );
                    self.metrics.count_drop("too_many_labels");
                }
                e
            })
            .collect()
    }
}

/// Builds the stages of a `stages` list (also for `match`'s nested pipeline).
pub(crate) fn build(stages: &Yaml, ctx: &Context) -> Result<Vec<Box<dyn Stage>>, StageError> {
    let list = match stages {
        Yaml::Null => return Ok(Vec::new()),
        Yaml::Sequence(s) => s,
        _ => return Err(StageError::NotAList),
    };
    let mut out = Vec::with_capacity(list.len());
    for s in list {
        let Yaml::Mapping(m) = s else {
            return Err(StageError::NotAnObject(yaml_text(s)));
        };
        if m.len() > 1 {
            return Err(StageError::MoreThanOneKey);
        }
        for (name, config) in m {
            let name = yaml_text(name);
            let make = match STAGES.iter().find(|(n, _)| *n == name) {
                None => return Err(StageError::Unknown(name)),
                Some((n, Kind::NotSupported(why))) => return Err(StageError::NotSupported(n, why)),
                Some((_, Kind::Run(make))) => make,
            };
            let stage = make(config, ctx).map_err(|msg| StageError::Invalid {
                stage: name.clone(),
                msg,
            })?;
            out.push(stage);
        }
    }
    Ok(out)
}

/// Runs `items` through `stages` in order.
pub(crate) fn run(stages: &mut [Box<dyn Stage>], mut items: Vec<Item>) -> Vec<Item> {
    let mut next = Vec::with_capacity(items.len());
    for stage in stages.iter_mut() {
        for item in items.drain(..) {
            stage.process(item, &mut next);
        }
        std::mem::swap(&mut items, &mut next);
        if items.is_empty() {
            break;
        }
    }
    items
}

/// Flushes each stage and runs what it releases through the stages after it.
pub(crate) fn flush(stages: &mut [Box<dyn Stage>], now_ns: i64) -> Vec<Item> {
    let mut out = Vec::new();
    for i in 0..stages.len() {
        let mut released = Vec::new();
        stages[i].flush(now_ns, &mut released);
        if !released.is_empty() {
            out.extend(run(&mut stages[i + 1..], released));
        }
    }
    out
}

/// A YAML scalar as Go's `%s` would print it (for error messages and map keys).
pub(crate) fn yaml_text(v: &Yaml) -> String {
    match v {
        Yaml::String(s) => s.clone(),
        Yaml::Null => String::new(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim_end()
            .to_string(),
    }
}

/// Decodes a stage's YAML into its config; a null config is `empty` (Promtail's error for
/// a stage with no configuration).
pub(crate) fn decode<T: DeserializeOwned>(v: &Yaml, empty: &str) -> Result<T, String> {
    if v.is_null() {
        return Err(empty.to_string());
    }
    serde_yaml_ng::from_value(v.clone()).map_err(|e| e.to_string())
}

/// Decodes a stage's YAML into its config; a null config is the default one.
pub(crate) fn decode_or_default<T: DeserializeOwned + Default>(v: &Yaml) -> Result<T, String> {
    if v.is_null() {
        return Ok(T::default());
    }
    serde_yaml_ng::from_value(v.clone()).map_err(|e| e.to_string())
}

/// A number Promtail decodes "weakly" (mapstructure's `WeakDecode`): a YAML number or a
/// string holding one.
#[derive(Deserialize, Clone, Copy, Debug, Default)]
#[serde(try_from = "WeakRepr")]
pub(crate) struct Weak(pub f64);

#[derive(Deserialize)]
#[serde(untagged)]
enum WeakRepr {
    Num(f64),
    Bool(bool),
    Str(String),
}

impl TryFrom<WeakRepr> for Weak {
    type Error = String;
    fn try_from(r: WeakRepr) -> Result<Weak, String> {
        match r {
            WeakRepr::Num(f) => Ok(Weak(f)),
            WeakRepr::Bool(b) => Ok(Weak(if b { 1.0 } else { 0.0 })),
            WeakRepr::Str(s) if s.is_empty() => Ok(Weak(0.0)),
            WeakRepr::Str(s) => bongsu_logpipeline::units::parse_float(&s).map(Weak),
        }
    }
}
