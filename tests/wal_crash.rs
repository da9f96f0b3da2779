//! A real crash test of the WAL: a child process appends and acknowledges samples until it is
//! killed with SIGKILL; every acknowledged sample must then replay bit-exactly.
//!
//! The test binary plays both parts: run normally it is the parent, and it re-executes itself
//! with `WRITER_ENV` set to become the writer.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bongsu_model::Labels;
use bongsu_tsdb::wal::{replay, Record, RefSample, RefSeries, Wal, WalOptions};

const WRITER_ENV: &str = "BONGSU_WAL_CRASH_WRITER_DIR";
const TEST_NAME: &str = "kill9_keeps_every_acknowledged_sample";
const SERIES: u64 = 50;
/// The writer stops by itself after this long, so an orphaned child cannot run forever.
const WRITER_LIFETIME: Duration = Duration::from_secs(15);
/// Longest the parent waits for acks before killing regardless.
const KILL_DEADLINE: Duration = Duration::from_secs(5);

/// The value of series `sref` in batch `seq`: varied bit patterns, NaN payloads included.
fn value(seq: u64, sref: u64) -> f64 {
    let mut x = seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ sref.wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    x ^= x >> 29;
    match sref % 5 {
        0 => f64::from_bits(0x7ff0_0000_0000_0002), // the stale marker
        1 => f64::from_bits(0x7ff8_0000_0000_0000 | (x & 0x000f_ffff_ffff_ffff)),
        _ => f64::from_bits(x),
    }
}

fn batch(seq: u64) -> Vec<RefSample> {
    (0..SERIES)
        .map(|sref| RefSample {
            sref,
            t: seq as i64,
            v: value(seq, sref),
        })
        .collect()
}

/// Writer mode: log series, then sample batches, acknowledging each batch on stdout only
/// after `log_samples` returned.
fn run_writer(dir: &Path) {
    let opts = WalOptions {
        segment_size: 256 * 1024,
        fsync_on_commit: false,
    };
    let mut wal = Wal::open(dir, opts).expect("open WAL");
    let series: Vec<RefSeries> = (0..SERIES)
        .map(|sref| RefSeries {
            sref,
            labels: Labels::from_pairs(&[("__name__", "crash"), ("s", &sref.to_string())]).unwrap(),
        })
        .collect();
    wal.log_series(&series).expect("log series");
    let out = std::io::stdout();
    let start = Instant::now();
    let mut seq = 0u64;
    while start.elapsed() < WRITER_LIFETIME {
        wal.log_samples(&batch(seq)).expect("log samples");
        let mut o = out.lock();
        writeln!(o, "ACK {seq}").unwrap();
        o.flush().unwrap();
        seq += 1;
    }
}

#[test]
fn kill9_keeps_every_acknowledged_sample() {
    if let Some(dir) = std::env::var_os(WRITER_ENV) {
        run_writer(Path::new(&dir));
        return;
    }
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wal");

    // Kill after a varying number of acks so the kill lands at different points of the write.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let kill_after = 200 + nanos % 3000;

    let last_ack =
        common::run_writer_and_kill(TEST_NAME, WRITER_ENV, &dir, kill_after, KILL_DEADLINE);

    let mut series = 0;
    let mut got: HashMap<(u64, i64), u64> = HashMap::new();
    let stats = replay(&dir, |r| {
        match r {
            Record::Series(s) => series += s.len(),
            Record::Samples(s) => {
                for x in s {
                    got.insert((x.sref, x.t), x.v.to_bits());
                }
            }
            Record::Tombstones(t) => panic!("the writer logs no deletions, got {t:?}"),
            Record::HistogramSamples(_) | Record::FloatHistogramSamples(_) => {
                panic!("the writer logs no histograms")
            }
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(series, SERIES as usize);
    for seq in 0..=last_ack {
        for x in batch(seq) {
            assert_eq!(
                got.get(&(x.sref, x.t)).copied(),
                Some(x.v.to_bits()),
                "acknowledged sample of series {} at batch {seq} (last ack {last_ack}) is missing or wrong; {stats:?}",
                x.sref
            );
        }
    }
    // Anything past the acks is a whole, correct, unacknowledged batch.
    for (&(sref, t), &bits) in &got {
        assert_eq!(bits, value(t as u64, sref).to_bits());
    }

    // The log is usable after the crash: open repairs, appends, and a replay sees both.
    let mut wal = Wal::open(&dir, WalOptions::default()).unwrap();
    wal.log_samples(&batch(1_000_000)).unwrap();
    wal.close().unwrap();
    let mut after = 0u64;
    let stats = replay(&dir, |r| {
        if let Record::Samples(s) = r {
            after += s.iter().filter(|x| x.t == 1_000_000).count() as u64;
        }
        Ok(())
    })
    .unwrap();
    assert!(!stats.corrupt_tail);
    assert_eq!(after, SERIES);
    assert!(stats.samples >= (last_ack + 2) * SERIES);
    assert!(started.elapsed() < Duration::from_secs(20));
}
