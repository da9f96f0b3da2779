//! File tailing as Promtail does it, by polling: every file the scrape configs' `__path__`
//! globs match (re-scanned every `target_config.sync_period`) is read from its position every
//! `file_watch_config.min_poll_frequency` (250 ms by default, backing off to
//! `max_poll_frequency` while nothing changes). Polling rather than inotify: it is what
//! Promtail's reads do, it works on every file system (NFS, overlays, bind mounts), costs one
//! `stat` per file per round, and a round over 1,000 idle files is a few milliseconds.
//!
//! Each round reads at most [`MAX_BATCH_BYTES`] over all files (starting with a different file
//! each round, so a busy file cannot stall the others), runs the lines through their job's
//! pipeline, and delivers them as one batch with the positions after it. Positions advance only
//! when the destination took the batch; if it fails, every file is reopened at the last
//! delivered positions. With the local store the checkpoint is durable with the lines (exactly
//! once); Promtail's `positions.yaml` is also written every `positions.sync_period` and at stop.
//!
//! Rotation: a new inode at the path (rename) — the old file, still open, is read to its end
//! (its unfinished last line handed on) before the new one is read from 0; a file shorter than
//! its read position (copytruncate) — read again from 0. After a restart, a file whose inode
//! changed is looked for by inode in its directory and finished first. A rotated file's new
//! name inherits the position where its reading ended, so a glob that also matches rotated
//! names (`app.log*`) does not read them again.

mod positions;
mod reader;
mod targets;

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use positions::{Position, Positions, PositionsError};
pub use reader::{FileReader, Line, MAX_LINE_BYTES};
pub use targets::{discover, FileTarget, MAX_FILES};

use crate::config::LogConfig;
use crate::destination::{limit_and_group, rejection_reason, Destination};
use crate::metrics::METRICS;
use crate::pipeline::JobPipeline;
use crate::Entry;

/// Most bytes read per round over all files: one batch, one WAL frame with its checkpoint.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// Most bytes read from one file per round.
const MAX_FILE_BYTES_PER_ROUND: usize = 256 * 1024;
/// Wait before retrying after the destination failed.
const RETRY_WAIT: Duration = Duration::from_secs(1);

/// One tailed path.
struct Tailed {
    target: FileTarget,
    /// `None` until opened (a compressed file's initial delay, an open error, a rewind).
    reader: Option<FileReader>,
    /// The open file is no longer the one at the path: read it to its end, then switch.
    rotated: bool,
    discovered: Instant,
    /// The last timestamp given, so that lines of one file get increasing timestamps.
    last_ts: i64,
}

/// The tailer's state; runs on its own thread ([`Tailer::run`]).
pub(crate) struct Tailer {
    cfg: LogConfig,
    dest: Arc<dyn Destination>,
    pipelines: Vec<JobPipeline>,
    files: BTreeMap<PathBuf, Tailed>,
    /// Positions as last delivered.
    committed: Positions,
    /// Which file a round starts with.
    start_at: usize,
}

pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

impl Tailer {
    /// Positions come from the destination's checkpoint when it has one, else from the
    /// positions file (a Promtail's, when migrating).
    pub(crate) fn new(
        cfg: LogConfig,
        dest: Arc<dyn Destination>,
        pipelines: Vec<JobPipeline>,
    ) -> Result<Tailer, PositionsError> {
        let committed = match dest.checkpoint() {
            Some(bytes) => Positions::decode_checkpoint(&bytes)?,
            None => {
                Positions::read_file(&cfg.positions.filename, cfg.positions.ignore_invalid_yaml)?
            }
        };
        Ok(Tailer {
            cfg,
            dest,
            pipelines,
            files: BTreeMap::new(),
            committed,
            start_at: 0,
        })
    }

    /// Runs rounds until `stop` receives or disconnects; then writes the positions file.
    pub(crate) fn run(mut self, stop: Receiver<()>) {
        let mut next_sync = Instant::now();
        let mut next_positions = Instant::now() + self.cfg.positions.sync_period;
        let mut wait = self.cfg.min_poll;
        loop {
            if Instant::now() >= next_sync {
                self.sync_targets();
                next_sync = Instant::now() + self.cfg.target_sync_period;
            }
            let (read, full) = match self.round() {
                Ok(r) => r,
                Err(()) => {
                    wait = RETRY_WAIT;
                    (0, false)
                }
            };
            if Instant::now() >= next_positions {
                self.write_positions();
                next_positions = Instant::now() + self.cfg.positions.sync_period;
            }
            if full {
                wait = Duration::ZERO;
            } else if read > 0 {
                wait = self.cfg.min_poll;
            } else {
                wait = (wait * 2).clamp(self.cfg.min_poll, self.cfg.max_poll);
            }
            match stop.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        self.write_positions();
        METRICS.files_active.set(0.0);
    }

    fn write_positions(&self) {
        if let Err(e) = self.committed.write_file(&self.cfg.positions.filename) {
            tracing::error!(error = %e, "writing the positions file");
        }
    }

    /// Re-expands the globs: new files are added (at their known position, else from the
    /// start), files no longer matched and not being finished are dropped with their position,
    /// and so are remembered positions of files not tailed.
    fn sync_targets(&mut self) {
        let found = discover(&self.cfg.scrape_configs);
        let mut keep: HashMap<PathBuf, FileTarget> =
            found.into_iter().map(|t| (t.path.clone(), t)).collect();
        let mut gone = Vec::new();
        for (path, t) in &mut self.files {
            match keep.remove(path) {
                Some(target) => t.target = target,
                None if t.rotated => {}
                None => gone.push(path.clone()),
            }
        }
        for path in gone {
            self.drop_file(&path);
        }
        let open_inodes: HashMap<u64, &Path> = self
            .files
            .iter()
            .filter_map(|(p, t)| Some((t.reader.as_ref()?.inode(), p.as_path())))
            .collect();
        // A file another path is still reading (renamed to a name the globs match too) is
        // left for a later sync, when it starts where that reading ended.
        keep.retain(|path, _| {
            std::fs::metadata(path)
                .map(|m| open_inodes.get(&m.ino()).is_none_or(|p| *p == path))
                .unwrap_or(true)
        });
        for (path, target) in keep {
            self.files.insert(
                path,
                Tailed {
                    target,
                    reader: None,
                    rotated: false,
                    discovered: Instant::now(),
                    last_ts: 0,
                },
            );
        }
        // Positions of files no longer tailed go (as Promtail removes a stopped target's), so
        // that date-stamped or deleted files do not pile up in the checkpoint.
        let files = &self.files;
        self.committed
            .0
            .retain(|p, _| files.contains_key(Path::new(p)));
        METRICS.files_active.set(self.files.len() as f64);
    }

    fn drop_file(&mut self, path: &Path) {
        self.files.remove(path);
        let key = path.to_string_lossy();
        self.committed.0.remove(key.as_ref());
        METRICS.forget(&key);
        METRICS.files_active.set(self.files.len() as f64);
    }

    /// One round: read, run pipelines, deliver. Returns the bytes read and whether the batch
    /// was full (more is waiting); `Err` if the destination failed (files were rewound).
    fn round(&mut self) -> Result<(usize, bool), ()> {
        let paths: Vec<PathBuf> = self.files.keys().cloned().collect();
        if paths.is_empty() {
            return Ok((0, false));
        }
        let start = self.start_at % paths.len();
        self.start_at = self.start_at.wrapping_add(1);
        let mut positions = self.committed.clone();
        let mut entries: Vec<Entry> = Vec::new();
        let mut per_file_lines: Vec<(String, u64)> = Vec::new();
        let mut finished: Vec<PathBuf> = Vec::new();
        let mut total = 0;
        let mut lines = Vec::new();
        let mut handoff = Vec::new();
        for path in paths[start..].iter().chain(&paths[..start]) {
            if total >= MAX_BATCH_BYTES {
                break;
            }
            let Some(t) = self.files.get_mut(path) else {
                continue;
            };
            let key = path.to_string_lossy().into_owned();
            lines.clear();
            let n = read_file(
                t,
                positions.0.get(&key).copied(),
                &mut lines,
                MAX_FILE_BYTES_PER_ROUND.min(MAX_BATCH_BYTES - total),
                &mut handoff,
            );
            total += n;
            for (renamed, end) in handoff.drain(..) {
                positions.0.insert(renamed, end);
            }
            match &t.reader {
                Some(r) => {
                    positions.0.insert(
                        key.clone(),
                        Position {
                            offset: r.offset(),
                            inode: r.inode(),
                        },
                    );
                }
                None if !path.exists() => finished.push(path.clone()),
                None => {}
            }
            if lines.is_empty() {
                continue;
            }
            per_file_lines.push((key, lines.len() as u64));
            let pipeline = &mut self.pipelines[t.target.job];
            let now = now_ns();
            for l in lines.drain(..) {
                if l.truncated {
                    METRICS.truncated.inc();
                }
                t.last_ts = now.max(t.last_ts + 1);
                let e = Entry {
                    labels: t.target.labels.clone(),
                    ts: t.last_ts,
                    line: l.text,
                    metadata: Vec::new(),
                };
                pipeline.process(e, &mut entries);
            }
        }
        let now = now_ns();
        for p in &mut self.pipelines {
            p.flush(now, &mut entries);
        }
        let streams = limit_and_group(entries, &self.cfg.limits);
        if streams.is_empty() && positions == self.committed {
            // Nothing new: no WAL write (an idle collector must not grow the WAL).
            for path in finished {
                self.drop_file(&path);
            }
            return Ok((total, false));
        }
        let checkpoint = positions.encode_checkpoint();
        match self.dest.deliver(&streams, Some(&checkpoint)) {
            Ok(report) => {
                for (_, _, why) in &report.rejected {
                    METRICS.dropped.with(&[rejection_reason(why)]).inc();
                }
                self.committed = positions;
                for (key, n) in per_file_lines {
                    METRICS.read_lines.with(&[&key]).add(n);
                    if let Some(pos) = self.committed.0.get(&key) {
                        METRICS.read_bytes.with(&[&key]).set(pos.offset as f64);
                    }
                }
                for path in finished {
                    self.drop_file(&path);
                }
                Ok((total, total >= MAX_BATCH_BYTES))
            }
            Err(e) => {
                METRICS.append_failures.inc();
                tracing::error!(error = %e, "the log destination failed; reading again from the last delivered positions");
                for t in self.files.values_mut() {
                    t.reader = None;
                    t.rotated = false;
                }
                Err(())
            }
        }
    }
}

/// Reads up to `budget` bytes of one tailed path into `out`, handling rotation; opens the
/// file first if needed (at `pos`). Returns the bytes read. A file rotated away and finished
/// hands its end position to its new name (`handoff`), in case that name is tailed too.
fn read_file(
    t: &mut Tailed,
    pos: Option<Position>,
    out: &mut Vec<Line>,
    budget: usize,
    handoff: &mut Vec<(String, Position)>,
) -> usize {
    let path = t.target.path.clone();
    if t.reader.is_none() {
        if let Some(delay) = t.target.gz_delay {
            if t.discovered.elapsed() < delay {
                return 0;
            }
        }
        match open_at(&path, pos.unwrap_or_default(), t.target.gz_delay.is_some()) {
            Ok((r, rotated)) => {
                t.reader = Some(r);
                t.rotated = rotated;
            }
            Err(e) => {
                if path.exists() {
                    tracing::warn!(path = %path.display(), error = %e, "cannot open a tailed file");
                }
                return 0;
            }
        }
    }
    let Some(r) = t.reader.as_mut() else {
        return 0;
    };
    let gz = t.target.gz_delay.is_some();
    if !gz && !t.rotated {
        match std::fs::metadata(&path) {
            Ok(m) if m.ino() != r.inode() => t.rotated = true,
            Ok(m) if m.len() < r.read_pos() => {
                tracing::info!(path = %path.display(), "file truncated (copytruncate): reading from the start");
                r.restart();
            }
            Ok(m) => {
                METRICS
                    .file_bytes
                    .with(&[&path.to_string_lossy()])
                    .set(m.len() as f64);
            }
            Err(_) => t.rotated = true,
        }
    }
    let n = match r.read(budget, out) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "reading a tailed file");
            return 0;
        }
    };
    if n == 0 && t.rotated {
        r.finish(out);
        t.rotated = false;
        if let Some(renamed) = find_inode(&path, r.inode()) {
            let end = Position {
                offset: r.offset(),
                inode: r.inode(),
            };
            handoff.push((renamed.to_string_lossy().into_owned(), end));
        }
        t.reader = FileReader::open(&path, 0, false).ok();
    }
    n
}

/// Opens `path` at a remembered position. If the path now holds another file than the one the
/// position is for, that file is looked for by inode in the same directory (renamed by
/// rotation) and returned to be finished first (`true`); if it is gone, the path is read
/// from the start.
fn open_at(path: &Path, pos: Position, gz: bool) -> std::io::Result<(FileReader, bool)> {
    if gz || pos.inode == 0 {
        return Ok((FileReader::open(path, pos.offset, gz)?, false));
    }
    let current = std::fs::metadata(path).map(|m| m.ino()).ok();
    if current == Some(pos.inode) {
        return Ok((FileReader::open(path, pos.offset, false)?, false));
    }
    if let Some(old) = find_inode(path, pos.inode) {
        tracing::info!(path = %path.display(), rotated_to = %old.display(), "finishing a file rotated while bongsu was not reading it");
        return Ok((FileReader::open(&old, pos.offset, false)?, true));
    }
    if pos.offset > 0 {
        tracing::warn!(path = %path.display(), "the file read before was rotated away and is gone: reading the new one from the start");
    }
    Ok((FileReader::open(path, 0, false)?, false))
}

/// A file with inode `inode` in `path`'s directory.
fn find_inode(path: &Path, inode: u64) -> Option<PathBuf> {
    let dir = path.parent()?;
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .find(|e| e.metadata().is_ok_and(|m| m.is_file() && m.ino() == inode))
        .map(|e| e.path())
}

#[cfg(test)]
mod tests;
