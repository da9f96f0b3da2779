//! The scrape manager: one pool per `scrape_configs` job, each discovering its targets and
//! running one [`scrape_loop`](super::scrape_loop) per target. A reload keeps the loops of
//! targets whose pool settings, URL and labels did not change.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use bongsu_discovery::{expand_patterns, read_file_groups, TargetGroup};
use bongsu_model::Labels;
use bongsu_relabel::RelabelConfig;
use bongsu_storage::Storage;

use super::discovery::{populate, PopulateSettings, Populated};
use super::metrics::{PoolMetrics, COUNTERS};
use super::scrape_loop::{run, LoopSettings, Stop};
use super::target::{Health, Target};

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
    /// Scrape interval and timeout; a reload may change them.
    timing: RwLock<(Duration, Duration)>,
    active: RwLock<Vec<Arc<Target>>>,
    dropped: RwLock<Vec<Labels>>,
    pub(crate) metrics: PoolMetrics,
}

impl PoolState {
    pub fn interval(&self) -> Duration {
        self.timing.read().0
    }

    pub fn timeout(&self) -> Duration {
        self.timing.read().1
    }

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
    stop: watch::Sender<Stop>,
    /// New settings for the running pool (a reload that changed the job).
    respec: mpsc::Sender<PoolSpec>,
    task: JoinHandle<()>,
}

/// Runs the scrape pools.
pub struct ScrapeManager {
    db: Arc<dyn Storage>,
    pools: Mutex<BTreeMap<String, RunningPool>>,
}

impl ScrapeManager {
    pub fn new(db: Arc<dyn Storage>) -> ScrapeManager {
        ScrapeManager {
            db,
            pools: Mutex::new(BTreeMap::new()),
        }
    }

    /// Makes the running pools match `specs`: new jobs start, removed jobs stop (their series
    /// marked stale), changed jobs take their new settings (loops of targets that stay restart
    /// without stale markers, targets that go are marked stale), unchanged jobs keep running.
    pub async fn apply(&self, specs: Vec<PoolSpec>) {
        let mut stopping = Vec::new();
        let mut respecs = Vec::new();
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
                    stopping.push((p, Stop::Stale));
                }
            }
            for spec in specs {
                if let Some(p) = pools.get_mut(&spec.job) {
                    if p.fingerprint != spec.fingerprint {
                        COUNTERS.pool_reloads.inc();
                        p.fingerprint = spec.fingerprint.clone();
                        respecs.push((p.respec.clone(), spec));
                    }
                    continue;
                }
                let state = Arc::new(PoolState {
                    job: spec.job.clone(),
                    timing: RwLock::new((spec.settings.interval, spec.settings.timeout)),
                    active: RwLock::new(Vec::new()),
                    dropped: RwLock::new(Vec::new()),
                    metrics: PoolMetrics::default(),
                });
                COUNTERS.pools.inc();
                let (stop, rx) = watch::channel(Stop::Running);
                let (respec, respec_rx) = mpsc::channel(1);
                let fingerprint = spec.fingerprint.clone();
                let job = spec.job.clone();
                let task = tokio::spawn(run_pool(
                    spec,
                    state.clone(),
                    self.db.clone(),
                    rx,
                    respec_rx,
                ));
                pools.insert(
                    job,
                    RunningPool {
                        fingerprint,
                        state,
                        stop,
                        respec,
                        task,
                    },
                );
            }
        }
        for (tx, spec) in respecs {
            let _ = tx.send(spec).await;
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
        let all: Vec<(RunningPool, Stop)> = std::mem::take(&mut *self.pools.lock())
            .into_values()
            .map(|p| (p, Stop::Stale))
            .collect();
        stop_pools(all).await;
    }
}

async fn stop_pools(pools: Vec<(RunningPool, Stop)>) {
    for (p, mode) in &pools {
        let _ = p.stop.send(*mode);
    }
    for (p, _) in pools {
        if tokio::time::timeout(STOP_TIMEOUT, p.task).await.is_err() {
            tracing::warn!(job = %p.state.job, "scrape pool did not stop in time");
        }
    }
}

type LoopHandle = (Arc<Target>, watch::Sender<Stop>, JoinHandle<()>);

fn duration_label(d: Duration) -> String {
    humantime::format_duration(d).to_string().replace(' ', "")
}

/// Discovers the pool's targets (again when file_sd files change or their refresh interval
/// passes, or a reload brings new settings) and keeps one scrape loop per target.
async fn run_pool(
    mut spec: PoolSpec,
    state: Arc<PoolState>,
    db: Arc<dyn Storage>,
    mut stop: watch::Receiver<Stop>,
    mut respec: mpsc::Receiver<PoolSpec>,
) {
    let mut loops: HashMap<(String, Labels), LoopHandle> = HashMap::new();
    let mut file_groups: HashMap<PathBuf, Vec<TargetGroup>> = HashMap::new();
    let mut stamps: Vec<(PathBuf, Option<SystemTime>)> = Vec::new();
    let mut last_refresh = tokio::time::Instant::now();
    let mut resync = true;
    let mut restart = false;
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
        let refresh = spec
            .file_sd
            .iter()
            .map(|f| f.refresh_interval)
            .min()
            .unwrap_or(Duration::MAX);
        if resync || now_stamps != stamps || last_refresh.elapsed() >= refresh {
            resync = false;
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
            let (interval, timeout) = (
                duration_label(spec.settings.interval),
                duration_label(spec.settings.timeout),
            );
            let populate = PopulateSettings {
                job: &spec.job,
                scheme: &spec.scheme,
                metrics_path: &spec.metrics_path,
                params: &spec.params,
                interval: &interval,
                timeout: &timeout,
                relabel_configs: &spec.relabel_configs,
                histograms: spec.settings.rules.histograms,
            };
            let groups = spec
                .static_groups
                .iter()
                .chain(file_groups.values().flatten());
            sync_targets(
                groups,
                &populate,
                &spec,
                &state,
                &db,
                &mut loops,
                std::mem::take(&mut restart),
            );
        }
        let wait = if spec.file_sd.is_empty() {
            Duration::from_secs(86_400)
        } else {
            FILE_SD_CHECK
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => break,
            Some(new) = respec.recv() => {
                *state.timing.write() = (new.settings.interval, new.settings.timeout);
                spec = new;
                resync = true;
                restart = true;
            }
        }
        if *stop.borrow() != Stop::Running {
            break;
        }
    }
    // A dropped sender (the manager is gone) stops with staleness like a removed job.
    let mode = match *stop.borrow() {
        Stop::Running => Stop::Stale,
        m => m,
    };
    for (_, (_, tx, _)) in loops.iter() {
        let _ = tx.send(mode);
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
    db: &Arc<dyn Storage>,
    loops: &mut HashMap<(String, Labels), LoopHandle>,
    restart: bool,
) {
    let started = std::time::Instant::now();
    let metrics = &state.metrics;
    metrics.syncs.inc();
    metrics.target_limit.set(spec.target_limit as f64);
    let mut active: BTreeMap<(String, Labels), Target> = BTreeMap::new();
    let mut dropped = Vec::new();
    let mut discovered = 0usize;
    for g in groups {
        discovered += g.targets.len();
        for address in &g.targets {
            match populate(address, g, settings) {
                Populated::Active(t) => {
                    active.entry(t.key()).or_insert(t);
                }
                Populated::Dropped(labels) => dropped.push(labels),
                Populated::Failed(error) => {
                    tracing::error!(job = %spec.job, %error, "creating target failed");
                    metrics.sync_failed.inc();
                }
            }
        }
    }
    metrics.discovered.set(discovered as f64);
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
        COUNTERS.target_limit_hit.inc();
        for (_, (_, tx, _)) in loops.drain() {
            let _ = tx.send(Stop::Stale);
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
        metrics.sync_length.observe(started.elapsed());
        return;
    }
    loops.retain(|key, (_, tx, _)| {
        let keep = active.contains_key(key);
        if !keep {
            let _ = tx.send(Stop::Stale);
        }
        keep
    });
    let mut targets = Vec::with_capacity(active.len());
    for (key, target) in active {
        match loops.remove(&key) {
            Some(running) if !restart => {
                targets.push(running.0.clone());
                loops.insert(key, running);
                continue;
            }
            // New settings for a target that stays: its loop ends without stale markers and
            // the new one carries the series on, as Prometheus' reload does.
            Some((_, tx, _)) => {
                let _ = tx.send(Stop::Quiet);
            }
            None => {}
        }
        let target = Arc::new(target);
        let (tx, rx) = watch::channel(Stop::Running);
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
    metrics.sync_length.observe(started.elapsed());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::append::SampleRules;
    use bongsu_httpclient::HttpClientConfig;
    use bongsu_model::{is_stale_nan, Matcher};
    use bongsu_storage::memory::MemStorage;
    use bongsu_storage::Queryable;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves one fixed metric on 127.0.0.1; returns its address.
    async fn target() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = conn.read(&mut buf).await;
                    let body = "kept 1\n";
                    let resp = format!("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                    let _ = conn.write_all(resp.as_bytes()).await;
                });
            }
        });
        addr
    }

    fn spec(addr: &str, interval_ms: u64, fingerprint: &str) -> PoolSpec {
        PoolSpec {
            job: "j".into(),
            fingerprint: fingerprint.into(),
            settings: Arc::new(LoopSettings {
                interval: Duration::from_millis(interval_ms),
                timeout: Duration::from_millis(interval_ms),
                rules: SampleRules::default(),
                body_size_limit: 0,
                metric_relabel: Box::new(Some),
                accept: "text/plain".into(),
                fallback: None,
                http: HttpClientConfig::default(),
            }),
            client: reqwest::Client::new(),
            scheme: "http".into(),
            metrics_path: "/metrics".into(),
            params: Vec::new(),
            relabel_configs: Vec::new(),
            static_groups: vec![TargetGroup {
                targets: vec![addr.to_string()],
                labels: Vec::new(),
                source: "static/0".into(),
            }],
            file_sd: Vec::new(),
            target_limit: 0,
            keep_dropped_targets: 0,
        }
    }

    fn samples(db: &MemStorage) -> Vec<f64> {
        let series = db
            .querier(i64::MIN, i64::MAX)
            .unwrap()
            .select(&[Matcher::equal("__name__", "kept")])
            .unwrap();
        series
            .first()
            .map(|s| s.samples.iter().map(|x| x.v).collect())
            .unwrap_or_default()
    }

    async fn wait_for(db: &MemStorage, n: usize) {
        for _ in 0..100 {
            if samples(db).len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("fewer than {n} samples scraped: {:?}", samples(db));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reload_that_changes_settings_leaves_no_gap_and_removal_ends_series() {
        let db = Arc::new(MemStorage::new());
        let addr = target().await;
        let m = ScrapeManager::new(db.clone());
        m.apply(vec![spec(&addr, 100, "a")]).await;
        wait_for(&db, 2).await;
        // New settings, same target: the series goes on without a stale marker.
        m.apply(vec![spec(&addr, 150, "b")]).await;
        let before = samples(&db).len();
        wait_for(&db, before + 2).await;
        assert!(
            !samples(&db).iter().any(|v| is_stale_nan(*v)),
            "{:?}",
            samples(&db)
        );
        assert_eq!(m.pools()[0].interval(), Duration::from_millis(150));
        // The job goes away: its series ends with a stale marker.
        m.apply(Vec::new()).await;
        assert!(
            samples(&db).last().is_some_and(|v| is_stale_nan(*v)),
            "{:?}",
            samples(&db)
        );
    }
}
