//! promtool's rule unit-test cases (`../shared/conformance/rules/promtool/`, see ../SOURCE.txt):
//! `bongsu test rules` gives the exit code EXPECTED_UNITTEST.yaml lists for each case.
//!
//! Cases that need a switch bongsu does not have are skipped with a message: the `@` modifier
//! and negative offsets cannot be disabled (as in Prometheus 3), and `--ignore-unknown-fields`
//! is not supported. Cases in `KNOWN_GAPS` fail for a stated reason; the test checks they still
//! do, so fixing one makes this test ask for its removal from the list.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use bongsu_rules::unittest::{test_rule_files, TestOptions};

#[derive(Deserialize)]
struct Case {
    file: String,
    exit: u8,
    #[serde(default)]
    at_modifier: bool,
    #[serde(default)]
    negative_offset: bool,
    #[serde(default)]
    run: Vec<String>,
    #[serde(default)]
    ignore_unknown_fields: bool,
}

/// Files that need what bongsu lacks, with the reason.
const KNOWN_GAPS: &[(&str, &str)] = &[
    ("unittest.yml", "native histogram input series"),
    ("start-time-test.yml", "start_timestamp in test groups"),
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/rules/promtool")
}

#[test]
fn promtool_unittest_cases() {
    let dir = dir();
    if !dir.is_dir() {
        eprintln!(
            "SKIPPED: {} is absent; rule unit-test conformance not run",
            dir.display()
        );
        return;
    }
    let text = std::fs::read_to_string(dir.join("EXPECTED_UNITTEST.yaml")).unwrap();
    let cases: Vec<Case> = serde_yaml_ng::from_str(&text).unwrap();
    assert!(cases.len() >= 20, "only {} cases", cases.len());
    let mut failures = Vec::new();
    let mut ran = 0;
    for c in &cases {
        let what = format!("{} (run {:?})", c.file, c.run);
        if c.exit == 1 && text_needs_disabled_feature(c) {
            eprintln!("SKIPPED: {what}: the @ modifier and negative offsets are always enabled");
            continue;
        }
        if c.ignore_unknown_fields {
            eprintln!("SKIPPED: {what}: --ignore-unknown-fields is not supported");
            continue;
        }
        let opts = TestOptions {
            run: c.run.clone(),
            logs: None,
        };
        let mut out = Vec::new();
        let code = test_rule_files(&[dir.join(&c.file)], &opts, &mut out);
        let out = String::from_utf8_lossy(&out);
        ran += 1;
        if let Some((_, why)) = KNOWN_GAPS.iter().find(|(f, _)| *f == c.file) {
            eprintln!("KNOWN GAP: {what}: {why}");
            if code == c.exit {
                failures.push(format!("{what} now passes: remove it from KNOWN_GAPS"));
            }
            continue;
        }
        if code != c.exit {
            failures.push(format!("{what}: exit {code}, want {}\n{out}", c.exit));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(ran >= 15, "only {ran} cases ran");
}

/// A case expecting failure only because `@`/negative offsets are disabled in promtool's run.
fn text_needs_disabled_feature(c: &Case) -> bool {
    (c.file.starts_with("at-modifier") && !c.at_modifier)
        || (c.file.starts_with("negative-offset") && !c.negative_offset)
}
