//! `bongsu anomaly replay`: one detector's model over a CSV, printed as
//! `timestamp,value,anomaly_score` (the code path of live detectors: `Model::observe` value by
//! value). The live detectors themselves run in `bongsu_anomaly::DetectorManager`.

use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, bail, Context};

use bongsu_anomaly::detector::load_file;
use bongsu_anomaly::replay::{read_csv, replay, step_of, to_csv};

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
