//! Lines per second through a Promtail pipeline of `json` + `labels` + `timestamp` over
//! the JSON application lines of `gen_logs.py` (the shared realistic data set).
//!
//! `cargo bench -p bongsu-logcollect --bench stages`; criterion's throughput is in
//! elements (lines) per second.

#[path = "../tests/gen_logs/mod.rs"]
mod gen_logs;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use bongsu_logcollect::stages::{Pipeline, PipelineMetrics};

/// Lines generated; the JSON ones (about a third) are measured.
const LINES: usize = 30_000;

const STAGES: &str = r#"
- json:
    expressions: {ts: , level: , logger: , trace_id: }
- labels: {level: , logger: }
- timestamp: {source: ts, format: RFC3339Nano}
"#;

fn bench(c: &mut Criterion) {
    let Some(entries) = gen_logs::entries(LINES) else {
        eprintln!("skipped: gen_logs.py is absent");
        return;
    };
    let json: Vec<_> = entries
        .into_iter()
        .filter(|e| e.labels.get("job") == Some("app"))
        .collect();
    let stages: serde_yaml_ng::Value = serde_yaml_ng::from_str(STAGES).expect("stages");
    let mut p = Pipeline::new(&stages, "bench", &PipelineMetrics::default()).expect("pipeline");
    let mut g = c.benchmark_group("stages");
    g.throughput(Throughput::Elements(json.len() as u64));
    g.sample_size(20);
    g.bench_function("json_labels_timestamp", |b| {
        b.iter_batched(
            || json.clone(),
            |batch| {
                let mut n = 0;
                for e in batch {
                    n += p.process(e).len();
                }
                n
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
