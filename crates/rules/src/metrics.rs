//! Rule evaluation's metric families, with Prometheus' `prometheus_rule_*` names: per group
//! (labelled `rule_group="<file>;<group>"`, as Prometheus keys groups) and for all groups.
//! A group's counters pass to the group that replaces it in a reload, so they only go up.

use bongsu_telemetry::{Counter, Encoder, Family, Gauge, Summary, TARGET_QUANTILES};

use super::group::Group;
use super::manager::RuleManager;

static EVALUATIONS: Family = Family::counter(
    "prometheus_rule_evaluations_total",
    "The total number of rule evaluations.",
    &["rule_group"],
);
static FAILURES: Family = Family::counter(
    "prometheus_rule_evaluation_failures_total",
    "The total number of rule evaluation failures.",
    &["rule_group"],
);
static ITERATIONS: Family = Family::counter(
    "prometheus_rule_group_iterations_total",
    "The total number of scheduled rule group evaluations, whether executed or missed.",
    &["rule_group"],
);
static MISSED: Family = Family::counter(
    "prometheus_rule_group_iterations_missed_total",
    "The total number of rule group evaluations missed due to slow rule group evaluation.",
    &["rule_group"],
);
static INTERVAL: Family = Family::gauge(
    "prometheus_rule_group_interval_seconds",
    "The interval of a rule group.",
    &["rule_group"],
);
static LAST_DURATION: Family = Family::gauge(
    "prometheus_rule_group_last_duration_seconds",
    "The duration of the last rule group evaluation.",
    &["rule_group"],
);
static LAST_EVALUATION: Family = Family::gauge(
    "prometheus_rule_group_last_evaluation_timestamp_seconds",
    "The timestamp of the last rule group evaluation in seconds.",
    &["rule_group"],
);
static RULES: Family = Family::gauge(
    "prometheus_rule_group_rules",
    "The number of rules.",
    &["rule_group"],
);
static GROUP_DURATION: Family = Family::summary(
    "prometheus_rule_group_duration_seconds",
    "The duration of rule group evaluations.",
    &[],
);

/// Counts of one group's evaluations.
#[derive(Debug, Default)]
pub struct GroupMetrics {
    /// Rules evaluated.
    pub(crate) evaluations: Counter,
    /// Rule evaluations that ended unhealthy (query, template or storage error).
    pub(crate) failures: Counter,
    /// Evaluation slots, run or missed.
    pub(crate) iterations: Counter,
    /// Evaluation slots skipped because an evaluation overran.
    pub(crate) missed: Counter,
    /// The evaluation time of the last evaluation, Unix seconds.
    pub(crate) last_evaluation: Gauge,
}

impl GroupMetrics {
    /// Continues the counts of `old`, the group this one replaces.
    pub(crate) fn take_over(&self, old: &GroupMetrics) {
        self.evaluations.add(old.evaluations.get());
        self.failures.add(old.failures.get());
        self.iterations.add(old.iterations.get());
        self.missed.add(old.missed.get());
        self.last_evaluation.set(old.last_evaluation.get());
    }
}

/// Durations of every group's evaluations, for all groups.
pub(crate) struct ManagerMetrics {
    pub(crate) group_duration: Summary,
}

impl Default for ManagerMetrics {
    fn default() -> ManagerMetrics {
        ManagerMetrics {
            group_duration: Summary::new(TARGET_QUANTILES),
        }
    }
}

/// The label value Prometheus keys a group's series by.
fn key(g: &Group) -> String {
    format!("{};{}", g.file, g.name)
}

impl RuleManager {
    /// Writes the rule families of the running groups.
    pub fn write_metrics(&self, enc: &mut Encoder<'_>) {
        let groups = self.groups();
        let keys: Vec<String> = groups.iter().map(|g| key(g)).collect();
        let mut per_group = |family: &Family, value: &dyn Fn(&Group) -> f64| {
            let mut f = enc.family(family);
            for (g, k) in groups.iter().zip(&keys) {
                f.sample(&[k], value(g));
            }
        };
        per_group(&EVALUATIONS, &|g| g.metrics.evaluations.get() as f64);
        per_group(&FAILURES, &|g| g.metrics.failures.get() as f64);
        per_group(&ITERATIONS, &|g| g.metrics.iterations.get() as f64);
        per_group(&MISSED, &|g| g.metrics.missed.get() as f64);
        per_group(&INTERVAL, &|g| g.interval.as_secs_f64());
        per_group(&LAST_DURATION, &|g| g.stats().evaluation_time.as_secs_f64());
        per_group(&LAST_EVALUATION, &|g| g.metrics.last_evaluation.get());
        per_group(&RULES, &|g| g.rules.len() as f64);
        enc.family(&GROUP_DURATION)
            .metric(&[], &self.metrics().group_duration);
    }
}
