//! Runs Prometheus' parser test tables (`../shared/conformance/promql-parser/`, see its
//! SOURCE.txt) through [`bongsu_promql::parse`]:
//!
//! - `parse_cases.jsonl`: a case passes when acceptance agrees, an accepted query has the
//!   expected root node type (and value, for number literals), and a rejected query's error is
//!   Prometheus' first error: same message, same start offset (and end offset where given).
//!   Prometheus reports only its first error (`ParseErrors.Error()`), so only that one counts.
//! - `printer_cases.jsonl`: parsing `in` and printing it with [`bongsu_promql::to_string`]
//!   gives exactly `out`.
//!
//! Every case that does not pass must be in a skip list below, with the reason; a skipped case
//! that starts passing fails the run too, so the lists only shrink.

use std::fs;
use std::path::{Path, PathBuf};

use promql_parser::parser::Expr;
use serde_json::Value;

use bongsu_promql::{parse, to_string};

const STEP_RANGE: &str = "experimental step()/range() in durations: not supported by bongsu (it \
     answers \"step() and range() in durations are not supported yet\")";
const ANCHORED_SMOOTHED: &str = "experimental anchored/smoothed range selectors: not supported by \
     bongsu (it answers \"anchored and smoothed range selectors are not supported yet\")";
const UNARY_PLUS: &str = "unary plus: dropped while lowering to the evaluator's tree (the \
     AST types, promql-parser's, have no node for it), so the root is the operand (same value)";
const NOT_UTF8: &str = "input is not valid UTF-8: bongsu parses &str, and request decoding \
     replaces invalid bytes with U+FFFD before the parser sees them";
const NEGATIVE_RANGE: &str = "constant range below zero: Prometheus accepts it and fails when \
     evaluating; the AST types hold a range as an unsigned Duration, so bongsu fails while parsing";
const FOLDED_DURATION: &str = "constant duration expression: folded to the literal it amounts to \
     while lowering (the AST types hold a Duration, not an expression), so it prints as that literal";

/// Parse cases (by input, or input_hex) we knowingly fail, each with the reason.
const PARSE_SKIPS: &[(&str, &str)] = &[
    ("+some_metric", UNARY_PLUS),
    (" +some_metric", UNARY_PLUS),
    (" +{\"some_metric\"}", UNARY_PLUS),
    ("736f6d655f6d65747269637b613d22ff227d", NOT_UTF8),
    (
        "6c6162656c5f7265706c61636528612c206062602c206063ff602c206064602c20602e2a6029",
        NOT_UTF8,
    ),
    ("foo[step()]", STEP_RANGE),
    ("foo[  -  step  (  )  ]", STEP_RANGE),
    ("foo[   step  (  )  ]", STEP_RANGE),
    ("foo[-step()]", STEP_RANGE),
    ("foo offset step()", STEP_RANGE),
    ("foo offset -step()", STEP_RANGE),
    ("foo[max_of(step(),5s)]", STEP_RANGE),
    ("foo offset max_of(step(),5s)", STEP_RANGE),
    ("foo offset -min_of(5s,step()+8s)", STEP_RANGE),
    ("foo[range()]", STEP_RANGE),
    ("foo[2m/range()]", STEP_RANGE),
    ("foo[-range()]", STEP_RANGE),
    ("foo offset range()", STEP_RANGE),
    ("foo offset -range()", STEP_RANGE),
    ("foo[max_of(range(),5s)]", STEP_RANGE),
    ("foo[-2^2]", NEGATIVE_RANGE),
    ("foo[0+-2^2]", NEGATIVE_RANGE),
];

/// Printer cases (by input) we knowingly fail, each with the reason.
const PRINTER_SKIPS: &[(&str, &str)] = &[
    ("a anchored", ANCHORED_SMOOTHED),
    ("a[5m] anchored", ANCHORED_SMOOTHED),
    ("a{b=\"c\"}[5m] anchored", ANCHORED_SMOOTHED),
    ("a{b=\"c\"}[5m] anchored offset 1m", ANCHORED_SMOOTHED),
    (
        "a{b=\"c\"}[5m] anchored @ start() offset 1m",
        ANCHORED_SMOOTHED,
    ),
    ("a smoothed", ANCHORED_SMOOTHED),
    ("a[5m] smoothed", ANCHORED_SMOOTHED),
    ("a{b=\"c\"}[5m] smoothed", ANCHORED_SMOOTHED),
    ("a{b=\"c\"}[5m] smoothed offset 1m", ANCHORED_SMOOTHED),
    (
        "a{b=\"c\"}[5m] smoothed @ start() offset 1m",
        ANCHORED_SMOOTHED,
    ),
    ("foo[step()]", STEP_RANGE),
    ("foo[-step()]", STEP_RANGE),
    ("foo[(step())]", STEP_RANGE),
    ("foo[-(step())]", STEP_RANGE),
    ("foo offset step()", STEP_RANGE),
    ("foo offset -step()", STEP_RANGE),
    ("foo offset (step())", STEP_RANGE),
    ("foo offset -(step())", STEP_RANGE),
    ("foo offset +(5)", FOLDED_DURATION),
    ("foo offset -(5)", FOLDED_DURATION),
    ("foo offset (5)", FOLDED_DURATION),
    ("foo offset (5m)", FOLDED_DURATION),
    ("foo[(5s)]", FOLDED_DURATION),
    ("foo[(5m):(1m)]", FOLDED_DURATION),
    ("foo offset +min_of(10s, 20s)", FOLDED_DURATION),
    ("foo offset -min_of(10s, 20s)", FOLDED_DURATION),
    (
        "foo offset -min_of(10s, +max_of(step() ^ 2, 2))",
        STEP_RANGE,
    ),
    ("foo[200-min_of(-step()^+step(),1)]", STEP_RANGE),
    (
        "foo[200 - min_of(step() + 10s, -max_of(step() ^ 2, 3))]",
        STEP_RANGE,
    ),
    ("foo[range()]", STEP_RANGE),
    ("foo[-range()]", STEP_RANGE),
    ("foo offset range()", STEP_RANGE),
    ("foo offset -range()", STEP_RANGE),
    ("foo[max_of(range(), 5s)]", STEP_RANGE),
];

fn conformance_dir() -> Option<PathBuf> {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    [local, PathBuf::from("/work/shared/conformance")]
        .into_iter()
        .find(|p| p.is_dir())
}

fn read_cases(file: &str) -> Option<Vec<Value>> {
    let Some(root) = conformance_dir() else {
        println!("skipped: conformance data (../shared/conformance) not found");
        return None;
    };
    let text = fs::read_to_string(root.join("promql-parser").join(file)).expect("read cases");
    Some(
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("case is JSON"))
            .collect(),
    )
}

/// The case's query. Inputs that are not valid UTF-8 are given as hex; they cannot reach the
/// parser as `&str` (the HTTP layer rejects them first), so they are returned as `Err`.
fn case_input(case: &Value) -> Result<String, String> {
    if let Some(s) = case["input"].as_str() {
        return Ok(s.to_string());
    }
    let hex = case["input_hex"].as_str().expect("input or input_hex");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => Err(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// The Go AST node type Prometheus would build for the root.
fn root_type(expr: &Expr) -> &'static str {
    match expr {
        Expr::Aggregate(_) => "AggregateExpr",
        Expr::Unary(_) => "UnaryExpr",
        Expr::Binary(_) => "BinaryExpr",
        Expr::Paren(_) => "ParenExpr",
        Expr::Subquery(_) => "SubqueryExpr",
        Expr::NumberLiteral(_) => "NumberLiteral",
        Expr::StringLiteral(_) => "StringLiteral",
        Expr::VectorSelector(_) => "VectorSelector",
        Expr::MatrixSelector(_) => "MatrixSelector",
        Expr::Call(_) => "Call",
        Expr::Extension(_) => "Extension",
    }
}

fn check_parse_case(case: &Value) -> Result<(), String> {
    let input = case_input(case).map_err(|lossy| format!("not UTF-8 ({lossy:?})"))?;
    let result = parse(&input);
    if case["should_parse"].as_bool().expect("should_parse") {
        let expr = result.map_err(|e| format!("rejected: {e} [{}..{}]", e.start, e.end))?;
        let want = case["expected_root"].as_str().unwrap_or_default();
        if root_type(&expr) != want {
            return Err(format!("root {} want {want}", root_type(&expr)));
        }
        if let Some(v) = case["expected_value"].as_f64() {
            match &expr {
                Expr::NumberLiteral(n) if n.val == v => {}
                _ => return Err(format!("value of {expr} want {v}")),
            }
        }
        return Ok(());
    }
    let err = match result {
        Ok(expr) => return Err(format!("accepted as {expr}")),
        Err(e) => e,
    };
    let want = &case["errors"][0];
    let msg = want["msg"].as_str().expect("msg");
    let start = want["start"].as_u64().map(|s| s as usize);
    let end = want["end"].as_u64().map(|s| s as usize);
    if err.message != msg
        || start.is_some_and(|s| s != err.start)
        || end.is_some_and(|e| e != err.end)
    {
        return Err(format!(
            "error {:?} [{}..{}] want {msg:?} [{}..{}]",
            err.message,
            err.start,
            err.end,
            start.map_or("?".into(), |s| s.to_string()),
            end.map_or("?".into(), |s| s.to_string()),
        ));
    }
    Ok(())
}

fn check_printer_case(case: &Value) -> Result<(), String> {
    let input = case["in"].as_str().expect("in");
    let want = case["out"].as_str().expect("out");
    let expr = parse(input).map_err(|e| format!("rejected: {e}"))?;
    let got = to_string(&expr);
    if got != want {
        return Err(format!("printed {got:?} want {want:?}"));
    }
    Ok(())
}

/// Runs every case, prints a summary and the unexpected outcomes; the list of failures.
fn run(
    name: &str,
    cases: &[Value],
    key: &str,
    skips: &[(&str, &str)],
    check: fn(&Value) -> Result<(), String>,
) -> Vec<String> {
    let mut passed = 0;
    let mut skipped = 0;
    let mut failures = Vec::new();
    for case in cases {
        let id = case[key]
            .as_str()
            .or(case["input_hex"].as_str())
            .unwrap_or_default();
        let skip = skips.iter().find(|(s, _)| *s == id);
        match (check(case), skip) {
            (Ok(()), None) => passed += 1,
            (Ok(()), Some(_)) => {
                failures.push(format!("{id:?}: passes now, remove it from the skips"))
            }
            (Err(_), Some(_)) => skipped += 1,
            (Err(why), None) => failures.push(format!("{id:?}: {why}")),
        }
    }
    println!("| file | cases | pass | skip | fail |");
    println!("|---|---|---|---|---|");
    println!(
        "| {name} | {} | {passed} | {skipped} | {} |",
        cases.len(),
        failures.len()
    );
    let mut reasons: Vec<&str> = skips.iter().map(|(_, r)| *r).collect();
    reasons.sort_unstable();
    reasons.dedup();
    for reason in reasons {
        let n = skips.iter().filter(|(_, r)| *r == reason).count();
        println!("skipped {n}: {reason}");
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    failures
}

#[test]
fn parse_cases() {
    let Some(cases) = read_cases("parse_cases.jsonl") else {
        return;
    };
    let failures = run(
        "parse_cases.jsonl",
        &cases,
        "input",
        PARSE_SKIPS,
        check_parse_case,
    );
    assert!(failures.is_empty(), "{} parse cases failed", failures.len());
}

#[test]
fn printer_cases() {
    let Some(cases) = read_cases("printer_cases.jsonl") else {
        return;
    };
    let failures = run(
        "printer_cases.jsonl",
        &cases,
        "in",
        PRINTER_SKIPS,
        check_printer_case,
    );
    assert!(
        failures.is_empty(),
        "{} printer cases failed",
        failures.len()
    );
}
