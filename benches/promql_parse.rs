//! Cost of `promql::parse` (Prometheus' checks, then `promql-parser`) against the crate's parse
//! alone, on a typical dashboard query, a histogram quantile and a bare selector.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

const QUERIES: &[(&str, &str)] = &[
    (
        "ratio",
        "sum by (job) (rate(http_requests_total{job=~\"api|web\", code!=\"200\"}[5m])) / ignoring(code) group_left sum by (job) (rate(http_requests_total[5m]))",
    ),
    (
        "quantile",
        "histogram_quantile(0.99, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
    ),
    ("selector", "up"),
];

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("promql_parse");
    for (name, q) in QUERIES {
        group.bench_function(format!("bongsu/{name}"), |b| {
            b.iter(|| bongsu_promql::parse(black_box(q)).expect("parses"))
        });
        group.bench_function(format!("crate/{name}"), |b| {
            b.iter(|| promql_parser::parser::parse(black_box(q)).expect("parses"))
        });
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
