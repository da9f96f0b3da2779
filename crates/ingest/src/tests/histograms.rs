//! Native histograms through the receiver: integer, float and custom-bucket histograms in 1.0
//! and 2.0 requests, read back from the store; the rejection rules (1.0 rolls back, 2.0 writes
//! the rest), the `Histograms-Written` header, and the reduction of reserved schemas.

use std::sync::Arc;

use bongsu_model::{
    CounterResetHint, FloatHistogram, Histogram, HistogramSample, HistogramValue, Labels, Span,
};
use bongsu_storage::{
    AppendError, Appendable, Appender, CommitStats, Querier, Queryable, SeriesRef, StorageError,
};

use super::*;
use crate::histogram::{from_float, from_int};
use crate::proto::HistogramCount;

fn span(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

/// An integer histogram with `count` observations: 1 zero-bucket one, the rest in buckets.
fn int_h(count: u64) -> Histogram {
    Histogram {
        schema: 1,
        zero_threshold: 0.001,
        zero_count: 1,
        count,
        sum: 10.5,
        positive_spans: vec![span(0, 2)],
        positive_buckets: vec![1, count as i64 - 3], // absolute 1, count - 2
        ..Histogram::default()
    }
}

fn float_h() -> FloatHistogram {
    FloatHistogram {
        counter_reset_hint: CounterResetHint::Gauge,
        schema: 0,
        count: 4.5,
        sum: -2.0,
        negative_spans: vec![span(1, 1)],
        negative_buckets: vec![4.5],
        ..FloatHistogram::default()
    }
}

/// A classic histogram converted to custom buckets (NHCB): bounds 1, 5 and +Inf.
fn nhcb() -> Histogram {
    Histogram {
        schema: bongsu_model::histogram::CUSTOM_BUCKETS_SCHEMA,
        count: 6,
        sum: 12.0,
        positive_spans: vec![span(0, 3)],
        positive_buckets: vec![1, 2, -1], // absolute 1, 3, 2
        custom_values: vec![1.0, 5.0],
        ..Histogram::default()
    }
}

fn int(h: Histogram) -> HistogramValue {
    HistogramValue::Int(Arc::new(h))
}

/// The stored histogram samples of the series named `name` (one series expected).
fn read_histograms(db: &dyn Queryable, name: &str) -> Vec<HistogramSample> {
    let mut got = db
        .querier(i64::MIN, i64::MAX)
        .unwrap()
        .select(&[Matcher::equal("__name__", name)])
        .unwrap();
    assert!(got.len() <= 1, "{got:?}");
    got.pop().map(|s| s.histograms).unwrap_or_default()
}

fn sample(t: i64, h: HistogramValue) -> HistogramSample {
    HistogramSample { t, h }
}

#[test]
fn v1_writes_int_float_and_custom_bucket_histograms() {
    let db = MemStorage::new();
    let mut a = ts_v1(&[("__name__", "a")], &[(T0, 1.0)]);
    a.histograms.push(from_int(T0 + 1, &int_h(5)));
    a.histograms.push(from_int(T0 + 2, &int_h(7)));
    let mut b = ts_v1(&[("__name__", "b")], &[]);
    b.histograms.push(from_float(T0, &float_h()));
    let mut c = ts_v1(&[("__name__", "c")], &[]);
    c.histograms.push(from_int(T0, &nhcb()));
    let report = write::write(&db, Proto::V1, req_v1(vec![a, b, c]), FAR);
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.received, 5);
    assert_eq!((report.written.samples, report.written.histograms), (1, 4));

    assert_eq!(read(&db, "a")[0].1, vec![Sample { t: T0, v: 1.0 }]);
    assert_eq!(
        read_histograms(&db, "a"),
        vec![sample(T0 + 1, int(int_h(5))), sample(T0 + 2, int(int_h(7)))]
    );
    assert_eq!(
        read_histograms(&db, "b"),
        vec![sample(T0, HistogramValue::Float(Arc::new(float_h())))]
    );
    assert_eq!(read_histograms(&db, "c"), vec![sample(T0, int(nhcb()))]);
}

#[test]
fn v1_out_of_order_histogram_rolls_the_request_back() {
    let db = MemStorage::new();
    let mut ts = ts_v1(&[("__name__", "h")], &[]);
    ts.histograms.push(from_int(T0, &int_h(5)));
    assert!(write::write(&db, Proto::V1, req_v1(vec![ts]), FAR)
        .error
        .is_none());

    let fresh = ts_v1(&[("__name__", "fresh")], &[(T0, 1.0)]);
    // A float at the histogram's timestamp: one timeline per series, as upstream.
    let mut late = ts_v1(&[("__name__", "h")], &[]);
    late.histograms.push(from_int(T0 - 1, &int_h(5)));
    let report = write::write(&db, Proto::V1, req_v1(vec![fresh, late]), FAR);
    let msg = bad_request(&report);
    assert!(msg.starts_with("out of order sample for series"), "{msg}");
    assert_eq!(report.rejected(Reason::OutOfOrder), 1);
    assert_eq!(report.rejected(Reason::RolledBack), 1);
    assert_eq!(report.written, Default::default());
    assert!(read(&db, "fresh").is_empty());
}

#[test]
fn v2_partial_write_keeps_good_histograms_and_counts_them() {
    let db = MemStorage::new();
    let mut b = V2::default();
    let s = b.series(&[("__name__", "h")], &[(T0, 1.0)]);
    s.histograms.push(from_int(T0 + 1, &int_h(5)));
    s.histograms.push(from_int(T0 + 1, &int_h(6))); // duplicate timestamp
    s.histograms.push(from_float(T0 + 2, &float_h()));
    // Too far ahead of the receiver's clock.
    b.series(&[("__name__", "ahead")], &[])
        .histograms
        .push(from_int(T0 + 10, &int_h(5)));
    let report = write::write(&db, Proto::V2, b.encode(), T0 + 5);
    let msg = bad_request(&report);
    assert!(msg.starts_with("2 of 5 samples rejected"), "{msg}");
    assert!(msg.contains("too far in the future"), "{msg}");
    assert_eq!((report.written.samples, report.written.histograms), (1, 2));
    assert_eq!(report.rejected(Reason::Duplicate), 1);
    assert_eq!(report.rejected(Reason::OutOfBounds), 1);
    assert_eq!(
        read_histograms(&db, "h"),
        vec![
            sample(T0 + 1, int(int_h(5))),
            sample(T0 + 2, HistogramValue::Float(Arc::new(float_h())))
        ]
    );
    assert!(read_histograms(&db, "ahead").is_empty());
}

#[test]
fn reserved_schemas_are_reduced_before_appending() {
    let db = MemStorage::new();
    let h = Histogram {
        schema: 9,
        count: 3,
        sum: 1.0,
        positive_spans: vec![span(1, 2)],
        positive_buckets: vec![1, 1], // absolute 1, 2 -> one schema-8 bucket of 3
        ..Histogram::default()
    };
    let mut ts = ts_v1(&[("__name__", "fine")], &[]);
    ts.histograms.push(from_int(T0, &h));
    assert!(write::write(&db, Proto::V1, req_v1(vec![ts]), FAR)
        .error
        .is_none());
    let want = Histogram {
        schema: 8,
        positive_spans: vec![span(1, 1)],
        positive_buckets: vec![3],
        ..h
    };
    assert_eq!(read_histograms(&db, "fine"), vec![sample(T0, int(want))]);

    // Spans needing more buckets than sent fail the reduction: an invalid histogram.
    let bad = Histogram {
        schema: 20,
        positive_spans: vec![span(0, 4)],
        positive_buckets: vec![1],
        ..Histogram::default()
    };
    let mut b = V2::default();
    b.series(&[("__name__", "bad")], &[])
        .histograms
        .push(from_int(T0, &bad));
    let report = write::write(&db, Proto::V2, b.encode(), FAR);
    assert_eq!(report.rejected(Reason::InvalidHistogram), 1);
    let msg = bad_request(&report);
    assert!(
        msg.contains("have 1 buckets but spans need more: histogram spans specify different number of buckets than provided for series bad{}"),
        "{msg}"
    );
}

/// A store that refuses integer histograms with fewer observations than their buckets hold,
/// with Prometheus' message, as the TSDB's validation does.
struct Validating(MemStorage);

struct ValidatingAppender<'a>(Box<dyn Appender + 'a>);

fn check(h: &HistogramValue) -> Result<(), AppendError> {
    if let HistogramValue::Int(h) = h {
        let f = h.to_float();
        let n = f.zero_count + f.positive_buckets.iter().sum::<f64>();
        if (h.count as f64) < n {
            return Err(AppendError::InvalidHistogram(format!(
                "histogram's observation count should be at least the number of observations found in the buckets ({} < {n})",
                h.count
            )));
        }
    }
    Ok(())
}

impl Appender for ValidatingAppender<'_> {
    fn append(&mut self, l: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        self.0.append(l, t, v)
    }
    fn append_ref(&mut self, r: SeriesRef, t: i64, v: f64) -> Result<(), AppendError> {
        self.0.append_ref(r, t, v)
    }
    fn append_histogram(
        &mut self,
        l: &Labels,
        t: i64,
        h: HistogramValue,
    ) -> Result<SeriesRef, AppendError> {
        check(&h)?;
        self.0.append_histogram(l, t, h)
    }
    fn append_histogram_ref(
        &mut self,
        r: SeriesRef,
        t: i64,
        h: HistogramValue,
    ) -> Result<(), AppendError> {
        check(&h)?;
        self.0.append_histogram_ref(r, t, h)
    }
    fn get_ref(&self, pairs: &[(&str, &str)]) -> Option<SeriesRef> {
        self.0.get_ref(pairs)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn commit(&mut self) -> Result<CommitStats, StorageError> {
        self.0.commit()
    }
    fn rollback(&mut self) {
        self.0.rollback()
    }
}

impl Appendable for Validating {
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(ValidatingAppender(self.0.appender()))
    }
}

impl Queryable for Validating {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        self.0.querier(mint, maxt)
    }
}

/// Two observations, five in the buckets.
fn too_few() -> Histogram {
    Histogram {
        count: 2,
        ..int_h(5)
    }
}

#[test]
fn invalid_histograms_are_bad_requests() {
    let db = Validating(MemStorage::new());
    // 2.0: the invalid one is skipped, the rest written (known series take the ref path).
    for round in 0..2 {
        let mut b = V2::default();
        let s = b.series(&[("__name__", "h")], &[]);
        s.histograms.push(from_int(T0 + 2 * round, &int_h(5)));
        s.histograms.push(from_int(T0 + 2 * round + 1, &too_few()));
        let report = write::write(&db, Proto::V2, b.encode(), FAR);
        assert_eq!(report.written.histograms, 1);
        assert_eq!(report.rejected(Reason::InvalidHistogram), 1);
        let msg = bad_request(&report);
        assert!(
            msg.contains("histogram's observation count should be at least the number of observations found in the buckets (2 < 5) for series h{}"),
            "{msg}"
        );
        assert!(msg.contains("(invalid native histogram: 1)"), "{msg}");
    }
    assert_eq!(read_histograms(&db, "h").len(), 2);

    // 1.0: the request is rolled back.
    let mut ts = ts_v1(&[("__name__", "v1")], &[(T0, 1.0)]);
    ts.histograms.push(from_int(T0 + 1, &too_few()));
    let report = write::write(&db, Proto::V1, req_v1(vec![ts]), FAR);
    assert!(bad_request(&report).contains("nothing of this request was written"));
    assert_eq!(report.rejected(Reason::InvalidHistogram), 1);
    assert_eq!(report.rejected(Reason::RolledBack), 1);
    assert!(read(&db.0, "v1").is_empty());
}

#[tokio::test]
async fn the_histograms_written_header_counts_histograms() {
    let db = Arc::new(MemStorage::new());
    let rx = Arc::new(Receiver::new());
    let mut b = V2::default();
    let s = b.series(&[("__name__", "h")], &[(T0, 1.0)]);
    s.histograms.push(from_int(T0 + 1, &int_h(5)));
    s.histograms.push(from_float(T0 + 2, &float_h()));
    let other = FloatHistogram {
        sum: 1.0,
        ..float_h()
    };
    s.histograms.push(from_float(T0 + 2, &other)); // duplicate timestamp: rejected
    let body = snappy(&b.encode());
    let v2 = headers(
        "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        "snappy",
    );
    let (status, h, _) = post(&rx, &db, v2, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(h["x-prometheus-remote-write-samples-written"], "1");
    assert_eq!(h["x-prometheus-remote-write-histograms-written"], "2");
    assert_eq!(rx.stats().samples_written(), 3);
    assert_eq!(rx.stats().rejected(Reason::Duplicate), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any histogram message, however inconsistent (schemas out of range, spans that disagree
    /// with the buckets, negative offsets), is written or refused, never a panic.
    #[test]
    fn arbitrary_histograms_never_panic(
        schema in -60i32..60,
        spans in proptest::collection::vec((-5i32..5, 0u32..5), 0..4),
        deltas in proptest::collection::vec(-10i64..10, 0..12),
        counts in proptest::collection::vec(-1.0f64..10.0, 0..12),
        float in any::<bool>(),
        count in 0u64..50,
    ) {
        let db = MemStorage::new();
        let spans: Vec<crate::proto::BucketSpan> = spans
            .into_iter()
            .map(|(offset, length)| crate::proto::BucketSpan { offset, length })
            .collect();
        let h = crate::proto::Histogram {
            count: Some(if float {
                HistogramCount::CountFloat(count as f64)
            } else {
                HistogramCount::CountInt(count)
            }),
            schema,
            positive_spans: spans.clone(),
            negative_spans: spans,
            positive_deltas: deltas.clone(),
            negative_deltas: deltas,
            positive_counts: counts.clone(),
            negative_counts: counts,
            timestamp: T0,
            ..Default::default()
        };
        let mut b = V2::default();
        b.series(&[("__name__", "h")], &[]).histograms.push(h);
        let report = write::write(&db, Proto::V2, b.encode(), FAR);
        prop_assert_eq!(report.received, 1);
    }
}
