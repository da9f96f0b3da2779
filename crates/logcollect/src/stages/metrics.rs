//! The `metrics` stage (Prometheus counters, gauges and histograms from log lines, with the
//! entry's labels) and [`PipelineMetrics`], which holds those series and the counts of
//! dropped lines for every pipeline of a process.
//!
//! Promtail registers its custom metrics with its own `/metrics` for Prometheus to scrape;
//! bongsu is the Prometheus, so the owner writes them straight into the TSDB with
//! [`PipelineMetrics::append_to`] on a period (the scrape interval is the natural one),
//! and `promtail_custom_http_requests_total{status="500"}` is then a PromQL query away.
//! Counts of dropped lines (`logentry_dropped_lines_total{reason}`) are bongsu's own
//! metrics, written by [`PipelineMetrics::encode`] on `/metrics`, as Promtail does.
//!
//! Not here: reading the values back (PromQL), the period of `append_to` (the owner's).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bongsu_logpipeline::units;
use bongsu_model::{Label, Labels, METRIC_NAME};
use bongsu_storage::{Appendable, StorageError};
use bongsu_telemetry::{Counter, Encoder, Family, Labeled};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use super::item::Item;
use super::pipeline::{decode, Built, Context, Processor};
use super::value::Value;

/// Promtail's prefix of custom metric names when the stage sets none.
pub const DEFAULT_PREFIX: &str = "promtail_custom_";
/// Promtail's default `max_idle_duration`: a series not updated for this long is dropped.
const DEFAULT_MAX_IDLE_SECS: i64 = 5 * 60;
/// Most series one custom metric keeps; past it new label sets are not counted (Promtail
/// has no bound). A limit, not a target: the default of a Prometheus `sample_limit` order.
pub const MAX_SERIES_PER_METRIC: usize = 10_000;
/// Prometheus' `DefBuckets`, the histogram buckets when `buckets` is not set.
const DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static DROPPED: Family = Family::counter(
    "logentry_dropped_lines_total",
    "A count of all log lines dropped as a result of a pipeline stage",
    &["reason"],
);
static DROPPED_BY_LABEL: Family = Family::counter(
    "logentry_dropped_lines_by_label_total",
    "A count of all log lines dropped as a result of a pipeline stage",
    &["label_name", "label_value"],
);

/// The series of `metrics` stages and the dropped-line counters, shared by the pipelines
/// built with it. Cloning shares.
#[derive(Clone)]
pub struct PipelineMetrics(Arc<Shared>);

struct Shared {
    dropped: Labeled<Counter>,
    dropped_by_label: Labeled<Counter>,
    families: Mutex<Vec<Arc<Mutex<MetricFamily>>>>,
}

impl Default for PipelineMetrics {
    fn default() -> Self {
        PipelineMetrics(Arc::new(Shared {
            dropped: Labeled::new(Counter::new),
            dropped_by_label: Labeled::new(Counter::new),
            families: Mutex::new(Vec::new()),
        }))
    }
}

/// What [`PipelineMetrics::append_to`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendStats {
    pub samples: usize,
    /// Samples the store refused (out of order, duplicate timestamp, …).
    pub rejected: usize,
}

impl PipelineMetrics {
    /// Counts one line dropped by a stage, by Promtail's `reason`.
    pub(crate) fn count_drop(&self, reason: &str) {
        self.0.dropped.with(&[reason]).inc();
    }

    /// Counts one line dropped by `limit` with `by_label_name`.
    pub(crate) fn count_drop_by_label(&self, name: &str, value: &str) {
        self.0.dropped_by_label.with(&[name, value]).inc();
    }

    /// The number of lines dropped for `reason` so far.
    pub fn dropped(&self, reason: &str) -> u64 {
        self.0.dropped.with(&[reason]).get()
    }

    /// Writes the dropped-line counters in the text exposition format.
    pub fn encode(&self, enc: &mut Encoder<'_>) {
        self.0.dropped.encode(&mut enc.family(&DROPPED));
        self.0
            .dropped_by_label
            .encode(&mut enc.family(&DROPPED_BY_LABEL));
    }

    /// The family named as `f`, registered if new. Stages naming the same metric share
    /// its series (Promtail would expose both collectors and fail the scrape when their
    /// label sets meet); so do the pipelines of a reloaded config, whose counters go on.
    fn register(&self, f: MetricFamily) -> Result<Arc<Mutex<MetricFamily>>, String> {
        let mut families = self.0.families.lock();
        for existing in families.iter() {
            let e = existing.lock();
            if e.name == f.name {
                if std::mem::discriminant(&e.kind) != std::mem::discriminant(&f.kind) {
                    return Err(format!(
                        "metric {} is already defined as a {} by another stage",
                        f.name,
                        e.kind.name()
                    ));
                }
                return Ok(existing.clone());
            }
        }
        let f = Arc::new(Mutex::new(f));
        families.push(f.clone());
        Ok(f)
    }

    /// Appends the current value of every custom series at `ts_ms` (Unix milliseconds) and
    /// commits; first drops series idle for longer than their `max_idle_duration`, as
    /// Promtail does when scraped. Histograms are classic: `_bucket{le}`, `_sum`, `_count`.
    pub fn append_to(&self, db: &dyn Appendable, ts_ms: i64) -> Result<AppendStats, StorageError> {
        let families: Vec<_> = self.0.families.lock().clone();
        let mut app = db.appender();
        let mut stats = AppendStats::default();
        for f in families {
            let mut f = f.lock();
            f.prune(ts_ms.div_euclid(1000));
            f.samples(|labels, v| match app.append(labels, ts_ms, v) {
                Ok(_) => stats.samples += 1,
                Err(_) => stats.rejected += 1,
            });
        }
        app.commit()?;
        Ok(stats)
    }
}

/// One custom metric of one `metrics` stage and its series.
struct MetricFamily {
    name: String,
    kind: Kind,
    max_idle_secs: i64,
    series: HashMap<Vec<(String, String)>, Series>,
}

#[derive(Debug, Clone)]
enum Kind {
    Counter,
    Gauge,
    Histogram { buckets: Vec<f64> },
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram { .. } => "histogram",
        }
    }
}

struct Series {
    /// `__name__` and the entry's labels without the `__`-prefixed ones.
    labels: Labels,
    value: f64,
    /// Per bucket (not cumulative), for histograms.
    buckets: Vec<u64>,
    count: u64,
    last_mod_secs: i64,
}

impl MetricFamily {
    fn series(&mut self, labels: &BTreeMap<String, String>) -> Option<&mut Series> {
        // Promtail's `cleanLabels`: no reserved (`__`) labels on custom metrics.
        let key: Vec<(String, String)> = labels
            .iter()
            .filter(|(n, _)| !n.starts_with("__"))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        let len = self.series.len();
        let buckets = match &self.kind {
            Kind::Histogram { buckets } => buckets.len(),
            _ => 0,
        };
        let name = &self.name;
        let s = match self.series.entry(key) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                if len >= MAX_SERIES_PER_METRIC {
                    tracing::warn!(metric = %name, "custom metric has {MAX_SERIES_PER_METRIC} series; not counting a new label set");
                    return None;
                }
                let mut all: Vec<Label> = v
                    .key()
                    .iter()
                    .map(|(n, v)| Label::new(n.as_str(), v.as_str()))
                    .collect();
                all.push(Label::new(METRIC_NAME, name.as_str()));
                let labels = Labels::new(all).ok()?;
                v.insert(Series {
                    labels,
                    value: 0.0,
                    buckets: vec![0; buckets],
                    count: 0,
                    last_mod_secs: 0,
                })
            }
        };
        s.last_mod_secs = now_secs();
        Some(s)
    }

    fn prune(&mut self, now_secs: i64) {
        let max = self.max_idle_secs;
        self.series.retain(|_, s| now_secs - s.last_mod_secs < max);
    }

    fn samples(&self, mut emit: impl FnMut(&Labels, f64)) {
        for s in self.series.values() {
            match &self.kind {
                Kind::Counter | Kind::Gauge => emit(&s.labels, s.value),
                Kind::Histogram { buckets } => {
                    let with_name = |suffix: &str, le: Option<&str>| {
                        let mut b = s.labels.builder();
                        b.set(METRIC_NAME, format!("{}{suffix}", self.name));
                        if let Some(le) = le {
                            b.set("le", le);
                        }
                        b.build().ok()
                    };
                    let mut cumulative = 0;
                    for (bound, n) in buckets.iter().zip(&s.buckets) {
                        cumulative += n;
                        if let Some(l) = with_name("_bucket", Some(&le_text(*bound))) {
                            emit(&l, cumulative as f64);
                        }
                    }
                    if let Some(l) = with_name("_bucket", Some("+Inf")) {
                        emit(&l, s.count as f64);
                    }
                    if let Some(l) = with_name("_sum", None) {
                        emit(&l, s.value);
                    }
                    if let Some(l) = with_name("_count", None) {
                        emit(&l, s.count as f64);
                    }
                }
            }
        }
    }
}

/// A bucket bound as Prometheus clients write `le` (Go's `%g`-like shortest form).
fn le_text(b: f64) -> String {
    super::value::format_float(b)
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

const ERR_EMPTY: &str = "empty metric stage configuration";

#[derive(Deserialize)]
struct MetricConfig {
    #[serde(rename = "type", default)]
    metric_type: String,
    source: Option<String>,
    #[serde(default)]
    prefix: String,
    max_idle_duration: Option<String>,
    #[serde(default)]
    config: Yaml,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ActionConfig {
    match_all: Option<bool>,
    count_entry_bytes: Option<bool>,
    value: Option<String>,
    action: String,
    buckets: Option<Vec<f64>>,
}

/// How one metric is updated from an entry.
struct Updater {
    family: Arc<Mutex<MetricFamily>>,
    source: String,
    /// Only entries whose source value is this string count.
    value: Option<String>,
    action: Action,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Counter `inc` on every entry (`match_all`), or adding the line's bytes.
    CountAll {
        bytes: bool,
    },
    Inc,
    Add,
    Set,
    Dec,
    Sub,
    Observe,
}

/// The `metrics` stage.
struct MetricsStage {
    metrics: Vec<Updater>,
}

pub(crate) fn metrics(v: &Yaml, ctx: &Context) -> Built {
    let cfgs: BTreeMap<String, MetricConfig> = decode(v, ERR_EMPTY)?;
    let mut metrics = Vec::with_capacity(cfgs.len());
    for (name, cfg) in cfgs {
        let metric_type = cfg.metric_type.to_lowercase();
        let max_idle_secs = match &cfg.max_idle_duration {
            None => DEFAULT_MAX_IDLE_SECS,
            Some(d) => {
                let ns = units::parse_duration(d).map_err(|e| {
                    format!("max_idle_duration could not be parsed as a time.Duration: '{e}'")
                })?;
                if ns < 1_000_000_000 {
                    return Err("max_idle_duration less than 1s not allowed".into());
                }
                ns / 1_000_000_000
            }
        };
        let ac: ActionConfig = if cfg.config.is_null() {
            ActionConfig::default()
        } else {
            serde_yaml_ng::from_value(cfg.config.clone()).map_err(|e| e.to_string())?
        };
        let action = ac.action.to_lowercase();
        let (kind, action) = match metric_type.as_str() {
            "counter" => (Kind::Counter, counter_action(&ac, &action)?),
            "gauge" => (Kind::Gauge, gauge_action(&action)?),
            "histogram" => {
                let buckets = ac.buckets.clone().unwrap_or_else(|| DEFAULT_BUCKETS.to_vec());
                if buckets.windows(2).any(|w| w[0] >= w[1]) || buckets.iter().any(|b| b.is_nan()) {
                    // client_golang panics here; a config error is kinder.
                    return Err(format!("histogram buckets for {name} must be in increasing order"));
                }
                (Kind::Histogram { buckets }, Action::Observe)
            }
            other => {
                return Err(format!(
                    "invalid metric type '{other}', metric type must be one of 'counter', 'gauge', or 'histogram'"
                ))
            }
        };
        let prefix = if cfg.prefix.is_empty() {
            DEFAULT_PREFIX
        } else {
            &cfg.prefix
        };
        let full = format!("{prefix}{name}");
        let family = ctx.metrics.register(MetricFamily {
            name: full,
            kind,
            max_idle_secs,
            series: HashMap::new(),
        })?;
        metrics.push(Updater {
            family,
            source: cfg.source.unwrap_or_else(|| name.clone()),
            value: ac.value,
            action,
        });
    }
    Ok(Box::new(super::pipeline::Each(MetricsStage { metrics })))
}

fn counter_action(ac: &ActionConfig, action: &str) -> Result<Action, String> {
    let action = match action {
        "" => return Err("counter action must be defined as either `inc` or `add`".into()),
        "inc" => Action::Inc,
        "add" => Action::Add,
        other => {
            return Err(format!(
                "action {other} is not valid, action must be either `inc` or `add`"
            ))
        }
    };
    let match_all = ac.match_all == Some(true);
    let bytes = ac.count_entry_bytes == Some(true);
    if match_all && ac.value.is_some() {
        return Err("`match_all: true` cannot be combined with `value`, please remove `match_all` or `value`".into());
    }
    if bytes && !match_all {
        return Err("`count_entry_bytes: true` can only be set with `match_all: true`".into());
    }
    if bytes && action != Action::Add {
        return Err("`count_entry_bytes: true` can only be used with `action: add`".into());
    }
    Ok(if match_all {
        Action::CountAll { bytes }
    } else {
        action
    })
}

fn gauge_action(action: &str) -> Result<Action, String> {
    Ok(match action {
        "" => {
            return Err(
                "gauge action must be defined as `set`, `inc`, `dec`, `add`, or `sub`".into(),
            )
        }
        "set" => Action::Set,
        "inc" => Action::Inc,
        "dec" => Action::Dec,
        "add" => Action::Add,
        "sub" => Action::Sub,
        other => {
            return Err(format!(
                "action {other} is not valid, action must be `set`, `inc`, `dec`, `add`, or `sub`"
            ))
        }
    })
}

impl Processor for MetricsStage {
    fn apply(&mut self, item: &mut Item) {
        for m in &self.metrics {
            if let Action::CountAll { bytes } = m.action {
                let n = if bytes { item.line.len() as f64 } else { 1.0 };
                if let Some(s) = m.family.lock().series(&item.labels) {
                    s.value += n;
                }
                continue;
            }
            let Some(v) = item.extracted.get(&m.source) else {
                continue;
            };
            if let Some(want) = &m.value {
                if v.as_string().as_deref() != Some(want.as_str()) {
                    continue;
                }
            }
            m.update(v, &item.labels);
        }
    }
}

impl Updater {
    fn update(&self, v: &Value, labels: &BTreeMap<String, String>) {
        let needs_number = !matches!(self.action, Action::Inc | Action::Dec);
        let f = v.as_float();
        if needs_number && f.is_none() {
            return;
        }
        let f = f.unwrap_or(0.0);
        let mut family = self.family.lock();
        let bucket = match &family.kind {
            Kind::Histogram { buckets } => buckets.iter().position(|b| f <= *b),
            _ => None,
        };
        let is_counter = matches!(family.kind, Kind::Counter);
        // A counter cannot go down: client_golang panics on a negative `add`; we skip it.
        if is_counter && self.action == Action::Add && f < 0.0 {
            return;
        }
        let Some(s) = family.series(labels) else {
            return;
        };
        match self.action {
            Action::Inc => s.value += 1.0,
            Action::Dec => s.value -= 1.0,
            Action::Add => s.value += f,
            Action::Sub => s.value -= f,
            Action::Set => s.value = f,
            Action::Observe => {
                if let Some(i) = bucket {
                    s.buckets[i] += 1;
                }
                s.count += 1;
                s.value += f;
            }
            Action::CountAll { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use bongsu_storage::memory::MemStorage;

    use super::*;
    use crate::stages::Pipeline;
    use crate::Entry;

    #[test]
    fn idle_series_are_dropped_after_max_idle_duration() {
        let yaml: Yaml = serde_yaml_ng::from_str(
            "- metrics: {lines: {type: counter, max_idle_duration: 2m, config: {match_all: true, action: inc}}}",
        )
        .unwrap();
        let metrics = PipelineMetrics::default();
        let mut p = Pipeline::new(&yaml, "j", &metrics).unwrap();
        let labels = Labels::from_pairs(&[("job", "j")]).unwrap();
        p.process(Entry {
            labels,
            ts: 0,
            line: "x".into(),
            metadata: Vec::new(),
        });
        let now_ms = now_secs() * 1000;
        let db = MemStorage::new();
        assert_eq!(metrics.append_to(&db, now_ms).unwrap().samples, 1);
        assert_eq!(metrics.append_to(&db, now_ms + 60_000).unwrap().samples, 1);
        assert_eq!(metrics.append_to(&db, now_ms + 180_000).unwrap().samples, 0);
    }
}
