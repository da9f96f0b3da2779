//! A crash test of group commit: a child process runs several writer threads, each committing
//! batches to its own series through `Db::appender` (so their WAL records are often written by
//! another thread's call), until it is killed with SIGKILL. Every batch whose `commit` returned
//! must come back bit-exactly on reopen, and each writer's series must end at the same batch.
//!
//! The test binary plays both parts: run normally it is the parent, and it re-executes itself
//! with `WRITER_ENV` set to become the writer.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bongsu_model::{Labels, Matcher};
use bongsu_storage::{Appendable, Queryable};
use bongsu_tsdb::{Db, DbOptions};

const WRITER_ENV: &str = "BONGSU_GROUP_COMMIT_CRASH_DIR";
const TEST_NAME: &str = "kill9_loses_no_batch_acknowledged_by_any_writer";
const METRIC: &str = "group";
const WRITERS: usize = 4;
const SERIES_PER_WRITER: usize = 20;
/// One millisecond a batch: writers run at different speeds, and at this step none gets far
/// enough ahead of the others to make their samples out of bounds.
const STEP_MS: i64 = 1;
/// The writer stops by itself after this long, so an orphaned child cannot run forever.
const WRITER_LIFETIME: Duration = Duration::from_secs(12);
/// The parent kills the writer once every thread has acknowledged this many batches, or at
/// the deadline.
const KILL_AFTER: u64 = 400;
const KILL_DEADLINE: Duration = Duration::from_secs(4);

fn opts() -> DbOptions {
    DbOptions {
        retention_ms: 0,
        ..DbOptions::default()
    }
}

fn value(w: usize, s: usize, seq: u64) -> f64 {
    let x = (seq + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ ((w * 100 + s) as u64) << 7;
    f64::from_bits(x >> 2)
}

fn labels(w: usize, s: usize) -> Labels {
    Labels::from_pairs(&[
        ("__name__", METRIC),
        ("s", &format!("{s:02}")),
        ("w", &w.to_string()),
    ])
    .unwrap()
}

/// Writer mode: threads commit and acknowledge batches until killed.
fn run_writer(dir: &Path) {
    let db = Db::open(dir, opts()).expect("open the database");
    let out = Mutex::new(std::io::stdout());
    let start = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let (db, out) = (&db, &out);
            scope.spawn(move || {
                let series: Vec<Labels> = (0..SERIES_PER_WRITER).map(|s| labels(w, s)).collect();
                let mut seq = 0;
                while start.elapsed() < WRITER_LIFETIME {
                    let mut app = db.appender();
                    for (s, l) in series.iter().enumerate() {
                        app.append(l, seq as i64 * STEP_MS, value(w, s, seq))
                            .expect("append");
                    }
                    app.commit().expect("commit");
                    let mut o = out.lock().unwrap();
                    writeln!(o, "ACK {w} {seq}").unwrap();
                    o.flush().unwrap();
                    seq += 1;
                }
            });
        }
    });
}

/// Runs the writer, kills it, and returns the last batch each writer acknowledged.
fn run_and_kill(dir: &Path) -> Vec<Option<u64>> {
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(WRITER_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn writer");
    let mut acked = vec![None; WRITERS];
    let note = |line: &str, acked: &mut Vec<Option<u64>>| {
        let Some(rest) = line.strip_prefix("ACK ") else {
            return;
        };
        let (w, n) = rest.split_once(' ').unwrap();
        acked[w.parse::<usize>().unwrap()] = Some(n.parse().unwrap());
    };
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        note(&line.unwrap(), &mut acked);
        let all = acked.iter().all(|a| a.is_some_and(|n| n >= KILL_AFTER));
        if all || started.elapsed() > KILL_DEADLINE {
            break;
        }
    }
    child.kill().expect("SIGKILL the writer");
    let status = child.wait().unwrap();
    assert!(!status.success(), "writer exited on its own: {status}");
    for line in lines {
        note(&line.unwrap(), &mut acked);
    }
    acked
}

#[test]
fn kill9_loses_no_batch_acknowledged_by_any_writer() {
    if let Some(dir) = std::env::var_os(WRITER_ENV) {
        run_writer(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let acked = run_and_kill(dir.path());
    eprintln!("acknowledged batches by writer: {acked:?}");
    assert!(
        acked.iter().all(Option::is_some),
        "a writer acknowledged nothing: {acked:?}"
    );
    let db = Db::open(dir.path(), opts()).expect("reopen after the crash");
    let got: BTreeMap<(usize, usize), Vec<(i64, u64)>> = db
        .querier(i64::MIN, i64::MAX)
        .unwrap()
        .select(&[Matcher::equal("__name__", METRIC)])
        .unwrap()
        .into_iter()
        .map(|s| {
            let w = s.labels.get("w").unwrap().parse().unwrap();
            let n = s.labels.get("s").unwrap().parse().unwrap();
            (
                (w, n),
                s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect(),
            )
        })
        .collect();
    for (w, acked) in acked.iter().enumerate() {
        let acked = acked.unwrap_or_default();
        let mut last = None;
        for s in 0..SERIES_PER_WRITER {
            let samples = got.get(&(w, s)).map_or(&[][..], |v| &v[..]);
            for (seq, &(t, bits)) in samples.iter().enumerate() {
                let seq = seq as u64;
                assert_eq!(
                    (t, bits),
                    (seq as i64 * STEP_MS, value(w, s, seq).to_bits()),
                    "writer {w}, series {s}, batch {seq}"
                );
            }
            let n = samples.len() as u64;
            assert!(
                n > acked,
                "writer {w}, series {s}: {n} batches, but batch {acked} was acknowledged"
            );
            assert_eq!(*last.get_or_insert(n), n, "writer {w}: a commit was split");
        }
    }
}
