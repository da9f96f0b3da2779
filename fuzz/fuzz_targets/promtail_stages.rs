//! Log lines through a pipeline of Promtail's parsing stages (`json`, `logfmt`, `regex`,
//! `timestamp`, `template`, `labels`, `multiline`, `metrics`), as a tailed file's lines go.
#![no_main]

use std::sync::{LazyLock, Mutex};

use bongsu_logcollect::stages::{Pipeline, PipelineMetrics};
use bongsu_logcollect::Entry;
use bongsu_model::Labels;
use libfuzzer_sys::fuzz_target;

const STAGES: &str = r#"
- json: {expressions: {level: level, msg: msg, ts: ts}}
- logfmt: {mapping: {status: status, dur: duration}}
- regex: {expression: '(?P<ip>\d+\.\d+\.\d+\.\d+) .* (?P<code>\d{3}) '}
- timestamp: {source: ts, format: RFC3339Nano, action_on_failure: skip}
- template: {source: msg, template: '{{ ToUpper .Value }} {{ .level }}'}
- labels: {level: "", code: ""}
- multiline: {firstline: '^\S', max_wait_time: 1s}
- metrics:
    lines_total: {type: Counter, description: lines, config: {match_all: true, action: inc}}
    dur_seconds: {type: Histogram, description: d, source: dur, config: {buckets: [0.1, 1, 10]}}
"#;

/// Built once: building compiles the regexes, which would dominate every run.
static PIPELINE: LazyLock<Mutex<Pipeline>> = LazyLock::new(|| {
    let stages = serde_yaml_ng::from_str(STAGES).expect("the stages parse");
    let pipeline = Pipeline::new(&stages, "fuzz", &PipelineMetrics::default());
    Mutex::new(pipeline.expect("the stages build"))
});

fuzz_target!(|data: &[u8]| {
    let Ok(mut pipeline) = PIPELINE.lock() else {
        return;
    };
    let labels = Labels::from_pairs(&[("job", "fuzz")]).unwrap_or_else(|_| Labels::empty());
    for (i, line) in String::from_utf8_lossy(data).split('\n').enumerate() {
        let _ = pipeline.process(Entry {
            labels: labels.clone(),
            ts: i as i64,
            line: line.to_string(),
            metadata: Vec::new(),
        });
    }
    let _ = pipeline.flush(i64::MAX);
});
