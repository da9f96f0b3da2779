//! Prometheus' rule-file syntax cases (`../shared/conformance/rules/rulefmt/`, see
//! ../SOURCE.txt): every `must_parse` file in EXPECTED.yaml loads, every `must_fail` file fails
//! and its first error contains the expected message. Every file in the folder must be listed,
//! so a new upstream case cannot be skipped silently.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use bongsu_relabel::NameValidationScheme;
use bongsu_rules::{parse_file, PromTemplates};

#[derive(Deserialize)]
struct Expected {
    must_parse: Vec<Case>,
    must_fail: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    file: String,
    #[serde(default)]
    name_validation: Option<String>,
    #[serde(default)]
    error_contains: Option<String>,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/rules/rulefmt")
}

fn scheme(c: &Case) -> NameValidationScheme {
    match c.name_validation.as_deref() {
        Some("legacy") => NameValidationScheme::Legacy,
        None | Some("utf8") => NameValidationScheme::Utf8,
        Some(other) => panic!("{}: unknown name_validation {other}", c.file),
    }
}

#[test]
fn rulefmt_cases() {
    let dir = dir();
    if !dir.is_dir() {
        eprintln!(
            "SKIPPED: {} is absent; rule-file conformance not run",
            dir.display()
        );
        return;
    }
    let text = std::fs::read_to_string(dir.join("EXPECTED.yaml")).unwrap();
    let expected: Expected = serde_yaml_ng::from_str(&text).unwrap();
    let mut failures = Vec::new();
    let mut listed = BTreeSet::new();
    for c in &expected.must_parse {
        listed.insert(c.file.clone());
        if let Err(e) = parse_file(&dir.join(&c.file), scheme(c), &PromTemplates::default()) {
            failures.push(format!("{} must parse, got: {e}", c.file));
        }
    }
    for c in &expected.must_fail {
        listed.insert(c.file.clone());
        let want = c.error_contains.as_deref().unwrap_or_default();
        match parse_file(&dir.join(&c.file), scheme(c), &PromTemplates::default()) {
            Ok(_) => failures.push(format!("{} must fail with {want:?}, but parsed", c.file)),
            Err(e) if !e.0[0].contains(want) => failures.push(format!(
                "{}: want {want:?} in the first error, got {e}",
                c.file
            )),
            Err(_) => {}
        }
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".yaml") && name != "EXPECTED.yaml" && !listed.contains(&name) {
            failures.push(format!("{name} is not listed in EXPECTED.yaml"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(expected.must_parse.len() + expected.must_fail.len() >= 16);
}
