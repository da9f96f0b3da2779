//! Alert notification, as Prometheus' `notifier` package: takes the alerts rule evaluation
//! decides to send ([`Notifier::send`]), adds external labels, applies
//! `alert_relabel_configs`, and delivers them to
//! - an optional in-process receiver (`AlertReceiver`, for the built-in Alertmanager), at once;
//! - every Alertmanager of `alerting.alertmanagers`, through a bounded queue drained by one
//!   sender task in batches posted as Alertmanager v2 JSON.
//!
//! It owns Alertmanager discovery for sending and the `prometheus_notifications_*` metrics.
//! It does not decide when alerts are (re)sent — that is the rules' resend logic — and
//! imports neither `rules` nor `alertmanager`: both are wired to it by the binary through
//! [`bongsu_model::alert`].

pub mod queue;
pub mod send;
pub mod targets;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use bongsu_model::alert::{Alert, AlertReceiver};
use queue::Queue;
use send::{send_all, SendMetrics};
use targets::{discover, Discovered};

use bongsu_config::{AlertmanagerConfig, Config};
use bongsu_httpclient::client;
use bongsu_model::Labels;
use bongsu_relabel::{relabel, RelabelConfig};
use bongsu_telemetry::{Encoder, Family};

/// Default of `--alertmanager.notification-queue-capacity`.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;

/// Settings from the command line.
#[derive(Debug, Clone)]
pub struct NotifierOptions {
    /// `--alertmanager.notification-queue-capacity`.
    pub queue_capacity: usize,
    /// `--alertmanager.drain-notification-queue-on-shutdown`.
    pub drain_on_shutdown: bool,
}

impl Default for NotifierOptions {
    fn default() -> NotifierOptions {
        NotifierOptions {
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            drain_on_shutdown: true,
        }
    }
}

/// One `alertmanagers` entry at run time.
pub struct AmSet {
    pub cfg: AlertmanagerConfig,
    client: reqwest::Client,
    pub discovered: RwLock<Discovered>,
}

#[derive(Default)]
struct Settings {
    external_labels: Labels,
    relabel: Vec<RelabelConfig>,
    sets: Vec<Arc<AmSet>>,
}

pub struct Notifier {
    opts: NotifierOptions,
    queue: Queue,
    settings: RwLock<Arc<Settings>>,
    receiver: RwLock<Option<Arc<dyn AlertReceiver>>>,
    metrics: Arc<SendMetrics>,
    stop: watch::Sender<bool>,
    sender: Mutex<Option<JoinHandle<()>>>,
    refresh: Mutex<Option<JoinHandle<()>>>,
}

impl Notifier {
    /// A notifier with no Alertmanagers; `start` runs its sender, `apply` configures it.
    pub fn new(opts: NotifierOptions) -> Arc<Notifier> {
        Arc::new(Notifier {
            queue: Queue::new(opts.queue_capacity.max(1)),
            opts,
            settings: RwLock::new(Arc::new(Settings::default())),
            receiver: RwLock::new(None),
            metrics: Arc::new(SendMetrics::default()),
            stop: watch::channel(false).0,
            sender: Mutex::new(None),
            refresh: Mutex::new(None),
        })
    }

    /// Connects the in-process receiver; alerts go to it besides the configured Alertmanagers.
    pub fn set_receiver(&self, r: Arc<dyn AlertReceiver>) {
        *self.receiver.write() = Some(r);
    }

    /// Starts the sender task (on the current Tokio runtime).
    pub fn start(self: &Arc<Self>) {
        let me = self.clone();
        let stop = self.stop.subscribe();
        *self.sender.lock() = Some(tokio::spawn(me.run(stop)));
    }

    /// Takes the `alerting` section and external labels of `config`. On error (an HTTP client
    /// that cannot be built) nothing changes.
    pub fn apply(self: &Arc<Self>, config: &Config) -> Result<(), String> {
        let mut sets = Vec::with_capacity(config.alerting.alertmanagers.len());
        for (i, cfg) in config.alerting.alertmanagers.iter().enumerate() {
            let client =
                client(&cfg.http, true).map_err(|e| format!("alertmanager config {i}: {e}"))?;
            sets.push(Arc::new(AmSet {
                discovered: RwLock::new(discover(cfg)),
                cfg: cfg.clone(),
                client,
            }));
        }
        let refresh = sets
            .iter()
            .flat_map(|s| s.cfg.file_sd_configs.iter().map(|f| f.refresh_interval))
            .min();
        *self.settings.write() = Arc::new(Settings {
            external_labels: config.global.external_labels.clone(),
            relabel: config.alerting.alert_relabel_configs.clone(),
            sets,
        });
        let task = refresh.map(|every| tokio::spawn(self.clone().refresh(every)));
        if let Some(old) = std::mem::replace(&mut *self.refresh.lock(), task) {
            old.abort();
        }
        Ok(())
    }

    /// Re-reads file_sd files of the current sets every `every`.
    async fn refresh(self: Arc<Self>, every: Duration) {
        let mut tick = tokio::time::interval(every.max(Duration::from_secs(1)));
        tick.tick().await;
        loop {
            tick.tick().await;
            let settings = self.settings.read().clone();
            for set in &settings.sets {
                if !set.cfg.file_sd_configs.is_empty() {
                    let d = discover(&set.cfg);
                    *set.discovered.write() = d;
                }
            }
        }
    }

    /// Adds external labels and applies `alert_relabel_configs`, then hands the alerts to the
    /// in-process receiver and, when Alertmanagers are configured, to the send queue.
    pub fn send(&self, alerts: Vec<Alert>) {
        let settings = self.settings.read().clone();
        let alerts: Vec<Alert> = alerts
            .into_iter()
            .filter_map(|mut a| {
                if !settings.external_labels.is_empty() {
                    let mut b = a.labels.builder();
                    for l in settings.external_labels.iter() {
                        if a.labels.get(&l.name).is_none_or(str::is_empty) {
                            b.set(l.name.clone(), l.value.clone());
                        }
                    }
                    a.labels = b.build().ok()?;
                }
                if !settings.relabel.is_empty() {
                    a.labels = relabel(&a.labels, &settings.relabel)?;
                }
                Some(a)
            })
            .collect();
        if alerts.is_empty() {
            return;
        }
        if let Some(r) = self.receiver.read().clone() {
            r.receive(&alerts);
        }
        if !settings.sets.is_empty() {
            self.queue.push(alerts);
        }
    }

    async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                break;
            }
            if self.queue.is_empty() {
                tokio::select! {
                    _ = self.queue.more.notified() => {}
                    _ = stop.changed() => break,
                }
            }
            self.send_batch().await;
        }
        if self.opts.drain_on_shutdown {
            while !self.queue.is_empty() {
                self.send_batch().await;
            }
        }
    }

    async fn send_batch(&self) {
        let batch = self.queue.batch();
        if batch.is_empty() {
            return;
        }
        let sets = self.settings.read().sets.clone();
        if !send_all(&sets, &batch, &self.metrics).await {
            self.queue
                .dropped
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
        }
    }

    /// Stops the sender, first sending what is queued with drain-on-shutdown.
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.refresh.lock().take() {
            t.abort();
        }
        let sender = self.sender.lock().take();
        if let Some(t) = sender {
            let _ = t.await;
        }
    }

    /// `(active, dropped)` Alertmanager URLs over every set, for `/api/v1/alertmanagers`.
    pub fn alertmanagers(&self) -> (Vec<String>, Vec<String>) {
        let settings = self.settings.read().clone();
        let mut active = Vec::new();
        let mut dropped = Vec::new();
        for s in &settings.sets {
            let d = s.discovered.read();
            active.extend(d.active.iter().cloned());
            dropped.extend(d.dropped.iter().cloned());
        }
        (active, dropped)
    }

    /// `(sent, errors)` so far for one Alertmanager URL.
    pub fn counts(&self, url: &str) -> (u64, u64) {
        self.metrics.counts(url)
    }

    /// Writes the `prometheus_notifications_*` families.
    pub fn write_metrics(&self, enc: &mut Encoder<'_>) {
        enc.single(&DROPPED, self.queue.dropped.load(Ordering::Relaxed) as f64);
        enc.single(&QUEUE_LENGTH, self.queue.len() as f64);
        enc.single(&QUEUE_CAPACITY, self.queue.capacity() as f64);
        enc.single(&DISCOVERED, self.alertmanagers().0.len() as f64);
        self.metrics.encode(enc);
    }
}

static DROPPED: Family = Family::counter(
    "prometheus_notifications_dropped_total",
    "Total number of alerts dropped due to errors when sending to Alertmanager.",
    &[],
);
static QUEUE_LENGTH: Family = Family::gauge(
    "prometheus_notifications_queue_length",
    "The number of alert notifications in the queue.",
    &[],
);
static QUEUE_CAPACITY: Family = Family::gauge(
    "prometheus_notifications_queue_capacity",
    "The capacity of the alert notifications queue.",
    &[],
);
static DISCOVERED: Family = Family::gauge(
    "prometheus_notifications_alertmanagers_discovered",
    "The number of alertmanagers discovered and active.",
    &[],
);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(parking_lot::Mutex<Vec<Alert>>);

    impl AlertReceiver for Collect {
        fn receive(&self, alerts: &[Alert]) {
            self.0.lock().extend_from_slice(alerts);
        }
    }

    fn alert(name: &str, ends_at: Option<i64>) -> Alert {
        Alert {
            labels: Labels::from_pairs(&[("alertname", name), ("env", "own")]).unwrap(),
            annotations: Default::default(),
            starts_at: 2_000,
            ends_at,
            generator_url: "http://bongsu:9090/graph?g0.expr=up&g0.tab=1".into(),
        }
    }

    #[test]
    fn receiver_gets_relabeled_alerts_and_nothing_queues_without_alertmanagers() {
        let n = Notifier::new(NotifierOptions::default());
        let config = Config::parse(
            "global:\n  external_labels: {env: ext, cluster: c}\nalerting:\n  alert_relabel_configs:\n    - {source_labels: [alertname], regex: Drop, action: drop}\n",
            "t.yml",
        )
        .unwrap();
        n.apply(&config).unwrap();
        let got = Arc::new(Collect::default());
        n.set_receiver(got.clone());
        n.send(vec![alert("Keep", Some(243_000)), alert("Drop", None)]);
        n.send(vec![alert("Gone", Some(5_000))]);
        let got = got.0.lock().clone();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].labels,
            Labels::from_pairs(&[("alertname", "Keep"), ("cluster", "c"), ("env", "own")]).unwrap()
        );
        assert_eq!((got[0].starts_at, got[0].ends_at), (2_000, Some(243_000)));
        assert_eq!(got[1].ends_at, Some(5_000));
        assert_eq!(n.queue.len(), 0);
    }
}
