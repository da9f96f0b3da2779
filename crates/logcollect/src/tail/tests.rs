//! The tailer against an in-memory destination: rotation by rename and by copytruncate,
//! restarts from the checkpoint (also with a rotation while stopped), a failing destination.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bongsu_model::log::LogStream;
use bongsu_storage::logs::LogAppendReport;
use bongsu_storage::StorageError;
use std::sync::Mutex;

use super::*;

#[derive(Default)]
struct Memory {
    lines: Mutex<Vec<(String, String)>>,
    checkpoint: Mutex<Option<Vec<u8>>>,
    fail: AtomicBool,
    deliveries: AtomicUsize,
}

#[derive(Debug, thiserror::Error)]
#[error("disk full")]
struct DiskFull;

impl Destination for Memory {
    fn deliver(
        &self,
        streams: &[LogStream],
        checkpoint: Option<&[u8]>,
    ) -> Result<LogAppendReport, StorageError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(StorageError::new(DiskFull));
        }
        self.deliveries.fetch_add(1, Ordering::SeqCst);
        let mut lines = self.lines.lock().unwrap();
        let mut all: Vec<(i64, String, String)> = streams
            .iter()
            .flat_map(|s| {
                let f = s.labels.get("filename").unwrap_or("").to_string();
                s.entries
                    .iter()
                    .map(move |e| (e.ts, f.clone(), e.line.clone()))
            })
            .collect();
        all.sort();
        lines.extend(all.into_iter().map(|(_, f, l)| (f, l)));
        if let Some(c) = checkpoint {
            *self.checkpoint.lock().unwrap() = Some(c.to_vec());
        }
        Ok(LogAppendReport::default())
    }

    fn checkpoint(&self) -> Option<Vec<u8>> {
        self.checkpoint.lock().unwrap().clone()
    }
}

fn config(dir: &Path) -> LogConfig {
    config_glob(dir, "*.log")
}

fn config_glob(dir: &Path, glob: &str) -> LogConfig {
    let yml = format!(
        "positions: {{filename: {d}/positions.yaml}}\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [localhost]\n        labels: {{job: app, __path__: '{d}/{glob}'}}\n",
        d = dir.display()
    );
    LogConfig::parse(&yml, "t.yml", false).unwrap()
}

fn tailer(dir: &Path, dest: &Arc<Memory>) -> Tailer {
    tailer_with(config(dir), dest)
}

fn tailer_with(cfg: LogConfig, dest: &Arc<Memory>) -> Tailer {
    let pipelines = cfg
        .scrape_configs
        .iter()
        .map(|sc| JobPipeline::new(sc).unwrap())
        .collect();
    let mut t = Tailer::new(cfg, dest.clone(), pipelines).unwrap();
    t.sync_targets();
    t
}

fn append(path: &Path, text: &str) {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

fn drain(t: &mut Tailer) {
    for _ in 0..4 {
        t.round().unwrap();
    }
}

fn got(dest: &Memory) -> Vec<String> {
    dest.lines
        .lock()
        .unwrap()
        .iter()
        .map(|(_, l)| l.clone())
        .collect()
}

#[test]
fn rename_and_copytruncate_rotation_lose_and_repeat_nothing() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("app.log");
    append(&log, "1\n2\n3");
    let dest = Arc::new(Memory::default());
    let mut t = tailer(d.path(), &dest);
    drain(&mut t);
    assert_eq!(got(&dest), ["1", "2"]);
    // Rename rotation: the old file's tail (and unfinished line) comes before the new file.
    append(&log, "\n4\n5");
    fs::rename(&log, d.path().join("app.log.1")).unwrap();
    append(&log, "6\n");
    drain(&mut t);
    assert_eq!(got(&dest), ["1", "2", "3", "4", "5", "6"]);
    // Copytruncate rotation.
    fs::copy(&log, d.path().join("app.log.2")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    drain(&mut t);
    append(&log, "7\n");
    drain(&mut t);
    assert_eq!(got(&dest), ["1", "2", "3", "4", "5", "6", "7"]);
    let files: Vec<String> = dest
        .lines
        .lock()
        .unwrap()
        .iter()
        .map(|(f, _)| f.clone())
        .collect();
    assert!(
        files.iter().all(|f| f == log.to_str().unwrap()),
        "{files:?}"
    );
}

#[test]
fn restarts_resume_from_the_checkpoint_even_across_a_rotation() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("app.log");
    append(&log, "a\nb\n");
    let dest = Arc::new(Memory::default());
    drain(&mut tailer(d.path(), &dest));
    append(&log, "c\n");
    drain(&mut tailer(d.path(), &dest));
    assert_eq!(got(&dest), ["a", "b", "c"]);
    // Rotated while stopped: the old file is found by inode and finished first.
    append(&log, "d\n");
    fs::rename(&log, d.path().join("app.log.1")).unwrap();
    append(&log, "e\n");
    let mut t = tailer(d.path(), &dest);
    drain(&mut t);
    assert_eq!(got(&dest), ["a", "b", "c", "d", "e"]);
    t.write_positions();
    let pos = Positions::read_file(&d.path().join("positions.yaml"), false).unwrap();
    assert_eq!(pos.0[log.to_str().unwrap()].offset, 2);
}

#[test]
fn a_failing_destination_rewinds_to_the_last_delivery() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("app.log");
    append(&log, "a\n");
    let dest = Arc::new(Memory::default());
    let mut t = tailer(d.path(), &dest);
    drain(&mut t);
    append(&log, "b\nc\n");
    dest.fail.store(true, Ordering::SeqCst);
    assert!(t.round().is_err());
    dest.fail.store(false, Ordering::SeqCst);
    drain(&mut t);
    assert_eq!(got(&dest), ["a", "b", "c"]);
}

#[test]
fn idle_rounds_deliver_nothing() {
    let d = tempfile::tempdir().unwrap();
    append(&d.path().join("app.log"), "a\n");
    let dest = Arc::new(Memory::default());
    let mut t = tailer(d.path(), &dest);
    drain(&mut t);
    let n = dest.deliveries.load(Ordering::SeqCst);
    assert_eq!(n, 1);
    drain(&mut t);
    assert_eq!(dest.deliveries.load(Ordering::SeqCst), n);
}

#[test]
fn positions_of_files_no_longer_tailed_are_forgotten() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a.log"), d.path().join("b.log"));
    append(&a, "a\n");
    append(&b, "b\n");
    let dest = Arc::new(Memory::default());
    drain(&mut tailer(d.path(), &dest));
    fs::remove_file(&b).unwrap();
    let mut t = tailer(d.path(), &dest);
    append(&a, "a2\n");
    drain(&mut t);
    let cp = Positions::decode_checkpoint(&dest.checkpoint().unwrap()).unwrap();
    let kept: Vec<&String> = cp.0.keys().collect();
    assert_eq!(kept, [a.to_str().unwrap()]);
    assert_eq!(got(&dest), ["a", "b", "a2"]);
}

#[test]
fn a_renamed_file_the_glob_also_matches_is_not_read_again() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("app.log");
    append(&log, "1\n2\n");
    let dest = Arc::new(Memory::default());
    let mut t = tailer_with(config_glob(d.path(), "app.log*"), &dest);
    drain(&mut t);
    append(&log, "3\n");
    fs::rename(&log, d.path().join("app.log.1")).unwrap();
    append(&log, "4\n");
    t.sync_targets();
    drain(&mut t);
    t.sync_targets();
    drain(&mut t);
    append(&d.path().join("app.log.1"), "late\n");
    drain(&mut t);
    assert_eq!(got(&dest), ["1", "2", "3", "4", "late"]);
    // And after a restart.
    let mut t = tailer_with(config_glob(d.path(), "app.log*"), &dest);
    drain(&mut t);
    assert_eq!(got(&dest), ["1", "2", "3", "4", "late"]);
}
