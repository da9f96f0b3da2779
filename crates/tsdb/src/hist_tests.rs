//! Native histograms through the whole database: append, query, WAL replay, deletion and
//! compaction into blocks.

use std::sync::Arc;

use bongsu_model::{
    CounterResetHint, FloatHistogram, Histogram, HistogramSample, HistogramValue, Labels, Matcher,
    Span, STALE_NAN,
};
use bongsu_storage::{AppendError, Appendable, Queryable};

use crate::test_support::{open, HOUR, MIN};
use crate::Db;

fn hist(i: u64) -> Histogram {
    Histogram {
        count: if i < 5 { 3 + 2 * i } else { 4 + 2 * i },
        zero_count: 1,
        sum: 10.0 + i as f64,
        zero_threshold: 0.001,
        schema: 1,
        positive_spans: vec![Span {
            offset: 0,
            length: if i < 5 { 2 } else { 3 },
        }],
        positive_buckets: if i < 5 {
            vec![1, 2 * i as i64]
        } else {
            vec![1, 2 * i as i64, -(2 * i as i64)]
        },
        ..Histogram::default()
    }
}

fn fhist(i: u64) -> FloatHistogram {
    let mut f = hist(i).to_float();
    f.counter_reset_hint = CounterResetHint::Gauge;
    f.sum = -(i as f64);
    f
}

fn labels(name: &str) -> Labels {
    Labels::from_pairs(&[("__name__", name), ("job", "h")]).unwrap()
}

fn select(db: &Db, name: &str) -> Vec<HistogramSample> {
    db.querier(i64::MIN, i64::MAX)
        .unwrap()
        .select(&[Matcher::equal("__name__", name)])
        .unwrap()
        .into_iter()
        .flat_map(|s| s.histograms)
        .collect()
}

/// A histogram as appended and as read back compare equal but for the hint the chunk gives
/// and the empty buckets a chunk's wider layout adds.
fn as_float(h: &HistogramValue) -> String {
    let mut f = h.to_float();
    if f.counter_reset_hint != CounterResetHint::Gauge {
        f.counter_reset_hint = CounterResetHint::Unknown;
    }
    let buckets = |spans: &[Span], counts: &[f64]| -> Vec<(i64, f64)> {
        crate::chunk::histogram_meta::BucketIndexes::new(spans)
            .zip(counts.iter().copied())
            .filter(|(_, c)| *c != 0.0)
            .collect()
    };
    let (p, n) = (
        buckets(&f.positive_spans, &f.positive_buckets),
        buckets(&f.negative_spans, &f.negative_buckets),
    );
    f.positive_spans.clear();
    f.positive_buckets.clear();
    f.negative_spans.clear();
    f.negative_buckets.clear();
    format!("{f:?} {p:?} {n:?}")
}

fn assert_same(got: &[HistogramSample], want: &[(i64, HistogramValue)]) {
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, (t, w)) in got.iter().zip(want) {
        assert_eq!(g.t, *t);
        assert_eq!(
            std::mem::discriminant(&g.h),
            std::mem::discriminant(w),
            "kind at {t}"
        );
        assert_eq!(as_float(&g.h), as_float(w), "at {t}");
    }
}

/// Timed histograms.
type Timed = Vec<(i64, HistogramValue)>;

fn append_all(db: &Db) -> (Timed, Timed) {
    let mut app = db.appender();
    let (mut ints, mut floats) = (Vec::new(), Vec::new());
    for i in 0..300u64 {
        let t = i as i64 * 15_000;
        let h = HistogramValue::Int(Arc::new(hist(i)));
        app.append_histogram(&labels("ints"), t, h.clone()).unwrap();
        ints.push((t, h));
        let f = HistogramValue::Float(Arc::new(fhist(i)));
        app.append_histogram(&labels("floats"), t, f.clone())
            .unwrap();
        floats.push((t, f));
        app.append(&labels("plain"), t, i as f64).unwrap();
        if i % 50 == 49 {
            app.commit().unwrap();
        }
    }
    app.commit().unwrap();
    (ints, floats)
}

#[test]
fn histograms_append_query_and_replay() {
    let d = tempfile::tempdir().unwrap();
    let (ints, floats) = {
        let db = open(d.path());
        let got = append_all(&db);
        assert_same(&select(&db, "ints"), &got.0);
        assert_same(&select(&db, "floats"), &got.1);
        assert_eq!(crate::test_support::samples(&db, "plain").len(), 300);
        let st = db.stats();
        assert_eq!((st.samples_appended, st.histograms_appended), (300, 600));
        db.close().unwrap();
        got
    };
    let db = open(d.path());
    assert_same(&select(&db, "ints"), &ints);
    assert_same(&select(&db, "floats"), &floats);
}

#[test]
fn validation_order_and_duplicates() {
    let d = tempfile::tempdir().unwrap();
    let db = open(d.path());
    let mut app = db.appender();
    let mut bad = hist(1);
    bad.positive_buckets.push(1);
    let err = app
        .append_histogram(&labels("x"), 0, HistogramValue::Int(Arc::new(bad)))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        AppendError::InvalidHistogram(
            "positive side: spans need 2 buckets, have 3 buckets: histogram spans specify different number of buckets than provided".into()
        )
        .to_string()
    );
    let h = HistogramValue::Int(Arc::new(hist(1)));
    app.append_histogram(&labels("x"), 1000, h.clone()).unwrap();
    app.commit().unwrap();
    let mut app = db.appender();
    // The same histogram again is ignored; another one at that time is a duplicate.
    app.append_histogram(&labels("x"), 1000, h.clone()).unwrap();
    assert!(matches!(
        app.append_histogram(&labels("x"), 1000, HistogramValue::Int(Arc::new(hist(2)))),
        Err(AppendError::DuplicateTimestamp)
    ));
    assert!(matches!(
        app.append(&labels("x"), 1000, 1.0),
        Err(AppendError::DuplicateTimestamp)
    ));
    assert!(matches!(
        app.append_histogram(&labels("x"), 999, h.clone()),
        Err(AppendError::OutOfOrder)
    ));
    // A histogram no WAL record could hold is refused up front.
    let huge = FloatHistogram {
        count: 150_000.0,
        positive_spans: vec![Span {
            offset: 0,
            length: 150_000,
        }],
        positive_buckets: vec![1.0; 150_000],
        ..FloatHistogram::default()
    };
    let err = app
        .append_histogram(&labels("x"), 1500, HistogramValue::Float(Arc::new(huge)))
        .unwrap_err();
    assert!(err.to_string().contains("histogram too large"), "{err}");
    assert_eq!(db.stats().out_of_order_histograms, 1);
    // Floats and histograms share the series' timeline.
    app.append(&labels("x"), 2000, 5.0).unwrap();
    app.append_histogram(&labels("x"), 3000, h.clone()).unwrap();
    let stale = Histogram {
        sum: STALE_NAN,
        ..Histogram::default()
    };
    app.append_histogram(&labels("x"), 4000, HistogramValue::Int(Arc::new(stale)))
        .unwrap();
    app.commit().unwrap();
    let s = db
        .querier(i64::MIN, i64::MAX)
        .unwrap()
        .select(&[Matcher::equal("__name__", "x")])
        .unwrap();
    let ts: Vec<i64> = s[0].histograms.iter().map(|h| h.t).collect();
    assert_eq!(ts, vec![1000, 3000, 4000]);
    assert!(s[0].histograms[2].h.is_stale());
    assert_eq!(s[0].samples.len(), 1);
    // A float stale marker after a histogram becomes a histogram stale marker.
    let mut app = db.appender();
    let f = HistogramValue::Float(Arc::new(fhist(1)));
    app.append_histogram(&labels("y"), 1000, f).unwrap();
    app.commit().unwrap();
    let mut app = db.appender();
    app.append(&labels("y"), 2000, STALE_NAN).unwrap();
    app.commit().unwrap();
    let got = select(&db, "y");
    assert_eq!(got.len(), 2);
    assert!(matches!(&got[1].h, HistogramValue::Float(h) if h.is_stale()));
    assert!(crate::test_support::samples(&db, "y").is_empty());
}

#[test]
fn deletion_hides_histograms() {
    let d = tempfile::tempdir().unwrap();
    let db = open(d.path());
    let (ints, _) = append_all(&db);
    db.delete(0, 10 * MIN, &[Matcher::equal("__name__", "ints")])
        .unwrap();
    let want: Vec<_> = ints.into_iter().filter(|(t, _)| *t > 10 * MIN).collect();
    assert_same(&select(&db, "ints"), &want);
    let _ = HOUR;
}

#[test]
fn head_compaction_and_block_merge_keep_histograms() {
    let d = tempfile::tempdir().unwrap();
    let db = open(d.path());
    // Five hours of one histogram a minute, plus a gauge float histogram series.
    let mut app = db.appender();
    let mut want = Vec::new();
    let mut fwant = Vec::new();
    for i in 0..300u64 {
        let t = i as i64 * MIN;
        let h = HistogramValue::Int(Arc::new(hist(i)));
        app.append_histogram(&labels("ints"), t, h.clone()).unwrap();
        want.push((t, h));
        let f = HistogramValue::Float(Arc::new(fhist(i)));
        app.append_histogram(&labels("floats"), t, f.clone())
            .unwrap();
        fwant.push((t, f));
    }
    app.commit().unwrap();
    db.compact().unwrap();
    assert!(!db.block_metas().is_empty(), "no block was cut");
    assert_same(&select(&db, "ints"), &want);
    assert_same(&select(&db, "floats"), &fwant);
    // Deleting inside a block and cleaning tombstones rewrites it with its histograms.
    db.delete(0, 30 * MIN, &[Matcher::equal("__name__", "ints")])
        .unwrap();
    db.clean_tombstones().unwrap();
    let want: Vec<_> = want.into_iter().filter(|(t, _)| *t > 30 * MIN).collect();
    assert_same(&select(&db, "ints"), &want);
    db.close().unwrap();
    let db = open(d.path());
    assert_same(&select(&db, "ints"), &want);
    assert_same(&select(&db, "floats"), &fwant);
    let _ = HOUR;
}
