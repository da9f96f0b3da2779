//! `bongsu test rules`: promtool's rule unit tests. A test file names rule files and test
//! groups; each group loads its `input_series` into a fresh database in a temporary
//! directory, runs the real rule groups ([`Group::eval`]) every `evaluation_interval` from 0,
//! and compares the firing alerts (`alert_rule_test`) and query results (`promql_expr_test`)
//! with what is expected. Output and exit codes follow promtool.
//!
//! bongsu's extension for logs (see `docs/rules-unit-tests.md`): `log_rule_files` (LogQL
//! rules, Loki's ruler format), `input_logs` per test group (module `logs`) and
//! `logql_expr_test`; LogQL recording rules write into the same series store as
//! `input_series`, so `promql_expr_test` checks them.
//!
//! Native histograms: `{{…}}` input series (appended as float histograms; they need a store
//! that keeps histograms) and `histogram:` expected samples, compared in the test notation.

pub mod logs;
pub mod series;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bongsu_model::histogram::format_test_notation;
use regex::Regex;
use serde::Deserialize;
use series::{parse_metric, parse_values, Step};

use bongsu_model::{format_prometheus_duration, parse_prometheus_duration};
use bongsu_model::{Labels, STALE_NAN};
use bongsu_promql::{Engine, VectorSample};
use bongsu_relabel::NameValidationScheme;
use bongsu_storage::memory::MemStorage;
use bongsu_storage::Appendable;

use super::file::{parse_file_as, QueryLang, RuleGroup};
use super::group::{instant_vector, EvalContext, Group, GroupSettings, LogContext, RuleKind};
use super::logs::{parse_metric_query, LogQueryFn};
use super::template::{EngineQuery, PromTemplates};
use logs::{InputStream, TestLogStore, TestLogStores, ERR_NO_TEST_LOG_STORE};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(default)]
    rule_files: Vec<String>,
    #[serde(default)]
    log_rule_files: Vec<String>,
    #[serde(default)]
    evaluation_interval: Option<Text>,
    #[serde(default)]
    group_eval_order: Vec<String>,
    #[serde(default)]
    tests: Vec<TestGroup>,
    #[serde(default)]
    fuzzy_compare: bool,
}

/// A YAML scalar read as written: `values: 0x5` is the series notation, not hex 5, and
/// `eval_time: 0` a duration.
#[derive(Deserialize, Clone)]
#[serde(transparent)]
struct Text(String);

impl Text {
    fn text(&self) -> String {
        self.0.clone()
    }

    fn duration(&self) -> Result<Duration, String> {
        let s = self.text();
        parse_prometheus_duration(&s).ok_or_else(|| format!("not a valid duration string: {s:?}"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestGroup {
    #[serde(default)]
    name: String,
    #[serde(default)]
    interval: Option<Text>,
    #[serde(default)]
    input_series: Vec<InputSeries>,
    #[serde(default)]
    alert_rule_test: Vec<AlertTest>,
    #[serde(default)]
    promql_expr_test: Vec<ExprTest>,
    #[serde(default)]
    input_logs: Vec<InputStream>,
    #[serde(default)]
    logql_expr_test: Vec<ExprTest>,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
    #[serde(default)]
    external_url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSeries {
    series: String,
    values: Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertTest {
    eval_time: Text,
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<ExpAlert>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpAlert {
    #[serde(default)]
    exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    exp_annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExprTest {
    expr: String,
    eval_time: Text,
    #[serde(default)]
    exp_samples: Vec<ExpSample>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpSample {
    #[serde(default)]
    labels: String,
    #[serde(default)]
    value: Option<Text>,
    #[serde(default)]
    histogram: Option<String>,
}

/// What `test rules` is asked to do.
pub struct TestOptions {
    /// Only test groups whose name matches one of these (unanchored) regexes run.
    pub run: Vec<String>,
    /// Where log input goes; `None`: tests with log rules or log input fail with
    /// [`ERR_NO_TEST_LOG_STORE`].
    pub logs: Option<Arc<dyn TestLogStores>>,
}

/// Runs every test file; prints promtool's report; returns the exit code (0 or 1).
pub fn test_rule_files(files: &[PathBuf], opts: &TestOptions, out: &mut dyn Write) -> u8 {
    let run = if opts.run.is_empty() {
        None
    } else {
        match Regex::new(&opts.run.join("|")) {
            Ok(r) => Some(r),
            Err(e) => {
                let _ = writeln!(out, "  FAILED:\n    bad --run regex: {e}");
                return 1;
            }
        }
    };
    let mut failed = false;
    for f in files {
        let _ = writeln!(out, "Unit Testing:  {}", f.display());
        let errors = test_file(f, run.as_ref(), opts.logs.as_deref());
        if errors.is_empty() {
            let _ = writeln!(out, "  SUCCESS\n");
        } else {
            failed = true;
            let _ = writeln!(out, "  FAILED:");
            for e in errors {
                let _ = writeln!(out, "{e}");
            }
            let _ = writeln!(out);
        }
    }
    u8::from(failed)
}

fn test_file(path: &Path, run: Option<&Regex>, logs: Option<&dyn TestLogStores>) -> Vec<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return vec![format!("{}: {e}", path.display())],
    };
    let file: TestFile = match serde_yaml_ng::from_str(&text) {
        Ok(f) => f,
        Err(e) => return vec![e.to_string()],
    };
    let eval_interval = match file.evaluation_interval.as_ref().map(Text::duration) {
        None => Duration::from_secs(60),
        Some(Ok(d)) if !d.is_zero() => d,
        Some(Ok(_)) => return vec!["evaluation_interval must be greater than 0".into()],
        Some(Err(e)) => return vec![e],
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let mut groups: Vec<(String, RuleGroup)> = Vec::new();
    let mut errors = Vec::new();
    let patterns = (file.rule_files.iter().map(|p| (p, QueryLang::Promql)))
        .chain(file.log_rule_files.iter().map(|p| (p, QueryLang::Logql)));
    for (pattern, lang) in patterns {
        let full = base.join(pattern);
        let matched: Vec<PathBuf> = match glob::glob(&full.to_string_lossy()) {
            Ok(paths) => paths.filter_map(Result::ok).collect(),
            Err(e) => return vec![format!("{pattern}: {e}")],
        };
        for p in matched {
            match parse_file_as(&p, lang, NameValidationScheme::Utf8, &PromTemplates::new()) {
                Ok(g) => groups.extend(
                    g.groups
                        .into_iter()
                        .map(|g| (p.to_string_lossy().into_owned(), g)),
                ),
                Err(e) => errors.extend(e.0),
            }
        }
    }
    if !errors.is_empty() {
        return errors;
    }
    if let Err(e) = order_groups(&mut groups, &file.group_eval_order) {
        return vec![e];
    }
    for tg in &file.tests {
        if let Some(r) = run {
            if !r.is_match(&tg.name) {
                continue;
            }
        }
        let errs = match run_group(tg, &groups, eval_interval, file.fuzzy_compare, logs) {
            Ok(errs) => errs,
            Err(e) => vec![e],
        };
        errors.extend(errs.into_iter().map(|e| match tg.name.as_str() {
            "" => e,
            n => format!("    name: {n},\n{e}"),
        }));
    }
    errors
}

/// `group_eval_order` names groups that run first, in that order; the rest follow.
fn order_groups(groups: &mut Vec<(String, RuleGroup)>, order: &[String]) -> Result<(), String> {
    if order.is_empty() {
        return Ok(());
    }
    let mut ordered = Vec::with_capacity(groups.len());
    for name in order {
        let Some(i) = groups.iter().position(|(_, g)| &g.name == name) else {
            return Err(format!(
                "group name {name:?} listed in group_eval_order not found"
            ));
        };
        ordered.push(groups.remove(i));
    }
    ordered.append(groups);
    *groups = ordered;
    Ok(())
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The group's log store with its input loaded, when it needs one.
fn log_store(
    tg: &TestGroup,
    defs: &[(String, RuleGroup)],
    interval: Duration,
    stores: Option<&dyn TestLogStores>,
) -> Result<Option<Arc<dyn TestLogStore>>, String> {
    let needed = !tg.input_logs.is_empty()
        || !tg.logql_expr_test.is_empty()
        || defs.iter().any(|(_, g)| g.lang == QueryLang::Logql);
    if !needed {
        return Ok(None);
    }
    let streams = logs::expand(&tg.input_logs, interval)?;
    let store = stores.ok_or(ERR_NO_TEST_LOG_STORE)?.create()?;
    logs::load(&*store, streams)?;
    Ok(Some(store))
}

fn run_group(
    tg: &TestGroup,
    defs: &[(String, RuleGroup)],
    eval_interval: Duration,
    fuzzy: bool,
    stores: Option<&dyn TestLogStores>,
) -> Result<Vec<String>, String> {
    let interval = match &tg.interval {
        Some(t) => t.duration()?,
        None => eval_interval,
    };
    // Test data starts at 1970 and may span years: an in-memory store keeps all of it
    // appendable and queryable, and is gone with the test.
    let db = std::sync::Arc::new(MemStorage::new());
    load_series(&db, &tg.input_series, ms(interval))?;
    let log_store = log_store(tg, defs, interval, stores)?;
    let log_templates = log_store.as_ref().map(|s| {
        let querier: Arc<dyn super::logs::LogQuerier> = s.clone();
        PromTemplates::with_query(Arc::new(LogQueryFn { logs: querier }))
    });

    let engine = Engine::default();
    let settings = GroupSettings {
        default_interval: eval_interval,
        external_labels: &tg.external_labels,
        external_url: &tg.external_url,
        restored: true,
    };
    let groups: Vec<Group> = defs
        .iter()
        .map(|(f, g)| Group::new(f, g.clone(), &settings))
        .collect();
    let templates = PromTemplates::with_query(std::sync::Arc::new(EngineQuery {
        db: db.clone(),
        engine: engine.clone(),
    }));
    let ctx = EvalContext {
        db: &db,
        engine: &engine,
        templates: &templates,
        default_query_offset: Duration::ZERO,
        resend_delay: Duration::from_secs(60),
        sink: None,
        logs: log_store
            .as_ref()
            .zip(log_templates.as_ref())
            .map(|(s, t)| LogContext {
                querier: &**s,
                templates: t,
            }),
    };

    let mut alert_tests: Vec<(i64, &AlertTest)> = Vec::new();
    for t in &tg.alert_rule_test {
        alert_tests.push((ms(t.eval_time.duration()?), t));
    }
    alert_tests.sort_by_key(|(t, _)| *t);
    let mut expr_times = Vec::new();
    for t in &tg.promql_expr_test {
        expr_times.push(ms(t.eval_time.duration()?));
    }
    let mut log_expr_times = Vec::new();
    for t in &tg.logql_expr_test {
        log_expr_times.push(ms(t.eval_time.duration()?));
    }
    let max_t = alert_tests
        .iter()
        .map(|(t, _)| *t)
        .chain(expr_times.iter().copied())
        .chain(log_expr_times.iter().copied())
        .max()
        .unwrap_or(0);

    let mut errors = Vec::new();
    let step = ms(eval_interval).max(1);
    let mut next_alert = 0;
    let mut ts = 0i64;
    while ts <= max_t {
        let mut eval_errors = Vec::new();
        for g in &groups {
            // Each group at its own interval, as promtool runs them.
            if ts % ms(g.interval).max(1) == 0 {
                g.eval(&ctx, ts);
                for r in &g.rules {
                    if let Some(e) = r.status().last_error {
                        eval_errors.push(format!(
                            "    rule: {}, time: {}, err: {e}",
                            r.name(),
                            fmt_time(ts)
                        ));
                    }
                }
            }
        }
        if !eval_errors.is_empty() {
            return Ok(eval_errors);
        }
        while next_alert < alert_tests.len() && alert_tests[next_alert].0 < ts + step {
            let (at, t) = alert_tests[next_alert];
            if at >= ts {
                if let Some(e) = check_alerts(&groups, t, at) {
                    errors.push(e);
                }
            }
            next_alert += 1;
        }
        ts += step;
    }
    for (t, at) in tg.promql_expr_test.iter().zip(expr_times) {
        let got = instant_vector(&engine, &*db, &t.expr, at);
        if let Some(e) = check_expr(t, at, got, fuzzy) {
            errors.push(e);
        }
    }
    for (t, at) in tg.logql_expr_test.iter().zip(log_expr_times) {
        let got = match &log_store {
            Some(s) => parse_metric_query(&t.expr).and_then(|e| s.instant_query(&e, at)),
            None => Err(ERR_NO_TEST_LOG_STORE.to_string()),
        };
        if let Some(e) = check_expr(t, at, got, fuzzy) {
            errors.push(e);
        }
    }
    Ok(errors)
}

fn load_series(db: &dyn Appendable, input: &[InputSeries], step: i64) -> Result<(), String> {
    let mut app = db.appender();
    for s in input {
        let labels = parse_metric(&s.series)?;
        let steps = parse_values(&s.values.text())?;
        for (i, v) in steps.into_iter().enumerate() {
            let t = i as i64 * step;
            let v = match v {
                Step::Value(v) => v,
                Step::Stale => STALE_NAN,
                Step::Missing => continue,
                Step::Histogram { h, .. } => {
                    let h = bongsu_model::HistogramValue::Float(std::sync::Arc::new(*h));
                    app.append_histogram(&labels, t, h)
                        .map_err(|e| e.to_string())?;
                    continue;
                }
            };
            app.append(&labels, t, v).map_err(|e| e.to_string())?;
        }
    }
    app.commit().map_err(|e| e.to_string()).map(|_| ())
}

/// A time as Prometheus prints a duration (`1h5m`, `30s`, `0s`), negative ones with a `-`.
fn fmt_time(at: i64) -> String {
    let text = format_prometheus_duration(Duration::from_millis(at.unsigned_abs()));
    if at < 0 {
        format!("-{text}")
    } else {
        text
    }
}

type AlertView = (BTreeMap<String, String>, BTreeMap<String, String>);

fn show(alerts: &[AlertView]) -> String {
    let items: Vec<String> = alerts
        .iter()
        .enumerate()
        .map(|(i, (l, a))| {
            format!(
                "\n            {i}:\n              Labels:{}\n              Annotations:{}\n            ",
                show_map(l),
                show_map(a)
            )
        })
        .collect();
    format!("[{}]", items.join(""))
}

fn show_map(m: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

fn check_alerts(groups: &[Group], t: &AlertTest, at: i64) -> Option<String> {
    let mut got: Vec<AlertView> = Vec::new();
    for g in groups {
        for r in &g.rules {
            let RuleKind::Alerting(rule) = &r.kind else {
                continue;
            };
            if rule.name != t.alertname {
                continue;
            }
            for a in rule.active_alerts() {
                if a.state != super::alerting::AlertState::Firing {
                    continue;
                }
                let labels = a
                    .labels
                    .iter()
                    .map(|l| (l.name.to_string(), l.value.to_string()))
                    .collect();
                got.push((labels, a.annotations.clone()));
            }
        }
    }
    let mut exp: Vec<AlertView> = t
        .exp_alerts
        .iter()
        .map(|e| {
            let mut l = e.exp_labels.clone();
            l.insert("alertname".into(), t.alertname.clone());
            (l, e.exp_annotations.clone())
        })
        .collect();
    got.sort();
    exp.sort();
    (got != exp).then(|| {
        format!(
            "    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
            t.alertname,
            fmt_time(at),
            show(&exp),
            show(&got)
        )
    })
}

/// Compares an expression's result `got` with the test's expected samples.
fn check_expr(
    t: &ExprTest,
    at: i64,
    got: Result<Vec<VectorSample>, String>,
    fuzzy: bool,
) -> Option<String> {
    let got = match got {
        Ok(v) => v,
        Err(e) => {
            return Some(format!(
                "    expr: {:?}, time: {}, err: {e}",
                t.expr,
                fmt_time(at)
            ))
        }
    };
    // A histogram compares by its test notation, as promtool's.
    let mut exp: Vec<(Labels, f64, Option<String>)> = Vec::new();
    for s in &t.exp_samples {
        let hist = match s.histogram.as_deref().map(expected_histogram) {
            None => None,
            Some(Ok(h)) => Some(h),
            Some(Err(e)) => {
                return Some(format!(
                    "    expr: {:?}, time: {}, err: {e}",
                    t.expr,
                    fmt_time(at)
                ))
            }
        };
        let labels = if s.labels.is_empty() {
            Labels::empty()
        } else {
            match parse_metric(&s.labels) {
                Ok(l) => l,
                Err(e) => {
                    return Some(format!(
                        "    expr: {:?}, time: {}, err: {e}",
                        t.expr,
                        fmt_time(at)
                    ))
                }
            }
        };
        let v = match s.value.as_ref().map(|v| v.text()) {
            None => 0.0,
            Some(v) => match v.parse::<f64>() {
                Ok(f) => f,
                Err(_) => {
                    return Some(format!(
                        "    expr: {:?}, time: {}, err: bad value {v:?}",
                        t.expr,
                        fmt_time(at)
                    ))
                }
            },
        };
        exp.push((labels, v, hist));
    }
    let mut got: Vec<(Labels, f64, Option<String>)> = got
        .into_iter()
        .map(|s| (s.labels, s.v, s.h.map(|h| format_test_notation(&h))))
        .collect();
    exp.sort_by(|a, b| a.0.cmp(&b.0));
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let same = exp.len() == got.len()
        && exp.iter().zip(&got).all(|(e, g)| {
            e.0 == g.0 && e.2 == g.2 && (e.2.is_some() || values_equal(e.1, g.1, fuzzy))
        });
    let show = |v: &[(Labels, f64, Option<String>)]| {
        let items: Vec<String> = v
            .iter()
            .map(|(l, f, h)| match h {
                Some(h) => format!("{l} {h}"),
                None => format!("{l} {f}"),
            })
            .collect();
        format!("[{}]", items.join(" "))
    };
    (!same).then(|| {
        format!(
            "    expr: {:?}, time: {},\n        exp: {}\n        got: {}",
            t.expr,
            fmt_time(at),
            show(&exp),
            show(&got)
        )
    })
}

/// An expected histogram (`{{…}}`) in the notation promtool prints.
fn expected_histogram(text: &str) -> Result<String, String> {
    match parse_values(text)?.first() {
        Some(Step::Histogram { h, .. }) => Ok(format_test_notation(h)),
        _ => Err(format!("bad histogram {text:?}")),
    }
}

fn values_equal(exp: f64, got: f64, fuzzy: bool) -> bool {
    if exp.is_nan() && got.is_nan() {
        return true;
    }
    if exp == got {
        return true;
    }
    // `fuzzy_compare` forgives one unit in the last place, the error of one rounding.
    fuzzy && (exp.next_up() == got || exp.next_down() == got)
}
