//! The rule manager: loads `rule_files` (PromQL) and `log_rule_files` (LogQL) from the
//! configuration, runs one task per group (groups in parallel, each on Prometheus'
//! evaluation slots), and swaps groups on reload keeping the state of those that stay.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::RwLock;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use bongsu_config::Config;
use bongsu_promql::Engine;
use bongsu_storage::Storage;

use super::file::{parse_file_as, QueryLang};
use super::group::{AlertSink, EvalContext, Group, GroupSettings, GroupStats, LogContext};
use super::logs::{LogQuerier, LogQueryFn};
use super::metrics::ManagerMetrics;
use super::template::{PromTemplates, TemplateExpander};

/// Settings from the command line.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// `--rules.alert.for-outage-tolerance`: how long a server may be down for `for` state to
    /// be restored.
    pub outage_tolerance: Duration,
    /// `--rules.alert.for-grace-period`: least time between restore and firing.
    pub grace_period: Duration,
    /// `--rules.alert.resend-delay`: least time between sends of one alert.
    pub resend_delay: Duration,
    /// `--web.external-url`, for templates.
    pub external_url: String,
}

impl Default for ManagerOptions {
    fn default() -> ManagerOptions {
        ManagerOptions {
            outage_tolerance: Duration::from_secs(3600),
            grace_period: Duration::from_secs(600),
            resend_delay: Duration::from_secs(60),
            external_url: String::new(),
        }
    }
}

/// What a reload changes for every group.
#[derive(Clone, Copy)]
struct Globals {
    default_query_offset: Duration,
}

/// The log store's querier and the alert templates whose `query` runs LogQL.
type LogParts = (Arc<dyn LogQuerier>, Arc<PromTemplates>);

struct Shared {
    db: Arc<dyn Storage>,
    engine: Engine,
    templates: Arc<dyn TemplateExpander>,
    sink: Option<Arc<dyn AlertSink>>,
    /// The log store's querier and the templates whose `query` runs LogQL; unset while the
    /// server has no log store (LogQL rules then fail with a clear error).
    logs: RwLock<Option<LogParts>>,
    opts: ManagerOptions,
    globals: RwLock<Globals>,
    /// Turns true on shutdown: pending stale-marking of removed groups is abandoned.
    shutdown: watch::Sender<bool>,
    metrics: ManagerMetrics,
}

struct Running {
    group: Arc<Group>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

type GroupKey = (String, String);

pub struct RuleManager {
    shared: Arc<Shared>,
    running: tokio::sync::Mutex<BTreeMap<GroupKey, Running>>,
    /// The groups by (file, name), for readers (the API).
    groups: RwLock<Vec<Arc<Group>>>,
    /// Set after the first load: later groups start restored (Prometheus restores `for`
    /// state only for the rules loaded at start).
    loaded_once: AtomicBool,
}

impl RuleManager {
    pub fn new(
        db: Arc<dyn Storage>,
        engine: Engine,
        templates: Arc<dyn TemplateExpander>,
        sink: Option<Arc<dyn AlertSink>>,
        opts: ManagerOptions,
    ) -> RuleManager {
        RuleManager {
            shared: Arc::new(Shared {
                db,
                engine,
                templates,
                sink,
                logs: RwLock::new(None),
                opts,
                globals: RwLock::new(Globals {
                    default_query_offset: Duration::ZERO,
                }),
                shutdown: watch::channel(false).0,
                metrics: ManagerMetrics::default(),
            }),
            running: tokio::sync::Mutex::new(BTreeMap::new()),
            groups: RwLock::new(Vec::new()),
            loaded_once: AtomicBool::new(false),
        }
    }

    /// Gives LogQL rules the log store to query (through `logs`).
    pub fn set_log_querier(&self, logs: Arc<dyn LogQuerier>) {
        let templates = PromTemplates::with_query(Arc::new(LogQueryFn { logs: logs.clone() }));
        *self.shared.logs.write() = Some((logs, Arc::new(templates)));
    }

    pub(crate) fn metrics(&self) -> &ManagerMetrics {
        &self.shared.metrics
    }

    /// The running groups, sorted by file then name.
    pub fn groups(&self) -> Vec<Arc<Group>> {
        self.groups.read().clone()
    }

    /// Loads the configuration's rule files and runs their groups. If any file fails, nothing
    /// changes and the error lists every problem.
    pub async fn update(&self, config: &Config) -> Result<(), String> {
        let mut files: Vec<(PathBuf, QueryLang)> = rule_files(config)?
            .into_iter()
            .map(|f| (f, QueryLang::Promql))
            .collect();
        files.extend(
            log_rule_files(config)?
                .into_iter()
                .map(|f| (f, QueryLang::Logql)),
        );
        let scheme = config.global.metric_name_validation_scheme;
        let templates = self.shared.templates.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let mut errors = Vec::new();
            for (f, lang) in files {
                match parse_file_as(&f, lang, scheme, &*templates) {
                    Ok(g) => out.push((f.display().to_string(), g)),
                    Err(e) => errors.extend(e.0),
                }
            }
            (out, errors)
        })
        .await
        .map_err(|e| format!("loading rule files: {e}"))?;
        let (loaded, errors) = loaded;
        if !errors.is_empty() {
            for e in &errors {
                tracing::error!(error = %e, "loading groups failed");
            }
            return Err(format!(
                "error loading rules, previous rule set restored: {}",
                errors.join("; ")
            ));
        }
        let external_labels: BTreeMap<String, String> = config
            .global
            .external_labels
            .iter()
            .map(|l| (l.name.to_string(), l.value.to_string()))
            .collect();
        let should_restore = !self.loaded_once.load(Ordering::SeqCst);
        let settings = GroupSettings {
            default_interval: config.global.evaluation_interval,
            external_labels: &external_labels,
            external_url: &self.shared.opts.external_url,
            restored: !should_restore,
        };
        let mut new_groups = BTreeMap::new();
        for (file, rgs) in loaded {
            for def in rgs.groups {
                let key = (file.clone(), def.name.clone());
                new_groups.insert(key, Group::new(&file, def, &settings));
            }
        }
        *self.shared.globals.write() = Globals {
            default_query_offset: config.global.rule_query_offset,
        };

        let mut running = self.running.lock().await;
        let mut next = BTreeMap::new();
        for (key, group) in new_groups {
            match running.remove(&key) {
                Some(old) if old.group.same_definition(&group) => {
                    next.insert(key, old);
                }
                old => {
                    if let Some(old) = old {
                        let previous = old.group.clone();
                        old.stop().await;
                        group.copy_state_from(&previous);
                    }
                    next.insert(key, self.start(Arc::new(group), should_restore));
                }
            }
        }
        for (_, old) in std::mem::take(&mut *running) {
            let group = old.group.clone();
            old.stop().await;
            self.mark_stale_later(group);
        }
        *running = next;
        *self.groups.write() = running.values().map(|r| r.group.clone()).collect();
        self.loaded_once.store(true, Ordering::SeqCst);
        tracing::info!(groups = running.len(), "rule groups loaded");
        Ok(())
    }

    /// Stops every group (no stale markers: the series stay until the server is back).
    pub async fn stop(&self) {
        let _ = self.shared.shutdown.send(true);
        let mut running = self.running.lock().await;
        for (_, r) in std::mem::take(&mut *running) {
            r.stop().await;
        }
        self.groups.write().clear();
    }

    fn start(&self, group: Arc<Group>, should_restore: bool) -> Running {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run_group(
            self.shared.clone(),
            group.clone(),
            stopped,
            should_restore,
        ));
        Running { group, stop, task }
    }

    /// Marks a removed group's series stale after two of its intervals, which gives a rule
    /// renamed into another group time to write them first, as Prometheus does.
    fn mark_stale_later(&self, group: Arc<Group>) {
        let shared = self.shared.clone();
        let mut shutdown = shared.shutdown.subscribe();
        tokio::spawn(async move {
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => return,
                () = tokio::time::sleep(2 * group.interval) => {}
            }
            let db = shared.db.clone();
            let _ = tokio::task::spawn_blocking(move || group.mark_all_stale(&*db, now_ms())).await;
        });
    }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Expands the configuration's `rule_files` globs, in order.
pub fn rule_files(config: &Config) -> Result<Vec<PathBuf>, String> {
    expand_globs(config.rule_file_patterns())
}

/// Expands the configuration's `log_rule_files` globs, in order.
pub fn log_rule_files(config: &Config) -> Result<Vec<PathBuf>, String> {
    expand_globs(config.log_rule_file_patterns())
}

fn expand_globs(patterns: Vec<PathBuf>) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for pattern in patterns {
        let text = pattern.to_string_lossy();
        let paths = glob::glob(&text)
            .map_err(|e| format!("error retrieving rule files for {text}: {e}"))?;
        for p in paths {
            out.push(p.map_err(|e| format!("error retrieving rule files for {text}: {e}"))?);
        }
    }
    Ok(out)
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

fn now_ms() -> i64 {
    (now_ns() / 1_000_000) as i64
}

/// Sleeps until Unix time `at_ns`; false if the group was stopped meanwhile.
async fn sleep_until(at_ns: i128, stopped: &mut watch::Receiver<bool>) -> bool {
    let wait = Duration::from_nanos(u64::try_from(at_ns - now_ns()).unwrap_or(0));
    tokio::select! {
        _ = stopped.wait_for(|s| *s) => false,
        () = tokio::time::sleep(wait) => true,
    }
}

/// One group's life: the first evaluation on its next slot, `for` restore after the second
/// (so recording rules it depends on have run), then one evaluation per slot; slots missed
/// because an evaluation overran are skipped, as in Prometheus.
async fn run_group(
    shared: Arc<Shared>,
    group: Arc<Group>,
    mut stopped: watch::Receiver<bool>,
    should_restore: bool,
) {
    let interval = group.interval.as_nanos().max(1) as i128;
    let mut slot = group.eval_timestamp(now_ns()) + interval;
    let mut evaluations = 0u64;
    loop {
        if !sleep_until(slot, &mut stopped).await {
            return;
        }
        let late = now_ns() - slot;
        if late > interval {
            let missed = late / interval;
            tracing::warn!(group = %group.name, missed, "rule group evaluation slots missed");
            slot += missed * interval;
            let missed = u64::try_from(missed).unwrap_or(u64::MAX);
            group.metrics.missed.add(missed);
            group.metrics.iterations.add(missed);
        }
        group.metrics.iterations.inc();
        evaluate(&shared, &group, (slot / 1_000_000) as i64).await;
        evaluations += 1;
        if should_restore && evaluations == 2 {
            restore(&shared, &group).await;
        }
        slot += interval;
    }
}

async fn restore(shared: &Arc<Shared>, group: &Arc<Group>) {
    let (shared, group) = (shared.clone(), group.clone());
    let result = tokio::task::spawn_blocking(move || {
        group.restore_for_state(
            &*shared.db,
            now_ms(),
            shared.opts.outage_tolerance,
            shared.opts.grace_period,
        )
    })
    .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "restoring 'for' state failed");
    }
}

async fn evaluate(shared: &Arc<Shared>, group: &Arc<Group>, ts: i64) {
    let (shared, group) = (shared.clone(), group.clone());
    let result = tokio::task::spawn_blocking(move || {
        let globals = *shared.globals.read();
        let logs = shared.logs.read().clone();
        let ctx = EvalContext {
            db: &*shared.db,
            engine: &shared.engine,
            templates: &*shared.templates,
            default_query_offset: globals.default_query_offset,
            resend_delay: shared.opts.resend_delay,
            sink: shared.sink.as_deref(),
            logs: logs.as_ref().map(|(querier, templates)| LogContext {
                querier: &**querier,
                templates: &**templates,
            }),
        };
        let wall = SystemTime::now();
        let started = std::time::Instant::now();
        group.metrics.last_evaluation.set(ts as f64 / 1000.0);
        group.eval(&ctx, ts);
        let took = started.elapsed();
        shared.metrics.group_duration.observe(took);
        group.set_stats(GroupStats {
            evaluation_time: took,
            last_evaluation: Some(wall),
        });
    })
    .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "rule group evaluation task failed");
    }
}
