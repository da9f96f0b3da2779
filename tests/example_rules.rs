//! The example rule files in `rules/` pass their unit tests (`rules/tests/NAME_test.yml`)
//! under `bongsu test rules`, and every rule file there has a test file.

use std::path::{Path, PathBuf};

use bongsu_rules::unittest::{test_rule_files, TestOptions};

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

#[test]
fn example_rules_pass_their_unit_tests() {
    let yml = |dir: PathBuf| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yml"))
            .collect();
        v.sort();
        v
    };
    let rule_files: Vec<String> = yml(rules_dir())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let test_files = yml(rules_dir().join("tests"));
    assert!(rule_files.len() >= 3, "rule files: {rule_files:?}");
    for r in &rule_files {
        let test = r.replace(".yml", "_test.yml");
        assert!(
            test_files.iter().any(|t| t.ends_with(&test)),
            "{r} has no {test}"
        );
    }
    let mut out = Vec::new();
    let code = test_rule_files(
        &test_files,
        &TestOptions {
            run: Vec::new(),
            logs: Some(std::sync::Arc::new(bongsu::log_rules::TempLogStores)),
        },
        &mut out,
    );
    let out = String::from_utf8_lossy(&out);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("SUCCESS").count(), test_files.len(), "{out}");
}
