//! Pipeline throughput over the `job=app` JSON lines and the nginx access lines of the shared
//! generator.
//!
//! `cargo bench -p bongsu-logpipeline --bench pipeline` runs
//! `../shared/bench/gen_logs.py --format ndjson --lines 100000` (or reads the NDJSON file named
//! by `BONGSU_BENCH_NDJSON`), keeps the `job=app` lines (about 30k) and the nginx access log's
//! lines, cycles each to 100k lines and reports lines/s for:
//! - `json_filter_unwrap`: `| json | status >= 200 | unwrap duration_ms` (a sample per line);
//! - `json_path_unwrap`: `| json duration_ms="duration_ms" | unwrap duration_ms | __error__=""`
//!   (issue #14's Q4);
//! - `json_only`: `| json`;
//! - `contains` / `regex_ci`: `|= "error"` and `|~ "(?i)error"`;
//! - `pattern_filter`: `| pattern `<_> - <_> [<_>] "<method> <path> <_>" <status> <_>` |
//!   status=~"5.."` over the access lines (issue #14's Q5).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use bongsu_logpipeline::filter::{LineFilter, LineMatchType};
use bongsu_logpipeline::label_filter::{CmpOp, LabelFilter};
use bongsu_logpipeline::parser::json::JsonParser;
use bongsu_logpipeline::parser::json_expr::JsonExprParser;
use bongsu_logpipeline::parser::PatternParser;
use bongsu_logpipeline::{
    Conversion, Extract, LabelsBuilder, Pipeline, SampleExtractor, Stage, Unwrap,
};
use bongsu_model::{Label, Labels, MatchOp};
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

type Streams = Vec<(Labels, Vec<String>)>;

/// The `job=app` entries and the nginx access log's, each cycled to `LINES` and grouped by
/// stream as the store returns them.
fn streams() -> (Streams, Streams) {
    let text = ndjson();
    let group = |lines: Vec<(Labels, String)>| {
        let mut streams: HashMap<Labels, Vec<String>> = HashMap::new();
        for (labels, line) in lines {
            streams.entry(labels).or_default().push(line);
        }
        streams.into_iter().collect()
    };
    (
        group(lines(&text, "job", "app")),
        group(lines(&text, "filename", "/var/log/nginx/access.log")),
    )
}

/// `(stream labels, line)` of the entries with label `name="value"`, cycled to `LINES`.
fn lines(ndjson: &str, name: &str, value: &str) -> Vec<(Labels, String)> {
    let mut out = Vec::new();
    for row in ndjson.lines() {
        let v: serde_json::Value = serde_json::from_str(row).expect("NDJSON row");
        let labels = v["labels"].as_object().expect("labels");
        if labels.get(name).and_then(|j| j.as_str()) != Some(value) {
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
    assert!(!out.is_empty(), "no {name}={value} lines");
    out.iter().cycle().take(LINES).cloned().collect()
}

/// Samples of every line, with their label sets when `sets` (a `by (…)` grouping reads a few
/// labels from the builder instead).
fn run_samples(e: &mut SampleExtractor, streams: &[(Labels, Vec<String>)], sets: bool) -> f64 {
    let none: &[(&str, &str)] = &[];
    let mut sum = 0.0;
    for (labels, lines) in streams {
        let mut lb = LabelsBuilder::new(labels.clone());
        for line in lines {
            if let Some(v) = e.process(0, line.as_bytes(), none, &mut lb) {
                sum += v;
                if sets {
                    std::hint::black_box(lb.result());
                }
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
    let (lines, access) = streams();
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
        b.iter(|| run_samples(&mut e, &lines, true))
    });

    let no_error = vec![LabelFilter::string("__error__", MatchOp::Equal, "").expect("filter")];
    let mut e = SampleExtractor::new(
        Pipeline::new(vec![Stage::JsonExpr(
            JsonExprParser::new(&[("duration_ms", "duration_ms")]).expect("path"),
        )]),
        Extract::Unwrap(Unwrap::new("duration_ms", Conversion::Float, no_error)),
    );
    g.bench_function("json_path_unwrap", |b| {
        b.iter(|| run_samples(&mut e, &lines, false))
    });

    let mut p = Pipeline::new(vec![
        Stage::Pattern(
            PatternParser::new(r#"<_> - <_> [<_>] "<method> <path> <_>" <status> <_>"#)
                .expect("pattern"),
        ),
        Stage::LabelFilter(LabelFilter::string("status", MatchOp::Regex, "5..").expect("filter")),
    ]);
    g.bench_function("pattern_filter", |b| b.iter(|| run_lines(&mut p, &access)));

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
