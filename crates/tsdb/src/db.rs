//! The database: opens the data directory, replays the WAL into the head, holds the blocks,
//! and runs compaction and retention when asked.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, MutexGuard, RwLock};

use bongsu_model::SymbolTable;
use bongsu_storage::{Appendable, Appender, Querier, Queryable, StorageError};

use super::block::{Block, BlockMeta, TMP_CREATION_SUFFIX, TMP_DELETION_SUFFIX};
use super::head::Head;
use super::metrics::DbCounters;
use super::querier::DbQuerier;
use super::wal::{self, Wal, WalOptions};
use super::{compact, retention, TsdbError};

/// Name of the WAL directory inside the data directory.
pub const WAL_DIR: &str = "wal";
const LOCK_FILE: &str = "lock";

/// Two hours: the range of a block cut from the head, as in Prometheus.
pub const DEFAULT_BLOCK_RANGE_MS: i64 = 2 * 3600 * 1000;

#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Blocks whose newest sample is older than this behind the newest block's are deleted
    /// (0: keep forever).
    pub retention_ms: i64,
    /// Oldest blocks are deleted while the data directory is larger than this (0: no limit).
    pub retention_bytes: u64,
    pub block_range_ms: i64,
    pub wal: WalOptions,
}

impl Default for DbOptions {
    fn default() -> DbOptions {
        DbOptions {
            retention_ms: 15 * 24 * 3600 * 1000,
            retention_bytes: 0,
            block_range_ms: DEFAULT_BLOCK_RANGE_MS,
            wal: WalOptions::default(),
        }
    }
}

/// An open data directory.
pub struct Db {
    dir: PathBuf,
    opts: DbOptions,
    symbols: Arc<SymbolTable>,
    head: Arc<Head>,
    blocks: RwLock<Vec<Arc<Block>>>,
    /// Serializes compactions, retention, block reloads, deletions and snapshots.
    maintenance: Mutex<()>,
    /// Names of block directories opened or found unreadable so far: a reload opens only
    /// others, and reports an unreadable block once.
    seen: Mutex<HashSet<String>>,
    counters: DbCounters,
    /// Segments the WAL's other readers still need; truncation keeps them.
    wal_pins: Arc<wal::WalPins>,
    _lock: fs::File,
}

impl Db {
    /// Opens (creating if needed) the data directory `dir`: loads blocks (a damaged block fails
    /// the open), replays the WAL into the head and opens the WAL for appends.
    pub fn open(dir: &Path, opts: DbOptions) -> Result<Db, TsdbError> {
        fs::create_dir_all(dir).map_err(|e| TsdbError::io(dir, e))?;
        let lock_path = dir.join(LOCK_FILE);
        // `close` removes the lock file: one still here is from a process that did not close.
        let clean_start = !lock_path.exists();
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| TsdbError::io(&lock_path, e))?;
        lock.try_lock()
            .map_err(|_| TsdbError::Locked(dir.to_path_buf()))?;

        let symbols = Arc::new(SymbolTable::new());
        remove_leftovers(dir)?;
        let mut seen = HashSet::new();
        let blocks = open_blocks(dir, &symbols, &mut seen, Unreadable::Refuse)?;
        seen.extend(blocks.iter().map(|b| b.meta().ulid.clone()));
        let head = Arc::new(Head::new(dir, opts.block_range_ms, symbols.clone())?);
        if let Some(max) = blocks.iter().map(|b| b.meta().max_time).max() {
            head.set_min_valid_time(max);
        }

        let started = Instant::now();
        let wal_dir = dir.join(WAL_DIR);
        let mut replay = head.start_replay();
        let (wal, stats) = Wal::replay_and_open(&wal_dir, opts.wal.clone(), |record| {
            head.replay(record, &mut replay);
            Ok(())
        })?;
        let summary = head.finish_replay(replay)?;
        tracing::info!(
            series = head.num_series(),
            samples = stats.samples,
            mmapped_chunks = summary.mmapped_chunks,
            rebuilt_series = summary.rebuilt_series,
            dropped = summary.dropped,
            elapsed = ?started.elapsed(),
            "WAL replay complete"
        );
        head.set_wal(wal);
        let counters = DbCounters::default();
        counters.wal_corruptions.add(u64::from(stats.corrupt_tail));
        counters
            .clean_start
            .set(if clean_start { 1.0 } else { 0.0 });
        Ok(Db {
            dir: dir.to_path_buf(),
            opts,
            symbols,
            head,
            blocks: RwLock::new(blocks),
            maintenance: Mutex::new(()),
            seen: Mutex::new(seen),
            counters,
            wal_pins: Arc::default(),
            _lock: lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn options(&self) -> &DbOptions {
        &self.opts
    }

    /// The WAL directory, for readers that follow it (remote write).
    pub fn wal_dir(&self) -> PathBuf {
        self.dir.join(WAL_DIR)
    }

    /// Where readers of the WAL register the oldest segment they still need: checkpointing
    /// then deletes only older segments.
    pub fn wal_pins(&self) -> Arc<wal::WalPins> {
        self.wal_pins.clone()
    }

    pub(crate) fn counters(&self) -> &DbCounters {
        &self.counters
    }

    /// Held by whatever changes the set of blocks or their files (compaction, retention,
    /// reloads, deletions, snapshots), so that these run one at a time.
    pub(crate) fn maintenance(&self) -> MutexGuard<'_, ()> {
        self.maintenance.lock()
    }

    pub(crate) fn head(&self) -> &Arc<Head> {
        &self.head
    }

    /// The open blocks, oldest first.
    pub(crate) fn blocks(&self) -> Vec<Arc<Block>> {
        self.blocks.read().clone()
    }

    /// The `meta.json` of every open block, oldest first.
    pub fn block_metas(&self) -> Vec<BlockMeta> {
        self.blocks
            .read()
            .iter()
            .map(|b| b.meta().clone())
            .collect()
    }

    /// Cuts blocks from the head while it spans more than 1.5 block ranges, merges blocks,
    /// and applies retention. Safe to call at any time; runs one at a time.
    pub fn compact(&self) -> Result<(), TsdbError> {
        let _m = self.maintenance.lock();
        self.counters.compactions_triggered.inc();
        let result = compact::compact_head(self).and_then(|()| compact::compact_blocks(self));
        if result.is_err() {
            self.counters.compactions_failed.inc();
        }
        result?;
        retention::apply(self)
    }

    /// Opens block directories that appeared since the last look (e.g. written by
    /// `bongsu import` while the server runs). Returns how many were added.
    pub fn reload_blocks(&self) -> Result<usize, TsdbError> {
        let _m = self.maintenance.lock();
        self.counters.reloads.inc();
        let result = self.open_new_blocks();
        if result.is_err() {
            self.counters.reloads_failed.inc();
        }
        result
    }

    fn open_new_blocks(&self) -> Result<usize, TsdbError> {
        let mut seen = self.seen.lock();
        // Compaction adds blocks without a reload: count them as seen.
        seen.extend(self.blocks.read().iter().map(|b| b.meta().ulid.clone()));
        let added = open_blocks(&self.dir, &self.symbols, &mut seen, Unreadable::Skip)?;
        seen.extend(added.iter().map(|b| b.meta().ulid.clone()));
        for b in &added {
            tracing::info!(ulid = %b.meta().ulid, "loaded new block");
        }
        let n = added.len();
        self.swap_blocks(added, &[]);
        Ok(n)
    }

    pub(super) fn symbols(&self) -> &Arc<SymbolTable> {
        &self.symbols
    }

    /// Adds freshly written blocks and removes `obsolete` ones (in memory; the caller deletes
    /// directories).
    pub(super) fn swap_blocks(&self, added: Vec<Arc<Block>>, obsolete: &[Arc<Block>]) {
        let mut blocks = self.blocks.write();
        blocks.retain(|b| !obsolete.iter().any(|o| o.meta().ulid == b.meta().ulid));
        blocks.extend(added);
        blocks.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
    }

    /// Flushes and fsyncs the WAL, then removes the lock file so that the next start counts
    /// as clean (`prometheus_tsdb_clean_start`). Further appends fail.
    pub fn close(&self) -> Result<(), TsdbError> {
        if let Some(wal) = self.head.wal().take() {
            wal.close()?;
        }
        let lock_path = self.dir.join(LOCK_FILE);
        match fs::remove_file(&lock_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(TsdbError::io(&lock_path, e)),
            _ => Ok(()),
        }
    }
}

/// Removes what interrupted block writes and deletions left behind. Only at start-up: while
/// the server runs, an import may be writing a `.tmp-for-creation` directory.
fn remove_leftovers(dir: &Path) -> Result<(), TsdbError> {
    for entry in fs::read_dir(dir).map_err(|e| TsdbError::io(dir, e))? {
        let path = entry.map_err(|e| TsdbError::io(dir, e))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.ends_with(TMP_CREATION_SUFFIX) || name.ends_with(TMP_DELETION_SUFFIX) {
            tracing::info!(dir = %path.display(), "removing leftover of an interrupted block write");
            fs::remove_dir_all(&path).map_err(|e| TsdbError::io(&path, e))?;
        }
    }
    Ok(())
}

/// What to do with a block directory that fails to open.
#[derive(Clone, Copy, PartialEq)]
enum Unreadable {
    /// At start-up, as Prometheus: fail, naming the block. Serving without it would answer
    /// queries over its range with a silent hole.
    Refuse,
    /// A block that appeared while the server runs (an import): log it once, leave it out.
    Skip,
}

/// Opens the block directories under `dir` whose names are not in `skip`, oldest first. A
/// block that fails to open fails the call or, with [`Unreadable::Skip`], is logged, added to
/// `skip` (so it is reported once) and left out.
fn open_blocks(
    dir: &Path,
    symbols: &SymbolTable,
    skip: &mut HashSet<String>,
    unreadable: Unreadable,
) -> Result<Vec<Arc<Block>>, TsdbError> {
    let mut blocks = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| TsdbError::io(dir, e))? {
        let path = entry.map_err(|e| TsdbError::io(dir, e))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !path.is_dir() || ulid::Ulid::from_string(name).is_err() || skip.contains(name) {
            continue;
        }
        match Block::open(&path, symbols) {
            Ok(b) => blocks.push(Arc::new(b)),
            Err(source) if unreadable == Unreadable::Refuse => {
                return Err(TsdbError::UnreadableBlock { path, source })
            }
            Err(e) => {
                tracing::error!(error = %e, "skipping unreadable block");
                skip.insert(name.to_string());
            }
        }
    }
    blocks.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
    Ok(blocks)
}

impl Appendable for Db {
    /// A batch writer into the head.
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(self.head.appender())
    }
}

impl Queryable for Db {
    /// A reader over `[mint, maxt]` (ms, both inclusive) of the head and the blocks that
    /// overlap the range.
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        let blocks = self
            .blocks
            .read()
            .iter()
            .filter(|b| b.meta().overlaps(mint, maxt))
            .cloned()
            .collect();
        Ok(Box::new(DbQuerier::new(
            self.head.clone(),
            blocks,
            mint,
            maxt,
        )))
    }
}
