//! A rule group at run time: its rules evaluated in order at one timestamp, results written
//! through one appender per rule, stale markers for series a rule stopped producing, rule
//! health, and the state carried over a reload. Scheduling is the manager's. A group's
//! expressions are PromQL or LogQL (its file's [`QueryLang`]); only how a rule queries and
//! how its alerts link back differ.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;

use bongsu_model::{HistogramValue, Labels, STALE_NAN};
use bongsu_promql::{Engine, PreparedQuery, PromqlError, QueryOutput, QueryValue, VectorSample};
use bongsu_storage::{AppendError, Appender, Queryable, SeriesRef, Storage};

use super::alerting::{Alert, AlertDef, AlertingRule, OutputSample};
use super::file::{QueryLang, RuleGroup};
use super::logs::{first_log_selection, parse_metric_query, LogQuerier, ERR_NO_LOG_STORE};
use super::metrics::GroupMetrics;
use super::recording::RecordingRule;
use super::template::TemplateExpander;
use super::LabelsMap;

/// Where a rule's alerts come from, for their generator URL.
#[derive(Debug, Clone, Copy)]
pub enum AlertOrigin<'a> {
    /// A PromQL rule: Prometheus links the expression's graph.
    Promql { expr: &'a str },
    /// A LogQL rule: each alert links its own lines ([`crate::logs::logs_link`]).
    Logql {
        /// The expression's first log selection, printed.
        selection: Option<&'a str>,
        /// The rule's labels (group's and rule's), which the link does not filter on.
        rule_labels: &'a BTreeMap<String, String>,
    },
}

/// Receives the alerts a group decided to send (Prometheus' `NotifyFunc`).
pub trait AlertSink: Send + Sync {
    fn send(&self, origin: &AlertOrigin<'_>, alerts: Vec<Alert>);
}

/// What LogQL groups need from the server: absent when the log store is not available.
#[derive(Clone, Copy)]
pub struct LogContext<'a> {
    pub querier: &'a dyn LogQuerier,
    /// Alert templates whose `query` runs LogQL.
    pub templates: &'a dyn TemplateExpander,
}

/// What a group needs from the server to evaluate.
pub struct EvalContext<'a> {
    pub db: &'a dyn Storage,
    pub engine: &'a Engine,
    pub templates: &'a dyn TemplateExpander,
    /// `global.rule_query_offset`, for groups without their own `query_offset`.
    pub default_query_offset: Duration,
    /// `--rules.alert.resend-delay`.
    pub resend_delay: Duration,
    pub sink: Option<&'a dyn AlertSink>,
    /// For LogQL groups; `None` fails their rules with [`ERR_NO_LOG_STORE`].
    pub logs: Option<LogContext<'a>>,
}

/// A rule's health, as the API shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Health {
    #[default]
    Unknown,
    Ok,
    Err,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ok => "ok",
            Health::Err => "err",
        }
    }
}

/// The outcome of a rule's last evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleStatus {
    pub health: Health,
    pub last_error: Option<String>,
    pub evaluation_time: Duration,
    pub last_evaluation: Option<SystemTime>,
}

pub enum RuleKind {
    Recording(RecordingRule),
    Alerting(AlertingRule),
}

/// A rule's expression parsed once at load.
enum Prepared {
    Promql(PreparedQuery),
    Logql(bongsu_logql::Expr),
}

/// A rule of a running group.
pub struct EvalRule {
    pub kind: RuleKind,
    /// The expression as its language prints it back (Prometheus' `Query().String()`, Loki's
    /// `String()` of the LogQL expression).
    query: String,
    /// The expression parsed once at load, or why it does not parse.
    prepared: Result<Prepared, String>,
    /// LogQL rules: the expression's first log selection, printed, for alerts' links.
    log_selection: Option<String>,
    status: Mutex<RuleStatus>,
}

impl EvalRule {
    pub fn new(kind: RuleKind, lang: QueryLang) -> EvalRule {
        let expr = match &kind {
            RuleKind::Recording(r) => &r.expr,
            RuleKind::Alerting(r) => &r.expr,
        };
        let prepared = match lang {
            QueryLang::Promql => PreparedQuery::new(expr)
                .map(Prepared::Promql)
                .map_err(|e| e.to_string()),
            QueryLang::Logql => parse_metric_query(expr).map(Prepared::Logql),
        };
        let (query, log_selection) = match &prepared {
            Ok(Prepared::Promql(p)) => (p.expr().to_string(), None),
            Ok(Prepared::Logql(e)) => {
                let selection = match e {
                    bongsu_logql::Expr::Metric(m) => first_log_selection(m).map(|l| l.to_string()),
                    bongsu_logql::Expr::Log(l) => Some(l.to_string()),
                };
                (e.to_string(), selection)
            }
            Err(_) => (expr.clone(), None),
        };
        EvalRule {
            kind,
            query,
            prepared,
            log_selection,
            status: Mutex::new(RuleStatus::default()),
        }
    }

    /// LogQL rules: the expression's first log selection, printed (what its alerts' logs
    /// links show).
    pub fn log_selection(&self) -> Option<&str> {
        self.log_selection.as_deref()
    }

    /// The expression in its language's canonical form.
    pub fn query(&self) -> &str {
        &self.query
    }

    pub fn name(&self) -> &str {
        match &self.kind {
            RuleKind::Recording(r) => &r.name,
            RuleKind::Alerting(r) => &r.name,
        }
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        match &self.kind {
            RuleKind::Recording(r) => &r.labels,
            RuleKind::Alerting(r) => &r.labels,
        }
    }

    pub fn status(&self) -> RuleStatus {
        self.status.lock().clone()
    }

    fn fail(&self, e: String) {
        let mut s = self.status.lock();
        s.health = Health::Err;
        s.last_error = Some(e);
    }

    /// Prometheus matches rules across a reload by name and labels.
    fn identity(&self) -> (String, BTreeMap<String, String>) {
        (self.name().to_string(), self.labels().clone())
    }
}

#[derive(Default)]
struct SeriesState {
    /// Per rule: the series its last successful evaluation wrote, with their storage refs.
    previous: Vec<LabelsMap<SeriesRef>>,
    /// Series of rules gone in a reload, to mark stale at the next evaluation.
    stale: Vec<Labels>,
}

/// Timing of the group's last evaluation.
#[derive(Debug, Clone, Copy, Default)]
pub struct GroupStats {
    pub evaluation_time: Duration,
    pub last_evaluation: Option<SystemTime>,
}

pub struct Group {
    pub name: String,
    pub file: String,
    pub lang: QueryLang,
    pub interval: Duration,
    pub limit: i64,
    pub query_offset: Option<Duration>,
    pub rules: Vec<EvalRule>,
    def: RuleGroup,
    series: Mutex<SeriesState>,
    stats: Mutex<GroupStats>,
    pub(crate) metrics: GroupMetrics,
}

/// Settings every group of a load shares.
pub struct GroupSettings<'a> {
    pub default_interval: Duration,
    pub external_labels: &'a BTreeMap<String, String>,
    pub external_url: &'a str,
    /// Whether alerting rules start restored (no `for` state to look up).
    pub restored: bool,
}

impl Group {
    /// A group from its definition in `file`; rule labels are the group's overridden by the
    /// rule's.
    pub fn new(file: &str, def: RuleGroup, s: &GroupSettings<'_>) -> Group {
        let rules: Vec<EvalRule> = def
            .rules
            .iter()
            .map(|r| {
                let mut labels = def.labels.clone();
                labels.extend(r.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
                let kind = if r.alert.is_empty() {
                    RuleKind::Recording(RecordingRule {
                        name: r.record.clone(),
                        expr: r.expr.clone(),
                        labels,
                    })
                } else {
                    RuleKind::Alerting(AlertingRule::new(
                        AlertDef {
                            name: r.alert.clone(),
                            expr: r.expr.clone(),
                            hold: r.for_,
                            keep_firing_for: r.keep_firing_for,
                            labels,
                            annotations: r.annotations.clone(),
                            external_labels: s.external_labels.clone(),
                            external_url: s.external_url.to_string(),
                        },
                        s.restored,
                    ))
                };
                EvalRule::new(kind, def.lang)
            })
            .collect();
        Group {
            name: def.name.clone(),
            file: file.to_string(),
            lang: def.lang,
            interval: def.interval.unwrap_or(s.default_interval),
            limit: def.limit,
            query_offset: def.query_offset,
            series: Mutex::new(SeriesState {
                previous: vec![LabelsMap::default(); rules.len()],
                stale: Vec::new(),
            }),
            rules,
            def,
            stats: Mutex::new(GroupStats::default()),
            metrics: GroupMetrics::default(),
        }
    }

    /// Whether a reload left this group unchanged (it then keeps running as it is).
    pub fn same_definition(&self, other: &Group) -> bool {
        self.file == other.file && self.interval == other.interval && self.def == other.def
    }

    /// The group as its file defines it (expressions as written).
    pub fn definition(&self) -> &RuleGroup {
        &self.def
    }

    pub fn stats(&self) -> GroupStats {
        *self.stats.lock()
    }

    pub(crate) fn set_stats(&self, s: GroupStats) {
        *self.stats.lock() = s;
    }

    pub fn effective_query_offset(&self, default: Duration) -> Duration {
        self.query_offset.unwrap_or(default)
    }

    /// The group's place in the interval: Prometheus' hash of the labels `{file, name}`
    /// (xxHash64), so every server spreads the same groups the same way.
    pub fn hash(&self) -> u64 {
        let mut b = Vec::with_capacity(self.file.len() + self.name.len() + 12);
        for (k, v) in [("file", &self.file), ("name", &self.name)] {
            b.extend_from_slice(k.as_bytes());
            b.push(0xff);
            b.extend_from_slice(v.as_bytes());
            b.push(0xff);
        }
        xxhash_rust::xxh64::xxh64(&b, 0)
    }

    /// The latest evaluation slot at or before `now_ns` (Unix nanoseconds), as Prometheus'
    /// `EvalTimestamp`: multiples of the interval shifted by the group's hash.
    pub fn eval_timestamp(&self, now_ns: i128) -> i128 {
        let interval = self.interval.as_nanos().max(1) as i128;
        let offset = (self.hash() as i128) % interval;
        let adjusted = now_ns - offset;
        adjusted - adjusted.rem_euclid(interval) + offset
    }

    /// Evaluates every rule in order at `ts` (Unix ms).
    pub fn eval(&self, ctx: &EvalContext<'_>, ts: i64) {
        let offset = self.effective_query_offset(ctx.default_query_offset);
        for (i, rule) in self.rules.iter().enumerate() {
            let wall = SystemTime::now();
            let started = Instant::now();
            self.eval_rule(i, rule, ctx, ts, offset);
            let mut s = rule.status.lock();
            s.evaluation_time = started.elapsed();
            s.last_evaluation = Some(wall);
            self.metrics.evaluations.inc();
            if s.health == Health::Err {
                self.metrics.failures.inc();
            }
        }
        self.write_stale(ctx.db, ts - ms(offset));
    }

    fn eval_rule(
        &self,
        i: usize,
        rule: &EvalRule,
        ctx: &EvalContext<'_>,
        ts: i64,
        offset: Duration,
    ) {
        let at = ts - ms(offset);
        let templates = match (self.lang, &ctx.logs) {
            (QueryLang::Logql, Some(l)) => l.templates,
            _ => ctx.templates,
        };
        let output = query_vector(ctx, &rule.prepared, at).and_then(|v| match &rule.kind {
            RuleKind::Recording(r) => r.eval(v, at, self.limit),
            RuleKind::Alerting(r) => r.eval(&v, ts, offset, self.limit, templates),
        });
        let output = match output {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(group = %self.name, rule = rule.name(), error = %e, "evaluating rule failed");
                rule.fail(e);
                return;
            }
        };
        {
            let mut s = rule.status.lock();
            s.health = Health::Ok;
            s.last_error = None;
        }
        if let RuleKind::Alerting(r) = &rule.kind {
            let alerts = r.alerts_to_send(ts, ctx.resend_delay, self.interval);
            if let Some(sink) = ctx.sink {
                if !alerts.is_empty() {
                    let origin = match self.lang {
                        QueryLang::Promql => AlertOrigin::Promql { expr: &r.expr },
                        QueryLang::Logql => AlertOrigin::Logql {
                            selection: rule.log_selection.as_deref(),
                            rule_labels: &r.labels,
                        },
                    };
                    sink.send(&origin, alerts);
                }
            }
        }
        self.append(i, rule, ctx.db, output, at);
    }

    fn append(
        &self,
        i: usize,
        rule: &EvalRule,
        db: &dyn Storage,
        output: Vec<OutputSample>,
        at: i64,
    ) {
        let previous = std::mem::take(&mut self.series.lock().previous[i]);
        let mut app = db.appender();
        let mut written = LabelsMap::default();
        written.reserve(output.len());
        let mut rejected = 0usize;
        for s in output {
            // A series written last time is appended by ref: no label lookup in the head.
            let appended = match s.h {
                Some(h) => append_histogram(&mut *app, previous.get(&s.labels), &s.labels, s.t, *h),
                None => match previous.get(&s.labels) {
                    Some(&r) => match app.append_ref(r, s.t, s.v) {
                        Err(AppendError::UnknownSeries(_)) => app.append(&s.labels, s.t, s.v),
                        other => other.map(|()| r),
                    },
                    None => app.append(&s.labels, s.t, s.v),
                },
            };
            match appended {
                Ok(r) => {
                    written.insert(s.labels, r);
                }
                Err(e) => {
                    rejected += 1;
                    if !matches!(
                        e,
                        AppendError::OutOfOrder
                            | AppendError::OutOfBounds
                            | AppendError::DuplicateTimestamp
                    ) {
                        tracing::warn!(rule = rule.name(), error = %e, sample = %s.labels, "rule evaluation result discarded");
                    }
                    rule.fail(e.to_string());
                }
            }
        }
        if rejected > 0 {
            tracing::warn!(
                rule = rule.name(),
                rejected,
                "rule evaluation results discarded"
            );
        }
        for (gone, &r) in &previous {
            if !written.contains_key(gone) {
                // Errors are expected when another rule now writes the series.
                if let Err(AppendError::UnknownSeries(_)) = app.append_ref(r, at, STALE_NAN) {
                    let _ = app.append(gone, at, STALE_NAN);
                }
            }
        }
        match app.commit() {
            Ok(_) => self.series.lock().previous[i] = written,
            Err(e) => {
                tracing::warn!(rule = rule.name(), error = %e, "rule sample appending failed");
                rule.fail(e.to_string());
                self.series.lock().previous[i] = previous;
            }
        }
    }

    /// Marks the series of rules removed by a reload stale.
    fn write_stale(&self, db: &dyn Storage, at: i64) {
        let stale = std::mem::take(&mut self.series.lock().stale);
        if stale.is_empty() {
            return;
        }
        let mut app = db.appender();
        for s in &stale {
            let _ = app.append(s, at, STALE_NAN);
        }
        if let Err(e) = app.commit() {
            tracing::warn!(group = %self.name, error = %e, "stale sample appending for previous configuration failed");
            self.series.lock().stale = stale;
        }
    }

    /// Marks every series the group wrote stale: the group was removed by a reload.
    pub fn mark_all_stale(&self, db: &dyn Storage, at: i64) {
        {
            let mut st = self.series.lock();
            let all: Vec<Labels> = st
                .previous
                .iter_mut()
                .flat_map(|p| std::mem::take(p).into_keys())
                .collect();
            st.stale.extend(all);
        }
        self.write_stale(db, at);
    }

    /// Restores the `for` state of every alerting rule from storage (see
    /// [`AlertingRule::restore_for_state`]).
    pub fn restore_for_state(
        &self,
        db: &dyn Storage,
        ts: i64,
        outage_tolerance: Duration,
        grace_period: Duration,
    ) {
        let querier = match db.querier(ts - ms(outage_tolerance), ts) {
            Ok(q) => q,
            Err(e) => {
                tracing::warn!(group = %self.name, error = %e, "restoring alert state failed");
                return;
            }
        };
        for r in &self.rules {
            if let RuleKind::Alerting(a) = &r.kind {
                a.restore_for_state(&*querier, ts, grace_period);
            }
        }
    }

    /// Takes over what `old` (the group this one replaces in a reload) knew: timing, the
    /// series each rule wrote and alerts, matching rules by name and labels in order. Series
    /// of rules that are gone are marked stale at the next evaluation.
    pub fn copy_state_from(&self, old: &Group) {
        self.set_stats(old.stats());
        self.metrics.take_over(&old.metrics);
        let mut by_identity: HashMap<_, VecDeque<usize>> = HashMap::new();
        for (fi, r) in old.rules.iter().enumerate() {
            by_identity.entry(r.identity()).or_default().push_back(fi);
        }
        let mut old_series = old.series.lock();
        let mut mine = self.series.lock();
        for (i, r) in self.rules.iter().enumerate() {
            let Some(fi) = by_identity
                .get_mut(&r.identity())
                .and_then(VecDeque::pop_front)
            else {
                continue;
            };
            mine.previous[i] = old_series.previous[fi].clone();
            if let (RuleKind::Alerting(new), RuleKind::Alerting(prev)) =
                (&r.kind, &old.rules[fi].kind)
            {
                new.copy_alerts_from(prev);
            }
        }
        mine.stale = std::mem::take(&mut old_series.stale);
        for fis in by_identity.values() {
            for &fi in fis {
                mine.stale.extend(old_series.previous[fi].keys().cloned());
            }
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Runs the rule's query; a scalar becomes one sample without labels, as in Prometheus.
fn query_vector(
    ctx: &EvalContext<'_>,
    prepared: &Result<Prepared, String>,
    at: i64,
) -> Result<Vec<VectorSample>, String> {
    match prepared.as_ref().map_err(Clone::clone)? {
        Prepared::Promql(query) => {
            vector_result(ctx.engine.instant_query_prepared(ctx.db, query, at))
        }
        Prepared::Logql(expr) => match &ctx.logs {
            Some(l) => l.querier.instant_query(expr, at),
            None => Err(ERR_NO_LOG_STORE.to_string()),
        },
    }
}

/// Evaluates `expr` at `at` as rules do: a scalar becomes one sample without labels.
pub(crate) fn instant_vector(
    engine: &Engine,
    db: &dyn Queryable,
    expr: &str,
    at: i64,
) -> Result<Vec<VectorSample>, String> {
    vector_result(engine.instant_query(db, expr, at))
}

fn vector_result(result: Result<QueryOutput, PromqlError>) -> Result<Vec<VectorSample>, String> {
    match result.map(|out| out.value) {
        Ok(QueryValue::Vector(v)) => Ok(v),
        Ok(QueryValue::Scalar(p)) => Ok(vec![VectorSample {
            labels: Labels::empty(),
            t: p.t,
            v: p.v,
            h: None,
        }]),
        Ok(_) => Err("rule result is not a vector or scalar".to_string()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "group_logql_tests.rs"]
mod logql_tests;

/// Appends a recording rule's histogram (by the series' ref when it was written before).
fn append_histogram(
    app: &mut dyn Appender,
    sref: Option<&SeriesRef>,
    labels: &Labels,
    t: i64,
    h: bongsu_model::FloatHistogram,
) -> Result<SeriesRef, AppendError> {
    let h = HistogramValue::Float(std::sync::Arc::new(h));
    if let Some(&r) = sref {
        match app.append_histogram_ref(r, t, h.clone()) {
            Err(AppendError::UnknownSeries(_)) => {}
            other => return other.map(|()| r),
        }
    }
    app.append_histogram(labels, t, h)
}
