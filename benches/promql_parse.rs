//! Cost of bongsu's PromQL parser (one pass: Prometheus' lexer, grammar and checks, lowered to
//! the AST) and of preparing a query (the parse plus the per-query side table of positions and
//! resolved functions) against `promql-parser`'s own parser, on a typical dashboard query, a
//! histogram quantile and a bare selector.

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
        group.bench_function(format!("bongsu_prepare/{name}"), |b| {
            b.iter(|| bongsu_promql::PreparedQuery::new(black_box(q)).expect("parses"))
        });
        group.bench_function(format!("crate/{name}"), |b| {
            b.iter(|| promql_parser::parser::parse(black_box(q)).expect("parses"))
        });
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
