//! The scrape manager: one pool per `scrape_configs` job, each discovering its targets and
//! running one [`scrape_loop`](super::scrape_loop) per target. A reload keeps the loops of
//! targets whose pool settings, URL and labels did not change.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::discovery::{
    expand_patterns, populate, read_file_groups, PopulateSettings, Populated, TargetGroup,
};
use super::scrape_loop::{run, LoopSettings};
use super::target::{Health, Target};
use crate::model::Labels;
use crate::relabel::RelabelConfig;
use crate::tsdb::Db;

/// How often file_sd files are checked for changes (Prometheus watches them; a stat every few
/// seconds is as prompt for operators and needs no watcher).
const FILE_SD_CHECK: Duration = Duration::from_secs(5);

/// Longest wait for a stopping scrape loop to write its stale markers.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A `file_sd_configs` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSd {
    pub files: Vec<String>,
    pub refresh_interval: Duration,
}

/// Everything a pool needs, resolved from its scrape config.
pub struct PoolSpec {
    pub job: String,
    /// Differs whenever anything about scraping this job changed; a reload restarts the pool's
    /// loops only then.
    pub fingerprint: String,
    pub settings: Arc<LoopSettings>,
    pub client: reqwest::Client,
    pub scheme: String,
    pub metrics_path: String,
    pub params: Vec<(String, Vec<String>)>,
    pub relabel_configs: Vec<RelabelConfig>,
    pub static_groups: Vec<TargetGroup>,
    pub file_sd: Vec<FileSd>,
    /// More active targets than this (0: no limit) and none of the pool's targets is
    /// scraped, as in Prometheus.
    pub target_limit: usize,
    /// Dropped targets kept for the API (0: all).
    pub keep_dropped_targets: usize,
}

/// A pool's targets, for the API.
pub struct PoolState {
    pub job: String,
    pub interval: Duration,
    pub timeout: Duration,
    active: RwLock<Vec<Arc<Target>>>,
    dropped: RwLock<Vec<Labels>>,
}

impl PoolState {
    pub fn active(&self) -> Vec<Arc<Target>> {
        self.active.read().clone()
    }

    pub fn dropped(&self) -> Vec<Labels> {
        self.dropped.read().clone()
    }
}

struct RunningPool {
    fingerprint: String,
    state: Arc<PoolState>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Runs the scrape pools.
pub struct ScrapeManager {
    db: Arc<Db>,
    pools: Mutex<BTreeMap<String, RunningPool>>,
}

impl ScrapeManager {
    pub fn new(db: Arc<Db>) -> ScrapeManager {
        ScrapeManager {
            db,
            pools: Mutex::new(BTreeMap::new()),
        }
    }

    /// Makes the running pools match `specs`: new jobs start, removed jobs stop (their series
    /// marked stale), changed jobs restart, unchanged jobs keep running.
    pub async fn apply(&self, specs: Vec<PoolSpec>) {
        let mut stopping = Vec::new();
        {
            let mut pools = self.pools.lock();
            let wanted: Vec<String> = specs.iter().map(|s| s.job.clone()).collect();
            let gone: Vec<String> = pools
                .keys()
                .filter(|j| !wanted.contains(j))
                .cloned()
                .collect();
            for job in gone {
                if let Some(p) = pools.remove(&job) {
                    stopping.push(p);
                }
            }
            for spec in specs {
                if pools
                    .get(&spec.job)
                    .is_some_and(|p| p.fingerprint == spec.fingerprint)
                {
                    continue;
                }
                if let Some(old) = pools.remove(&spec.job) {
                    stopping.push(old);
                }
                let state = Arc::new(PoolState {
                    job: spec.job.clone(),
                    interval: spec.settings.interval,
                    timeout: spec.settings.timeout,
                    active: RwLock::new(Vec::new()),
                    dropped: RwLock::new(Vec::new()),
                });
                let (stop, rx) = watch::channel(false);
                let fingerprint = spec.fingerprint.clone();
                let job = spec.job.clone();
                let task = tokio::spawn(run_pool(spec, state.clone(), self.db.clone(), rx));
                pools.insert(
                    job,
                    RunningPool {
                        fingerprint,
                        state,
                        stop,
                        task,
                    },
                );
            }
        }
        stop_pools(stopping).await;
    }

    /// The running pools, by job name.
    pub fn pools(&self) -> Vec<Arc<PoolState>> {
        self.pools
            .lock()
            .values()
            .map(|p| p.state.clone())
            .collect()
    }

    /// Stops every pool, writing stale markers for their series.
    pub async fn stop(&self) {
        let all: Vec<RunningPool> = std::mem::take(&mut *self.pools.lock())
            .into_values()
            .collect();
        stop_pools(all).await;
    }
}

async fn stop_pools(pools: Vec<RunningPool>) {
    for p in &pools {
        let _ = p.stop.send(true);
    }
    for p in pools {
        if tokio::time::timeout(STOP_TIMEOUT, p.task).await.is_err() {
            tracing::warn!(job = %p.state.job, "scrape pool did not stop in time");
        }
    }
}

type LoopHandle = (Arc<Target>, watch::Sender<bool>, JoinHandle<()>);

/// Discovers the pool's targets (again when file_sd files change or their refresh interval
/// passes) and keeps one scrape loop per target.
async fn run_pool(
    spec: PoolSpec,
    state: Arc<PoolState>,
    db: Arc<Db>,
    mut stop: watch::Receiver<bool>,
) {
    let interval = humantime::format_duration(spec.settings.interval)
        .to_string()
        .replace(' ', "");
    let timeout = humantime::format_duration(spec.settings.timeout)
        .to_string()
        .replace(' ', "");
    let populate_settings = PopulateSettings {
        job: &spec.job,
        scheme: &spec.scheme,
        metrics_path: &spec.metrics_path,
        params: &spec.params,
        interval: &interval,
        timeout: &timeout,
        relabel_configs: &spec.relabel_configs,
    };
    let mut loops: HashMap<(String, Labels), LoopHandle> = HashMap::new();
    let mut file_groups: HashMap<PathBuf, Vec<TargetGroup>> = HashMap::new();
    let mut stamps: Vec<(PathBuf, Option<SystemTime>)> = Vec::new();
    let mut last_refresh = tokio::time::Instant::now();
    let refresh = spec
        .file_sd
        .iter()
        .map(|f| f.refresh_interval)
        .min()
        .unwrap_or(Duration::MAX);
    let mut first = true;
    loop {
        let files: Vec<PathBuf> = spec
            .file_sd
            .iter()
            .flat_map(|f| expand_patterns(&f.files))
            .collect();
        let now_stamps: Vec<(PathBuf, Option<SystemTime>)> = files
            .iter()
            .map(|f| {
                (
                    f.clone(),
                    std::fs::metadata(f).and_then(|m| m.modified()).ok(),
                )
            })
            .collect();
        if first || now_stamps != stamps || last_refresh.elapsed() >= refresh {
            first = false;
            last_refresh = tokio::time::Instant::now();
            stamps = now_stamps;
            file_groups.retain(|path, _| files.contains(path));
            for f in &files {
                match read_file_groups(f) {
                    Ok(groups) => {
                        file_groups.insert(f.clone(), groups);
                    }
                    // Keep the file's last good groups, as Prometheus does.
                    Err(e) => {
                        tracing::error!(job = %spec.job, error = %e, "cannot read file_sd file")
                    }
                }
            }
            let groups = spec
                .static_groups
                .iter()
                .chain(file_groups.values().flatten());
            sync_targets(groups, &populate_settings, &spec, &state, &db, &mut loops);
        }
        let wait = if spec.file_sd.is_empty() {
            Duration::MAX
        } else {
            FILE_SD_CHECK
        };
        tokio::select! {
            _ = tokio::time::sleep(wait.min(Duration::from_secs(86_400))) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
    }
    for (_, (_, tx, _)) in loops.iter() {
        let _ = tx.send(true);
    }
    for (_, (_, _, task)) in loops {
        let _ = tokio::time::timeout(STOP_TIMEOUT, task).await;
    }
}

fn sync_targets<'a>(
    groups: impl Iterator<Item = &'a TargetGroup>,
    settings: &PopulateSettings<'_>,
    spec: &PoolSpec,
    state: &PoolState,
    db: &Arc<Db>,
    loops: &mut HashMap<(String, Labels), LoopHandle>,
) {
    let mut active: BTreeMap<(String, Labels), Target> = BTreeMap::new();
    let mut dropped = Vec::new();
    for g in groups {
        for address in &g.targets {
            match populate(address, g, settings) {
                Populated::Active(t) => {
                    active.entry(t.key()).or_insert(t);
                }
                Populated::Dropped(labels) => dropped.push(labels),
            }
        }
    }
    if spec.keep_dropped_targets > 0 {
        dropped.truncate(spec.keep_dropped_targets);
    }
    if spec.target_limit > 0 && active.len() > spec.target_limit {
        let error = format!(
            "target_limit exceeded (number of targets: {}, limit: {})",
            active.len(),
            spec.target_limit
        );
        tracing::warn!(job = %spec.job, "{error}");
        for (_, (_, tx, _)) in loops.drain() {
            let _ = tx.send(true);
        }
        let targets = active.into_values().map(|t| {
            t.set_health(Health {
                state: "down",
                last_error: error.clone(),
                ..Health::default()
            });
            Arc::new(t)
        });
        *state.active.write() = targets.collect();
        *state.dropped.write() = dropped;
        return;
    }
    loops.retain(|key, (_, tx, _)| {
        let keep = active.contains_key(key);
        if !keep {
            let _ = tx.send(true);
        }
        keep
    });
    let mut targets = Vec::with_capacity(active.len());
    for (key, target) in active {
        if let Some((t, _, _)) = loops.get(&key) {
            targets.push(t.clone());
            continue;
        }
        let target = Arc::new(target);
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(run(
            target.clone(),
            spec.settings.clone(),
            spec.client.clone(),
            db.clone(),
            rx,
        ));
        targets.push(target.clone());
        loops.insert(key, (target, tx, task));
    }
    *state.active.write() = targets;
    *state.dropped.write() = dropped;
}
