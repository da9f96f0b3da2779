//! The store's visible behaviour: what is accepted and refused, what comes back (in order,
//! with limits and needles) from the head, from blocks and after a restart.

use std::ops::ControlFlow;
use std::time::Duration;

use bongsu_logstore::{Direction, LogStore, LogStoreOptions, Needle, ScanOptions, Selection};
use bongsu_model::log::{LogEntry, LogStream};
use bongsu_model::{Labels, MatchOp, Matcher};
use bongsu_storage::logs::{LogAppendable, LogRejection};

const T0: i64 = 1_700_000_000_000_000_000;
const SEC: i64 = 1_000_000_000;

fn opts() -> LogStoreOptions {
    LogStoreOptions {
        retention: Duration::from_secs(100 * 365 * 24 * 3600),
        ..LogStoreOptions::default()
    }
}

fn stream(pairs: &[(&str, &str)], entries: &[(i64, &str)]) -> LogStream {
    LogStream {
        labels: Labels::from_pairs(pairs).unwrap(),
        entries: entries
            .iter()
            .map(|&(ts, line)| LogEntry {
                ts,
                line: line.into(),
                metadata: Vec::new(),
            })
            .collect(),
    }
}

/// A 32-hex-digit trace id, different in every digit position.
fn trace(n: i64) -> String {
    format!(
        "{:032x}",
        (n as u128 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834)
    )
}

fn all() -> Vec<Matcher> {
    vec![Matcher::new(MatchOp::Regex, "job", ".+").unwrap()]
}

/// `(stream labels, ts, line)` of a whole scan.
fn scan(sel: &Selection, opts: &ScanOptions) -> Vec<(String, i64, String)> {
    let mut out = Vec::new();
    sel.scan(opts, |s, e| {
        out.push((s.labels.to_string(), e.ts, e.line.to_string()));
        ControlFlow::Continue(())
    })
    .unwrap();
    out
}

/// Two streams, 1000 lines each, one line per second, interleaved.
fn fill(store: &LogStore) {
    for batch in 0..10 {
        let mut a = Vec::new();
        let mut b = Vec::new();
        let lines: Vec<(i64, String, String)> = (0..100)
            .map(|i| {
                let n = batch * 100 + i;
                let ts = T0 + n * SEC;
                (
                    ts,
                    format!("GET /item/{n} status=200 trace={}", trace(n)),
                    format!("level=info msg=\"tick {n}\""),
                )
            })
            .collect();
        for (ts, l1, l2) in &lines {
            a.push((*ts, l1.as_str()));
            b.push((*ts + 1, l2.as_str()));
        }
        let r = store
            .append_logs(&[
                stream(&[("job", "nginx")], &a),
                stream(&[("job", "app"), ("env", "prod")], &b),
            ])
            .unwrap();
        assert_eq!((r.appended, r.rejected.len()), (200, 0));
    }
}

fn check_contents(store: &LogStore) {
    let sel = store.select(&all(), T0, T0 + 10_000 * SEC).unwrap();
    assert_eq!(sel.streams().len(), 2);
    assert_eq!(sel.count().unwrap(), 2000);
    let got = scan(&sel, &ScanOptions::default());
    assert_eq!(got.len(), 2000);
    assert!(got.windows(2).all(|w| w[0].1 <= w[1].1), "time order");
    assert_eq!(
        got[0].2,
        format!("GET /item/0 status=200 trace={}", trace(0))
    );

    // Backward with a limit: the newest lines of one stream.
    let sel = store
        .select(&[Matcher::equal("job", "nginx")], T0, T0 + 10_000 * SEC)
        .unwrap();
    let back = ScanOptions {
        direction: Direction::Backward,
        limit: Some(3),
        ..ScanOptions::default()
    };
    let got: Vec<i64> = scan(&sel, &back).iter().map(|x| x.1).collect();
    assert_eq!(got, vec![T0 + 999 * SEC, T0 + 998 * SEC, T0 + 997 * SEC]);

    // Needles: a rare long token, as a bare substring, and a case-insensitive word.
    let trace = trace(421);
    let with = |needles| ScanOptions {
        needles,
        ..ScanOptions::default()
    };
    let sel = store.select(&all(), T0, T0 + 10_000 * SEC).unwrap();
    let got = scan(&sel, &with(vec![Needle::new(&trace)]));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, T0 + 421 * SEC);
    let got = scan(&sel, &with(vec![Needle::new(&trace[3..29])]));
    assert_eq!(got.len(), 1, "a needle inside a token is found");
    assert_eq!(
        scan(
            &sel,
            &with(vec![Needle::ascii_case_insensitive("TICK 42\"")])
        )
        .len(),
        1
    );
    assert_eq!(scan(&sel, &with(vec![Needle::new("TICK")])).len(), 0);
    assert_eq!(
        scan(&sel, &with(vec![Needle::new("tick"), Needle::new("/item")])).len(),
        0
    );

    // A sub-range, both ends inclusive.
    let sel = store
        .select(
            &[Matcher::equal("job", "nginx")],
            T0 + 10 * SEC,
            T0 + 20 * SEC,
        )
        .unwrap();
    assert_eq!(sel.count().unwrap(), 11);
    assert_eq!(scan(&sel, &ScanOptions::default()).len(), 11);

    // Index questions.
    let names: Vec<String> = store
        .label_names(&[], T0, T0 + 10_000 * SEC)
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names, vec!["env", "job"]);
    let vals: Vec<String> = store
        .label_values("job", &[], T0, T0 + 10_000 * SEC)
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(vals, vec!["app", "nginx"]);
    assert!(store
        .series(&[], T0 - 10 * SEC, T0 - SEC)
        .unwrap()
        .is_empty());
    let st = store.stats(&all(), T0, T0 + 10_000 * SEC).unwrap();
    assert_eq!((st.streams, st.entries), (2, 2000));
    // Volumes: one bucket over everything is each stream's bytes; two halves share the
    // chunks out by time (a few bytes lost to rounding per chunk), head lines exactly.
    let sel = store.select(&all(), T0, T0 + 10_000 * SEC).unwrap();
    let per_stream: Vec<u64> = sel.volumes().iter().map(|v| v.1).collect();
    let whole = sel.volume_buckets(&[(T0, T0 + 10_000 * SEC)]);
    assert_eq!(whole.iter().map(|b| b[0]).collect::<Vec<_>>(), per_stream);
    let mid = T0 + 500 * SEC;
    let halves = sel.volume_buckets(&[(T0, mid - 1), (mid, T0 + 10_000 * SEC)]);
    for (h, &w) in halves.iter().zip(&per_stream) {
        assert!(h[0] > w / 3 && h[1] > w / 3, "{h:?} of {w}");
        assert!(h[0] + h[1] <= w && h[0] + h[1] + 64 >= w, "{h:?} of {w}");
    }
}

#[test]
fn reads_agree_from_head_blocks_merges_and_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let small = LogStoreOptions {
        head_max_bytes: 20_000,
        chunk_max_lines: 64,
        ..opts()
    };
    {
        let store = LogStore::open(dir.path(), opts()).unwrap();
        fill(&store);
        check_contents(&store); // all in the head
    }
    {
        let store = LogStore::open(dir.path(), small.clone()).unwrap(); // replayed from the WAL
        check_contents(&store);
        store.cut().unwrap();
        check_contents(&store); // all in one block
    }
    let dir = tempfile::tempdir().unwrap();
    {
        let store = LogStore::open(dir.path(), small.clone()).unwrap();
        fill(&store); // cut many times on the way
        check_contents(&store);
        store.flush().unwrap();
        check_contents(&store); // merged
        assert_eq!(
            std::fs::read_dir(dir.path().join("blocks"))
                .unwrap()
                .count(),
            1
        );
    }
    let store = LogStore::open(dir.path(), small).unwrap();
    check_contents(&store);
}

#[test]
fn loki_rules_for_refusals_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(
        dir.path(),
        LogStoreOptions {
            max_active_streams: 2,
            max_line_bytes: 100,
            ..opts()
        },
    )
    .unwrap();
    let hour = 3600 * SEC;
    let r = store
        .append_logs(&[stream(
            &[("job", "a")],
            &[
                (T0, "x"),
                (T0 + 2 * hour, "y"),
                (T0 + hour + 1, "in window"),
                (T0 + hour - 1, "too far"),
                (T0 + hour + 1, "in window"),
            ],
        )])
        .unwrap();
    assert_eq!(r.appended, 4, "the duplicate counts as accepted");
    assert_eq!(r.rejected.len(), 1);
    assert_eq!((r.rejected[0].0, r.rejected[0].1), (0, 3));
    assert_eq!(
        r.rejected[0].2.to_string(),
        "entry too far behind, entry timestamp is: 2023-11-14T23:13:19.999999999Z, oldest acceptable timestamp is: 2023-11-14T23:13:20Z"
    );
    let sel = store.select(&all(), 0, i64::MAX).unwrap();
    assert_eq!(
        sel.count().unwrap(),
        3,
        "x, y and one copy of the duplicate"
    );

    let long = "z".repeat(101);
    let r = store
        .append_logs(&[
            stream(&[("job", "b")], &[(T0, "ok"), (T0, &long)]),
            stream(&[("job", "c")], &[(T0, "over the limit")]),
            stream(&[("job", "a")], &[(T0 + 3 * hour, "old stream still fine")]),
        ])
        .unwrap();
    assert_eq!(r.appended, 2);
    let why: Vec<String> = r.rejected.iter().map(|x| x.2.to_string()).collect();
    assert!(
        why[0].starts_with("Max entry size '100' bytes exceeded for stream '{job=\"b\"}'"),
        "{why:?}"
    );
    assert!(matches!(r.rejected[1].2, LogRejection::StreamLimit { .. }));

    // Older than the retention.
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(dir.path(), LogStoreOptions::default()).unwrap();
    let r = store
        .append_logs(&[stream(&[("job", "a")], &[(T0, "2023 is long gone")])])
        .unwrap();
    assert!(
        matches!(&r.rejected[0].2, LogRejection::TooOld { stream, .. } if stream == "{job=\"a\"}")
    );
}

#[test]
fn metadata_round_trips_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(dir.path(), opts()).unwrap();
    let mut s = stream(&[("job", "a")], &[(T0, "one"), (T0 + 1, "two")]);
    s.entries[0].metadata = vec![
        ("z".into(), "1".into()),
        ("a".into(), "2".into()),
        ("z".into(), "3".into()),
    ];
    store.append_logs(&[s]).unwrap();
    for cut in [false, true] {
        if cut {
            store.cut().unwrap();
        }
        let sel = store.select(&all(), 0, i64::MAX).unwrap();
        let o = ScanOptions::default();
        let mut c = sel.cursor(0, &o);
        let e = c.next().unwrap().unwrap();
        assert_eq!(
            e.metadata().collect::<Vec<_>>(),
            vec![("a", "2"), ("z", "3")]
        );
        let e = c.next().unwrap().unwrap();
        assert_eq!(e.metadata().count(), 0);
        assert!(c.next().unwrap().is_none());
    }
}

#[test]
fn out_of_order_cuts_read_in_order_and_duplicates_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(dir.path(), opts()).unwrap();
    let lines = |ts: &[i64]| -> Vec<LogStream> {
        let owned: Vec<(i64, String)> = ts.iter().map(|&t| (t, format!("l{t}"))).collect();
        let refs: Vec<(i64, &str)> = owned.iter().map(|(t, l)| (*t, l.as_str())).collect();
        vec![stream(&[("job", "a")], &refs)]
    };
    store
        .append_logs(&lines(&[T0 + 10, T0 + 20, T0 + 30]))
        .unwrap();
    store.cut().unwrap();
    store
        .append_logs(&lines(&[T0 + 15, T0 + 25, T0 + 30]))
        .unwrap(); // T0+30 again, in another part
    store.cut().unwrap();
    store.append_logs(&lines(&[T0 + 5, T0 + 40])).unwrap(); // still in the head
    let want = vec![T0 + 5, T0 + 10, T0 + 15, T0 + 20, T0 + 25, T0 + 30, T0 + 40];
    let check = || {
        for dir in [Direction::Forward, Direction::Backward] {
            let sel = store.select(&all(), 0, i64::MAX).unwrap();
            let o = ScanOptions {
                direction: dir,
                ..ScanOptions::default()
            };
            let mut got: Vec<i64> = scan(&sel, &o).iter().map(|x| x.1).collect();
            if dir == Direction::Backward {
                got.reverse();
            }
            assert_eq!(got, want, "{dir:?}");
        }
    };
    check();
    // A merge puts the three overlapping parts into one chunk, the duplicate dropped.
    store.cut().unwrap();
    store.merge(true).unwrap();
    check();
    let sel = store.select(&all(), 0, i64::MAX).unwrap();
    assert_eq!((sel.stats().chunks, sel.stats().entries), (1, 7));
    assert_eq!(sel.count().unwrap(), 7);
}

#[test]
fn retention_deletes_old_blocks_and_forgets_their_streams() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(dir.path(), opts()).unwrap();
    store
        .append_logs(&[stream(&[("job", "old")], &[(T0, "a")])])
        .unwrap();
    store.cut().unwrap();
    drop(store);
    let store = LogStore::open(
        dir.path(),
        LogStoreOptions {
            retention: Duration::from_secs(3600),
            ..LogStoreOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        store.select(&all(), 0, i64::MAX).unwrap().streams().len(),
        1
    );
    assert_eq!(store.compact().unwrap().deleted_blocks, 1);
    assert!(store.series(&[], 0, i64::MAX).unwrap().is_empty());
    assert!(store.label_names(&[], 0, i64::MAX).unwrap().is_empty());
}

#[test]
fn a_damaged_block_is_skipped_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = LogStore::open(dir.path(), opts()).unwrap();
        fill(&store);
        store.cut().unwrap();
    }
    let block = std::fs::read_dir(dir.path().join("blocks"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let good = std::fs::read(&block).unwrap();
    // Flip bytes all over the file: open either skips the block or reads what survives.
    for i in (0..good.len()).step_by(good.len() / 50) {
        let mut b = good.clone();
        b[i] ^= 0xa5;
        std::fs::write(&block, &b).unwrap();
        let store = LogStore::open(dir.path(), opts()).unwrap();
        let sel = store.select(&all(), 0, i64::MAX).unwrap();
        let _ = sel.count();
        let _ = scan(&sel, &ScanOptions::default());
    }
    std::fs::write(&block, &good[..good.len() / 2]).unwrap();
    let store = LogStore::open(dir.path(), opts()).unwrap();
    assert!(store.series(&[], 0, i64::MAX).unwrap().is_empty());
}

/// A reader running next to a writer that cuts and merges sees, every time, a whole prefix of
/// what was written: no line lost or doubled while it moves from head to block to merged block.
#[test]
fn snapshots_stay_whole_while_cutting_and_merging() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(
        dir.path(),
        LogStoreOptions {
            head_max_bytes: 4096,
            chunk_max_lines: 16,
            ..opts()
        },
    )
    .unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for b in 0..150i64 {
                let owned: Vec<(i64, String)> = (0..20)
                    .map(|i| (T0 + b * 20 + i, format!("line {}", b * 20 + i)))
                    .collect();
                let refs: Vec<(i64, &str)> = owned.iter().map(|(t, l)| (*t, l.as_str())).collect();
                store
                    .append_logs(&[stream(&[("job", "w")], &refs)])
                    .unwrap();
                if b % 10 == 9 {
                    store.merge(true).unwrap();
                }
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut last = 0;
        let mut rounds = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) || rounds == 0 {
            let sel = store.select(&all(), 0, i64::MAX).unwrap();
            let got = scan(&sel, &ScanOptions::default());
            for (i, (_, ts, line)) in got.iter().enumerate() {
                assert_eq!(
                    (*ts, line.as_str()),
                    (T0 + i as i64, format!("line {i}").as_str())
                );
            }
            assert_eq!(sel.count().unwrap(), got.len() as u64);
            assert!(got.len() >= last, "a snapshot lost lines");
            last = got.len();
            rounds += 1;
        }
    });
    assert_eq!(
        store.select(&all(), 0, i64::MAX).unwrap().count().unwrap(),
        3000
    );
}

/// Lines that exercise every encoding path come back byte for byte from a block: empty ones, a
/// newline inside a line, the time-marker byte, non-ASCII, a line longer than a chunk, and
/// lines that print their own time.
#[test]
fn odd_lines_round_trip_through_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(
        dir.path(),
        LogStoreOptions {
            max_line_bytes: 1 << 20,
            chunk_max_bytes: 1000,
            ..opts()
        },
    )
    .unwrap();
    let long = "x".repeat(300_000);
    let cases: Vec<Vec<String>> = vec![
        vec!["".into(), "".into(), "a".into()],
        vec!["two\nlines".into(), "".into()],
        vec![
            "\u{1}\u{1} marker bytes".into(),
            "2023-11-14T22:13:20.000000001Z".into(),
        ],
        vec!["µs 😀".into(), long.clone(), "after the long one".into()],
        vec![
            "{\"ts\":\"2023-11-14T22:13:20.000000Z\"} [14/Nov/2023:22:13:20 +0000] Nov 14 22:13:20"
                .into(),
            "2023-11-14T22:13:20.000Z .000".into(),
        ],
    ];
    for (k, lines) in cases.iter().enumerate() {
        let job = format!("case{k}");
        let owned: Vec<(i64, &str)> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (T0 + i as i64, l.as_str()))
            .collect();
        store
            .append_logs(&[stream(&[("job", &job)], &owned)])
            .unwrap();
    }
    store.cut().unwrap();
    for (k, lines) in cases.iter().enumerate() {
        let sel = store
            .select(&[Matcher::equal("job", &format!("case{k}"))], 0, i64::MAX)
            .unwrap();
        let got: Vec<String> = scan(&sel, &ScanOptions::default())
            .into_iter()
            .map(|x| x.2)
            .collect();
        assert_eq!(&got, lines, "case {k}");
    }
}

#[test]
fn one_store_per_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(dir.path(), opts()).unwrap();
    assert!(matches!(
        LogStore::open(dir.path(), opts()),
        Err(bongsu_logstore::LogStoreError::Locked(_))
    ));
    drop(store);
    LogStore::open(dir.path(), opts()).unwrap();
}
