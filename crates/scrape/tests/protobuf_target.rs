//! Scraping a fake target that serves the protobuf exposition format, from the configuration
//! to the store: the `Accept` header a job sends, native histograms with
//! `scrape_native_histograms`, the classic series without it, `fallback_scrape_protocol` for
//! a target that sends no `Content-Type`, and histogram stale markers when a job goes away.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use bongsu_config::Config;
use bongsu_exposition::proto::{
    encode_delimited, Bucket, BucketSpan, Metric, MetricFamily, ProtoHistogram, ProtoMetricType,
};
use bongsu_model::{HistogramValue, Matcher};
use bongsu_scrape::from_config::pool_specs;
use bongsu_scrape::manager::ScrapeManager;
use bongsu_storage::memory::MemStorage;
use bongsu_storage::{Queryable, Series};

const PROTO: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// A histogram family `rpc_seconds` with classic buckets and native ones (schema 0).
fn body() -> Vec<u8> {
    let h = ProtoHistogram {
        sample_count: 3,
        sample_sum: 2.5,
        bucket: vec![Bucket {
            cumulative_count: 1,
            upper_bound: 0.5,
            ..Default::default()
        }],
        schema: 0,
        zero_threshold: 1e-128,
        positive_span: vec![BucketSpan {
            offset: 0,
            length: 2,
        }],
        positive_delta: vec![1, 1],
        ..Default::default()
    };
    let mf = MetricFamily {
        name: "rpc_seconds".into(),
        help: "RPC latency.".into(),
        r#type: ProtoMetricType::Histogram as i32,
        metric: vec![Metric {
            histogram: Some(h),
            ..Default::default()
        }],
        unit: String::new(),
    };
    let mut out = Vec::new();
    encode_delimited(&[mf], &mut out);
    out
}

/// Serves [`body`] with `content_type` (none if empty) on 127.0.0.1; returns its address
/// and the `Accept` headers it received.
async fn target(content_type: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let accepts = Arc::new(Mutex::new(Vec::new()));
    let seen = accepts.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = conn.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                if let Some(a) = head
                    .lines()
                    .find_map(|l| l.strip_prefix("accept: ").or(l.strip_prefix("Accept: ")))
                {
                    seen.lock().unwrap().push(a.to_string());
                }
                let body = body();
                let ct = if content_type.is_empty() {
                    String::new()
                } else {
                    format!("content-type: {content_type}\r\n")
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\n{ct}content-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = conn.write_all(&body).await;
            });
        }
    });
    (addr, accepts)
}

fn select(db: &MemStorage, name: &str) -> Vec<Series> {
    db.querier(i64::MIN, i64::MAX)
        .unwrap()
        .select(&[Matcher::equal("__name__", name)])
        .unwrap()
}

fn up(db: &MemStorage, job: &str) -> Option<f64> {
    select(db, "up")
        .into_iter()
        .find(|s| s.labels.get("job") == Some(job))
        .and_then(|s| s.samples.first().map(|x| x.v))
}

async fn wait(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_histograms_classic_series_and_fallback() {
    let (native, native_accepts) = target(PROTO).await;
    let (blank, _) = target("").await;
    let yaml = format!(
        "global:\n  scrape_interval: 100ms\n\
         scrape_configs:\n\
         - job_name: native\n  scrape_native_histograms: true\n  static_configs: [{{targets: ['{native}']}}]\n\
         - job_name: fallback\n  scrape_protocols: [PrometheusProto]\n  fallback_scrape_protocol: PrometheusProto\n  static_configs: [{{targets: ['{blank}']}}]\n\
         - job_name: blank\n  static_configs: [{{targets: ['{blank}']}}]\n"
    );
    let config = Config::parse(&yaml, "test.yml").unwrap();
    let db = Arc::new(MemStorage::new());
    let m = ScrapeManager::new(db.clone());
    m.apply(pool_specs(&config).unwrap()).await;
    wait("three scraped jobs", || {
        ["native", "fallback", "blank"]
            .iter()
            .all(|j| up(&db, j).is_some())
    })
    .await;

    // Protobuf first, as Prometheus asks when native histograms are scraped.
    let accept = native_accepts.lock().unwrap()[0].clone();
    assert!(
        accept.starts_with("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,"),
        "{accept}"
    );
    assert_eq!(up(&db, "native"), Some(1.0));
    let hist: Vec<Series> = select(&db, "rpc_seconds")
        .into_iter()
        .filter(|s| s.labels.get("job") == Some("native"))
        .collect();
    assert_eq!(hist.len(), 1);
    let HistogramValue::Int(h) = &hist[0].histograms[0].h else {
        panic!("an integer histogram")
    };
    assert_eq!((h.count, h.sum, h.schema), (3, 2.5, 0));

    // Without native histograms: the classic series; a blank Content-Type is read with the
    // fallback protocol, and fails the scrape without one.
    assert_eq!(up(&db, "fallback"), Some(1.0));
    let bucket = select(&db, "rpc_seconds_bucket");
    let les: Vec<&str> = bucket.iter().filter_map(|s| s.labels.get("le")).collect();
    assert_eq!(les, ["+Inf", "0.5"]);
    assert_eq!(up(&db, "blank"), Some(0.0));

    // The jobs go away: the native histogram series ends with a histogram stale marker.
    m.apply(Vec::new()).await;
    let hist = select(&db, "rpc_seconds");
    let last = &hist[0].histograms.last().unwrap().h;
    assert!(last.is_stale(), "{last:?}");
}
