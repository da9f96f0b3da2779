//! A remote-write load generator: sends Remote-Write 1.0 or 2.0 requests as Prometheus' queue
//! manager does (one sample per series per request, 2,000 series per request by default, each
//! series always in the same request so its samples stay in order), as fast as the receiver
//! acknowledges them, and reports acknowledged samples per second, errors and latency.
//!
//! ```sh
//! cargo run --release --example remote_write_load -- \
//!     --url http://127.0.0.1:9090/api/v1/write --series 100000 --duration 30s \
//!     --concurrency 4 --proto v1
//! ```
//!
//! Every batch is encoded once; each round only patches its timestamps and values in place
//! (the varint of a millisecond timestamp of this era is always 6 bytes) and snappy-compresses
//! it, so the generator's own CPU stays small next to the receiver's. Round `r` has timestamp
//! `start + r * step`, starting two hours (`--start-ago`) in the past (the head then spans under
//! 3 h, so no system compacts during the run), for `--duration` or `--rounds`; the run stops
//! early rather than send samples more than 9 minutes ahead of the clock (receivers reject
//! those). The last line is `RESULT key=value …` for scripts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context};
use bongsu_ingest::proto::{v1, v2};
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use prost::Message;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ProtoArg {
    V1,
    V2,
}

#[derive(Debug, Parser)]
#[command(about = "Remote-write load generator: acknowledged samples/s and latency")]
struct Args {
    /// The receiver's remote-write URL.
    #[arg(long)]
    url: String,
    /// Distinct series.
    #[arg(long, default_value_t = 100_000)]
    series: usize,
    /// How long to send, e.g. 30s, 2m.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Requests in flight (one connection each).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Series (samples) per request; Prometheus' default max_samples_per_send is 2,000.
    #[arg(long, default_value_t = 2_000)]
    batch: usize,
    /// Milliseconds between the timestamps of successive rounds.
    #[arg(long, default_value_t = 10_000)]
    step_ms: i64,
    #[arg(long, value_enum, default_value = "v1")]
    proto: ProtoArg,
    /// How far in the past the first round's timestamp lies, e.g. 2h.
    #[arg(long, default_value = "2h", value_parser = humantime::parse_duration)]
    start_ago: Duration,
    /// Stop after this many rounds (0: when --duration is over); with --step-ms and
    /// --start-ago this loads a fixed span of data, e.g. 120 rounds of 60 s for 2 h.
    #[arg(long, default_value_t = 0)]
    rounds: u64,
}

/// Encodes the series of a range, all with one sample at a timestamp.
type Encoder = fn(std::ops::Range<usize>, i64) -> Vec<u8>;

/// Timestamps of this era (2^35 ms ≈ 1971 to 2^42 ms ≈ 2109) are 6-byte varints.
const TS_VARINT_LEN: usize = 6;
/// The tail of every encoded series: `Sample { value: fixed64, timestamp: varint(6) }`.
const SAMPLE_TAIL: usize = 1 + 8 + 1 + TS_VARINT_LEN;
/// How far ahead of the clock a round may be; receivers reject more than 10 minutes.
const MAX_AHEAD_MS: i64 = 9 * 60 * 1000;
/// Error answers printed in full (the rest are counted).
const PRINTED_ERRORS: usize = 3;

/// One pre-encoded request: the protobuf bytes and, per series, where its value and
/// timestamp sit.
struct Batch {
    raw: Vec<u8>,
    /// (offset of the value's 8 bytes, offset of the timestamp's varint, series index).
    slots: Vec<(usize, usize, usize)>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The labels of series `i`: node_exporter-like, 5 labels.
fn labels(i: usize) -> [(String, String); 5] {
    [
        ("__name__".into(), format!("loadgen_metric_{}", i % 200)),
        ("instance".into(), format!("host-{:05}:9100", i / 2_000)),
        ("job".into(), "loadgen".into()),
        (
            "mode".into(),
            ["user", "system", "idle", "iowait"][i % 4].into(),
        ),
        ("series".into(), i.to_string()),
    ]
}

fn encode_v1(range: std::ops::Range<usize>, t: i64) -> Vec<u8> {
    let timeseries = range
        .map(|i| v1::TimeSeries {
            labels: labels(i)
                .into_iter()
                .map(|(n, v)| v1::Label {
                    name: n.into(),
                    value: v.into(),
                })
                .collect(),
            // Not 0.0: proto3 omits default values, and the patching needs the field present.
            samples: vec![v1::Sample {
                value: 1.0,
                timestamp: t,
            }],
            ..Default::default()
        })
        .collect();
    v1::WriteRequest {
        timeseries,
        ..Default::default()
    }
    .encode_to_vec()
}

fn encode_v2(range: std::ops::Range<usize>, t: i64) -> Vec<u8> {
    let mut symbols: Vec<String> = vec![String::new()];
    let mut index = std::collections::HashMap::new();
    let mut sym = |s: String| -> u32 {
        *index.entry(s.clone()).or_insert_with(|| {
            symbols.push(s);
            (symbols.len() - 1) as u32
        })
    };
    let timeseries = range
        .map(|i| v2::TimeSeries {
            labels_refs: labels(i)
                .into_iter()
                .flat_map(|(n, v)| [sym(n), sym(v)])
                .collect(),
            samples: vec![v2::Sample {
                value: 1.0,
                timestamp: t,
                start_timestamp: 0,
            }],
            ..Default::default()
        })
        .collect();
    v2::Request {
        symbols: symbols.into_iter().map(Bytes::from).collect(),
        timeseries,
        ..Default::default()
    }
    .encode_to_vec()
}

/// Finds the sample slots of every series in an encoded request: the series are the
/// length-delimited fields `series_field` at the top level, and each ends with its sample.
fn slots(
    raw: &[u8],
    series_field: u64,
    first: usize,
) -> anyhow::Result<Vec<(usize, usize, usize)>> {
    let mut out = Vec::new();
    let mut buf = raw;
    while !buf.is_empty() {
        let tag = prost::encoding::decode_varint(&mut buf)?;
        ensure!(tag & 7 == 2, "unexpected wire type in the request");
        let len = prost::encoding::decode_varint(&mut buf)? as usize;
        let end = raw.len() - buf.len() + len;
        if tag >> 3 == series_field {
            ensure!(
                raw[end - SAMPLE_TAIL] == 0x09 && raw[end - TS_VARINT_LEN - 1] == 0x10,
                "series does not end with its sample"
            );
            out.push((
                end - SAMPLE_TAIL + 1,
                end - TS_VARINT_LEN,
                first + out.len(),
            ));
        }
        buf = &buf[len..];
    }
    Ok(out)
}

fn put_timestamp(dst: &mut [u8], t: i64) {
    let mut v = t as u64;
    for (i, b) in dst.iter_mut().enumerate() {
        *b = (v & 0x7f) as u8 | if i + 1 < TS_VARINT_LEN { 0x80 } else { 0 };
        v >>= 7;
    }
}

impl Batch {
    /// Sets round `round`'s timestamp and values (series `i` counts up by `i % 10 + 1`).
    fn patch(&mut self, round: u64, t: i64) {
        for &(value_at, ts_at, i) in &self.slots {
            let v = (round * (i as u64 % 10 + 1)) as f64;
            self.raw[value_at..value_at + 8].copy_from_slice(&v.to_le_bytes());
            put_timestamp(&mut self.raw[ts_at..ts_at + TS_VARINT_LEN], t);
        }
    }
}

#[derive(Default)]
struct WorkerResult {
    ok_requests: u64,
    ok_samples: u64,
    errors: u64,
    latencies: Vec<Duration>,
    rounds: u64,
}

async fn worker(
    client: reqwest::Client,
    args: Arc<Args>,
    mut batches: Vec<Batch>,
    start_t: i64,
    deadline: Instant,
    printed: Arc<std::sync::atomic::AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> WorkerResult {
    let content_type = match args.proto {
        ProtoArg::V1 => "application/x-protobuf",
        ProtoArg::V2 => "application/x-protobuf;proto=io.prometheus.write.v2.Request",
    };
    let version = match args.proto {
        ProtoArg::V1 => "0.1.0",
        ProtoArg::V2 => "2.0.0",
    };
    let mut res = WorkerResult::default();
    let mut encoder = snap::raw::Encoder::new();
    let last_round = if args.rounds == 0 {
        u64::MAX
    } else {
        args.rounds
    };
    'rounds: for round in 0..last_round {
        let t = start_t + round as i64 * args.step_ms;
        if t > now_ms() + MAX_AHEAD_MS {
            if !stop.swap(true, Ordering::Relaxed) {
                eprintln!("stopping early: round {round} would be more than 9m ahead of the clock");
            }
            break;
        }
        for batch in batches.iter_mut() {
            if Instant::now() >= deadline || stop.load(Ordering::Relaxed) {
                break 'rounds;
            }
            batch.patch(round, t);
            let Ok(body) = encoder.compress_vec(&batch.raw) else {
                res.errors += 1;
                continue;
            };
            let started = Instant::now();
            let resp = client
                .post(&args.url)
                .header("Content-Type", content_type)
                .header("Content-Encoding", "snappy")
                .header("X-Prometheus-Remote-Write-Version", version)
                .header("User-Agent", "bongsu-remote-write-load")
                .body(body)
                .send()
                .await;
            let elapsed = started.elapsed();
            match resp {
                Ok(r) if r.status().is_success() => {
                    // Drain the (empty) body so the connection is reused.
                    let _ = r.bytes().await;
                    res.latencies.push(elapsed);
                    res.ok_requests += 1;
                    res.ok_samples += batch.slots.len() as u64;
                }
                Ok(r) => {
                    res.errors += 1;
                    let status = r.status();
                    let text = r.text().await.unwrap_or_default();
                    if printed.fetch_add(1, Ordering::Relaxed) < PRINTED_ERRORS {
                        eprintln!(
                            "HTTP {status}: {}",
                            text.chars().take(300).collect::<String>()
                        );
                    }
                }
                Err(e) => {
                    res.errors += 1;
                    if printed.fetch_add(1, Ordering::Relaxed) < PRINTED_ERRORS {
                        eprintln!("request failed: {e}");
                    }
                }
            }
        }
        res.rounds = round + 1;
    }
    res
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() -> anyhow::Result<()> {
    let args = Arc::new(Args::parse());
    if args.series == 0 || args.batch == 0 || args.concurrency == 0 {
        bail!("--series, --batch and --concurrency must be positive");
    }
    let start_t = now_ms() - i64::try_from(args.start_ago.as_millis()).context("--start-ago")?;
    let prepared = Instant::now();
    let (field, encode): (u64, Encoder) = match args.proto {
        ProtoArg::V1 => (1, encode_v1),
        ProtoArg::V2 => (5, encode_v2),
    };
    let mut per_worker: Vec<Vec<Batch>> = (0..args.concurrency).map(|_| Vec::new()).collect();
    for (n, first) in (0..args.series).step_by(args.batch).enumerate() {
        let range = first..(first + args.batch).min(args.series);
        let raw = encode(range.clone(), start_t);
        let slots = slots(&raw, field, first).context("locating samples")?;
        ensure!(
            slots.len() == range.len(),
            "found {} series of {}",
            slots.len(),
            range.len()
        );
        per_worker[n % args.concurrency].push(Batch { raw, slots });
    }
    let raw_bytes: usize = per_worker.iter().flatten().map(|b| b.raw.len()).sum();
    eprintln!(
        "encoded {} series in {} requests ({} MB uncompressed per round) in {:.1?}",
        args.series,
        args.series.div_ceil(args.batch),
        raw_bytes >> 20,
        prepared.elapsed()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let results = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency)
            .timeout(Duration::from_secs(60))
            .build()?;
        let started = Instant::now();
        let deadline = started + args.duration;
        let printed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = per_worker
            .into_iter()
            .map(|batches| {
                tokio::spawn(worker(
                    client.clone(),
                    args.clone(),
                    batches,
                    start_t,
                    deadline,
                    printed.clone(),
                    stop.clone(),
                ))
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await?);
        }
        anyhow::Ok((all, started.elapsed()))
    })?;
    let (results, elapsed) = results;
    let ok_samples: u64 = results.iter().map(|r| r.ok_samples).sum();
    let ok_requests: u64 = results.iter().map(|r| r.ok_requests).sum();
    let errors: u64 = results.iter().map(|r| r.errors).sum();
    let rounds = results.iter().map(|r| r.rounds).min().unwrap_or(0);
    let mut lat: Vec<Duration> = results.into_iter().flat_map(|r| r.latencies).collect();
    lat.sort_unstable();
    let rate = ok_samples as f64 / elapsed.as_secs_f64();
    let (p50, p99) = (percentile(&lat, 0.50), percentile(&lat, 0.99));
    println!(
        "{ok_samples} samples acknowledged in {ok_requests} requests over {:.1} s: {rate:.0} samples/s; \
         {errors} errors; latency p50 {p50:.1} ms, p99 {p99:.1} ms; {rounds} full rounds",
        elapsed.as_secs_f64()
    );
    println!(
        "RESULT proto={:?} series={} batch={} concurrency={} seconds={:.1} ok_samples={ok_samples} \
         ok_requests={ok_requests} errors={errors} samples_per_s={rate:.0} p50_ms={p50:.1} p99_ms={p99:.1} rounds={rounds}",
        args.proto,
        args.series,
        args.batch,
        args.concurrency,
        elapsed.as_secs_f64()
    );
    Ok(())
}
