//! Parser throughput on a real scrape page (`../shared/bench/node_exporter_page.txt`), in bytes
//! per second and samples per second, for the Prometheus text format and, converted, OpenMetrics.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use bongsu_exposition::{Entry, Format, Parser};

fn page() -> Option<Vec<u8>> {
    let local =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/node_exporter_page.txt");
    [
        local,
        PathBuf::from("/work/shared/bench/node_exporter_page.txt"),
    ]
    .into_iter()
    .find_map(|p| std::fs::read(p).ok())
}

/// Parses the whole body, returning the number of samples.
fn parse(input: &[u8], format: Format) -> usize {
    let mut p = Parser::new(input, format);
    let mut samples = 0;
    while let Some(entry) = p.next_entry().expect("benchmark input parses") {
        if let Entry::Series(s) = entry {
            black_box(&s);
            samples += 1;
        }
    }
    samples
}

/// The page as OpenMetrics: `untyped` and `counter` become `unknown` (the text format's counters
/// lack the `_total` split OpenMetrics requires), blank lines go, and `# EOF` ends it.
fn as_openmetrics(text: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(text);
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.lines().filter(|l| !l.is_empty()) {
        let line = if line.starts_with("# TYPE ") {
            line.replace(" untyped", " unknown")
                .replace(" counter", " unknown")
        } else {
            line.to_string()
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("# EOF\n");
    out.into_bytes()
}

fn bench(c: &mut Criterion) {
    let Some(text) = page() else {
        println!("skipped: benchmark page not found");
        return;
    };
    let om = as_openmetrics(&text);
    let inputs = [
        ("text", text, Format::PrometheusText),
        ("openmetrics", om, Format::OpenMetrics),
    ];
    for (name, input, format) in &inputs {
        let samples = parse(input, *format);
        let mut group = c.benchmark_group(format!("exposition/{name}"));
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function("bytes", |b| b.iter(|| parse(black_box(input), *format)));
        group.throughput(Throughput::Elements(samples as u64));
        group.bench_function("samples", |b| b.iter(|| parse(black_box(input), *format)));
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
