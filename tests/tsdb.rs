//! End-to-end tests of the storage engine through its public interface: `Db`, `Appender`,
//! `Querier`, compaction, retention and restarts.

use bongsu_model::{Labels, MatchOp, Matcher, Sample, STALE_NAN};
use bongsu_storage::{AppendError, Appendable, Queryable};
use bongsu_tsdb::{Db, DbOptions};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

fn ls(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs).unwrap()
}

fn opts() -> DbOptions {
    DbOptions {
        retention_ms: 0,
        ..DbOptions::default()
    }
}

/// Appends `n` samples every 15 s from `start` for each series, value = f(series, i).
fn fill(db: &Db, series: &[Labels], start: i64, n: i64, f: impl Fn(usize, i64) -> f64) {
    for i in 0..n {
        let mut app = db.appender();
        for (si, s) in series.iter().enumerate() {
            app.append(s, start + i * 15_000, f(si, i)).unwrap();
        }
        app.commit().unwrap();
    }
}

fn select_all(db: &Db, name: &str) -> Vec<(Labels, Vec<Sample>)> {
    db.querier(i64::MIN, i64::MAX)
        .unwrap()
        .select(&[Matcher::equal("__name__", name)])
        .unwrap()
        .into_iter()
        .map(|s| (s.labels, s.samples))
        .collect()
}

#[test]
fn append_query_and_sample_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let a = ls(&[("__name__", "up"), ("job", "a")]);
    let mut app = db.appender();
    app.append(&a, 1000, 1.0).unwrap();
    app.append(&a, 2000, STALE_NAN).unwrap();
    assert_eq!(app.append(&a, 1500, 1.0), Err(AppendError::OutOfOrder));
    assert_eq!(
        app.append(&a, 2000, 3.0),
        Err(AppendError::DuplicateTimestamp)
    );
    // The same sample again is accepted and ignored, as in Prometheus.
    app.append(&a, 2000, STALE_NAN).unwrap();
    app.commit().unwrap();

    let mut app = db.appender();
    assert_eq!(app.append(&a, 500, 1.0), Err(AppendError::OutOfOrder));
    app.commit().unwrap();

    let got = select_all(&db, "up");
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].1,
        vec![Sample::new(1000, 1.0), Sample::new(2000, STALE_NAN)]
    );
    assert_eq!(got[0].1[1].v.to_bits(), STALE_NAN.to_bits());
}

#[test]
fn matchers_labels_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let series = [
        ls(&[("__name__", "up"), ("job", "a"), ("env", "prod")]),
        ls(&[("__name__", "up"), ("job", "b")]),
        ls(&[("__name__", "down"), ("job", "a")]),
    ];
    fill(&db, &series, 0, 4, |s, i| (s * 10) as f64 + i as f64);
    let q = db.querier(0, 60_000).unwrap();
    let re = |op, n, v| Matcher::new(op, n, v).unwrap();
    let names = |ms: &[Matcher]| -> Vec<String> {
        q.select(ms)
            .unwrap()
            .into_iter()
            .map(|s| s.labels.to_string())
            .collect()
    };
    assert_eq!(
        names(&[Matcher::equal("job", "a")]),
        vec!["down{job=\"a\"}", "up{env=\"prod\", job=\"a\"}"]
    );
    assert_eq!(
        names(&[Matcher::equal("__name__", "up"), Matcher::equal("env", "")]),
        vec!["up{job=\"b\"}"]
    );
    assert_eq!(names(&[re(MatchOp::Regex, "__name__", "u.")]).len(), 2);
    assert_eq!(
        names(&[re(MatchOp::NotRegex, "job", "a")]),
        vec!["up{job=\"b\"}"]
    );
    assert_eq!(q.label_names(&[]).unwrap(), vec!["__name__", "env", "job"]);
    assert_eq!(q.label_values("job", &[]).unwrap(), vec!["a", "b"]);
    assert_eq!(
        q.label_values("job", &[Matcher::equal("__name__", "down")])
            .unwrap(),
        vec!["a"]
    );
    // A time range without data selects nothing.
    assert!(db
        .querier(10 * HOUR, 11 * HOUR)
        .unwrap()
        .select(&[Matcher::equal("job", "a")])
        .unwrap()
        .is_empty());
}

#[test]
fn restart_replays_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let series: Vec<Labels> = (0..50)
        .map(|i| ls(&[("__name__", "m"), ("i", &i.to_string())]))
        .collect();
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        fill(&db, &series, 0, 300, |s, i| s as f64 * 0.5 + i as f64);
        db.close().unwrap();
    }
    let db = Db::open(dir.path(), opts()).unwrap();
    let got = select_all(&db, "m");
    assert_eq!(got.len(), 50);
    for (labels, samples) in &got {
        let s: f64 = labels.get("i").unwrap().parse().unwrap();
        assert_eq!(samples.len(), 300);
        assert!(samples
            .iter()
            .enumerate()
            .all(|(i, x)| x.t == i as i64 * 15_000 && x.v == s * 0.5 + i as f64));
    }
    // Appends continue after the restart.
    let mut app = db.appender();
    app.append(&series[0], 300 * 15_000, 1.0).unwrap();
    app.commit().unwrap();
}

#[test]
fn head_compaction_writes_blocks_and_keeps_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let series: Vec<Labels> = (0..20)
        .map(|i| ls(&[("__name__", "c"), ("i", &format!("{i:02}"))]))
        .collect();
    // 6 hours of 15 s samples: the head spans more than 1.5 block ranges twice.
    let n = 6 * HOUR / 15_000;
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        fill(&db, &series, 0, n, |s, i| (s as i64 * 1000 + i) as f64);
        db.compact().unwrap();
        assert_eq!(db.block_metas().len(), 2, "two 2h blocks cut from the head");
        assert!(db.stats().head_min_time >= 4 * HOUR);
        let got = select_all(&db, "c");
        assert_eq!(got.len(), 20);
        assert!(got.iter().all(|(_, s)| s.len() == n as usize));
        // Appends into a range already in a block are out of bounds.
        let mut app = db.appender();
        assert_eq!(
            app.append(&series[0], HOUR, 1.0),
            Err(AppendError::OutOfBounds)
        );
        db.close().unwrap();
    }
    // After a restart (WAL checkpoint + blocks) nothing is lost or duplicated.
    let db = Db::open(dir.path(), opts()).unwrap();
    let got = select_all(&db, "c");
    assert_eq!(got.len(), 20);
    for (labels, samples) in got {
        let s: i64 = labels.get("i").unwrap().parse().unwrap();
        assert_eq!(samples.len(), n as usize, "{labels}");
        assert!(samples
            .iter()
            .enumerate()
            .all(|(i, x)| x.t == i as i64 * 15_000 && x.v == (s * 1000 + i as i64) as f64));
    }
}

/// Appends one sample a minute for `hours`, compacting every hour as the server does.
fn fill_hours(db: &Db, labels: &Labels, hours: i64) -> i64 {
    let n = hours * HOUR / MIN;
    for i in 0..n {
        let mut app = db.appender();
        app.append(labels, i * MIN, i as f64).unwrap();
        app.commit().unwrap();
        if i % 60 == 0 {
            db.compact().unwrap();
        }
    }
    db.compact().unwrap();
    n
}

#[test]
fn blocks_are_merged_into_larger_windows() {
    let dir = tempfile::tempdir().unwrap();
    let s = ls(&[("__name__", "g")]);
    let db = Db::open(dir.path(), opts()).unwrap();
    let n = fill_hours(&db, &s, 20);
    let metas = db.block_metas();
    assert!(metas.iter().any(|m| m.compaction.level >= 2), "{metas:?}");
    assert!(
        metas.windows(2).all(|w| w[0].max_time <= w[1].min_time),
        "no overlaps: {metas:?}"
    );
    let samples = &select_all(&db, "g")[0].1;
    assert_eq!(samples.len(), n as usize);
    assert!(samples
        .iter()
        .enumerate()
        .all(|(i, x)| x.t == i as i64 * MIN && x.v == i as f64));
}

#[test]
fn time_retention_deletes_old_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let s = ls(&[("__name__", "g")]);
    let db = Db::open(
        dir.path(),
        DbOptions {
            retention_ms: 8 * HOUR,
            ..DbOptions::default()
        },
    )
    .unwrap();
    let n = fill_hours(&db, &s, 20);
    let oldest = db.block_metas().first().map(|m| m.min_time).unwrap();
    assert!(
        oldest >= 8 * HOUR,
        "blocks more than 8h behind the newest data are gone: {oldest}"
    );
    let samples = &select_all(&db, "g")[0].1;
    assert_eq!(samples.first().unwrap().t, oldest);
    assert_eq!(
        samples.last().unwrap().t,
        (n - 1) * MIN,
        "recent data stays"
    );
}

#[test]
fn size_retention_deletes_oldest_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let s: Vec<Labels> = (0..200)
        .map(|i| ls(&[("__name__", "x"), ("i", &i.to_string())]))
        .collect();
    let db = Db::open(
        dir.path(),
        DbOptions {
            retention_ms: 0,
            retention_bytes: 1,
            ..DbOptions::default()
        },
    )
    .unwrap();
    fill(&db, &s, 0, 7 * HOUR / 15_000, |s, i| (s as i64 * i) as f64);
    db.compact().unwrap();
    assert!(
        db.block_metas().is_empty(),
        "every block is over a 1-byte limit"
    );
    assert!(
        !select_all(&db, "x").is_empty(),
        "the head is never deleted by retention"
    );
}

/// A block that cannot be opened stops the open, naming it (as Prometheus); moved aside, the
/// rest opens and the head's samples are served.
#[test]
fn a_corrupt_block_stops_the_open_until_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let s = [ls(&[("__name__", "k")])];
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        fill(&db, &s, 0, 4 * HOUR / 15_000, |_, i| i as f64);
        db.compact().unwrap();
        assert_eq!(db.block_metas().len(), 1);
        db.close().unwrap();
    }
    let block = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("index").exists())
        .unwrap();
    let index = block.join("index");
    let mut bytes = std::fs::read(&index).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(&index, bytes).unwrap();
    let err = Db::open(dir.path(), opts()).err().expect("the open fails");
    assert!(
        err.to_string()
            .starts_with(&format!("block {} cannot be opened", block.display())),
        "{err}"
    );
    let aside = tempfile::tempdir().unwrap();
    std::fs::rename(&block, aside.path().join("bad")).unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    assert!(db.block_metas().is_empty());
    // The head's samples (after the block range) are still served.
    assert!(!select_all(&db, "k").is_empty());
}

#[test]
fn concurrent_appenders() {
    let dir = tempfile::tempdir().unwrap();
    let db = std::sync::Arc::new(Db::open(dir.path(), opts()).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                let series: Vec<Labels> = (0..100)
                    .map(|i| {
                        ls(&[
                            ("__name__", "w"),
                            ("w", &w.to_string()),
                            ("i", &i.to_string()),
                        ])
                    })
                    .collect();
                fill(&db, &series, 0, 200, |s, i| (s as i64 + i) as f64);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let got = select_all(&db, "w");
    assert_eq!(got.len(), 400);
    assert!(got.iter().all(|(_, s)| s.len() == 200));
}

#[test]
fn a_second_process_cannot_open_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _db = Db::open(dir.path(), opts()).unwrap();
    assert!(Db::open(dir.path(), opts()).is_err());
}

#[test]
fn blocks_imported_while_open_are_picked_up_by_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let file = dir.path().join("backfill.om");
    let mut text = String::from("# TYPE old gauge\n");
    for i in 0..10 {
        text.push_str(&format!("old{{k=\"v\"}} {i} {}\n", 1000 + i * 15));
    }
    text.push_str("# EOF\n");
    std::fs::write(&file, text).unwrap();
    bongsu::backfill::import_openmetrics(&file, dir.path(), 2 * HOUR).unwrap();
    assert!(
        select_all(&db, "old").is_empty(),
        "not visible before the reload"
    );
    assert_eq!(db.reload_blocks().unwrap(), 1);
    assert_eq!(db.reload_blocks().unwrap(), 0, "a block is loaded once");
    let got = select_all(&db, "old");
    assert_eq!(got[0].1.len(), 10);
    assert_eq!(got[0].1[3], Sample::new(1_045_000, 3.0));
    // The block spans its samples, not its two-hour window (as promtool's), so the head
    // still takes samples just after them.
    let meta = &db.block_metas()[0];
    assert_eq!((meta.min_time, meta.max_time), (1_000_000, 1_135_001));
    let mut app = db.appender();
    app.append(&ls(&[("__name__", "new")]), 1_200_000, 1.0)
        .unwrap();
    app.commit().unwrap();
}

#[test]
fn wal_pins_keep_segments_through_checkpoints() {
    let series = vec![ls(&[("__name__", "p")])];
    let n = 6 * HOUR / 15_000;
    let first_segment = |pinned: bool| {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), opts()).unwrap();
        let pin = pinned.then(|| db.wal_pins().pin(0));
        fill(&db, &series, 0, n, |_, i| i as f64);
        db.compact().unwrap();
        let files = bongsu_tsdb::wal::wal_files(&db.wal_dir()).unwrap();
        assert!(
            files.checkpoint.is_some(),
            "the head was cut and checkpointed"
        );
        drop(pin);
        db.close().unwrap();
        drop(db);
        // A restart replays the checkpoint and the segments after it, whatever was kept.
        let db = Db::open(dir.path(), opts()).unwrap();
        assert_eq!(select_all(&db, "p")[0].1.len(), n as usize);
        files.segments[0]
    };
    assert_eq!(first_segment(true), 0, "a pinned segment stays");
    assert!(
        first_segment(false) > 0,
        "without a pin, checkpointed segments go"
    );
}
