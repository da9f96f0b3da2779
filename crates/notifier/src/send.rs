//! Posting batches to Alertmanagers: one request per Alertmanager, all of a batch at once,
//! each bounded by its config's timeout, with the outcome counted per Alertmanager URL.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::task::JoinSet;

use bongsu_httpclient::with_auth;
use bongsu_model::alert::Alert;
use bongsu_relabel::relabel;
use bongsu_telemetry::{
    Counter, Encoder, Family, FamilyEncoder, Histogram, Summary, ENGINE_QUANTILES, LATENCY_BUCKETS,
};

use super::AmSet;

const USER_AGENT: &str = concat!("bongsu/", env!("CARGO_PKG_VERSION"));

static SENT: Family = Family::counter(
    "prometheus_notifications_sent_total",
    "Total number of alerts sent.",
    &["alertmanager"],
);
static ERRORS: Family = Family::counter(
    "prometheus_notifications_errors_total",
    "Total number of sent alerts affected by errors.",
    &["alertmanager"],
);
static LATENCY: Family = Family::summary(
    "prometheus_notifications_latency_seconds",
    "Latency quantiles for sending alert notifications.",
    &["alertmanager"],
);
static LATENCY_HISTOGRAM: Family = Family::histogram(
    "prometheus_notifications_latency_histogram_seconds",
    "Latency histogram for sending alert notifications.",
    &["alertmanager"],
);

struct PerUrl {
    sent: Counter,
    errors: Counter,
    latency: Summary,
    histogram: Histogram,
}

/// Counts of the sender per Alertmanager URL, rendered on `/metrics` under Prometheus' names.
#[derive(Default)]
pub struct SendMetrics {
    per_url: Mutex<BTreeMap<String, Arc<PerUrl>>>,
}

impl SendMetrics {
    fn record(&self, url: &str, count: usize, ok: bool, took: Duration) {
        let e = self
            .per_url
            .lock()
            .entry(url.to_string())
            .or_insert_with(|| {
                Arc::new(PerUrl {
                    sent: Counter::new(),
                    errors: Counter::new(),
                    latency: Summary::new(ENGINE_QUANTILES),
                    histogram: Histogram::new(LATENCY_BUCKETS),
                })
            })
            .clone();
        e.sent.add(count as u64);
        if !ok {
            e.errors.add(count as u64);
        }
        e.latency.observe(took);
        e.histogram.observe(took);
    }

    /// `(sent, errors)` for one Alertmanager URL.
    pub fn counts(&self, url: &str) -> (u64, u64) {
        self.per_url
            .lock()
            .get(url)
            .map_or((0, 0), |e| (e.sent.get(), e.errors.get()))
    }

    pub fn encode(&self, enc: &mut Encoder<'_>) {
        let m: Vec<(String, Arc<PerUrl>)> = self
            .per_url
            .lock()
            .iter()
            .map(|(u, e)| (u.clone(), e.clone()))
            .collect();
        let mut each = |family: &Family, f: &dyn Fn(&mut FamilyEncoder<'_>, &str, &PerUrl)| {
            let mut fe = enc.family(family);
            for (u, e) in &m {
                f(&mut fe, u, e);
            }
        };
        each(&SENT, &|fe, u, e| {
            fe.metric(&[u], &e.sent);
        });
        each(&ERRORS, &|fe, u, e| {
            fe.metric(&[u], &e.errors);
        });
        each(&LATENCY, &|fe, u, e| {
            fe.metric(&[u], &e.latency);
        });
        each(&LATENCY_HISTOGRAM, &|fe, u, e| {
            fe.metric(&[u], &e.histogram);
        });
    }
}

/// Sends `alerts` to every Alertmanager of every set; true when at least one took them.
pub async fn send_all(sets: &[Arc<AmSet>], alerts: &[Alert], metrics: &Arc<SendMetrics>) -> bool {
    let mut requests = JoinSet::new();
    for set in sets {
        let urls = set.discovered.read().active.clone();
        if urls.is_empty() {
            continue;
        }
        let relabeled;
        let alerts = if set.cfg.alert_relabel_configs.is_empty() {
            alerts
        } else {
            relabeled = alerts
                .iter()
                .filter_map(|a| {
                    relabel(&a.labels, &set.cfg.alert_relabel_configs).map(|labels| Alert {
                        labels,
                        ..a.clone()
                    })
                })
                .collect::<Vec<_>>();
            &relabeled
        };
        if alerts.is_empty() {
            continue;
        }
        let payload = match serde_json::to_vec(alerts) {
            Ok(p) => bytes::Bytes::from(p),
            Err(e) => {
                tracing::error!(error = %e, "encoding alerts failed");
                continue;
            }
        };
        for url in urls {
            let set = set.clone();
            let payload = payload.clone();
            let metrics = metrics.clone();
            let count = alerts.len();
            requests.spawn(async move {
                let begin = Instant::now();
                let result = post(&set, &url, payload).await;
                if let Err(e) = &result {
                    tracing::error!(alertmanager = %url, count, error = %e, "error sending alerts");
                }
                metrics.record(&url, count, result.is_ok(), begin.elapsed());
                result.is_ok()
            });
        }
    }
    let mut any = false;
    while let Some(r) = requests.join_next().await {
        any |= r.unwrap_or(false);
    }
    any
}

async fn post(set: &AmSet, url: &str, payload: bytes::Bytes) -> Result<(), String> {
    let req = set
        .client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, USER_AGENT)
        .body(payload);
    let req = with_auth(&set.cfg.http, req).map_err(|e| e.to_string())?;
    let resp = tokio::time::timeout(set.cfg.timeout, req.send())
        .await
        .map_err(|_| format!("context deadline exceeded after {:?}", set.cfg.timeout))?
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("bad response status {status}"));
    }
    Ok(())
}
