//! The `match` stage: entries whose labels and line match a LogQL selector
//! (`{app="nginx"} |= "GET" !~ "health"`) go through a nested pipeline (`stages`) or, with
//! `action: drop`, are dropped; the others pass unchanged.
//!
//! As Promtail's own LogQL subset: label matchers and line filters (`|=`, `!=`, `|~`, `!~`;
//! also `|>`/`!>` patterns and `ip()`, which Promtail lacks); parsers and label filters in
//! the selector are refused. Parsing is `bongsu_logql`'s, line filters
//! `bongsu_logpipeline`'s, so a selector means here what it means in a query.

use bongsu_logpipeline::filter::LineFilter;
use bongsu_logql::ast::Stage as LogStage;
use bongsu_logql::Expr;
use bongsu_model::Matcher;
use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use super::item::Item;
use super::metrics::PipelineMetrics;
use super::pipeline::{self, decode, Built, Context, Stage};

const ERR_SYNTAX: &str = "invalid selector syntax for match stage";

#[derive(Deserialize, Default)]
#[serde(default)]
struct MatcherConfig {
    /// Checked as Promtail does; Promtail uses it only to name the nested pipeline in logs.
    pipeline_name: Option<String>,
    selector: String,
    stages: Yaml,
    action: String,
    drop_counter_reason: Option<String>,
}

enum Action {
    Keep(Vec<Box<dyn Stage>>),
    Drop { reason: String },
}

struct MatchStage {
    matchers: Vec<Matcher>,
    filters: Vec<LineFilter>,
    action: Action,
    metrics: PipelineMetrics,
}

pub(crate) fn matcher(v: &Yaml, ctx: &Context) -> Built {
    let c: MatcherConfig = decode(v, "match stage config cannot be empty")?;
    if c.pipeline_name.as_deref() == Some("") {
        return Err(
            "match stage pipeline name can be omitted but cannot be an empty string".into(),
        );
    }
    if c.selector.is_empty() {
        return Err("selector statement required for match stage".into());
    }
    let has_stages = matches!(&c.stages, Yaml::Sequence(s) if !s.is_empty());
    let keep = match c.action.as_str() {
        "" | "keep" => true,
        "drop" => false,
        _ => return Err("match stage action should be 'keep' or 'drop'".into()),
    };
    if keep && !has_stages {
        return Err(
            "match stage requires at least one additional stage to be defined in '- stages'".into(),
        );
    }
    if !keep && has_stages {
        return Err("match stage configured to drop entries cannot contains stages".into());
    }
    let (matchers, filters) = selector(&c.selector)?;
    let action = if keep {
        let stages = pipeline::build(&c.stages, ctx)
            .map_err(|e| format!("match stage failed to create pipeline from config: {e}"))?;
        Action::Keep(stages)
    } else {
        Action::Drop {
            reason: c
                .drop_counter_reason
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "match_stage".into()),
        }
    };
    Ok(Box::new(MatchStage {
        matchers,
        filters,
        action,
        metrics: ctx.metrics.clone(),
    }))
}

/// The label matchers and line filters of a selector.
fn selector(text: &str) -> Result<(Vec<Matcher>, Vec<LineFilter>), String> {
    let syntax = |e: &dyn std::fmt::Display| format!("{ERR_SYNTAX}: {e}");
    let expr = bongsu_logql::parse_without_validation(text).map_err(|e| syntax(&e))?;
    let Expr::Log(log) = expr else {
        return Err(syntax(&"a metric query is not a selector"));
    };
    let mut filters = Vec::new();
    for stage in &log.stages {
        let LogStage::LineFilter(f) = stage else {
            return Err(syntax(&"only label matchers and line filters are allowed"));
        };
        filters.push(LineFilter::from_logql(f).map_err(|e| syntax(&e))?);
    }
    Ok((log.matchers, filters))
}

impl MatchStage {
    fn matches(&self, item: &Item) -> bool {
        self.matchers
            .iter()
            .all(|m| m.matches(item.labels.get(&m.name).map_or("", String::as_str)))
            && self.filters.iter().all(|f| f.matches(item.line.as_bytes()))
    }
}

impl Stage for MatchStage {
    fn process(&mut self, item: Item, out: &mut Vec<Item>) {
        if !self.matches(&item) {
            out.push(item);
            return;
        }
        match &mut self.action {
            Action::Keep(stages) => out.extend(pipeline::run(stages, vec![item])),
            Action::Drop { reason } => self.metrics.count_drop(reason),
        }
    }

    fn flush(&mut self, now_ns: i64, out: &mut Vec<Item>) {
        if let Action::Keep(stages) = &mut self.action {
            out.extend(pipeline::flush(stages, now_ns));
        }
    }
}
