//! Decoding and validating Loki push bodies of 1000 lines, as `gen_logs.py --format
//! loki-json` writes them (the bodies of the log ingest benchmark): JSON decode alone, then
//! decode plus Loki's distributor rules (labels, limits, `detected_level` on every line), then
//! the same from protobuf+snappy. Throughput is in lines.
//!
//! `cargo bench -p bongsu-ingest --bench loki_push`. The bodies come from
//! `../shared/bench/gen_logs.py --lines 5000` when python3 and the script are there, else from
//! the 100-line bodies in `tests/data`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prost::Message;

use bongsu_ingest::logs::distributor::validate;
use bongsu_ingest::logs::limits::RateLimiter;
use bongsu_ingest::logs::loki::proto::{
    EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter, Timestamp,
};
use bongsu_ingest::logs::loki::{decode, Format, Version};
use bongsu_ingest::logs::LogLimits;

/// The receiver's clock: just after the day `gen_logs.py` writes, so no line is too new.
const NOW_NS: i64 = 1_700_100_000_000_000_000;

fn bodies() -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/gen_logs.py");
    let generated = Command::new("python3")
        .arg(&script)
        .args(["--format", "loki-json", "--lines", "5000"])
        .output()
        .ok()
        .filter(|o| o.status.success());
    let text = match generated {
        Some(o) => String::from_utf8(o.stdout).expect("gen_logs.py writes UTF-8"),
        None => include_str!("../tests/data/loki-push-200.jsonl").to_string(),
    };
    text.lines().map(str::to_string).collect()
}

/// The same push as protobuf+snappy.
fn to_protobuf(body: &str) -> Vec<u8> {
    let streams = decode(Format::Json, Version::V1, body.as_bytes(), &[]).expect("decodes");
    let req = PushRequest {
        streams: streams
            .into_iter()
            .map(|s| StreamAdapter {
                labels: bongsu_ingest::logs::gofmt::labels_string(
                    s.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                )
                .into_bytes(),
                entries: s
                    .entries
                    .into_iter()
                    .map(|e| EntryAdapter {
                        timestamp: Some(Timestamp {
                            seconds: e.ts / 1_000_000_000,
                            nanos: (e.ts % 1_000_000_000) as i32,
                        }),
                        line: e.line.into_bytes(),
                        structured_metadata: e
                            .metadata
                            .into_iter()
                            .map(|(n, v)| LabelPairAdapter {
                                name: n.into_bytes(),
                                value: v.into_bytes(),
                            })
                            .collect(),
                        parsed: vec![],
                    })
                    .collect(),
                hash: 0,
            })
            .collect(),
        format: vec![],
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .expect("compresses")
}

fn bench(c: &mut Criterion) {
    let bodies = bodies();
    let limits = LogLimits {
        reject_old_samples: false,
        ingestion_rate_bytes: 0,
        ..LogLimits::default()
    };
    let rate = RateLimiter::new(0, 0);
    let lines: usize = bodies
        .iter()
        .map(|b| {
            decode(Format::Json, Version::V1, b.as_bytes(), &[])
                .expect("decodes")
                .iter()
                .map(|s| s.entries.len())
                .sum::<usize>()
        })
        .sum();
    let protobuf: Vec<Vec<u8>> = bodies.iter().map(|b| to_protobuf(b)).collect();
    let discover = &limits.discover_service_name;

    let mut g = c.benchmark_group("loki_push");
    g.throughput(Throughput::Elements(lines as u64));
    g.bench_function("json_decode", |b| {
        b.iter(|| {
            for body in &bodies {
                criterion::black_box(
                    decode(Format::Json, Version::V1, body.as_bytes(), discover).unwrap(),
                );
            }
        })
    });
    g.bench_function("json_decode_validate", |b| {
        b.iter(|| {
            for body in &bodies {
                let streams = decode(Format::Json, Version::V1, body.as_bytes(), discover).unwrap();
                criterion::black_box(
                    validate(&limits, streams, NOW_NS, &rate, Instant::now()).unwrap(),
                );
            }
        })
    });
    g.bench_function("protobuf_decode_validate", |b| {
        b.iter(|| {
            for body in &protobuf {
                let raw = snap::raw::Decoder::new().decompress_vec(body).unwrap();
                let streams = decode(Format::Protobuf, Version::V1, &raw, discover).unwrap();
                criterion::black_box(
                    validate(&limits, streams, NOW_NS, &rate, Instant::now()).unwrap(),
                );
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
