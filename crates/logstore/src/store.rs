//! [`LogStore`]: opening a data directory, and appending (the storage `LogAppendable` and
//! `CheckpointedLogAppendable`: consumers' checkpoints, durable with their lines).
//!
//! Writers (appends, head cuts) take the WAL mutex first, so the WAL order is the apply order
//! and a cut sees no append half done; readers take only the state's read lock, briefly, to
//! snapshot what they select. Merges and retention take the compaction mutex and swap the block
//! list under the state's write lock.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bongsu_model::log::{LogEntry, LogStream};
use bongsu_storage::logs::{
    CheckpointedLogAppendable, LogAppendReport, LogAppendable, LogRejection,
};
use bongsu_storage::StorageError;
use parking_lot::{Mutex, RwLock};
use tracing::{error, info};

use crate::block::chunk::ChunkEncoder;
use crate::block::{Block, TMP_SUFFIX};
use crate::error::LogStoreError;
use crate::head::{Head, MetaPairs};
use crate::options::LogStoreOptions;
use crate::registry::Registry;
use crate::wal::{self, LogWal, Record, WalStream};
use crate::writer::Writer;

/// What readers and writers share.
pub(crate) struct State {
    pub registry: Registry,
    pub head: Head,
    /// Sorted by `min_ts`.
    pub blocks: Vec<Arc<Block>>,
    /// The WAL generation: the segment the WAL was rolled to at the last cut (or opened at).
    pub gen: u32,
}

/// A durable log store over one directory (`wal/`, `blocks/`). See the crate docs.
pub struct LogStore {
    pub(crate) dir: PathBuf,
    pub(crate) opts: LogStoreOptions,
    pub(crate) wal: Mutex<LogWal>,
    pub(crate) state: RwLock<State>,
    pub(crate) compaction: Mutex<()>,
    /// Runs appends and head cuts (see `writer`).
    pub(crate) writer: Writer,
    /// Each consumer's last checkpoint (`append_with_checkpoint`), as durable as the lines it
    /// came with; changed only under the WAL lock, logged again into the new segment at a cut.
    pub(crate) checkpoints: Mutex<BTreeMap<String, Vec<u8>>>,
    /// The chunk encoder of head cuts (at `cut_zstd_level`), made at the first cut.
    pub(crate) cut_encoder: Mutex<Option<ChunkEncoder>>,
    /// Held (locked) while the store is open: one process per directory.
    _lock: fs::File,
}

/// The file whose lock marks the directory as in use.
const LOCK_FILE: &str = "lock";

/// The wall clock in Unix nanoseconds.
pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

impl LogStore {
    /// Opens (creating) the store in `dir`, locking it against other processes: removes
    /// unfinished block files, loads the blocks
    /// (a damaged one is skipped with an error log, left in place), deletes blocks a merge
    /// replaced, replays the WAL above the blocks' floor into the head, and starts a new WAL
    /// segment.
    pub fn open(dir: &Path, opts: LogStoreOptions) -> Result<LogStore, LogStoreError> {
        fs::create_dir_all(dir).map_err(|e| LogStoreError::io(dir, e))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| LogStoreError::io(&lock_path, e))?;
        lock.try_lock()
            .map_err(|_| LogStoreError::Locked(dir.to_path_buf()))?;
        let blocks_dir = dir.join("blocks");
        fs::create_dir_all(&blocks_dir).map_err(|e| LogStoreError::io(&blocks_dir, e))?;
        let mut blocks = Vec::new();
        for entry in fs::read_dir(&blocks_dir).map_err(|e| LogStoreError::io(&blocks_dir, e))? {
            let path = entry.map_err(|e| LogStoreError::io(&blocks_dir, e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(TMP_SUFFIX) {
                info!(path = %path.display(), "removing an unfinished log block");
                fs::remove_file(&path).map_err(|e| LogStoreError::io(&path, e))?;
                continue;
            }
            match Block::open(&path) {
                Ok(b) => blocks.push(b),
                Err(e) => error!(error = %e, "skipping an unreadable log block"),
            }
        }
        let replaced: HashSet<_> = blocks
            .iter()
            .flat_map(|b| b.replaces.iter().copied())
            .collect();
        let (gone, mut blocks): (Vec<Block>, Vec<Block>) =
            blocks.into_iter().partition(|b| replaced.contains(&b.ulid));
        for b in gone {
            info!(block = %b.path.display(), "removing a log block a merge replaced");
            fs::remove_file(&b.path).map_err(|e| LogStoreError::io(&b.path, e))?;
        }
        blocks.sort_by_key(|b| (b.min_ts, b.ulid));

        let mut registry = Registry::default();
        let floor = blocks.iter().map(|b| b.wal_floor).max().unwrap_or(0);
        let blocks: Vec<Arc<Block>> = blocks
            .into_iter()
            .map(|mut b| {
                b.ids = b
                    .streams
                    .iter()
                    .map(|s| {
                        let id = registry.get_or_insert(&s.labels);
                        if let Some(info) = registry.get_mut(id) {
                            info.newest_ts = info.newest_ts.max(s.max_ts);
                        }
                        id
                    })
                    .collect();
                Arc::new(b)
            })
            .collect();

        let wal_dir = dir.join("wal");
        let wal = LogWal::open(&wal_dir, floor, opts.wal_segment_size, opts.fsync_on_commit)?;
        let mut head = Head::default();
        let mut wal_ids = std::collections::HashMap::new();
        let mut checkpoints = BTreeMap::new();
        let mut replay_entries = |es: Vec<(u32, LogEntry)>,
                                  wal_ids: &std::collections::HashMap<u32, u32>,
                                  registry: &mut Registry| {
            for (wid, e) in es {
                // An entry of a stream the WAL never defined cannot be placed: skip it.
                let Some(&id) = wal_ids.get(&wid) else {
                    continue;
                };
                if let Some(info) = registry.get_mut(id) {
                    info.newest_ts = info.newest_ts.max(e.ts);
                }
                head.push(id, e.ts, &e.line, meta_pairs(&e.metadata));
            }
        };
        wal::replay(&wal_dir, floor, |r| match r {
            Record::Streams(ss) => {
                for s in ss {
                    let id = registry.get_or_insert(&s.labels);
                    if let Some(info) = registry.get_mut(id) {
                        info.logged_gen = Some(floor);
                    }
                    wal_ids.insert(s.id, id);
                }
            }
            Record::Entries(es) => replay_entries(es, &wal_ids, &mut registry),
            Record::Checkpoint {
                consumer,
                data,
                entries,
            } => {
                replay_entries(entries, &wal_ids, &mut registry);
                checkpoints.insert(consumer, data);
            }
        })?;
        info!(
            blocks = blocks.len(),
            streams = registry.len(),
            checkpoints = checkpoints.len(),
            "log store opened"
        );
        Ok(LogStore {
            dir: dir.to_path_buf(),
            opts,
            wal: Mutex::new(wal),
            state: RwLock::new(State {
                registry,
                head,
                blocks,
                gen: floor,
            }),
            compaction: Mutex::new(()),
            writer: Writer::start()?,
            checkpoints: Mutex::new(checkpoints),
            cut_encoder: Mutex::new(None),
            _lock: lock,
        })
    }

    pub(crate) fn blocks_dir(&self) -> PathBuf {
        self.dir.join("blocks")
    }

    /// Appends lines: refused ones are reported (Loki's reasons), exact duplicates of lines in
    /// the head are dropped silently and count as appended, the rest is written to the WAL and
    /// then to the head. Returns after the WAL write. May cut the head into a block after
    /// (when it is over its size or time span), so an append can take a compression's time.
    ///
    /// The WAL mutex is held throughout (appends and cuts are serialized, so the WAL order is
    /// the head's order); the state lock only while checking and while applying, not during the
    /// WAL write, so readers are not held up by the disk. Runs on the store's writer thread.
    pub fn append(&self, streams: &[LogStream]) -> Result<LogAppendReport, LogStoreError> {
        self.writer.run(|| self.append_here(streams, None))
    }

    /// [`LogStore::append`] that also records `checkpoint` as `consumer`'s, in the same WAL
    /// record as the lines when they fit one (4 MiB): after a crash, the store holds either
    /// the lines and the checkpoint or neither. [`LogStore::checkpoint`] returns it after a
    /// restart, across head cuts.
    pub fn append_with_checkpoint(
        &self,
        streams: &[LogStream],
        consumer: &str,
        checkpoint: &[u8],
    ) -> Result<LogAppendReport, LogStoreError> {
        self.writer
            .run(|| self.append_here(streams, Some((consumer, checkpoint))))
    }

    /// The last checkpoint `consumer` appended, if any.
    pub fn checkpoint(&self, consumer: &str) -> Option<Vec<u8>> {
        self.checkpoints.lock().get(consumer).cloned()
    }

    fn append_here(
        &self,
        streams: &[LogStream],
        checkpoint: Option<(&str, &[u8])>,
    ) -> Result<LogAppendReport, LogStoreError> {
        let mut wal = self.wal.lock();
        let Checked {
            report,
            accepted,
            defs,
        } = self.check(streams);
        if accepted.is_empty() && defs.is_empty() && checkpoint.is_none() {
            return Ok(report);
        }
        if let Err(e) = wal.append_with_checkpoint(&defs, &accepted, checkpoint) {
            // The definitions were not logged after all: log them again next time.
            let mut st = self.state.write();
            for d in &defs {
                if let Some(info) = st.registry.get_mut(d.id) {
                    info.logged_gen = None;
                }
            }
            return Err(e.into());
        }
        if let Some((consumer, data)) = checkpoint {
            self.checkpoints
                .lock()
                .insert(consumer.to_string(), data.to_vec());
        }
        let metas: Vec<MetaPairs> = accepted
            .iter()
            .map(|(_, e)| meta_pairs(&e.metadata))
            .collect();
        let (bytes, span) = {
            let mut st = self.state.write();
            for ((id, e), meta) in accepted.iter().zip(metas) {
                if let Some(info) = st.registry.get_mut(*id) {
                    info.newest_ts = info.newest_ts.max(e.ts);
                }
                st.head.push(*id, e.ts, &e.line, meta);
            }
            (st.head.bytes, st.head.max_ts.saturating_sub(st.head.min_ts))
        };
        if bytes >= self.opts.head_max_bytes || span >= self.opts.head_max_span_ns {
            self.cut_locked(&mut wal, true)?;
        }
        Ok(report)
    }

    /// Decides each line's fate (see [`LogStore::append`]) and registers new streams; returns
    /// the report, the lines to write and the stream definitions the WAL needs first. The
    /// definitions are marked logged in the current generation here.
    fn check<'a>(&self, streams: &'a [LogStream]) -> Checked<'a> {
        let mut report = LogAppendReport::default();
        let oldest_ok = now_ns()
            .saturating_sub(i64::try_from(self.opts.retention.as_nanos()).unwrap_or(i64::MAX));
        let mut accepted: Vec<(u32, &LogEntry)> = Vec::new();
        let mut defs: Vec<WalStream> = Vec::new();
        let mut st = self.state.write();
        let st = &mut *st;
        let mut active = st.head.streams.len();
        let mut newest: std::collections::HashMap<u32, i64> = std::collections::HashMap::new();
        for (si, s) in streams.iter().enumerate() {
            let known = st.registry.lookup(&s.labels);
            let in_head = known
                .is_some_and(|id| st.head.streams.contains_key(&id) || newest.contains_key(&id));
            let mut id = None;
            for (ei, e) in s.entries.iter().enumerate() {
                let size = e.line.len()
                    + e.metadata
                        .iter()
                        .map(|(k, v)| k.len() + v.len())
                        .sum::<usize>();
                let reject = if size > self.opts.max_line_bytes {
                    Some(LogRejection::LineTooLong {
                        stream: s.labels.to_string(),
                        max: self.opts.max_line_bytes,
                        length: size,
                    })
                } else if e.ts < oldest_ok {
                    Some(LogRejection::TooOld {
                        stream: s.labels.to_string(),
                        entry: format_rfc3339_nano(e.ts),
                        oldest_acceptable: format_rfc3339_nano(oldest_ok),
                    })
                } else {
                    None
                };
                if let Some(r) = reject {
                    report.rejected.push((si, ei, r));
                    continue;
                }
                let sid = match id {
                    Some(i) => i,
                    None => {
                        if !in_head && active >= self.opts.max_active_streams {
                            report.rejected.push((
                                si,
                                ei,
                                LogRejection::StreamLimit {
                                    stream: s.labels.to_string(),
                                },
                            ));
                            continue;
                        }
                        let i = st.registry.get_or_insert(&s.labels);
                        if !in_head {
                            active += 1;
                        }
                        id = Some(i);
                        i
                    }
                };
                let info = st.registry.get_mut(sid).expect("registered above");
                let newest_ts = newest.entry(sid).or_insert(info.newest_ts);
                let floor = newest_ts.saturating_sub(self.opts.out_of_order_window_ns);
                if e.ts < floor {
                    report.rejected.push((
                        si,
                        ei,
                        LogRejection::TooFarBehind {
                            entry: format_rfc3339_nano(e.ts),
                            oldest_acceptable: format_rfc3339_nano(floor),
                        },
                    ));
                    continue;
                }
                *newest_ts = (*newest_ts).max(e.ts);
                report.appended += 1;
                if st.head.contains(sid, e.ts, &e.line) {
                    continue;
                }
                if info.logged_gen != Some(st.gen) {
                    info.logged_gen = Some(st.gen);
                    defs.push(WalStream {
                        id: sid,
                        labels: s.labels.clone(),
                    });
                }
                accepted.push((sid, e));
            }
        }
        Checked {
            report,
            accepted,
            defs,
        }
    }

    /// Bytes of blocks and WAL on disk.
    pub fn disk_bytes(&self) -> u64 {
        let blocks: u64 = self.state.read().blocks.iter().map(|b| b.size()).sum();
        blocks + self.wal.lock().size_bytes()
    }

    /// Syncs the WAL (for a clean shutdown without `fsync_on_commit`).
    pub fn sync(&self) -> Result<(), LogStoreError> {
        Ok(self.wal.lock().sync()?)
    }
}

/// What [`LogStore::check`] decided.
struct Checked<'a> {
    report: LogAppendReport,
    /// Lines to write, by stream id.
    accepted: Vec<(u32, &'a LogEntry)>,
    /// Streams the WAL must define before those lines.
    defs: Vec<WalStream>,
}

impl LogAppendable for LogStore {
    fn append_logs(&self, streams: &[LogStream]) -> Result<LogAppendReport, StorageError> {
        Ok(self.append(streams)?)
    }
}

impl CheckpointedLogAppendable for LogStore {
    fn append_logs_with_checkpoint(
        &self,
        streams: &[LogStream],
        consumer: &str,
        checkpoint: &[u8],
    ) -> Result<LogAppendReport, StorageError> {
        Ok(self.append_with_checkpoint(streams, consumer, checkpoint)?)
    }

    fn log_checkpoint(&self, consumer: &str) -> Option<Vec<u8>> {
        self.checkpoint(consumer)
    }
}

/// Structured metadata as the head keeps it: sorted by name, the last value of a repeated name
/// kept (Loki keeps structured metadata as a label set).
pub(crate) fn meta_pairs(metadata: &[(String, String)]) -> MetaPairs {
    let mut meta: Vec<(Box<str>, Box<str>)> = Vec::with_capacity(metadata.len());
    for (k, v) in metadata {
        match meta.iter_mut().find(|(n, _)| **n == **k) {
            Some(slot) => slot.1 = v.as_str().into(),
            None => meta.push((k.as_str().into(), v.as_str().into())),
        }
    }
    meta.sort_by(|a, b| a.0.cmp(&b.0));
    meta.into_boxed_slice()
}

/// Go's `time.RFC3339Nano` in UTC (trailing zeros of the fraction dropped), as Loki prints
/// timestamps in its messages.
pub fn format_rfc3339_nano(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if frac != 0 {
        let f = format!(".{frac:09}");
        s.push_str(f.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_nano() {
        assert_eq!(
            format_rfc3339_nano(1_700_000_000_022_853_351),
            "2023-11-14T22:13:20.022853351Z"
        );
        assert_eq!(format_rfc3339_nano(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339_nano(951_782_400_500_000_000),
            "2000-02-29T00:00:00.5Z"
        );
        assert_eq!(format_rfc3339_nano(-1), "1969-12-31T23:59:59.999999999Z");
    }
}
