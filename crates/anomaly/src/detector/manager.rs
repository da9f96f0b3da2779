//! [`DetectorManager`]: runs the configured detectors, one task each, and applies a new set
//! on reload — a detector whose configuration is unchanged keeps its models (no re-fit), a
//! changed or new one is fitted from history, a removed one stops.
//!
//! Each round runs at a multiple of the detector's interval (rounds do not drift), on the
//! blocking pool (queries and model updates are CPU work).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bongsu_promql::Engine;
use bongsu_storage::Storage;
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::config::{load_files, ConfigError, DetectorConfig};
use super::metrics;
use super::run::Detector;

struct Running {
    config: DetectorConfig,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

pub struct DetectorManager {
    db: Arc<dyn Storage>,
    engine: Engine,
    running: tokio::sync::Mutex<BTreeMap<String, Running>>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl DetectorManager {
    pub fn new(db: Arc<dyn Storage>, engine: Engine) -> DetectorManager {
        DetectorManager {
            db,
            engine,
            running: tokio::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// Loads the detector files and applies them. On a load error nothing changes.
    pub async fn update(&self, files: Vec<PathBuf>) -> Result<(), ConfigError> {
        let configs = tokio::task::spawn_blocking(move || load_files(&files))
            .await
            .unwrap_or_else(|e| {
                Err(ConfigError::File {
                    path: PathBuf::new(),
                    msg: format!("loading detector files: {e}"),
                })
            })?;
        let mut running = self.running.lock().await;
        let wanted: BTreeMap<String, DetectorConfig> =
            configs.into_iter().map(|c| (c.name.clone(), c)).collect();
        let stale: Vec<String> = running
            .iter()
            .filter(|(name, r)| wanted.get(*name) != Some(&r.config))
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            if let Some(r) = running.remove(&name) {
                let _ = r.stop.send(true);
                let _ = r.task.await;
                metrics::forget(&name);
            }
        }
        for (name, config) in wanted {
            if running.contains_key(&name) {
                continue;
            }
            let (stop, stopped) = watch::channel(false);
            let task = tokio::spawn(run(
                Detector::new(config.clone()),
                self.db.clone(),
                self.engine.clone(),
                stopped,
            ));
            running.insert(name, Running { config, stop, task });
        }
        Ok(())
    }

    /// Stops every detector.
    pub async fn stop(&self) {
        let mut running = self.running.lock().await;
        for (_, r) in std::mem::take(&mut *running) {
            let _ = r.stop.send(true);
            let _ = r.task.await;
        }
    }
}

/// Waits for `d` or a stop; false when stopped.
async fn sleep_or_stop(d: Duration, stopped: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = stopped.changed() => false,
        () = tokio::time::sleep(d) => !*stopped.borrow(),
    }
}

async fn run(
    detector: Detector,
    db: Arc<dyn Storage>,
    engine: Engine,
    mut stopped: watch::Receiver<bool>,
) {
    let name = detector.config.name.clone();
    let interval_ms = i64::try_from(detector.config.interval.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let detector = Arc::new(Mutex::new(detector));
    let fitted = {
        let (d, db, engine) = (detector.clone(), db.clone(), engine.clone());
        tokio::task::spawn_blocking(move || d.lock().fit_history(&*db, &engine, now_ms())).await
    };
    match fitted {
        Ok(Ok(values)) => tracing::info!(detector = %name, values, "fitted from history"),
        Ok(Err(e)) => {
            metrics::failed(&name);
            tracing::warn!(detector = %name, error = %e, "fitting from history failed; the models start empty");
        }
        Err(e) => tracing::error!(detector = %name, error = %e, "fitting task failed"),
    }
    loop {
        let now = now_ms();
        let next = (now / interval_ms + 1) * interval_ms;
        let wait = Duration::from_millis(u64::try_from(next - now).unwrap_or(0));
        if !sleep_or_stop(wait, &mut stopped).await {
            return;
        }
        let (d, db, engine) = (detector.clone(), db.clone(), engine.clone());
        let result = tokio::task::spawn_blocking(move || {
            let mut d = d.lock();
            let round = d.evaluate(&*db, &engine, next);
            (round, d.series(), d.state_bytes())
        })
        .await;
        match result {
            Ok((Ok(round), series, bytes)) => metrics::round(&name, &round, series, bytes),
            Ok((Err(e), _, _)) => {
                metrics::failed(&name);
                tracing::warn!(detector = %name, error = %e, "detector round failed");
            }
            Err(e) => tracing::error!(detector = %name, error = %e, "detector task failed"),
        }
    }
}
