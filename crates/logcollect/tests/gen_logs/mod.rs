//! Entries from `gen_logs.py --format ndjson` (the shared realistic log data set), for the
//! pipeline tests and the stage benchmark.

use std::path::{Path, PathBuf};
use std::process::Command;

use bongsu_logcollect::Entry;
use bongsu_model::Labels;

/// `../shared/bench/gen_logs.py` beside the checkout (as in CI), or where this machine keeps
/// it; `None` when neither is there (callers then skip, saying so).
fn script() -> Option<PathBuf> {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/gen_logs.py");
    [local, PathBuf::from("/work/shared/bench/gen_logs.py")]
        .into_iter()
        .find(|p| p.exists())
}

/// `lines` generated entries with their stream labels except `level` (which pipelines set
/// from the line), or `None` without the script.
pub fn entries(lines: usize) -> Option<Vec<Entry>> {
    let script = script()?;
    let out = Command::new("python3")
        .arg(script)
        .args(["--lines", &lines.to_string(), "--format", "ndjson"])
        .output()
        .expect("run gen_logs.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut entries = Vec::with_capacity(lines);
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("ndjson line");
        let labels: Vec<(&str, &str)> = v["labels"]
            .as_object()
            .expect("labels")
            .iter()
            .filter(|(k, _)| k.as_str() != "level")
            .map(|(k, v)| (k.as_str(), v.as_str().expect("label value")))
            .collect();
        entries.push(Entry {
            labels: Labels::from_pairs(&labels).expect("labels"),
            ts: v["ts"].as_i64().expect("ts"),
            line: v["line"].as_str().expect("line").to_string(),
            metadata: Vec::new(),
        });
    }
    Some(entries)
}
