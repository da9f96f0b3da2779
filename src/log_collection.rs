//! `--logs.config.file`: the log collector of a `promtail.yml` (crate `logcollect`) run into
//! the local log store (or its `clients`), its reload together with the main configuration,
//! the `metrics` stages' series written to the TSDB; `bongsu check log-config`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bongsu_storage::Appendable;

use anyhow::Context;
use bongsu_logcollect::{Collector, LogConfig};
use bongsu_logstore::LogStore;

/// The running collector and what it was started from.
pub struct LogCollection {
    file: PathBuf,
    expand_env: bool,
    store: Arc<LogStore>,
    /// The running collector and its configuration (to fall back to if a new one fails to
    /// start).
    running: Mutex<Option<(Collector, LogConfig)>>,
}

impl LogCollection {
    /// Loads `file` and starts collecting; errors stop bongsu's start, as a bad
    /// `--config.file` does.
    pub fn start(
        file: PathBuf,
        expand_env: bool,
        store: Arc<LogStore>,
    ) -> anyhow::Result<LogCollection> {
        let cfg = LogConfig::load(&file, expand_env)
            .with_context(|| format!("loading --logs.config.file {}", file.display()))?;
        let collector = Collector::start(cfg.clone(), store.clone())
            .with_context(|| format!("starting the log collector of {}", file.display()))?;
        tracing::info!(file = %file.display(), "log collection started");
        Ok(LogCollection {
            file,
            expand_env,
            store,
            running: Mutex::new(Some((collector, cfg))),
        })
    }

    /// Reloads the file: a file that does not load leaves the running collector alone; one
    /// that loads replaces it (positions carry over through the store's checkpoint), and if
    /// the new one cannot start the previous configuration is started again. Blocks while the
    /// old collector finishes its round.
    pub fn reload(&self) -> Result<(), String> {
        let cfg = LogConfig::load(&self.file, self.expand_env)
            .map_err(|e| format!("loading --logs.config.file: {e}"))?;
        let mut running = self.lock();
        let previous = running.take().map(|(c, old)| {
            c.stop();
            old
        });
        match Collector::start(cfg.clone(), self.store.clone()) {
            Ok(c) => {
                *running = Some((c, cfg));
                Ok(())
            }
            Err(e) => {
                if let Some(old) = previous {
                    match Collector::start(old.clone(), self.store.clone()) {
                        Ok(c) => *running = Some((c, old)),
                        Err(e) => {
                            tracing::error!(error = %e, "restarting the previous log collector")
                        }
                    }
                }
                Err(format!("starting the log collector: {e}"))
            }
        }
    }

    /// The running collector; a panic elsewhere while it was held leaves nothing half done.
    fn lock(&self) -> MutexGuard<'_, Option<(Collector, LogConfig)>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops collecting (the last round delivered, the positions file written).
    pub fn stop(&self) {
        if let Some((c, _)) = self.lock().take() {
            c.stop();
        }
    }
}

/// `bongsu check log-config FILE...`: loads each promtail.yml as the server would, reporting
/// in promtool's words; fails if any file fails.
pub fn check_log_config(files: &[std::path::PathBuf], expand_env: bool) -> std::process::ExitCode {
    let mut ok = true;
    for file in files {
        match bongsu_logcollect::LogConfig::load(file, expand_env) {
            Ok(_) => println!(
                "SUCCESS: {} is valid promtail config file syntax",
                file.display()
            ),
            Err(e) => {
                ok = false;
                eprintln!("FAILED: {e}");
            }
        }
    }
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// Writes the `metrics` stages' series (`promtail_custom_*`) to `db` every `every` (the
/// global `scrape_interval` at start), as if bongsu scraped a Promtail; runs until the
/// runtime ends.
pub async fn append_pipeline_metrics(db: Arc<dyn Appendable>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let db = db.clone();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let appended = tokio::task::spawn_blocking(move || {
            bongsu_logcollect::pipeline_metrics().append_to(db.as_ref(), now_ms)
        })
        .await;
        match appended {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "writing the pipelines' metrics series"),
            Err(e) => tracing::error!(error = %e, "writing the pipelines' metrics series"),
        }
    }
}
