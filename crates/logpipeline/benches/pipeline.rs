//! Pipeline throughput over the `job=app` JSON lines of the shared generator.
//!
//! `cargo bench -p bongsu-logpipeline --bench pipeline` runs
//! `../shared/bench/gen_logs.py --format ndjson --lines 100000` (or reads the NDJSON file named
//! by `BONGSU_BENCH_NDJSON`), keeps the `job=app` lines (about 30k), cycles them to 100k
//! lines and reports lines/s for:
//! - `json_filter_unwrap`: `| json | status >= 200 | unwrap duration_ms` (a sample per line);
//! - `json_only`: `| json`;
//! - `contains` / `regex_ci`: `|= "error"` and `|~ "(?i)error"`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use bongsu_logpipeline::filter::{LineFilter, LineMatchType};
use bongsu_logpipeline::label_filter::{CmpOp, LabelFilter};
use bongsu_logpipeline::parser::json::JsonParser;
use bongsu_logpipeline::{
    Conversion, Extract, LabelsBuilder, Pipeline, SampleExtractor, Stage, Unwrap,
};
use bongsu_model::{Label, Labels};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Lines per benchmark iteration.
const LINES: usize = 100_000;

fn ndjson() -> String {
    if let Ok(path) = std::env::var("BONGSU_BENCH_NDJSON") {
        return std::fs::read_to_string(path).expect("BONGSU_BENCH_NDJSON");
    }
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/gen_logs.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(["--format", "ndjson", "--lines", "100000"])
        .output()
        .expect("running gen_logs.py (set BONGSU_BENCH_NDJSON to use a file)");
    String::from_utf8(out.stdout).expect("utf-8 NDJSON")
}

/// The `job=app` entries cycled to `LINES`, grouped by stream as the store returns them.
fn app_streams() -> Vec<(Labels, Vec<String>)> {
    let mut streams: HashMap<Labels, Vec<String>> = HashMap::new();
    for (labels, line) in app_lines() {
        streams.entry(labels).or_default().push(line);
    }
    streams.into_iter().collect()
}

/// `(stream labels, line)` of the `job=app` entries, cycled to `LINES`.
fn app_lines() -> Vec<(Labels, String)> {
    let mut out = Vec::new();
    for row in ndjson().lines() {
        let v: serde_json::Value = serde_json::from_str(row).expect("NDJSON row");
        let labels = v["labels"].as_object().expect("labels");
        if labels.get("job").and_then(|j| j.as_str()) != Some("app") {
            continue;
        }
        let ls = Labels::new(
            labels
                .iter()
                .map(|(k, v)| Label::new(k.as_str(), v.as_str().unwrap_or("")))
                .collect(),
        )
        .expect("labels");
        out.push((ls, v["line"].as_str().expect("line").to_string()));
    }
    assert!(!out.is_empty(), "no job=app lines");
    out.iter().cycle().take(LINES).cloned().collect()
}

fn run_samples(e: &mut SampleExtractor, streams: &[(Labels, Vec<String>)]) -> f64 {
    let none: &[(&str, &str)] = &[];
    let mut sum = 0.0;
    for (labels, lines) in streams {
        let mut lb = LabelsBuilder::new(labels.clone());
        for line in lines {
            if let Some(v) = e.process(0, line.as_bytes(), none, &mut lb) {
                sum += v;
                std::hint::black_box(lb.result());
            }
        }
    }
    sum
}

fn run_lines(p: &mut Pipeline, streams: &[(Labels, Vec<String>)]) -> usize {
    let none: &[(&str, &str)] = &[];
    let mut kept = 0;
    for (labels, lines) in streams {
        let mut lb = LabelsBuilder::new(labels.clone());
        for line in lines {
            if p.process(0, line.as_bytes(), none, &mut lb).is_some() {
                kept += 1;
                std::hint::black_box(lb.result());
            }
        }
    }
    kept
}

fn bench(c: &mut Criterion) {
    let lines = app_streams();
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    g.throughput(Throughput::Elements(LINES as u64));

    let mut e = SampleExtractor::new(
        Pipeline::new(vec![
            Stage::Json(JsonParser::new()),
            Stage::LabelFilter(LabelFilter::number("status", CmpOp::Ge, 200.0)),
        ]),
        Extract::Unwrap(Unwrap::new("duration_ms", Conversion::Float, Vec::new())),
    );
    g.bench_function("json_filter_unwrap", |b| {
        b.iter(|| run_samples(&mut e, &lines))
    });

    let mut p = Pipeline::new(vec![Stage::Json(JsonParser::new())]);
    g.bench_function("json_only", |b| b.iter(|| run_lines(&mut p, &lines)));

    let mut p = Pipeline::new(vec![Stage::LineFilter(LineFilter::contains("error"))]);
    g.bench_function("contains", |b| b.iter(|| run_lines(&mut p, &lines)));

    let mut p = Pipeline::new(vec![Stage::LineFilter(
        LineFilter::new(LineMatchType::Regex, "(?i)error").expect("regex"),
    )]);
    g.bench_function("regex_ci", |b| b.iter(|| run_lines(&mut p, &lines)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
