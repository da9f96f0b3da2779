//! Native histograms through the engine, from storage to result: selectors, range
//! functions, aggregations, operators and estimates (the conformance scripts cover the
//! rest; these pin the plumbing).

use std::sync::Arc;

use bongsu_model::histogram::parse_test_notation;
use bongsu_model::{FloatHistogram, HistogramValue, Labels};
use bongsu_storage::memory::MemStorage;
use bongsu_storage::Appendable;

use super::{Engine, QueryValue};

fn h(text: &str) -> FloatHistogram {
    parse_test_notation(text).expect("notation")
}

/// `lat{i="1"}` and `lat{i="2"}` with a histogram every minute (count growing by 2 / 4),
/// and a float series `up`.
fn db() -> MemStorage {
    let db = MemStorage::new();
    load(&db);
    db
}

fn load(db: &MemStorage) {
    let mut app = db.appender();
    for m in 0..=10i64 {
        for (i, step) in [("1", 2.0), ("2", 4.0)] {
            let l = Labels::from_pairs(&[("__name__", "lat"), ("i", i)]).expect("labels");
            let n = step * m as f64;
            let text = format!("{{{{schema:0 count:{n} sum:{n} buckets:[{n}]}}}}");
            let v = HistogramValue::Float(Arc::new(h(&text)));
            app.append_histogram(&l, m * 60_000, v).expect("append");
        }
        let l = Labels::from_pairs(&[("__name__", "up")]).expect("labels");
        app.append(&l, m * 60_000, 1.0).expect("append");
    }
    app.commit().expect("commit");
}

/// A result series: labels, histogram (if one) and float value.
type Row = (String, Option<FloatHistogram>, f64);

fn instant(db: &MemStorage, q: &str, t: i64) -> (Vec<Row>, Vec<String>) {
    let out = Engine::default().instant_query(db, q, t).expect(q);
    let QueryValue::Vector(v) = out.value else {
        panic!("{q}: not a vector: {:?}", out.value);
    };
    let rows = v
        .into_iter()
        .map(|s| (s.labels.to_string(), s.h.map(|h| *h), s.v))
        .collect();
    (rows, [out.warnings, out.infos].concat())
}

#[test]
fn selectors_and_range_queries_carry_histograms() {
    let db = db();
    let (rows, _) = instant(&db, "lat", 300_000);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].1.as_ref().map(|h| h.count), Some(10.0));
    let out = Engine::default()
        .range_query(
            &db,
            "lat{i=\"2\"}",
            0,
            120_000,
            std::time::Duration::from_secs(60),
        )
        .expect("range");
    let QueryValue::Matrix(m) = out.value else {
        panic!("not a matrix");
    };
    assert!(m[0].points.is_empty());
    let counts: Vec<(i64, f64)> = m[0].histograms.iter().map(|p| (p.t, p.h.count)).collect();
    assert_eq!(counts, [(0, 0.0), (60_000, 4.0), (120_000, 8.0)]);
    // A range vector as an instant query's result.
    let out = Engine::default()
        .instant_query(&db, "lat[2m]", 120_000)
        .expect("matrix");
    let QueryValue::Matrix(m) = out.value else {
        panic!("not a matrix");
    };
    assert_eq!(m[0].histograms.len(), 2);
}

#[test]
fn rates_sums_and_estimates() {
    let db = db();
    // 4 per minute over 5m: the rate's count is 4/60 per second, a gauge histogram.
    let (rows, _) = instant(&db, "rate(lat{i=\"2\"}[5m])", 600_000);
    let r = rows[0].1.clone().expect("histogram");
    assert!((r.count - 4.0 / 60.0).abs() < 1e-12, "{r:?}");
    assert_eq!(r.counter_reset_hint, bongsu_model::CounterResetHint::Gauge);
    let (rows, _) = instant(&db, "sum(lat)", 600_000);
    assert_eq!(
        rows[0].1.as_ref().map(|h| (h.count, h.sum)),
        Some((60.0, 60.0))
    );
    let (rows, _) = instant(&db, "histogram_count(avg(lat))", 600_000);
    assert_eq!(rows[0].2, 30.0);
    // All observations in bucket (0.5, 1]: the median interpolates on the log scale.
    let (rows, _) = instant(&db, "histogram_quantile(0.5, lat{i=\"1\"})", 600_000);
    assert!((rows[0].2 - 0.5f64.sqrt()).abs() < 1e-12, "{rows:?}");
    let (rows, _) = instant(&db, "histogram_fraction(0, 1, lat{i=\"1\"})", 600_000);
    assert_eq!(rows[0].2, 1.0);
}

#[test]
fn operators_and_ignored_histograms() {
    let db = db();
    let (rows, _) = instant(&db, "lat{i=\"1\"} * 2", 600_000);
    assert_eq!(rows[0].1.as_ref().map(|h| h.count), Some(40.0));
    let (rows, notes) = instant(&db, "lat{i=\"1\"} + 1", 600_000);
    assert!(rows.is_empty());
    assert!(
        notes.iter().any(|n| n.contains(
            "incompatible sample types encountered for binary operator \"+\": histogram + float"
        )),
        "{notes:?}"
    );
    let (rows, _) = instant(&db, "lat{i=\"2\"} - ignoring(i) lat{i=\"1\"}", 600_000);
    assert_eq!(rows[0].1.as_ref().map(|h| h.count), Some(20.0));
    let (rows, notes) = instant(&db, "max(lat)", 600_000);
    assert!(rows.is_empty());
    assert!(
        notes
            .iter()
            .any(|n| n.contains("ignored histogram in max aggregation")),
        "{notes:?}"
    );
    // Floats and histograms do not sum together.
    let (rows, notes) = instant(&db, "sum({__name__=~\"lat|up\"})", 600_000);
    assert!(rows.is_empty());
    assert!(notes
        .iter()
        .any(|n| n.contains("encountered a mix of histograms and floats for aggregation")));
    let (rows, _) = instant(&db, "count({__name__=~\"lat|up\"})", 600_000);
    assert_eq!(rows[0].2, 3.0);
    // Trims: `</` keeps observations below the bound; floats are not trimmed.
    let (rows, _) = instant(&db, "lat{i=\"1\"} </ 0.1", 600_000);
    assert_eq!(rows[0].1.as_ref().map(|h| h.count), Some(0.0));
    assert_eq!(rows[0].0, r#"lat{i="1"}"#);
    let (rows, notes) = instant(&db, "up >/ 1", 600_000);
    assert!(rows.is_empty());
    assert!(
        notes.iter().any(|n| n.contains("float >/ float")),
        "{notes:?}"
    );
    // info() passes histograms through.
    let (rows, _) = instant(&db, "info(lat)", 600_000);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.1.is_some()), "{rows:?}");
    // Float functions leave histograms out.
    let (rows, _) = instant(&db, "abs({__name__=~\"lat|up\"})", 600_000);
    assert_eq!(rows.len(), 1);
}

#[test]
fn trims_are_told_apart_from_comparisons() {
    for (q, trim) in [
        ("a </ 1", true),
        ("a >/ 1", true),
        ("a < 1", false),
        ("a <= 1", false),
    ] {
        let prepared = super::PreparedQuery::new(q).expect(q);
        assert_eq!(prepared.uses_trim_operators(), trim, "{q}");
    }
}
