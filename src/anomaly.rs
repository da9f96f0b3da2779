//! `bongsu anomaly replay`: one detector's model over a CSV, printed as
//! `timestamp,value,anomaly_score` (the code path of live detectors: `Model::observe` value by
//! value), and the `check config` of `anomaly_detection_files`. The live detectors themselves
//! run in `bongsu_anomaly::detector::DetectorManager`.

use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, bail, Context};

use bongsu_anomaly::detector::{load_file, load_files};
use bongsu_anomaly::replay::{read_csv, replay, step_of, to_csv};
use bongsu_config::Config;

pub fn replay_csv(config: &Path, detector: Option<&str>, data: &Path) -> anyhow::Result<()> {
    let detectors = load_file(config).map_err(|e| anyhow!("{e}"))?;
    let d = match detector {
        Some(name) => detectors
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| anyhow!("{}: no detector {name:?}", config.display()))?,
        None => match detectors.as_slice() {
            [d] => d,
            [] => bail!("{}: no detectors", config.display()),
            _ => bail!(
                "{}: {} detectors; pick one with --detector",
                config.display(),
                detectors.len()
            ),
        },
    };
    let text = std::fs::read_to_string(data).with_context(|| data.display().to_string())?;
    let rows = read_csv(&text).map_err(|e| anyhow!("{}: {e}", data.display()))?;
    let step = step_of(&rows).map_err(|e| anyhow!("{}: {e}", data.display()))?;
    if step != d.interval {
        tracing::debug!(
            detector = %d.name,
            step = ?step,
            interval = ?d.interval,
            "the CSV's step differs from the detector's interval; the model runs at the CSV's step"
        );
    }
    let predictions = replay(&d.model, &rows).map_err(|e| anyhow!("{}: {e}", data.display()))?;
    std::io::stdout()
        .lock()
        .write_all(to_csv(&rows, &predictions).as_bytes())
        .context("writing the scores")
}

/// The configuration's `anomaly_detection_files`, loaded as the server would (`check config`);
/// false if any fails.
pub fn check_detector_files(cfg: &Config) -> bool {
    let result = cfg.anomaly_detection_paths().and_then(|paths| {
        load_files(&paths)
            .map(|d| (paths, d))
            .map_err(|e| e.to_string())
    });
    match result {
        Ok((paths, _)) if paths.is_empty() => true,
        Ok((paths, detectors)) => {
            println!(
                "  SUCCESS: {} detectors found in {} anomaly detection files",
                detectors.len(),
                paths.len()
            );
            true
        }
        Err(e) => {
            eprintln!("  FAILED: {e}");
            false
        }
    }
}
