//! Runs the upstream PromQL conformance scripts (`../shared/conformance/promql/*.test`) against
//! [`bongsu_promql::Engine`] and holds the pass counts to a ratchet
//! (`tests/data/promqltest_baseline.txt`): no file may pass fewer evals than recorded, and no
//! eval recorded as passing may fail. `PROMQLTEST_VERBOSE=1` prints every failure;
//! `PROMQLTEST_UPDATE_BASELINE=1` rewrites the baseline with the current passes.

#[path = "promqltest/ast.rs"]
mod ast;
#[path = "promqltest/hist.rs"]
mod hist;
#[path = "promqltest/nhcb.rs"]
mod nhcb;
#[path = "promqltest/script.rs"]
mod script;
#[path = "promqltest/state.rs"]
mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Duration;

use ast::{at_modifier_variants, collect_selectors, selector_matches};
use hist::histogram_eq;
use script::{
    parse_script, Annotations, Command, Eval, EvalCmd, Expected, FailMatch, SeriesLabels, Step,
};
use state::{load, State};

use bongsu_model::{is_stale_nan, FloatHistogram, Labels, STALE_NAN};
use bongsu_promql::{Engine, Point, PromqlError, QueryOutput, QueryValue, VectorSample};
use bongsu_storage::Storage;

const BASELINE: &str = "tests/data/promqltest_baseline.txt";

/// Why an eval is not run; each reason is a separate column of the report.
fn skip_reason(file: &str, cmd: &EvalCmd, state: &State) -> Option<&'static str> {
    let q = cmd.expr.as_str();
    let has = |s: &str| q.contains(s);
    if file == "type_and_unit.test" || has("__type__") || has("__unit__") {
        return Some("type-and-unit");
    }
    if has(" anchored") || has(" smoothed") {
        return Some("anchored/smoothed ranges");
    }
    let parsed = bongsu_promql::parse(q);
    // Series the runner could not load, that a selector of the query would select.
    let selected = |reason: &str| {
        let Ok(expr) = &parsed else { return false };
        let mut selectors = Vec::new();
        collect_selectors(expr, &mut selectors);
        state.unsupported.iter().any(|(labels, r)| {
            *r == reason && selectors.iter().any(|vs| selector_matches(vs, labels))
        })
    };
    if has("start_timestamp") || selected("start timestamps") {
        return Some("start timestamps");
    }
    if cmd.unreadable || selected("native histograms") {
        return Some("native histograms");
    }
    if cmd.fail.is_none() && parsed.is_err() {
        return Some("bongsu cannot parse");
    }
    None
}

/// Go's `almost.Equal` with the promqltest epsilon; StaleNaN only equals StaleNaN.
fn float_eq(a: f64, b: f64) -> bool {
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let eps = 1e-6;
    let diff = (a - b).abs();
    let sum = a.abs() + b.abs();
    if a == 0.0 || b == 0.0 || sum < f64::MIN_POSITIVE {
        return diff < eps * f64::MIN_POSITIVE;
    }
    diff / sum.min(f64::MAX) < eps
}

/// A value of a series: a float or a histogram (with whether its hint is to be compared).
#[derive(Debug, Clone)]
enum PVal {
    F(f64),
    H(Box<FloatHistogram>, bool),
}

fn seq_value(v: &Step) -> Option<PVal> {
    match v {
        Step::Value(f) => Some(PVal::F(*f)),
        Step::Stale => Some(PVal::F(STALE_NAN)),
        Step::Missing => None,
        Step::Histogram { h, hint_set } => Some(PVal::H(h.clone(), *hint_set)),
    }
}

fn value_eq(exp: &PVal, got: &PVal) -> bool {
    match (exp, got) {
        (PVal::F(a), PVal::F(b)) => float_eq(*a, *b),
        (PVal::H(a, hint_set), PVal::H(b, _)) => histogram_eq(a, b, *hint_set),
        _ => false,
    }
}

fn fmt_labels(l: &SeriesLabels) -> String {
    let inner: Vec<String> = l.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn from_labels(l: &Labels) -> SeriesLabels {
    l.iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}

type Points = Vec<(i64, PVal)>;

/// Expected series as (labels, [(t, v)]) with the times of `(start, step)`.
fn expected_points(
    exp: &[(SeriesLabels, Vec<Step>)],
    start: i64,
    step: i64,
) -> Vec<(SeriesLabels, Points)> {
    exp.iter()
        .map(|(l, vals)| {
            let pts = vals
                .iter()
                .enumerate()
                .filter_map(|(i, v)| seq_value(v).map(|f| (start + i as i64 * step, f)))
                .collect();
            (l.clone(), pts)
        })
        .collect()
}

fn compare_series(
    exp: Vec<(SeriesLabels, Points)>,
    got: Vec<(SeriesLabels, Points)>,
    ordered: bool,
) -> Result<(), String> {
    let show = |s: &[(SeriesLabels, Points)]| {
        s.iter()
            .map(|(l, p)| format!("{} {:?}", fmt_labels(l), p))
            .collect::<Vec<_>>()
            .join("\n      ")
    };
    let mismatch = || {
        format!(
            "expected:\n      {}\n    got:\n      {}",
            show(&exp),
            show(&got)
        )
    };
    if exp.len() != got.len() {
        return Err(mismatch());
    }
    let mut got_sorted = got.clone();
    let mut exp_sorted = exp.clone();
    if !ordered {
        got_sorted.sort_by(|a, b| a.0.cmp(&b.0));
        exp_sorted.sort_by(|a, b| a.0.cmp(&b.0));
    }
    for ((el, ep), (gl, gp)) in exp_sorted.iter().zip(&got_sorted) {
        let same = el == gl
            && ep.len() == gp.len()
            && ep
                .iter()
                .zip(gp)
                .all(|(a, b)| a.0 == b.0 && value_eq(&a.1, &b.1));
        if !same {
            return Err(mismatch());
        }
    }
    Ok(())
}

fn fail_match(m: &FailMatch, text: &str) -> bool {
    match m {
        FailMatch::Any => true,
        FailMatch::Msg(m) => m == text,
        FailMatch::Regex(r) => regex::Regex::new(r).is_ok_and(|re| re.is_match(text)),
    }
}

/// Upstream's annotation check: with expectations, every expected annotation is present and
/// every present one expected; `no_*` forbids any.
fn check_annotations(kind: &str, exp: &Annotations, got: &[String]) -> Result<(), String> {
    if exp.some && got.is_empty() {
        return Err(format!("expected {kind} annotations, got none"));
    }
    if exp.none && !got.is_empty() {
        return Err(format!("unexpected {kind} annotations: {got:?}"));
    }
    if exp.expected.is_empty() {
        return Ok(());
    }
    if got.is_empty() {
        return Err(format!("expected {kind} annotations but none were found"));
    }
    if let Some(e) = exp
        .expected
        .iter()
        .find(|e| !got.iter().any(|g| fail_match(e, g)))
    {
        return Err(format!("expected {kind} annotation {e:?}, found {got:?}"));
    }
    if let Some(g) = got
        .iter()
        .find(|g| !exp.expected.iter().any(|e| fail_match(e, g)))
    {
        return Err(format!("unexpected {kind} annotation {g:?}"));
    }
    Ok(())
}

fn check(cmd: &EvalCmd, res: Result<QueryOutput, PromqlError>) -> Result<(), String> {
    let res = match res {
        Ok(out) if cmd.fail.is_none() => {
            check_annotations("warn", &cmd.warn, &out.warnings)?;
            check_annotations("info", &cmd.info, &out.infos)?;
            Ok(out.value)
        }
        Ok(out) => Ok(out.value),
        Err(e) => Err(e),
    };
    let got = match (res, &cmd.fail) {
        (Err(_), Some(FailMatch::Any)) => return Ok(()),
        (Err(e), Some(FailMatch::Msg(m))) => {
            return (e.to_string() == *m)
                .then_some(())
                .ok_or_else(|| format!("expected error {m:?}, got {:?}", e.to_string()))
        }
        (Err(e), Some(FailMatch::Regex(r))) => {
            let re = regex::Regex::new(r).map_err(|e| e.to_string())?;
            return re
                .is_match(&e.to_string())
                .then_some(())
                .ok_or_else(|| format!("expected error matching {r:?}, got {:?}", e.to_string()));
        }
        (Err(e), None) => return Err(format!("unexpected error: {e}")),
        (Ok(v), Some(_)) => return Err(format!("expected an error, got {v:?}")),
        (Ok(v), None) => v,
    };
    match (&cmd.expected, got) {
        (Expected::Scalar(e), QueryValue::Scalar(p)) => float_eq(*e, p.v)
            .then_some(())
            .ok_or_else(|| format!("expected scalar {e}, got {}", p.v)),
        (Expected::String(e), QueryValue::String { s, .. }) => (*e == s)
            .then_some(())
            .ok_or_else(|| format!("expected string {e:?}, got {s:?}")),
        (Expected::Series(exp), QueryValue::Vector(v)) => {
            let Eval::Instant { t } = cmd.kind else {
                return Err("range query returned a vector".into());
            };
            let exp = exp
                .iter()
                .map(|(l, vals)| {
                    let pts = vals.first().and_then(seq_value).map(|f| vec![(t, f)]);
                    (l.clone(), pts.unwrap_or_default())
                })
                .collect();
            let got = v
                .iter()
                .map(|s| {
                    let v = match &s.h {
                        Some(h) => PVal::H(h.clone(), false),
                        None => PVal::F(s.v),
                    };
                    (from_labels(&s.labels), vec![(s.t, v)])
                })
                .collect();
            compare_series(exp, got, cmd.ordered)
        }
        (Expected::Series(exp), QueryValue::Matrix(m)) => {
            let (start, step) = match (cmd.range_vector, &cmd.kind) {
                (Some((a, _, s)), _) => (a, s),
                (None, Eval::Range { start, step, .. }) => (*start, *step),
                (None, Eval::Instant { .. }) => {
                    return Err("instant query returned a matrix".into())
                }
            };
            let exp = expected_points(exp, start, step);
            let got = m
                .iter()
                .map(|s| {
                    let mut pts: Points = s.points.iter().map(|p| (p.t, PVal::F(p.v))).collect();
                    pts.extend(
                        s.histograms
                            .iter()
                            .map(|p| (p.t, PVal::H(p.h.clone(), false))),
                    );
                    pts.sort_by_key(|p| p.0);
                    (from_labels(&s.labels), pts)
                })
                .collect();
            compare_series(exp, got, cmd.ordered)
        }
        (e, g) => Err(format!("expected {e:?}, got {g:?}")),
    }
}

fn run_eval(engine: &Engine, db: &dyn Storage, cmd: &EvalCmd) -> Result<(), String> {
    let res = catch_unwind(AssertUnwindSafe(|| match cmd.kind {
        Eval::Instant { t } => engine.instant_query(db, &cmd.expr, t),
        Eval::Range { start, end, step } => engine.range_query(
            db,
            &cmd.expr,
            start,
            end,
            Duration::from_millis(step.max(0) as u64),
        ),
    }))
    .map_err(|_| "engine panicked".to_string())?;
    check(cmd, res)?;
    if let Eval::Instant { t } = cmd.kind {
        rerun_as_range(engine, db, cmd, t)?;
        for (expr, at) in at_modifier_variants(&cmd.expr, t) {
            let variant = EvalCmd {
                expr,
                kind: Eval::Instant { t: at },
                ..cmd.clone()
            };
            let res = catch_unwind(AssertUnwindSafe(|| {
                engine.instant_query(db, &variant.expr, at)
            }))
            .map_err(|_| format!("engine panicked on {}", variant.expr))?;
            check(&variant, res).map_err(|e| format!("{} at {at}ms: {e}", variant.expr))?;
            rerun_as_range(engine, db, &variant, at)
                .map_err(|e| format!("{} at {at}ms: {e}", variant.expr))?;
        }
    }
    Ok(())
}

/// Upstream's second check of an instant eval: as a range query from t-1m to t+1m step 1m it
/// must succeed with series sorted by labels, and its middle step must be the instant result.
/// Not for expected failures, strings or range vectors, nor for queries using the query's own
/// start, end, range or step; only the run for `expect ordered`.
fn rerun_as_range(engine: &Engine, db: &dyn Storage, cmd: &EvalCmd, t: i64) -> Result<(), String> {
    let context_fn = ["start()", "end()", "range()", "step()"]
        .iter()
        .any(|f| cmd.expr.contains(f));
    if cmd.fail.is_some()
        || cmd.range_vector.is_some()
        || matches!(cmd.expected, Expected::String(_))
        || context_fn
    {
        return Ok(());
    }
    let res = catch_unwind(AssertUnwindSafe(|| {
        engine.range_query(
            db,
            &cmd.expr,
            t - 60_000,
            t + 60_000,
            Duration::from_secs(60),
        )
    }))
    .map_err(|_| "engine panicked in range mode".to_string())?
    .map_err(|e| format!("range mode: unexpected error: {e}"))?;
    if cmd.ordered {
        return Ok(());
    }
    let QueryValue::Matrix(m) = res.value else {
        return Err(format!(
            "range mode: expected a matrix, got {:?}",
            res.value
        ));
    };
    if m.windows(2).any(|w| w[0].labels > w[1].labels) {
        return Err("range mode: series not sorted by labels".into());
    }
    let at_t: Vec<VectorSample> = m
        .iter()
        .filter_map(|s| {
            if let Some(p) = s.histograms.iter().find(|p| p.t == t) {
                return Some(VectorSample {
                    labels: s.labels.clone(),
                    t,
                    v: 0.0,
                    h: Some(p.h.clone()),
                });
            }
            let p = s.points.iter().find(|p| p.t == t)?;
            Some(VectorSample {
                labels: s.labels.clone(),
                t,
                v: p.v,
                h: None,
            })
        })
        .collect();
    let value = match cmd.expected {
        Expected::Scalar(_) => {
            let v = at_t.first().map_or(f64::NAN, |s| s.v);
            QueryValue::Scalar(Point { t, v })
        }
        _ => QueryValue::Vector(at_t),
    };
    let out = QueryOutput {
        value,
        warnings: Vec::new(),
        infos: Vec::new(),
    };
    let plain = EvalCmd {
        warn: Annotations::default(),
        info: Annotations::default(),
        ..cmd.clone()
    };
    check(&plain, Ok(out)).map_err(|e| format!("range mode: {e}"))
}

#[derive(Default)]
struct FileResult {
    passed: usize,
    failed: usize,
    skipped: BTreeMap<&'static str, usize>,
    passing: Vec<usize>,
    failing: Vec<usize>,
}

fn run_file(name: &str, text: &str, verbose: bool) -> FileResult {
    let mut res = FileResult::default();
    let cmds = match parse_script(text) {
        Ok(c) => c,
        Err(e) => panic!("{name}: {e}"),
    };
    // Upstream runs its test scripts with delayed name removal on.
    let engine = Engine {
        delayed_name_removal: true,
        ..Engine::default()
    };
    let histograms = text.contains("{{") || text.contains("load_with_nhcb");
    let mut state = State::new(histograms);
    for cmd in cmds {
        match cmd {
            Command::Clear => state = State::new(histograms),
            Command::Load {
                step,
                series,
                nhcb,
                unsupported,
            } => {
                let failed = load(&*state.db, step, &series, nhcb);
                state
                    .unsupported
                    .extend(failed.into_iter().map(|l| (l, "native histograms")));
                state.unsupported.extend(unsupported);
            }
            Command::Eval(cmd) => {
                if let Some(reason) = skip_reason(name, &cmd, &state) {
                    if verbose {
                        println!("SKIP {name}:{} ({reason}) {}", cmd.line, cmd.expr);
                    }
                    *res.skipped.entry(reason).or_default() += 1;
                    continue;
                }
                match run_eval(&engine, &*state.db, &cmd) {
                    Ok(()) => {
                        res.passed += 1;
                        res.passing.push(cmd.line);
                    }
                    Err(e) => {
                        res.failed += 1;
                        res.failing.push(cmd.line);
                        if verbose {
                            println!("FAIL {name}:{} {}\n    {e}", cmd.line, cmd.expr);
                        }
                    }
                }
            }
        }
    }
    drop(state.dir);
    res
}

struct Baseline {
    min_passed: BTreeMap<String, usize>,
    passing: BTreeSet<(String, usize)>,
}

fn read_baseline(path: &Path) -> Baseline {
    let mut b = Baseline {
        min_passed: BTreeMap::new(),
        passing: BTreeSet::new(),
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        return b;
    };
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["file", f, n] => {
                b.min_passed.insert(f.to_string(), n.parse().unwrap_or(0));
            }
            ["pass", f, lines @ ..] => {
                for l in lines {
                    b.passing.insert((f.to_string(), l.parse().unwrap_or(0)));
                }
            }
            _ => {}
        }
    }
    b
}

fn write_baseline(path: &Path, results: &BTreeMap<String, FileResult>) {
    let mut out = String::from(
        "# promqltest ratchet: `file <name> <min passed>` and `pass <name> <lines of passing evals>`.\n\
         # Regenerate with PROMQLTEST_UPDATE_BASELINE=1 cargo test --test promqltest (never lower it).\n",
    );
    for (f, r) in results {
        out.push_str(&format!("file {f} {}\n", r.passed));
    }
    for (f, r) in results {
        if !r.passing.is_empty() {
            let lines: Vec<String> = r.passing.iter().map(usize::to_string).collect();
            out.push_str(&format!("pass {f} {}\n", lines.join(" ")));
        }
    }
    std::fs::write(path, out).expect("write baseline");
}

#[test]
fn promql_conformance() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("../shared/conformance/promql");
    if !dir.is_dir() {
        println!("skipped: conformance data not found");
        return;
    }
    let verbose = std::env::var("PROMQLTEST_VERBOSE").is_ok_and(|v| v == "1");
    let only = std::env::var("PROMQLTEST_FILE").ok();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read conformance dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    files.sort();
    let mut results = BTreeMap::new();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read test file");
        results.insert(name.clone(), run_file(&name, &text, verbose));
    }

    let mut reasons: BTreeSet<&str> = BTreeSet::new();
    for r in results.values() {
        reasons.extend(r.skipped.keys());
    }
    println!(
        "{:<28} {:>6} {:>6} {:>7}  skipped by reason",
        "file", "passed", "failed", "skipped"
    );
    let (mut tp, mut tf, mut ts) = (0, 0, 0);
    let mut total_reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for (f, r) in &results {
        let skipped: usize = r.skipped.values().sum();
        let why: Vec<String> = r.skipped.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        println!(
            "{f:<28} {:>6} {:>6} {:>7}  {}",
            r.passed,
            r.failed,
            skipped,
            why.join(", ")
        );
        tp += r.passed;
        tf += r.failed;
        ts += skipped;
        for (k, v) in &r.skipped {
            *total_reasons.entry(k).or_default() += v;
        }
    }
    println!("{:<28} {tp:>6} {tf:>6} {ts:>7}", "TOTAL");
    for (k, v) in &total_reasons {
        println!("  skipped ({k}): {v}");
    }

    let baseline_path = root.join(BASELINE);
    let baseline = read_baseline(&baseline_path);
    let mut regressions = Vec::new();
    for (f, r) in &results {
        if let Some(&min) = baseline.min_passed.get(f) {
            if r.passed < min {
                regressions.push(format!("{f}: {} passed, baseline {min}", r.passed));
            }
        }
        for l in &r.failing {
            if baseline.passing.contains(&(f.clone(), *l)) {
                regressions.push(format!("{f}:{l} passed before and fails now"));
            }
        }
    }
    assert!(
        regressions.is_empty(),
        "promqltest regressions:\n{}",
        regressions.join("\n")
    );
    if only.is_none() && std::env::var("PROMQLTEST_UPDATE_BASELINE").is_ok_and(|v| v == "1") {
        write_baseline(&baseline_path, &results);
    }
}
