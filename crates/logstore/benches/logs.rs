//! The log store on `gen_logs.py`'s data: ingest CPU, RSS, bytes per line after compaction, and
//! the query figures of `../shared/bench/LOGS-ANCHORS.md` (Q1 count, Q2 rare token, Q3 nginx
//! case-insensitive substring, Q6 last 100 lines of a stream) measured on the store alone.
//!
//! ```text
//! python3 ../shared/bench/gen_logs.py --format ndjson --out /tmp/logs.ndjson
//! BONGSU_LOGS_NDJSON=/tmp/logs.ndjson cargo bench -p bongsu-logstore --bench logs
//! ```
//! Lines are appended in batches of 1000 (like the anchors' push bodies), parsed from the file
//! batch by batch so the input never sits in memory. Without the variable the bench prints how
//! to run it and exits. `BONGSU_LOGS_CUT_LEVEL` and `BONGSU_LOGS_MERGE_LEVEL` override the store's zstd levels. With
//! `BONGSU_LOGS_STORE=DIR` the store is kept in `DIR`, and a later run
//! with a loaded `DIR` skips the ingest and only queries.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use bongsu_logstore::{Direction, LogStore, LogStoreOptions, Needle, ScanOptions};
use bongsu_model::log::{LogEntry, LogStream};
use bongsu_model::{Label, Labels, MatchOp, Matcher};
use bongsu_storage::logs::LogAppendable;

const BATCH: usize = 1000;
const DAY_START: i64 = 1_700_000_000_000_000_000;
const DAY_END: i64 = DAY_START + 86_400_000_000_000 - 1;
const RARE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn proc_status(key: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// User + system CPU of this process, from /proc (clock ticks of 10 ms).
fn cpu() -> Duration {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = s
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn best_of_3<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..3 {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.expect("ran three times"))
}

/// An order-independent digest of (stream, timestamp, line) triples, to check that the store
/// gives back exactly what it took.
fn digest(labels: &Labels, ts: i64, line: &str) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(labels.to_string().as_bytes());
    h.update(&ts.to_le_bytes());
    h.update(line.as_bytes());
    h.digest()
}

/// Appends the file's lines in batches (or only parses them, without a store); returns lines,
/// bytes of log text, the time spent in `append_logs` and the digest of all lines.
fn ingest(store: Option<&LogStore>, path: &std::path::Path) -> (u64, u64, Duration, u64) {
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("open input"));
    let mut labels_of: BTreeMap<String, Labels> = BTreeMap::new();
    let mut batch: BTreeMap<String, Vec<LogEntry>> = BTreeMap::new();
    let (mut lines, mut text_bytes, mut in_batch) = (0u64, 0u64, 0);
    let mut append_time = Duration::ZERO;
    let mut sum = 0u64;
    let mut flush = |batch: &mut BTreeMap<String, Vec<LogEntry>>,
                     labels_of: &BTreeMap<String, Labels>| {
        let streams: Vec<LogStream> = std::mem::take(batch)
            .into_iter()
            .map(|(k, entries)| LogStream {
                labels: labels_of[&k].clone(),
                entries,
            })
            .collect();
        let Some(store) = store else { return };
        let t = Instant::now();
        let r = store.append_logs(&streams).expect("append");
        append_time += t.elapsed();
        assert!(r.rejected.is_empty(), "{:?}", &r.rejected[..1]);
    };
    for l in file.lines() {
        let l = l.expect("read input");
        let v: serde_json::Value = serde_json::from_str(&l).expect("NDJSON line");
        let key = v["labels"].to_string();
        if !labels_of.contains_key(&key) {
            let pairs: Vec<Label> = v["labels"]
                .as_object()
                .expect("labels")
                .iter()
                .map(|(k, v)| Label::new(k.as_str(), v.as_str().unwrap_or("")))
                .collect();
            labels_of.insert(key.clone(), Labels::new(pairs).expect("labels"));
        }
        let line = v["line"].as_str().expect("line").to_string();
        text_bytes += line.len() as u64;
        let ts = v["ts"].as_i64().expect("ts");
        sum = sum.wrapping_add(digest(&labels_of[&key], ts, &line));
        batch.entry(key).or_default().push(LogEntry {
            ts,
            line,
            metadata: Vec::new(),
        });
        lines += 1;
        in_batch += 1;
        if in_batch == BATCH {
            flush(&mut batch, &labels_of);
            in_batch = 0;
        }
    }
    flush(&mut batch, &labels_of);
    (lines, text_bytes, append_time, sum)
}

fn main() {
    let Some(path) = std::env::var_os("BONGSU_LOGS_NDJSON") else {
        eprintln!("set BONGSU_LOGS_NDJSON to the output of gen_logs.py --format ndjson (see the file's docs)");
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = std::env::var_os("BONGSU_LOGS_STORE")
        .map_or_else(|| tmp.path().to_path_buf(), std::path::PathBuf::from);
    let loaded = std::fs::read_dir(dir.join("blocks")).is_ok_and(|mut d| d.next().is_some());
    let mut opts = LogStoreOptions {
        retention: Duration::from_secs(100 * 365 * 86_400),
        ..LogStoreOptions::default()
    };
    let level = |var: &str| std::env::var(var).ok().and_then(|l| l.parse().ok());
    if let Some(l) = level("BONGSU_LOGS_CUT_LEVEL") {
        opts.cut_zstd_level = l;
    }
    if let Some(l) = level("BONGSU_LOGS_MERGE_LEVEL") {
        opts.merge_zstd_level = l;
    }
    let store = LogStore::open(&dir, opts).expect("open store");
    if !loaded {
        let c0 = cpu();
        ingest(None, std::path::Path::new(&path));
        let parse = cpu() - c0;
        let c0 = cpu();
        let (lines, text_bytes, append_time, sum) =
            ingest(Some(&store), std::path::Path::new(&path));
        let ingest_cpu = cpu() - c0;
        println!(
            "store CPU for the ingest: {:.2} s (ingest {:.2} s minus reading and parsing the NDJSON alone {:.2} s)",
            ingest_cpu.saturating_sub(parse).as_secs_f64(),
            ingest_cpu.as_secs_f64(),
            parse.as_secs_f64()
        );
        let rss_ingest = proc_status("VmRSS:");
        let t = Instant::now();
        let c0 = cpu();
        store.flush().expect("flush");
        let (flush_wall, flush_cpu) = (t.elapsed(), cpu() - c0);
        let disk = store.disk_bytes();
        let s = store.store_stats();
        let per = |b: u64| b as f64 / lines as f64;
        println!(
            "lines {lines}, log text {text_bytes} B ({:.1} B/line), streams {}",
            per(text_bytes),
            s.streams
        );
        println!(
            "append (store only, incl. head cuts): {:.2} s; process CPU incl. JSON parsing {:.2} s",
            append_time.as_secs_f64(),
            ingest_cpu.as_secs_f64()
        );
        println!(
            "RSS after ingest {} MB (peak {} MB)",
            rss_ingest / 1024,
            proc_status("VmHWM:") / 1024
        );
        println!(
            "flush (cut + merge): {:.2} s wall, {:.2} s CPU",
            flush_wall.as_secs_f64(),
            flush_cpu.as_secs_f64()
        );
        println!(
            "disk after compaction {disk} B = {:.2} B/line (ts {:.2}, lines {:.2}, metadata {:.2}, filters {:.2}, index+rest {:.2}); {} blocks, {} chunks",
            per(disk), per(s.ts_bytes), per(s.line_bytes), per(s.metadata_bytes), per(s.filter_bytes),
            per(s.block_bytes - s.ts_bytes - s.line_bytes - s.metadata_bytes - s.filter_bytes), s.blocks, s.chunks
        );
        println!("RSS after compaction {} MB", proc_status("VmRSS:") / 1024);
        let all = [Matcher::new(MatchOp::Regex, "job", ".+").expect("matcher")];
        let sel = store.select(&all, i64::MIN, i64::MAX).expect("select");
        let mut back = 0u64;
        sel.scan(&ScanOptions::default(), |s, e| {
            back = back.wrapping_add(digest(&s.labels, e.ts, e.line));
            ControlFlow::Continue(())
        })
        .expect("scan");
        assert_eq!(
            back, sum,
            "the store gave back different lines than it took"
        );
        println!("every line read back exactly (digest {sum:016x})");
    }
    let all = [Matcher::new(MatchOp::Regex, "job", ".+").expect("matcher")];
    let (t, n) = best_of_3(|| {
        store
            .select(&all, DAY_START, DAY_END)
            .and_then(|s| s.count())
            .expect("count")
    });
    println!("Q1 count all: {n} in {:.2} ms", t.as_secs_f64() * 1e3);

    let (t, n) = best_of_3(|| {
        let sel = store.select(&all, DAY_START, DAY_END).expect("select");
        let o = ScanOptions {
            direction: Direction::Backward,
            limit: Some(1000),
            needles: vec![Needle::new(RARE)],
        };
        let mut n = 0;
        sel.scan(&o, |_, _| {
            n += 1;
            ControlFlow::Continue(())
        })
        .expect("scan");
        n
    });
    println!(
        "Q2 |= rare token, limit 1000: {n} lines in {:.2} ms",
        t.as_secs_f64() * 1e3
    );
    let sel = store.select(&all, DAY_START, DAY_END).expect("select");
    let o = ScanOptions {
        needles: vec![Needle::new(RARE)],
        ..ScanOptions::default()
    };
    let (mut read, mut skipped, mut bytes) = (0, 0, 0);
    for i in 0..sel.streams().len() {
        let mut c = sel.cursor(i, &o);
        while c.next().expect("next").is_some() {}
        read += c.stats().chunks_read;
        skipped += c.stats().chunks_skipped;
        bytes += c.stats().bytes_read;
    }
    println!("    {read} chunks read ({bytes} B of lines), {skipped} skipped by filters");

    let (t, n) = best_of_3(|| {
        let sel = store
            .select(&[Matcher::equal("job", "nginx")], DAY_START, DAY_END)
            .expect("select");
        let o = ScanOptions {
            needles: vec![Needle::ascii_case_insensitive("error")],
            ..ScanOptions::default()
        };
        let (mut n, mut read, mut skipped) = (0, 0, 0);
        for i in 0..sel.streams().len() {
            let mut c = sel.cursor(i, &o);
            while c.next().expect("next").is_some() {
                n += 1;
            }
            read += c.stats().chunks_read;
            skipped += c.stats().chunks_skipped;
        }
        (n, read, skipped)
    });
    println!(
        "Q3 nginx (?i)error lines: {} in {:.2} ms ({} chunks read, {} skipped by filters)",
        n.0,
        t.as_secs_f64() * 1e3,
        n.1,
        n.2
    );

    let (t, n) = best_of_3(|| {
        let sel = store
            .select(&[Matcher::equal("job", "nginx")], DAY_START, DAY_END)
            .expect("select");
        let mut n = 0;
        for i in 0..sel.streams().len() {
            let o = ScanOptions::default();
            let mut c = sel.cursor(i, &o);
            while let Some(e) = c.next().expect("next") {
                n += e.line.len();
            }
        }
        n
    });
    println!(
        "    nginx full scan (no needle): {n} B in {:.2} ms",
        t.as_secs_f64() * 1e3
    );

    let q6 = [
        Matcher::equal("job", "nginx"),
        Matcher::equal("host", "web-01"),
        Matcher::equal("filename", "/var/log/nginx/access.log"),
    ];
    let (t, last) = best_of_3(|| {
        let sel = store.select(&q6, DAY_START, DAY_END).expect("select");
        let o = ScanOptions {
            direction: Direction::Backward,
            limit: Some(100),
            ..ScanOptions::default()
        };
        let mut ts = Vec::new();
        sel.scan(&o, |_, e| {
            ts.push(e.ts);
            ControlFlow::Continue(())
        })
        .expect("scan");
        ts
    });
    println!(
        "Q6 last 100 lines of a stream: {} lines (newest {}) in {:.2} ms",
        last.len(),
        last.first().copied().unwrap_or(0),
        t.as_secs_f64() * 1e3
    );
}
