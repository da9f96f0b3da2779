//! `bongsu test rules` with log input (issue #16's contract §3): LogQL rules over
//! `input_logs`, `logql_expr_test`, LogQL alerts in `alert_rule_test`, LogQL recording rules
//! checked with `promql_expr_test`; failures and bad input reported with their text.

use std::path::Path;
use std::sync::Arc;

use bongsu::log_rules::TempLogStores;
use bongsu_rules::unittest::{test_rule_files, TestOptions};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/log_rules");

fn run_with(dir: &Path, test: &str, logs: bool) -> (u8, String) {
    let path = dir.join("test.yml");
    std::fs::write(&path, test).unwrap();
    let opts = TestOptions {
        run: Vec::new(),
        logs: logs.then(|| Arc::new(TempLogStores) as _),
    };
    let mut out = Vec::new();
    let code = test_rule_files(&[path], &opts, &mut out);
    (code, String::from_utf8(out).unwrap())
}

/// The passing case from `tests/data`, with `edit` applied to its text.
fn run_edited(edit: impl Fn(&str) -> String, logs: bool) -> (u8, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(DATA).join("logs-nginx.yml"),
        dir.path().join("logs-nginx.yml"),
    )
    .unwrap();
    let test = std::fs::read_to_string(Path::new(DATA).join("logs-nginx_test.yml")).unwrap();
    run_with(dir.path(), &edit(&test), logs)
}

#[test]
fn log_rules_pass_their_tests() {
    let (code, out) = run_edited(str::to_string, true);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("  SUCCESS"), "{out}");
}

#[test]
fn wrong_expectations_fail_with_what_was_got() {
    let (code, out) = run_edited(|t| t.replace("value: 49", "value: 50"), true);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("        exp: [{job=\"nginx\"} 50]\n        got: [{job=\"nginx\"} 49]"),
        "{out}"
    );
    let (code, out) = run_edited(|t| t.replace("web-01: 10 errors", "web-01: 9 errors"), true);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("alertname: Nginx5xx, time: 6m"), "{out}");
    assert!(
        out.contains(r#"summary="web-01: 10 errors, 70 lines""#),
        "{out}"
    );
    // The recording rule's series is in the series store.
    let (code, out) = run_edited(|t| t.replace("0.16666666666666666", "1"), true);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("got: [job:nginx_5xx:rate1m{job=\"nginx\"} 0.16666666666666666]"),
        "{out}"
    );
}

#[test]
fn bad_input_is_reported() {
    let (code, out) = run_edited(
        |t| t.replace("at: 3m", "at: 3m\n            every: 1s"),
        true,
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("input_logs: stream {job=\"nginx\", host=\"web-01\"}, entry 3: `at` and `from`/`until`/`every` cannot be combined"),
        "{out}"
    );
    let (code, out) = run_edited(|t| t.replace(r#"|= " 500 " [5m]"#, "|= [5m]"), true);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("parse error at line 0, col "), "{out}");
    let (code, out) = run_edited(str::to_string, false);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("this test needs a log store"), "{out}");
}
