//! Native histograms from the WAL to a receiver: bongsu's own remote-write receiver
//! (`bongsu_ingest`) over an in-memory store, so what the sender encodes is what the receiver
//! appends. Integer, float and custom-bucket (NHCB) histograms with floats of other series,
//! in 1.0 (NHCB dropped and counted, as Prometheus) and 2.0, and nothing without
//! `send_native_histograms`.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::HeaderMap;
use bongsu_model::{
    FloatHistogram, Histogram, HistogramSample, HistogramValue, Matcher, Sample, Span,
};
use bongsu_storage::memory::MemStorage;
use bongsu_storage::Queryable;

use common::*;

const T: i64 = 1_700_000_000_000;

struct Ingest {
    url: String,
    db: Arc<MemStorage>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Ingest {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// bongsu's receiver on 127.0.0.1, writing into a fresh store.
async fn ingest() -> Ingest {
    let db = Arc::new(MemStorage::new());
    let rx = Arc::new(bongsu_ingest::Receiver::new());
    let store = db.clone();
    let app = axum::Router::new().route(
        "/write",
        axum::routing::post(move |headers: HeaderMap, body: Body| {
            let (rx, store) = (rx.clone(), store.clone());
            async move { rx.handle(store, &headers, body).await }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/write", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Ingest { url, db, task }
}

/// The stored floats and histograms of the series named `name`.
fn stored(db: &MemStorage, name: &str) -> (Vec<Sample>, Vec<HistogramSample>) {
    let mut s = db
        .querier(i64::MIN, i64::MAX)
        .unwrap()
        .select(&[Matcher::equal("__name__", name)])
        .unwrap();
    match s.pop() {
        Some(s) => (s.samples, s.histograms),
        None => (Vec::new(), Vec::new()),
    }
}

fn span(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

fn int_h(i: u64) -> Histogram {
    Histogram {
        schema: 2,
        count: 3 + i,
        sum: 1.5 * i as f64,
        zero_threshold: 0.001,
        zero_count: 1,
        positive_spans: vec![span(-1, 2)],
        positive_buckets: vec![1, i as i64],
        ..Histogram::default()
    }
}

fn float_h(i: u64) -> FloatHistogram {
    FloatHistogram {
        counter_reset_hint: bongsu_model::CounterResetHint::Gauge,
        schema: 0,
        count: 2.5 + i as f64,
        sum: -3.0,
        negative_spans: vec![span(1, 1)],
        negative_buckets: vec![2.5 + i as f64],
        ..FloatHistogram::default()
    }
}

fn nhcb(i: u64) -> Histogram {
    Histogram {
        schema: -53,
        count: 4 + i,
        sum: 7.0,
        positive_spans: vec![span(0, 2)],
        positive_buckets: vec![4, i as i64 - 4],
        custom_values: vec![0.25, 1.0],
        ..Histogram::default()
    }
}

/// Writes three scrapes of a float series, an integer, a float and a custom-bucket
/// histogram series.
fn write(d: &mut Data) {
    d.series(1, &[("__name__", "floats"), ("job", "j")]);
    d.series(2, &[("__name__", "ints"), ("job", "j")]);
    d.series(3, &[("__name__", "gauges"), ("job", "j")]);
    d.series(4, &[("__name__", "nhcb"), ("job", "j")]);
    for i in 0..3u64 {
        let t = T + i as i64 * 15_000;
        d.samples(&[(1, t, i as f64)]);
        d.histograms(&[(2, t, int_h(i)), (4, t, nhcb(i))]);
        d.float_histograms(&[(3, t, float_h(i))]);
    }
}

fn ints(f: impl Fn(u64) -> Histogram) -> Vec<HistogramSample> {
    (0..3u64)
        .map(|i| HistogramSample {
            t: T + i as i64 * 15_000,
            h: HistogramValue::Int(Arc::new(f(i))),
        })
        .collect()
}

fn floats_h() -> Vec<HistogramSample> {
    (0..3u64)
        .map(|i| HistogramSample {
            t: T + i as i64 * 15_000,
            h: HistogramValue::Float(Arc::new(float_h(i))),
        })
        .collect()
}

async fn run(extra: &str, nhcb_arrives: bool) -> (Ingest, String) {
    let rx = ingest().await;
    let mut d = Data::new();
    let rw = d.sender();
    let cfg = config(&rx.url, "", extra);
    rw.apply(&cfg.remote_write, &cfg.global.external_labels)
        .await
        .unwrap();
    started(d.dir.path()).await;
    write(&mut d);
    wait_until("every histogram", || {
        stored(&rx.db, "gauges").1.len() == 3
            && stored(&rx.db, "ints").1.len() == 3
            && stored(&rx.db, "floats").0.len() == 3
            && (!nhcb_arrives || stored(&rx.db, "nhcb").1.len() == 3)
    })
    .await;
    let text = metrics(&rw);
    rw.stop().await;
    (rx, text)
}

#[tokio::test]
async fn remote_write_2_sends_every_kind_of_histogram() {
    let (rx, text) = run(
        "    protobuf_message: io.prometheus.write.v2.Request\n    send_native_histograms: true\n",
        true,
    )
    .await;
    assert_eq!(stored(&rx.db, "ints").1, ints(int_h));
    assert_eq!(stored(&rx.db, "gauges").1, floats_h());
    assert_eq!(stored(&rx.db, "nhcb").1, ints(nhcb));
    assert_eq!(stored(&rx.db, "floats").0.len(), 3);
    assert_eq!(
        metric(&text, "prometheus_remote_storage_histograms_total"),
        9.0
    );
    assert_eq!(
        metric(&text, "prometheus_remote_storage_samples_total"),
        3.0
    );
    assert_eq!(
        metric(&text, "prometheus_remote_storage_histograms_in_total"),
        9.0
    );
}

#[tokio::test]
async fn remote_write_1_drops_custom_bucket_histograms() {
    let (rx, text) = run("    send_native_histograms: true\n", false).await;
    assert_eq!(stored(&rx.db, "ints").1, ints(int_h));
    assert_eq!(stored(&rx.db, "gauges").1, floats_h());
    assert!(stored(&rx.db, "nhcb").1.is_empty());
    assert_eq!(
        metric(&text, "prometheus_remote_storage_histograms_dropped_total"),
        3.0
    );
}

#[tokio::test]
async fn histograms_stay_home_without_send_native_histograms() {
    let rx = ingest().await;
    let mut d = Data::new();
    let rw = d.sender();
    let cfg = config(&rx.url, "", "");
    rw.apply(&cfg.remote_write, &cfg.global.external_labels)
        .await
        .unwrap();
    started(d.dir.path()).await;
    write(&mut d);
    d.samples(&[(1, T + 60_000, 9.0)]);
    wait_until("the floats", || stored(&rx.db, "floats").0.len() == 4).await;
    let text = metrics(&rw);
    rw.stop().await;
    // Records are read in order: the histograms were written before the last float.
    assert!(stored(&rx.db, "gauges").1.is_empty());
    assert!(stored(&rx.db, "ints").1.is_empty());
    assert_eq!(
        metric(&text, "prometheus_remote_storage_histograms_in_total"),
        0.0
    );
}
