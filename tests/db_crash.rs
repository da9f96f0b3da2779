//! A crash test of the whole database: a child process appends through `Db::appender` and
//! compacts the head into blocks (with WAL checkpoints) while it is killed with SIGKILL at a
//! varying point. Every sample whose `commit` returned must come back bit-exactly on reopen,
//! and the database must then take more appends and survive a clean restart.
//!
//! The test binary plays both parts: run normally it is the parent, and it re-executes itself
//! with `WRITER_ENV` set to become the writer.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bongsu_model::{Labels, Matcher, STALE_NAN};
use bongsu_storage::{Appendable, Queryable};
use bongsu_tsdb::{Db, DbOptions};

const WRITER_ENV: &str = "BONGSU_DB_CRASH_WRITER_DIR";
const TEST_NAME: &str = "kill9_during_appends_and_compactions_loses_no_acknowledged_sample";
const METRIC: &str = "crash";
const SERIES: usize = 50;
/// One batch a minute of sample time: 120 batches fill a 2 h block range.
const STEP_MS: i64 = 60_000;
/// The writer compacts (head → blocks, WAL checkpoint) every this many batches.
const COMPACT_EVERY: u64 = 25;
/// The writer stops by itself after this long, so an orphaned child cannot run forever.
const WRITER_LIFETIME: Duration = Duration::from_secs(12);
/// Longest the parent waits for acks before killing regardless.
const KILL_DEADLINE: Duration = Duration::from_secs(4);
/// Batches appended after the crash, before the clean restart.
const MORE: u64 = 300;

fn opts() -> DbOptions {
    DbOptions {
        retention_ms: 0,
        ..DbOptions::default()
    }
}

fn labels(s: usize) -> Labels {
    Labels::from_pairs(&[("__name__", METRIC), ("s", &format!("{s:02}"))]).unwrap()
}

fn time(seq: u64) -> i64 {
    seq as i64 * STEP_MS
}

/// The value of series `s` in batch `seq`: the stale marker, other NaN payloads, infinities,
/// negative zero and arbitrary bit patterns.
fn value(seq: u64, s: usize) -> f64 {
    let mut x =
        seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (s as u64).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    x ^= x >> 29;
    match s % 8 {
        0 => STALE_NAN,
        1 => f64::from_bits(0x7ff8_0000_0000_0000 | (x & 0x000f_ffff_ffff_ffff)),
        2 => f64::from_bits(0xfff0_0000_0000_0001 | (x & 0x0007_ffff_ffff_ffff)),
        3 => [f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.1][(seq % 4) as usize],
        4 => seq as f64,
        _ => f64::from_bits(x),
    }
}

/// Appends batches `from..to`, one commit each; `ack` is called only after `commit` returned
/// `Ok`. Compacts every `COMPACT_EVERY` batches.
fn write_batches(db: &Db, series: &[Labels], from: u64, to: u64, mut ack: impl FnMut(u64)) {
    for seq in from..to {
        let mut app = db.appender();
        for (s, l) in series.iter().enumerate() {
            app.append(l, time(seq), value(seq, s)).expect("append");
        }
        app.commit().expect("commit");
        ack(seq);
        if seq % COMPACT_EVERY == COMPACT_EVERY - 1 {
            db.compact().expect("compact");
        }
    }
}

/// Writer mode: appends and acknowledges batches until killed (or its lifetime is over).
fn run_writer(dir: &Path) {
    let db = Db::open(dir, opts()).expect("open the database");
    let series: Vec<Labels> = (0..SERIES).map(labels).collect();
    let out = std::io::stdout();
    let start = Instant::now();
    let mut seq = 0;
    while start.elapsed() < WRITER_LIFETIME {
        write_batches(&db, &series, seq, seq + 1, |n| {
            let mut o = out.lock();
            writeln!(o, "ACK {n}").unwrap();
            o.flush().unwrap();
        });
        seq += 1;
    }
}

/// Every series' samples as (time, value bits), by series number.
fn read_all(db: &Db) -> BTreeMap<usize, Vec<(i64, u64)>> {
    db.querier(i64::MIN, i64::MAX)
        .unwrap()
        .select(&[Matcher::equal("__name__", METRIC)])
        .unwrap()
        .into_iter()
        .map(|s| {
            let n: usize = s.labels.get("s").unwrap().parse().unwrap();
            let samples = s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect();
            (n, samples)
        })
        .collect()
}

/// Checks that every series holds exactly batches `0..=last` (bit-exact), with `last` the
/// same for all series (a commit is all or nothing) and at least `at_least`; returns `last`.
fn check_prefix(db: &Db, at_least: u64, context: &str) -> u64 {
    let got = read_all(db);
    assert_eq!(got.len(), SERIES, "{context}: series count");
    let mut last = None;
    for (&s, samples) in &got {
        for (i, &(t, bits)) in samples.iter().enumerate() {
            let seq = i as u64;
            assert_eq!(
                (t, bits),
                (time(seq), value(seq, s).to_bits()),
                "{context}: series {s}, sample {i} of {}",
                samples.len()
            );
        }
        let n = samples.len() as u64;
        assert!(
            n > at_least,
            "{context}: series {s} has {n} samples, but batch {at_least} was acknowledged"
        );
        assert_eq!(
            *last.get_or_insert(n - 1),
            n - 1,
            "{context}: series {s} ends at a different batch: a commit was split"
        );
    }
    last.unwrap()
}

/// One crash: start a writer in `dir`, kill it after `kill_after` acks (or the deadline), and
/// check the database. Returns the last acknowledged batch.
fn crash_and_check(dir: &Path, kill_after: u64) -> u64 {
    let last_ack =
        common::run_writer_and_kill(TEST_NAME, WRITER_ENV, dir, kill_after, KILL_DEADLINE);

    let db = Db::open(dir, opts()).expect("reopen after the crash");
    let context = format!("after SIGKILL at ack {last_ack}");
    let last = check_prefix(&db, last_ack, &context);
    // More than three block ranges were written: compaction must have cut blocks by now.
    if last_ack >= 4 * 120 {
        assert!(!db.block_metas().is_empty(), "{context}: no block was cut");
    }

    // The database goes on: append more (compacting as we go), close cleanly, reopen.
    let series: Vec<Labels> = (0..SERIES).map(labels).collect();
    write_batches(&db, &series, last + 1, last + 1 + MORE, |_| {});
    db.close().unwrap();
    drop(db);
    let db = Db::open(dir, opts()).expect("reopen after a clean close");
    let end = check_prefix(
        &db,
        last + MORE,
        &format!("{context}, after a clean restart"),
    );
    assert_eq!(end, last + MORE);
    drop(db);
    last_ack
}

#[test]
fn kill9_during_appends_and_compactions_loses_no_acknowledged_sample() {
    if let Some(dir) = std::env::var_os(WRITER_ENV) {
        run_writer(Path::new(&dir));
        return;
    }
    let started = Instant::now();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    // Kill points from before the first block is cut to many blocks and merges later, with
    // jitter so runs land at different points of a commit or a compaction.
    for (i, base) in [60u64, 500, 1500].into_iter().enumerate() {
        let tmp = tempfile::tempdir().unwrap();
        let kill_after = base + (nanos >> (i * 8)) % 250;
        crash_and_check(tmp.path(), kill_after);
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}
