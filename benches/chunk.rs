//! Chunk encoding benchmarks: sizes on a real-shaped data set, and speed.
//!
//! Sizes: if the node_exporter-shaped data set exists (`$BONGSU_NODE_OM`, default
//! `/tmp/node.om`, made by `python3 ../shared/bench/gen_node_dataset.py --hosts 20 --hours 2`),
//! its series are cut into 120-sample chunks and bytes/sample are printed for XOR, packed, and
//! the packed columns alone. `CHUNK_SIZES_ONLY=1` skips the timing benches.
//!
//! Speed (criterion): XOR append and decode, packed encode and decode, over synthetic chunks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::time::Instant;

use criterion::{black_box, criterion_group, BenchmarkId, Criterion, Throughput};

use bongsu_model::Sample;
use bongsu_tsdb::chunk::{
    decode_packed, decode_xor, encode, encode_timestamps, encode_values, XorChunk,
};

const CHUNK_LEN: usize = 120;

/// Reads `name{labels} value seconds` lines into per-series sample lists.
fn read_dataset(path: &str) -> std::io::Result<Vec<(String, Vec<Sample>)>> {
    let file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut series: Vec<(String, Vec<Sample>)> = Vec::new();
    for line in file.lines() {
        let line = line?;
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let mut fields = line.rsplitn(3, ' ');
        let (Some(ts), Some(value), Some(key)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let (Ok(secs), Ok(v)) = (ts.parse::<f64>(), value.parse::<f64>()) else {
            continue;
        };
        let t = (secs * 1000.0).round() as i64;
        let i = *index.entry(key.to_string()).or_insert_with(|| {
            series.push((key.to_string(), Vec::new()));
            series.len() - 1
        });
        series[i].1.push(Sample { t, v });
    }
    Ok(series)
}

fn report_sizes(path: &str) {
    let started = Instant::now();
    let series = match read_dataset(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("no size report: cannot read {path}: {e}");
            return;
        }
    };
    let read_secs = started.elapsed().as_secs_f64();
    let (mut samples, mut chunks) = (0usize, 0usize);
    let (mut xor, mut packed, mut values, mut stamps) = (0usize, 0usize, 0usize, 0usize);
    let mut distinct_stamps: HashSet<Vec<u8>> = HashSet::new();
    let mut by_family: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut decoded = Vec::new();
    let encode_started = Instant::now();
    for (key, ss) in &series {
        let family = key.split('{').next().unwrap_or(key).to_string();
        for chunk in ss.chunks(CHUNK_LEN) {
            samples += chunk.len();
            chunks += 1;
            let mut x = XorChunk::new();
            for s in chunk {
                x.append(s.t, s.v);
            }
            xor += x.bytes().len();
            let mut buf = Vec::new();
            encode(chunk, &mut buf);
            packed += buf.len();
            decoded.clear();
            decode_packed(&buf, &mut decoded).expect("packed chunk decodes");
            assert_eq!(decoded, chunk, "packed round trip of {key}");
            decoded.clear();
            decode_xor(x.bytes(), &mut decoded).expect("XOR chunk decodes");
            assert_eq!(decoded, chunk, "XOR round trip of {key}");

            let vs: Vec<f64> = chunk.iter().map(|s| s.v).collect();
            let ts: Vec<i64> = chunk.iter().map(|s| s.t).collect();
            let mut col = Vec::new();
            encode_values(&vs, &mut col);
            values += col.len();
            let fam = by_family.entry(family.clone()).or_default();
            fam.0 += col.len();
            fam.1 += chunk.len();
            col.clear();
            encode_timestamps(&ts, &mut col);
            stamps += col.len();
            distinct_stamps.insert(col);
        }
    }
    let per = |bytes: usize| bytes as f64 / samples as f64;
    let deduped: usize = distinct_stamps.iter().map(Vec::len).sum();
    println!(
        "chunk sizes: {path}: {} series, {samples} samples, {chunks} chunks of <= {CHUNK_LEN} \
         (read {read_secs:.1}s, encode+verify {:.1}s)",
        series.len(),
        encode_started.elapsed().as_secs_f64()
    );
    println!("  XOR (whole chunk)             {:.3} B/sample", per(xor));
    println!(
        "  packed (whole chunk)          {:.3} B/sample",
        per(packed)
    );
    println!(
        "  packed values column          {:.3} B/sample",
        per(values)
    );
    println!(
        "  packed timestamps column      {:.3} B/sample",
        per(stamps)
    );
    println!(
        "  timestamps, distinct columns  {:.3} B/sample ({} distinct of {chunks})",
        per(deduped),
        distinct_stamps.len()
    );
    let mut families: Vec<_> = by_family.into_iter().collect();
    families.sort_by_key(|(_, (bytes, _))| std::cmp::Reverse(*bytes));
    println!("  largest values columns by family (B/sample, share of all value bytes):");
    for (name, (bytes, n)) in families.iter().take(8) {
        println!(
            "    {name:50} {:.3}  {:4.1}%",
            *bytes as f64 / *n as f64,
            100.0 * *bytes as f64 / values as f64
        );
    }
}

/// Deterministic pseudo-random numbers (xorshift), so benches need no data file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

/// Synthetic scrape-like chunks: jittered 15 s timestamps; constants, integer counters, and
/// 6-significant-digit random walks.
fn synthetic_chunks() -> Vec<Vec<Sample>> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..100)
        .map(|c| {
            let mut counter = rng.below(1 << 30);
            let mut walk = 500_000 + rng.below(100_000);
            (0..CHUNK_LEN as i64)
                .map(|i| {
                    let t = 1_700_000_000_000 + i * 15_000 + rng.below(51) - 25;
                    let v = match c % 3 {
                        0 => 42.0,
                        1 => {
                            counter += rng.below(2_000);
                            counter as f64
                        }
                        _ => {
                            walk += rng.below(201) - 100;
                            walk as f64 / 1000.0
                        }
                    };
                    Sample { t, v }
                })
                .collect()
        })
        .collect()
}

fn bench_chunks(c: &mut Criterion) {
    let chunks = synthetic_chunks();
    let total: usize = chunks.iter().map(Vec::len).sum();
    let xors: Vec<XorChunk> = chunks
        .iter()
        .map(|ss| {
            let mut x = XorChunk::new();
            for s in ss {
                x.append(s.t, s.v);
            }
            x
        })
        .collect();
    let packs: Vec<Vec<u8>> = chunks
        .iter()
        .map(|ss| {
            let mut buf = Vec::new();
            encode(ss, &mut buf);
            buf
        })
        .collect();

    let mut g = c.benchmark_group("chunk");
    g.throughput(Throughput::Elements(total as u64));
    g.bench_function(BenchmarkId::new("xor", "append"), |b| {
        b.iter(|| {
            for ss in &chunks {
                let mut x = XorChunk::new();
                for s in ss {
                    x.append(s.t, s.v);
                }
                black_box(x.bytes());
            }
        })
    });
    let mut out = Vec::with_capacity(CHUNK_LEN);
    g.bench_function(BenchmarkId::new("xor", "decode"), |b| {
        b.iter(|| {
            for x in &xors {
                out.clear();
                decode_xor(black_box(x.bytes()), &mut out).expect("decodes");
            }
        })
    });
    let mut buf = Vec::new();
    g.bench_function(BenchmarkId::new("packed", "encode"), |b| {
        b.iter(|| {
            for ss in &chunks {
                buf.clear();
                encode(black_box(ss), &mut buf);
            }
        })
    });
    g.bench_function(BenchmarkId::new("packed", "decode"), |b| {
        b.iter(|| {
            for p in &packs {
                out.clear();
                decode_packed(black_box(p), &mut out).expect("decodes");
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench_chunks);

fn main() {
    let path = std::env::var("BONGSU_NODE_OM").unwrap_or_else(|_| "/tmp/node.om".to_string());
    if std::path::Path::new(&path).exists() {
        report_sizes(&path);
    } else {
        println!("chunk sizes: {path} not found, skipping the size report");
    }
    if std::env::var_os("CHUNK_SIZES_ONLY").is_none() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
}
