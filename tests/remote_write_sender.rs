//! The remote-write sender in the running binary: bongsu scrapes itself and remote-writes to a
//! receiver in this test that is down for a while, is killed with SIGKILL and restarted on the
//! same data directory, and in the end every sample bongsu stored has arrived (each series'
//! samples, compared one by one; resent duplicates are fine, missing samples are not).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use bongsu_ingest::proto::v1;
use common::server::{free_port, Server};
use prost::Message;

type Series = Vec<(String, String)>;

const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

#[derive(Default)]
struct Received {
    samples: Mutex<BTreeSet<(Series, i64)>>,
    /// Metadata entries: family, type, help.
    metadata: Mutex<BTreeSet<(String, i32, String)>>,
    down: AtomicBool,
}

/// A 1.0 receiver on a thread of its own; answers 503 while `down`.
fn receiver() -> (String, Arc<Received>) {
    let state = Arc::new(Received::default());
    let st = state.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/write", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/write",
                axum::routing::post(move |body: Bytes| {
                    let st = st.clone();
                    async move {
                        if st.down.load(Ordering::Relaxed) {
                            return StatusCode::SERVICE_UNAVAILABLE;
                        }
                        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
                        let req = v1::WriteRequest::decode(&raw[..]).unwrap();
                        st.metadata
                            .lock()
                            .unwrap()
                            .extend(req.metadata.iter().map(|m| {
                                (
                                    String::from_utf8_lossy(&m.metric_family_name).into_owned(),
                                    m.r#type,
                                    String::from_utf8_lossy(&m.help).into_owned(),
                                )
                            }));
                        let mut g = st.samples.lock().unwrap();
                        for ts in req.timeseries {
                            let labels: Series = ts
                                .labels
                                .iter()
                                .map(|l| {
                                    (
                                        String::from_utf8(l.name.to_vec()).unwrap(),
                                        String::from_utf8(l.value.to_vec()).unwrap(),
                                    )
                                })
                                .collect();
                            for s in ts.samples {
                                if s.value.to_bits() != STALE_NAN_BITS {
                                    g.insert((labels.clone(), s.timestamp));
                                }
                            }
                        }
                        StatusCode::NO_CONTENT
                    }
                }),
            );
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    (url, state)
}

fn write_config(path: &Path, port: u16, url: &str, scrape: bool) {
    write_config_with(path, port, url, scrape, "");
}

/// [`write_config`] with more settings for the remote_write entry (`extra`: YAML lines).
fn write_config_with(path: &Path, port: u16, url: &str, scrape: bool, extra: &str) {
    let scrapes = if scrape {
        format!(
            "scrape_configs:\n  - job_name: self\n    scrape_interval: 200ms\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
        )
    } else {
        "scrape_configs: []\n".to_string()
    };
    fs::write(
        path,
        format!(
            "{scrapes}remote_write:\n  - url: {url}\n    queue_config: {{batch_send_deadline: 100ms, min_backoff: 20ms, max_backoff: 200ms}}\n{extra}"
        ),
    )
    .unwrap();
}

fn start(dir: &Path, config: &Path, port: u16, run: &str) -> Server {
    let args: Vec<OsString> = vec![
        "--config.file".into(),
        config.into(),
        "--storage.tsdb.path".into(),
        dir.join("data").into(),
        "--web.enable-lifecycle".into(),
    ];
    Server::spawn_on(port, args, dir.join(format!("{run}.log")))
}

/// Every sample bongsu has stored, per series (stale markers are not returned).
fn stored(s: &Server) -> BTreeMap<Series, usize> {
    let resp: serde_json::Value = s
        .http
        .get(s.url("/api/v1/query"))
        .query(&[("query", "{__name__=~\".+\"}[1h]")])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let mut out = BTreeMap::new();
    for r in resp["data"]["result"].as_array().unwrap() {
        let labels: Series = r["metric"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        out.insert(labels, r["values"].as_array().unwrap().len());
    }
    out
}

fn received(r: &Received) -> BTreeMap<Series, usize> {
    let mut out = BTreeMap::new();
    for (labels, _) in r.samples.lock().unwrap().iter() {
        *out.entry(labels.clone()).or_insert(0) += 1;
    }
    out
}

#[test]
fn nothing_stored_is_lost_across_an_outage_and_a_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, rx) = receiver();
    let config = tmp.path().join("bongsu.yml");
    let count = |r: &Received| r.samples.lock().unwrap().len();

    let port = free_port();
    write_config(&config, port, &url, true);
    let mut first = start(tmp.path(), &config, port, "first");
    first.wait_for("samples at the receiver", || {
        (count(&rx) > 100).then_some(())
    });
    rx.down.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(1500));
    rx.down.store(false, Ordering::Relaxed);
    let after_outage = count(&rx);
    first.wait_for("samples after the outage", || {
        (count(&rx) > after_outage + 100).then_some(())
    });
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let port = free_port();
    write_config(&config, port, &url, true);
    let second = start(tmp.path(), &config, port, "second");
    let instance = format!("127.0.0.1:{port}");
    second.wait_for("samples of the restarted server", || {
        let g = rx.samples.lock().unwrap();
        g.iter()
            .any(|(l, _)| l.iter().any(|(k, v)| k == "instance" && *v == instance))
            .then_some(())
    });
    // Stop scraping so that the stored data stops changing, then compare.
    write_config(&config, port, &url, false);
    let reload = second.http.post(second.url("/-/reload")).send().unwrap();
    assert!(reload.status().is_success());
    let (want, got) = second.wait_up_to(Duration::from_secs(60), "every stored sample", || {
        let want = stored(&second);
        let got = received(&rx);
        (want == got).then_some((want, got))
    });
    assert!(want.len() > 10, "too few series to mean anything: {want:?}");
    assert_eq!(want, got);
}

/// 1.0 receivers get the scrape targets' metadata every `metadata_config.send_interval`.
#[test]
fn metadata_of_the_scraped_families_reaches_the_receiver() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, received) = receiver();
    let port = free_port();
    let config = tmp.path().join("bongsu.yml");
    write_config_with(
        &config,
        port,
        &url,
        true,
        "    metadata_config: {send_interval: 1s}\n",
    );
    let s = start(tmp.path(), &config, port, "run");
    s.wait_for("the process_cpu_seconds_total metadata", || {
        let md = received.metadata.lock().unwrap();
        md.iter()
            .find(|(family, _, _)| family == "process_cpu_seconds_total")
            .cloned()
    });
    let md = received.metadata.lock().unwrap();
    let cpu = md
        .iter()
        .find(|(family, _, _)| family == "process_cpu_seconds_total")
        .unwrap();
    assert_eq!(cpu.1, v1::MetricType::Counter as i32, "{cpu:?}");
    assert!(!cpu.2.is_empty(), "{cpu:?}");
    let metrics = s
        .http
        .get(s.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.lines().any(
            |l| l.starts_with("prometheus_remote_storage_metadata_total{") && !l.ends_with(" 0")
        ),
        "{metrics}"
    );
}
