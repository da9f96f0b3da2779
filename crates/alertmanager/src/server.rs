//! The Alertmanager of a bongsu server: the alert store, silences and notification log that
//! outlive configuration reloads, and per configuration the routing tree, inhibitor,
//! receivers and dispatcher, replaced as a whole on reload.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use parking_lot::RwLock;
use thiserror::Error;

use crate::config::{load_templates, Config, ConfigError};
use crate::dispatch::{Dispatcher, GroupLimit, DEFAULT_MAX_AGGREGATION_GROUPS};
use crate::inhibit::Inhibitor;
use crate::nflog::NotificationLog;
use crate::notify::{integrations, NotifyMetrics, Pipeline};
use crate::provider::{AlertLimits, AlertStore, GC_INTERVAL};
use crate::route::Route;
use crate::silence::{SilenceLimits, Silences, DEFAULT_RETENTION};
use crate::snapshot::SnapshotError;
use crate::types::{Alert, Clock};

/// The configuration used without `--alertmanager.config.file`: everything goes to one
/// receiver that logs it.
const DEFAULT_CONFIG: &str =
    "route:\n  receiver: default\n  group_by: ['alertname']\nreceivers:\n- name: default\n";

/// How often the notification log is written if it changed.
const NFLOG_SNAPSHOT_INTERVAL: Duration = Duration::from_secs(1);
/// How often expired silences and notification-log entries are dropped.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Error)]
pub enum AlertmanagerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("receiver {receiver:?}: {message}")]
    Receiver { receiver: String, message: String },
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("the alert GC interval must be greater than zero")]
    ZeroGcInterval,
    #[error("creating {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
}

/// Settings from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where silences and the notification log are kept; in memory only if `None`.
    pub data_dir: Option<PathBuf>,
    /// How long silences and notification-log entries are kept after they end.
    pub retention: Duration,
    /// The URL this server is reached at, for notifications.
    pub external_url: String,
    /// Alertmanager's `--silences.max-silences` and `--silences.max-silence-size-bytes`.
    pub silence_limits: SilenceLimits,
    /// Alertmanager's `--alerts.per-alertname-limit` and bongsu's `--alertmanager.max-alerts`.
    pub alert_limits: AlertLimits,
    /// bongsu's `--alertmanager.max-aggregation-groups`; `None` sets no limit.
    pub max_aggregation_groups: Option<usize>,
    /// Alertmanager's `--alerts.gc-interval`: how often resolved alerts are dropped. Must
    /// not be zero.
    pub alert_gc_interval: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            data_dir: None,
            retention: DEFAULT_RETENTION,
            external_url: String::new(),
            silence_limits: SilenceLimits::default(),
            alert_limits: AlertLimits::default(),
            max_aggregation_groups: Some(DEFAULT_MAX_AGGREGATION_GROUPS),
            alert_gc_interval: GC_INTERVAL,
        }
    }
}

/// What one configuration builds.
pub struct Running {
    pub config: Config,
    pub route: Arc<Route>,
    pub inhibitor: Arc<Inhibitor>,
    pub dispatcher: Arc<Dispatcher>,
    inhibitor_task: tokio::task::JoinHandle<()>,
}

impl Running {
    fn stop(&self) {
        self.dispatcher.stop();
        self.inhibitor_task.abort();
    }
}

/// The Alertmanager.
pub struct Alertmanager {
    pub clock: Clock,
    pub store: Arc<AlertStore>,
    pub silences: Arc<Silences>,
    pub nflog: Arc<NotificationLog>,
    pub metrics: Arc<NotifyMetrics>,
    pub started: Timestamp,
    opts: Options,
    group_limit: Arc<GroupLimit>,
    running: RwLock<Option<Arc<Running>>>,
    received_firing: AtomicU64,
    received_resolved: AtomicU64,
    received_invalid: AtomicU64,
    reloads: metrics::Reloads,
    tasks: parking_lot::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Alertmanager {
    /// Opens the persisted state and starts with `config` (the default one if `None`).
    /// Must run inside a tokio runtime.
    pub fn start(
        opts: Options,
        config: Option<Config>,
        clock: Clock,
    ) -> Result<Arc<Alertmanager>, AlertmanagerError> {
        if opts.alert_gc_interval.is_zero() {
            return Err(AlertmanagerError::ZeroGcInterval);
        }
        if let Some(d) = &opts.data_dir {
            std::fs::create_dir_all(d).map_err(|source| AlertmanagerError::DataDir {
                path: d.display().to_string(),
                source,
            })?;
        }
        let file = |name: &str| opts.data_dir.as_ref().map(|d| d.join(name));
        let silences = Arc::new(
            Silences::open(file("silences"), opts.retention, clock)?
                .with_limits(opts.silence_limits),
        );
        let nflog = Arc::new(NotificationLog::open(file("nflog"), clock)?);
        let am = Arc::new(Alertmanager {
            clock,
            store: Arc::new(AlertStore::new(clock).with_limits(opts.alert_limits)),
            silences,
            nflog,
            metrics: Arc::new(NotifyMetrics::default()),
            started: clock.now(),
            group_limit: Arc::new(GroupLimit::new(opts.max_aggregation_groups)),
            opts,
            running: RwLock::new(None),
            received_firing: AtomicU64::new(0),
            received_resolved: AtomicU64::new(0),
            received_invalid: AtomicU64::new(0),
            reloads: metrics::Reloads::default(),
            tasks: parking_lot::Mutex::new(Vec::new()),
        });
        am.apply_config(config)?;
        let me = am.clone();
        let snapshots = tokio::spawn(async move {
            let mut tick = tokio::time::interval(NFLOG_SNAPSHOT_INTERVAL);
            loop {
                tick.tick().await;
                if let Err(e) = me.nflog.persist() {
                    tracing::error!(error = %e, "writing the notification log snapshot failed");
                }
            }
        });
        let me = am.clone();
        let maintenance = tokio::spawn(async move {
            let mut tick = tokio::time::interval(MAINTENANCE_INTERVAL);
            loop {
                tick.tick().await;
                me.silences.gc();
                me.nflog.gc();
            }
        });
        let me = am.clone();
        let alert_gc = tokio::spawn(async move {
            let mut tick = tokio::time::interval(me.opts.alert_gc_interval);
            tick.tick().await;
            loop {
                tick.tick().await;
                me.store.gc();
            }
        });
        am.tasks.lock().extend([snapshots, maintenance, alert_gc]);
        Ok(am)
    }

    /// Replaces the running configuration; on error the old one stays. Either way the
    /// outcome is what `alertmanager_config_last_reload_successful` reports.
    pub fn apply_config(&self, config: Option<Config>) -> Result<(), AlertmanagerError> {
        let result = self.swap_config(config);
        self.reloads.record(result.is_ok(), self.clock.now());
        result
    }

    /// Records a configuration file that failed to load before reaching [`Self::apply_config`].
    pub fn config_load_failed(&self) {
        self.reloads.record(false, self.clock.now());
    }

    fn swap_config(&self, config: Option<Config>) -> Result<(), AlertmanagerError> {
        let default = config.is_none();
        let config = match config {
            Some(c) => c,
            None => Config::parse(DEFAULT_CONFIG, None)?,
        };
        let templates = Arc::new(load_templates(&config.templates)?);
        let mut receivers = HashMap::new();
        for r in &config.receivers {
            let list = integrations(r, &templates, default).map_err(|message| {
                AlertmanagerError::Receiver {
                    receiver: r.name.clone(),
                    message,
                }
            })?;
            receivers.insert(r.name.clone(), list);
        }
        let route = Arc::new(Route::new(&config.route));
        let (inhibitor, inhibitor_task) = Inhibitor::start(&config.inhibit_rules, &self.store);
        let pipeline = Arc::new(Pipeline {
            receivers,
            inhibitor: inhibitor.clone(),
            silences: self.silences.clone(),
            nflog: self.nflog.clone(),
            time_intervals: config.time_intervals.clone(),
            clock: self.clock,
            external_url: self.opts.external_url.clone(),
            metrics: self.metrics.clone(),
            store: self.store.clone(),
        });
        let old = self.running.write().take();
        if let Some(old) = old {
            old.stop();
        }
        let dispatcher = Dispatcher::start(
            route.clone(),
            pipeline,
            &self.store,
            self.group_limit.clone(),
        );
        *self.running.write() = Some(Arc::new(Running {
            config,
            route,
            inhibitor,
            dispatcher,
            inhibitor_task,
        }));
        Ok(())
    }

    /// The running configuration and what it built.
    pub fn running(&self) -> Option<Arc<Running>> {
        self.running.read().clone()
    }

    /// Counts alerts received through the API: valid ones by status, and invalid ones.
    pub fn metrics_alerts_received(&self, valid: &[Alert], invalid: usize, now: Timestamp) {
        for a in valid {
            let c = if a.resolved_at(now) {
                &self.received_resolved
            } else {
                &self.received_firing
            };
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.received_invalid
            .fetch_add(invalid as u64, Ordering::Relaxed);
    }

    /// Stops everything and writes the notification log.
    pub fn shutdown(&self) {
        if let Some(r) = self.running.write().take() {
            r.stop();
        }
        for t in self.tasks.lock().drain(..) {
            t.abort();
        }
        if let Err(e) = self.nflog.persist() {
            tracing::error!(error = %e, "writing the notification log snapshot failed");
        }
    }
}

mod metrics;
pub(crate) use metrics::BUILD;

#[cfg(test)]
mod tests;
