//! The in-process Alertmanager that the `alertmanager_*` tests drive: started on a parsed
//! configuration with its API on a free port, with helpers to post alerts, read the API and
//! wait for metrics. Included with `#[path]` by those tests only.

// Each test crate includes this module and uses only part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use bongsu_alertmanager::config::Config;
use bongsu_alertmanager::server::{Alertmanager, Options};
use bongsu_alertmanager::types::Clock;

/// Every wait in these tests is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(30);

pub struct Server {
    pub am: Arc<Alertmanager>,
    pub url: String,
    pub http: reqwest::Client,
}

/// Starts an Alertmanager on `cfg` and serves its API on 127.0.0.1.
pub async fn start(cfg: Config, opts: Options) -> Server {
    let am = Alertmanager::start(opts, Some(cfg), Clock::new()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = bongsu_alertmanager::api::router(am.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        am,
        url: format!("http://{addr}"),
        http: reqwest::Client::new(),
    }
}

/// Options with `external_url` and no data directory.
pub fn options(external_url: &str) -> Options {
    Options {
        external_url: external_url.into(),
        ..Options::default()
    }
}

impl Server {
    /// POSTs JSON to `path`; the status and the JSON answer (null if none).
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        let code = r.status().as_u16();
        (code, r.json().await.unwrap_or(Value::Null))
    }

    /// Posts alerts to `/api/v2/alerts`, which must accept them.
    pub async fn post_alerts(&self, alerts: Value) {
        let (code, answer) = self.post("/api/v2/alerts", alerts).await;
        assert_eq!(code, 200, "{answer}");
    }

    pub async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until the metric reaches `at_least` (a receiver sees a notification a moment
    /// before the pipeline counts it); an absent metric counts as 0.
    pub async fn wait_for(&self, line_prefix: &str, at_least: f64) {
        tokio::time::timeout(LIMIT, async {
            while self.metric_or_zero(line_prefix) < at_least {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{line_prefix} did not reach {at_least}"));
    }

    /// The value of the metric line starting with `line_prefix`, which must exist.
    pub fn metric(&self, line_prefix: &str) -> f64 {
        let out = self.metrics();
        out.lines()
            .find_map(|l| l.strip_prefix(line_prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no metric {line_prefix} in\n{out}"))
    }

    pub fn metric_or_zero(&self, line_prefix: &str) -> f64 {
        self.metrics()
            .lines()
            .find_map(|l| l.strip_prefix(line_prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    fn metrics(&self) -> String {
        let mut out = String::new();
        self.am
            .write_metrics(&mut bongsu_telemetry::Encoder::new(&mut out));
        out
    }
}

/// The next item a test receiver got, within [`LIMIT`].
pub async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(LIMIT, rx.recv())
        .await
        .expect("a notification in time")
        .expect("receiver running")
}
