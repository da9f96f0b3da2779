//! A real crash test of the log store: a child process appends and acknowledges batches (while
//! the head is cut into blocks and blocks are merged) until it is killed with SIGKILL; every
//! acknowledged line must then come back exactly once, and the store must keep working.
//!
//! The test binary plays both parts: run normally it is the parent, and it re-executes itself
//! with `WRITER_ENV` set to become the writer. Three kills land on the same directory, each
//! after a different number of acknowledgements.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bongsu_logstore::{LogStore, LogStoreOptions, ScanOptions};
use bongsu_model::log::{LogEntry, LogStream};
use bongsu_model::{Labels, MatchOp, Matcher};
use bongsu_storage::logs::LogAppendable;

const WRITER_ENV: &str = "BONGSU_LOGSTORE_CRASH_WRITER_DIR";
const ROUND_ENV: &str = "BONGSU_LOGSTORE_CRASH_ROUND";
const TEST_NAME: &str = "kill9_keeps_every_acknowledged_line";
const STREAMS: u64 = 6;
const LINES: u64 = 20;
/// The writer stops by itself after this long, so an orphaned child cannot run forever.
const WRITER_LIFETIME: Duration = Duration::from_secs(20);
/// Longest the parent waits for acks before killing regardless.
const KILL_DEADLINE: Duration = Duration::from_secs(8);
const T0: i64 = 1_700_000_000_000_000_000;

fn opts() -> LogStoreOptions {
    LogStoreOptions {
        retention: Duration::from_secs(100 * 365 * 86_400),
        head_max_bytes: 48 * 1024,
        chunk_max_lines: 50,
        wal_segment_size: 64 * 1024,
        ..LogStoreOptions::default()
    }
}

fn labels(s: u64) -> Labels {
    Labels::from_pairs(&[("job", "crash"), ("s", &s.to_string())]).unwrap()
}

/// Batch `seq` of round `round`: `LINES` lines for each stream, timestamps increasing.
fn batch(round: u64, seq: u64) -> Vec<LogStream> {
    (0..STREAMS)
        .map(|s| LogStream {
            labels: labels(s),
            entries: (0..LINES)
                .map(|k| {
                    let ts = T0 + ((round * 1_000_000 + seq) * LINES + k) as i64 * 1000;
                    let x = (ts as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ s;
                    LogEntry {
                        ts,
                        line: format!(
                            "round={round} seq={seq} s={s} k={k} id={x:016x} {}",
                            "payload ".repeat((x % 7) as usize)
                        ),
                        metadata: if k % 5 == 0 {
                            vec![("trace".into(), format!("{x:x}"))]
                        } else {
                            Vec::new()
                        },
                    }
                })
                .collect(),
        })
        .collect()
}

/// Writer mode: append batches, acknowledging each on stdout only after `append_logs`
/// returned; compact and merge now and then, so kills land in those too.
fn run_writer(dir: &Path, round: u64) {
    let store = LogStore::open(dir, opts()).expect("open store");
    let out = std::io::stdout();
    let start = Instant::now();
    let mut seq = 0u64;
    while start.elapsed() < WRITER_LIFETIME {
        let r = store.append_logs(&batch(round, seq)).expect("append");
        assert!(r.rejected.is_empty());
        let mut o = out.lock();
        writeln!(o, "ACK {seq}").unwrap();
        o.flush().unwrap();
        drop(o);
        if seq % 17 == 16 {
            store.compact().expect("compact");
        }
        if seq % 41 == 40 {
            store.merge(true).expect("merge");
        }
        seq += 1;
    }
}

/// Starts the writer for `round`, kills it with SIGKILL after `kill_after` acks; returns the
/// last acknowledged batch.
fn run_and_kill(dir: &Path, round: u64, kill_after: u64) -> u64 {
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(WRITER_ENV, dir)
        .env(ROUND_ENV, round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn writer");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let parse = |line: &str| line.strip_prefix("ACK ").map(|n| n.parse::<u64>().unwrap());
    let mut last = None;
    for line in lines.by_ref() {
        let Some(n) = parse(&line.unwrap()) else {
            continue;
        };
        last = Some(n);
        if n >= kill_after || started.elapsed() > KILL_DEADLINE {
            break;
        }
    }
    child.kill().expect("SIGKILL the writer");
    let status = child.wait().unwrap();
    assert!(!status.success(), "writer exited on its own: {status}");
    for line in lines {
        if let Some(n) = parse(&line.unwrap()) {
            last = Some(n);
        }
    }
    last.expect("the writer acknowledged nothing")
}

/// A stored line and its metadata, by stream and timestamp.
type Contents = HashMap<(String, i64), (String, Vec<(String, String)>)>;

/// Every line in the store, failing on any duplicate.
fn contents(store: &LogStore) -> Contents {
    let all = [Matcher::new(MatchOp::Regex, "job", ".+").unwrap()];
    let sel = store.select(&all, 0, i64::MAX).unwrap();
    let mut got = HashMap::new();
    sel.scan(&ScanOptions::default(), |s, e| {
        let meta = e
            .metadata()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let prev = got.insert((s.labels.to_string(), e.ts), (e.line.to_string(), meta));
        assert!(
            prev.is_none(),
            "line at {} of {} came back twice",
            e.ts,
            s.labels
        );
        ControlFlow::Continue(())
    })
    .unwrap();
    got
}

#[test]
fn kill9_keeps_every_acknowledged_line() {
    if let Some(dir) = std::env::var_os(WRITER_ENV) {
        let round = std::env::var(ROUND_ENV).unwrap().parse().unwrap();
        run_writer(Path::new(&dir), round);
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let mut acked = Vec::new();
    for round in 0..3 {
        // Kill after a varying number of acks so the kill lands at different points.
        let kill_after = 20 + (nanos >> (round * 8)) % 150;
        acked.push(run_and_kill(&dir, round, kill_after));

        let store = LogStore::open(&dir, opts()).unwrap();
        let got = contents(&store);
        for (r, &last) in acked.iter().enumerate() {
            for seq in 0..=last {
                for s in batch(r as u64, seq) {
                    for e in s.entries {
                        let (line, meta) =
                            got.get(&(s.labels.to_string(), e.ts)).unwrap_or_else(|| {
                                panic!(
                                    "acknowledged line {} (round {r}, last ack {last}) is missing",
                                    e.line
                                )
                            });
                        assert_eq!(line, &e.line);
                        assert_eq!(meta, &e.metadata);
                    }
                }
            }
        }
        // Whatever else came back is a line some batch really held (acked or not).
        let total: u64 = acked.iter().map(|&l| (l + 1) * STREAMS * LINES).sum();
        assert!(got.len() as u64 >= total);

        // The store works after the crash: it takes and returns new lines.
        let probe = LogStream {
            labels: labels(99),
            entries: vec![LogEntry {
                ts: T0 - round as i64,
                line: format!("after crash {round}"),
                metadata: Vec::new(),
            }],
        };
        assert_eq!(store.append_logs(&[probe]).unwrap().appended, 1);
        store.compact().unwrap();
        assert_eq!(contents(&store).len(), got.len() + 1);
    }
}
