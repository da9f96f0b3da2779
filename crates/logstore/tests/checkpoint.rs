//! Consumers' checkpoints: durable with the lines they were appended with, recovered at open,
//! carried across head cuts (whose WAL truncation deletes the segments that held them), and
//! lost together with their lines when the WAL tail is torn.

use std::fs;
use std::time::Duration;

use bongsu_logstore::{LogStore, LogStoreOptions};
use bongsu_model::log::{LogEntry, LogStream};
use bongsu_model::Labels;
use bongsu_storage::logs::CheckpointedLogAppendable;

const T0: i64 = 1_700_000_000_000_000_000;

fn opts() -> LogStoreOptions {
    LogStoreOptions {
        retention: Duration::from_secs(100 * 365 * 24 * 3600),
        ..LogStoreOptions::default()
    }
}

fn batch(from: i64, n: i64) -> Vec<LogStream> {
    vec![LogStream {
        labels: Labels::from_pairs(&[("job", "tail"), ("filename", "/var/log/a.log")]).unwrap(),
        entries: (from..from + n)
            .map(|i| LogEntry {
                ts: T0 + i,
                line: format!("line {i}"),
                metadata: Vec::new(),
            })
            .collect(),
    }]
}

fn count(store: &LogStore) -> u64 {
    store
        .select(&[], T0, T0 + 1_000_000)
        .unwrap()
        .count()
        .unwrap()
}

fn wal_segments(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn checkpoints_survive_restarts_and_head_cuts() {
    let d = tempfile::tempdir().unwrap();
    {
        let s = LogStore::open(d.path(), opts()).unwrap();
        assert_eq!(s.log_checkpoint("tail"), None);
        s.append_logs_with_checkpoint(&batch(0, 10), "tail", b"pos=10")
            .unwrap();
        s.append_logs_with_checkpoint(&batch(10, 10), "tail", b"pos=20")
            .unwrap();
        s.append_logs_with_checkpoint(&[], "other", b"x").unwrap();
        assert_eq!(s.log_checkpoint("tail").as_deref(), Some(&b"pos=20"[..]));
    }
    let before_cut = {
        let s = LogStore::open(d.path(), opts()).unwrap();
        assert_eq!(s.log_checkpoint("tail").as_deref(), Some(&b"pos=20"[..]));
        assert_eq!(s.log_checkpoint("other").as_deref(), Some(&b"x"[..]));
        assert_eq!(count(&s), 20);
        let segs = wal_segments(d.path());
        assert!(s.cut().unwrap() > 0);
        segs
    };
    let after = wal_segments(d.path());
    assert!(
        before_cut.iter().all(|s| !after.contains(s)),
        "the cut deleted the segments that held the checkpoints: {before_cut:?} → {after:?}"
    );
    let s = LogStore::open(d.path(), opts()).unwrap();
    assert_eq!(s.log_checkpoint("tail").as_deref(), Some(&b"pos=20"[..]));
    assert_eq!(s.log_checkpoint("other").as_deref(), Some(&b"x"[..]));
    assert_eq!(count(&s), 20);
}

#[test]
fn a_torn_record_loses_lines_and_checkpoint_together() {
    let d = tempfile::tempdir().unwrap();
    {
        let s = LogStore::open(d.path(), opts()).unwrap();
        s.append_logs_with_checkpoint(&batch(0, 10), "tail", b"pos=10")
            .unwrap();
        s.append_logs_with_checkpoint(&batch(10, 10), "tail", b"pos=20")
            .unwrap();
    }
    let last = wal_segments(d.path())
        .into_iter()
        .rfind(|n| fs::metadata(d.path().join("wal").join(n)).unwrap().len() > 8)
        .unwrap();
    let p = d.path().join("wal").join(last);
    let len = fs::metadata(&p).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    let s = LogStore::open(d.path(), opts()).unwrap();
    assert_eq!(s.log_checkpoint("tail").as_deref(), Some(&b"pos=10"[..]));
    assert_eq!(count(&s), 10);
}
