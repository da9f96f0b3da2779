//! Posting batches to Alertmanagers: one request per Alertmanager, all of a batch at once,
//! each bounded by its config's timeout, with the outcome counted per Alertmanager URL.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::task::JoinSet;

use bongsu_httpclient::with_auth;
use bongsu_model::alert::Alert;
use bongsu_relabel::relabel;
use bongsu_telemetry::{HistogramVec, LATENCY_BUCKETS};

use super::AmSet;

const USER_AGENT: &str = concat!("bongsu/", env!("CARGO_PKG_VERSION"));

#[derive(Default, Clone, Copy)]
struct PerUrl {
    sent: u64,
    errors: u64,
    latency_sum: Duration,
    requests: u64,
}

/// Counts of the sender, rendered on `/metrics` under Prometheus' names.
pub struct SendMetrics {
    per_url: Mutex<BTreeMap<String, PerUrl>>,
    latency: HistogramVec,
}

impl Default for SendMetrics {
    fn default() -> SendMetrics {
        SendMetrics {
            per_url: Mutex::new(BTreeMap::new()),
            latency: HistogramVec::new("alertmanager", LATENCY_BUCKETS),
        }
    }
}

impl SendMetrics {
    fn record(&self, url: &str, count: usize, ok: bool, took: Duration) {
        let mut m = self.per_url.lock();
        let e = m.entry(url.to_string()).or_default();
        e.sent += count as u64;
        if !ok {
            e.errors += count as u64;
        }
        e.latency_sum += took;
        e.requests += 1;
        drop(m);
        self.latency.observe(url, took);
    }

    /// `(sent, errors)` for one Alertmanager URL.
    pub fn counts(&self, url: &str) -> (u64, u64) {
        self.per_url
            .lock()
            .get(url)
            .map_or((0, 0), |e| (e.sent, e.errors))
    }

    pub fn render(&self, out: &mut String) {
        let m = self.per_url.lock().clone();
        let label = |u: &str| {
            format!(
                "{{alertmanager=\"{}\"}}",
                u.replace('\\', "\\\\").replace('"', "\\\"")
            )
        };
        let mut family = |name: &str, help: &str, f: &dyn Fn(&PerUrl) -> u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (u, e) in &m {
                let _ = writeln!(out, "{name}{} {}", label(u), f(e));
            }
        };
        family(
            "prometheus_notifications_sent_total",
            "Total number of alerts sent.",
            &|e| e.sent,
        );
        family(
            "prometheus_notifications_errors_total",
            "Total number of sent alerts affected by errors.",
            &|e| e.errors,
        );
        let name = "prometheus_notifications_latency_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Latency quantiles for sending alert notifications.\n# TYPE {name} summary"
        );
        for (u, e) in &m {
            let l = label(u);
            let _ = writeln!(out, "{name}_sum{l} {}", e.latency_sum.as_secs_f64());
            let _ = writeln!(out, "{name}_count{l} {}", e.requests);
        }
        self.latency.render(
            out,
            "prometheus_notifications_latency_histogram_seconds",
            "Latency histogram for sending alert notifications.",
        );
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
