//! Runs the exposition parsers over the shared upstream conformance data
//! (`../shared/conformance/textparse/`, see its SOURCE.txt):
//!
//! - every case of the OpenMetrics parser suite (`openmetrics-parsers/<case>/{metrics,test.json}`)
//!   must be accepted or rejected as its `shouldParse` says, under [`Validation::Strict`];
//! - every top-level sample file must parse: `*.om.txt` as OpenMetrics (with the default,
//!   compatible validation, as an importer would read it) and `*.prom.txt` as Prometheus text.

use std::fs;
use std::path::{Path, PathBuf};

use bongsu_exposition::{Entry, Format, ParseError, Parser, Validation};

/// Suite cases whose expectation we knowingly do not meet, each with the reason. Keep it empty
/// unless a case contradicts behaviour we need.
const ALLOWED_DISAGREEMENTS: &[(&str, &str)] = &[];

fn conformance_dir() -> Option<PathBuf> {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    [local, PathBuf::from("/work/shared/conformance")]
        .into_iter()
        .find(|p| p.is_dir())
}

/// Parses the whole body; the number of series on success.
fn parse(input: &[u8], format: Format, validation: Validation) -> Result<usize, ParseError> {
    let mut p = Parser::with_validation(input, format, validation);
    let mut series = 0;
    while let Some(entry) = p.next_entry()? {
        if let Entry::Series(s) = entry {
            s.to_labels().map_err(|e| ParseError {
                line: p.line(),
                message: e.to_string(),
            })?;
            series += 1;
        }
    }
    Ok(series)
}

#[test]
fn openmetrics_parser_suite() {
    let Some(root) = conformance_dir() else {
        println!("skipped: conformance data not found");
        return;
    };
    let suite = root.join("textparse/openmetrics-parsers");
    let mut cases: Vec<PathBuf> = fs::read_dir(&suite)
        .expect("read the suite directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("test.json").is_file())
        .collect();
    cases.sort();

    let mut agree = 0;
    let mut unexpected = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let spec: serde_json::Value =
            serde_json::from_slice(&fs::read(case.join("test.json")).expect("read test.json"))
                .expect("parse test.json");
        let should_parse = spec["shouldParse"].as_bool().expect("shouldParse");
        let file = spec["file"].as_str().unwrap_or("metrics");
        let input = fs::read(case.join(file)).expect("read the case's metrics");
        let result = parse(&input, Format::OpenMetrics, Validation::Strict);
        if result.is_ok() == should_parse {
            agree += 1;
            continue;
        }
        let reason = match result {
            Ok(n) => format!("accepted ({n} series) but should be rejected"),
            Err(e) => format!("rejected but should parse: {e}"),
        };
        let allowed = ALLOWED_DISAGREEMENTS.iter().any(|(n, _)| *n == name);
        println!(
            "disagree{}: {name}: {reason}",
            if allowed { " (allowed)" } else { "" }
        );
        if !allowed {
            unexpected.push(name);
        }
    }
    println!("{agree}/{} agree", cases.len());
    assert!(!cases.is_empty(), "no cases found in {}", suite.display());
    assert!(
        unexpected.is_empty(),
        "cases disagree with the suite: {unexpected:?}"
    );
}

#[test]
fn sample_files_parse() {
    let Some(root) = conformance_dir() else {
        println!("skipped: conformance data not found");
        return;
    };
    let dir = root.join("textparse");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("read textparse")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".txt"))
        .collect();
    files.sort();
    let mut checked = 0;
    for path in files {
        let name = path.to_string_lossy().to_string();
        let format = if name.ends_with(".om.txt") {
            Format::OpenMetrics
        } else if name.ends_with(".prom.txt") {
            Format::PrometheusText
        } else {
            continue;
        };
        let input = fs::read(&path).expect("read sample file");
        match parse(&input, format, Validation::Compatible) {
            Ok(n) => println!("{name}: {n} series"),
            Err(e) => panic!("{name} does not parse: {e}"),
        }
        checked += 1;
    }
    assert!(
        checked >= 4,
        "expected at least 4 sample files, found {checked}"
    );
}
