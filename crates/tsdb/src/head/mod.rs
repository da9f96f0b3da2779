//! The head: the in-memory, writable part of the database holding the newest samples.
//!
//! Series are found by ref or by label hash (collisions kept apart by comparing labels), indexed
//! by [`postings::MemPostings`], and each holds compressed chunks ([`series::MemSeries`]). Full
//! chunks go to memory-mapped files ([`chunk_disk`]). Writes come through [`Appender`], which
//! logs to the WAL before applying, so an acknowledged sample survives a crash; concurrent
//! commits share WAL writes ([`group_commit`]) and apply in parallel, each series' samples in
//! WAL order. Deletions
//! ([`Head::delete`]) are logged the same way and kept as tombstones that every read of samples
//! applies. The head does not decide when it is compacted into a block; `Db` does, then calls
//! [`Head::truncate`].

mod appender;
mod chunk_disk;
#[cfg(test)]
mod commit_tests;
mod delete;
mod group_commit;
mod hist_series;
mod hist_validate;
pub(crate) mod postings;
mod replay;
mod series;

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard, RwLock};

pub(crate) use appender::HeadAppender;
pub use series::{Appended, MemSeries};

use crate::postings::postings_for_matchers;
use crate::tombstones::Tombstones;
use crate::wal::Wal;
use crate::{AppendError, TsdbError};
use bongsu_model::{stable_hash_of, HistogramSample, Labels, Matcher, Sample, SymbolTable};
use chunk_disk::{ChunkDisk, Loaded};
use group_commit::GroupCommit;
use postings::MemPostings;

/// Series maps are split in this many independently locked shards.
const SHARDS: usize = 16;

/// Most series the head holds at once; series refs are 32-bit.
pub const MAX_HEAD_SERIES: u64 = u32::MAX as u64 - 1;

/// Hashes series refs, the keys of `by_ref` and of an appender's pending samples.
///
/// Refs are handed out by the head in sequence, never chosen by a client, so a keyless
/// multiplicative hash (the step of rustc's FxHash) spreads them evenly: the low bits of
/// `ref × K` are a bijection of the ref's low bits, and the high bits mix all of them. The
/// default SipHash took about a fifth of the time of an append by ref. Maps keyed by anything
/// derived from client input (label hashes) keep the default, DoS-resistant hasher.
#[derive(Default, Clone, Copy)]
pub(crate) struct RefHasher(u64);

impl RefHasher {
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for RefHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.add(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by series ref.
pub(crate) type RefMap<V> = HashMap<u32, V, BuildHasherDefault<RefHasher>>;

#[derive(Default)]
struct Shard {
    by_ref: RefMap<Arc<MemSeries>>,
    by_hash: HashMap<u64, Arc<MemSeries>>,
    /// Further series whose label hash equals one already in `by_hash`.
    collisions: HashMap<u64, Vec<Arc<MemSeries>>>,
}

/// The head block.
pub struct Head {
    chunk_range: i64,
    symbols: Arc<SymbolTable>,
    shards: Vec<RwLock<Shard>>,
    postings: RwLock<MemPostings>,
    next_ref: AtomicU32,
    num_series: AtomicU64,
    min_time: AtomicI64,
    max_time: AtomicI64,
    /// Samples older than this are out of bounds: their time range is already in a block.
    min_valid_time: AtomicI64,
    disk: ChunkDisk,
    /// The chunks found in `disk` at start-up, until the WAL replay takes them.
    loaded: Mutex<Loaded>,
    /// The WAL, locked only to write: commits frame their records before and apply them after
    /// (in per-series turns taken in WAL order, so a replay rebuilds exactly the same head).
    wal: Mutex<Option<Wal>>,
    /// Commits' framed records on their way to the WAL.
    group: GroupCommit,
    /// Held shared by a commit from its check for removed series until its samples are
    /// applied, and exclusively by [`Head::truncate`], so that garbage collection never
    /// removes a series that a commit has logged samples for but not yet applied them to.
    commits: RwLock<()>,
    /// Deleted ranges by series ref, applied to every read of samples. Taken after the WAL
    /// lock and never together with a series' or a shard's lock.
    tombstones: RwLock<Tombstones>,
    pub stats: HeadStats,
}

/// Counters exposed as metrics.
#[derive(Default)]
pub struct HeadStats {
    pub samples_appended: AtomicU64,
    /// Native histogram samples (integer and float) appended.
    pub histograms_appended: AtomicU64,
    pub out_of_order: AtomicU64,
    /// Histogram samples refused as out of order.
    pub out_of_order_histograms: AtomicU64,
    pub duplicates: AtomicU64,
    pub out_of_bounds: AtomicU64,
    /// Histogram samples refused as out of bounds.
    pub out_of_bounds_histograms: AtomicU64,
    pub series_created: AtomicU64,
    pub series_removed: AtomicU64,
    /// Chunks held, open and closed: cut by appends, dropped by truncation.
    pub chunks: AtomicU64,
}

impl HeadStats {
    pub(crate) fn count_chunk(&self, appended: Appended) {
        if appended == Appended::NewChunk {
            self.chunks.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Head {
    /// Creates an empty head whose full chunks go under `dir/chunks_head`, reading back the
    /// chunks an earlier run left there for the WAL replay ([`Head::start_replay`]).
    pub fn new(dir: &Path, chunk_range: i64, symbols: Arc<SymbolTable>) -> Result<Head, TsdbError> {
        let (disk, loaded) =
            ChunkDisk::open(&dir.join("chunks_head")).map_err(|e| TsdbError::io(dir, e))?;
        // Never hand out a ref that chunks on disk name, even for a series the WAL no longer
        // has: a later start would give that series' old chunks to the new one.
        let next_ref = loaded.keys().max().map_or(1, |r| r.saturating_add(1));
        Ok(Head {
            chunk_range,
            symbols,
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            postings: RwLock::new(MemPostings::default()),
            next_ref: AtomicU32::new(next_ref),
            num_series: AtomicU64::new(0),
            min_time: AtomicI64::new(i64::MAX),
            max_time: AtomicI64::new(i64::MIN),
            min_valid_time: AtomicI64::new(i64::MIN),
            disk,
            loaded: Mutex::new(loaded),
            wal: Mutex::new(None),
            group: GroupCommit::default(),
            commits: RwLock::new(()),
            tombstones: RwLock::new(Tombstones::default()),
            stats: HeadStats::default(),
        })
    }

    /// Attaches the WAL that commits log to (after replay).
    pub fn set_wal(&self, wal: Wal) {
        *self.wal.lock() = Some(wal);
    }

    /// Locks the WAL, blocking commits' WAL writes meanwhile.
    pub fn wal(&self) -> MutexGuard<'_, Option<Wal>> {
        self.wal.lock()
    }

    pub(crate) fn appender(&self) -> HeadAppender<'_> {
        HeadAppender::new(self)
    }

    fn shard_of_ref(&self, sref: u32) -> &RwLock<Shard> {
        &self.shards[sref as usize % SHARDS]
    }

    fn shard_of_hash(&self, hash: u64) -> &RwLock<Shard> {
        &self.shards[(hash >> 56) as usize % SHARDS]
    }

    pub fn series(&self, sref: u32) -> Option<Arc<MemSeries>> {
        self.shard_of_ref(sref).read().by_ref.get(&sref).cloned()
    }

    fn find(shard: &Shard, hash: u64, labels: &Labels) -> Option<Arc<MemSeries>> {
        if let Some(s) = shard.by_hash.get(&hash).filter(|s| s.labels == *labels) {
            return Some(s.clone());
        }
        shard
            .collisions
            .get(&hash)?
            .iter()
            .find(|s| s.labels == *labels)
            .cloned()
    }

    /// The series whose label set is exactly `pairs` (sorted by name, unique, no
    /// empty values), found without building a label set: writers that send the same series
    /// again and again skip the allocations.
    pub(crate) fn find_by_pairs(&self, pairs: &[(&str, &str)]) -> Option<Arc<MemSeries>> {
        let hash = stable_hash_of(pairs.iter().copied());
        let shard = self.shard_of_hash(hash).read();
        let same = |s: &&Arc<MemSeries>| {
            s.labels.len() == pairs.len()
                && s.labels
                    .iter()
                    .zip(pairs)
                    .all(|(l, (n, v))| &*l.name == *n && &*l.value == *v)
        };
        let found = shard
            .by_hash
            .get(&hash)
            .filter(same)
            .or_else(|| shard.collisions.get(&hash)?.iter().find(same));
        found.cloned()
    }

    /// The series with `labels`, created if new (`true` in the result when created).
    pub fn get_or_create(&self, labels: &Labels) -> Result<(Arc<MemSeries>, bool), AppendError> {
        let hash = labels.stable_hash();
        if let Some(s) = Self::find(&self.shard_of_hash(hash).read(), hash, labels) {
            return Ok((s, false));
        }
        if labels.is_empty() {
            return Err(AppendError::InvalidLabels("series has no labels".into()));
        }
        if let Some(size) = crate::wal::series_over_record_limit(labels) {
            return Err(AppendError::InvalidLabels(format!(
                "labels encode to {size} bytes, over the WAL record limit of {}",
                crate::wal::MAX_RECORD_PAYLOAD
            )));
        }
        let sref = self.next_ref.fetch_add(1, Ordering::Relaxed);
        if u64::from(sref) >= MAX_HEAD_SERIES {
            return Err(AppendError::TooManySeries);
        }
        self.insert(sref, self.symbols.intern_labels(labels), hash)
    }

    /// Inserts a series with a given ref unless its labels exist already.
    fn insert(
        &self,
        sref: u32,
        labels: Labels,
        hash: u64,
    ) -> Result<(Arc<MemSeries>, bool), AppendError> {
        let series = Arc::new(MemSeries::new(sref, labels));
        {
            let mut shard = self.shard_of_hash(hash).write();
            if let Some(s) = Self::find(&shard, hash, &series.labels) {
                return Ok((s, false));
            }
            let shard = &mut *shard;
            match shard.by_hash.entry(hash) {
                Entry::Occupied(_) => shard
                    .collisions
                    .entry(hash)
                    .or_default()
                    .push(series.clone()),
                Entry::Vacant(slot) => {
                    slot.insert(series.clone());
                }
            }
        }
        self.shard_of_ref(sref)
            .write()
            .by_ref
            .insert(sref, series.clone());
        self.postings.write().add(sref, &series.labels);
        self.num_series.fetch_add(1, Ordering::Relaxed);
        self.stats.series_created.fetch_add(1, Ordering::Relaxed);
        Ok((series, true))
    }

    pub fn num_series(&self) -> u64 {
        self.num_series.load(Ordering::Relaxed)
    }

    /// Oldest sample time in the head (`i64::MAX` when empty).
    pub fn min_time(&self) -> i64 {
        self.min_time.load(Ordering::Acquire)
    }

    /// Newest sample time in the head (`i64::MIN` when empty).
    pub fn max_time(&self) -> i64 {
        self.max_time.load(Ordering::Acquire)
    }

    pub fn min_valid_time(&self) -> i64 {
        self.min_valid_time.load(Ordering::Acquire)
    }

    /// Oldest time an append may have: not in a block already, and not more than half a block
    /// range behind the newest sample, so that a range being compacted gets no new samples.
    pub fn appendable_min_time(&self) -> i64 {
        self.min_valid_time()
            .max(self.max_time().saturating_sub(self.chunk_range / 2))
    }

    /// Raises the time before which appends are rejected (once that range is in a block).
    pub fn set_min_valid_time(&self, t: i64) {
        self.min_valid_time.fetch_max(t, Ordering::AcqRel);
    }

    fn note_times(&self, min: i64, max: i64) {
        self.min_time.fetch_min(min, Ordering::AcqRel);
        self.max_time.fetch_max(max, Ordering::AcqRel);
    }

    /// Series matching `matchers`, in no particular order.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<Arc<MemSeries>> {
        let ids = {
            let p = self.postings.read();
            match postings_for_matchers(&*p, matchers) {
                Ok(ids) => ids,
                Err(never) => match never {},
            }
        };
        ids.iter().filter_map(|id| self.series(id)).collect()
    }

    /// Samples of `series` in `[mint, maxt]` that are not deleted, appended to `out`.
    pub fn read_samples(
        &self,
        series: &MemSeries,
        mint: i64,
        maxt: i64,
        out: &mut Vec<Sample>,
    ) -> Result<(), TsdbError> {
        let start = out.len();
        series.samples(mint, maxt, &self.disk, out)?;
        if let Some(deleted) = self.tombstones.read().get(series.sref) {
            deleted.remove_deleted(out, start);
        }
        Ok(())
    }

    /// Histogram samples of `series` in `[mint, maxt]` that are not deleted, appended to `out`.
    pub fn read_histograms(
        &self,
        series: &MemSeries,
        mint: i64,
        maxt: i64,
        out: &mut Vec<HistogramSample>,
    ) -> Result<(), TsdbError> {
        let start = out.len();
        series.histograms(mint, maxt, &self.disk, out)?;
        if let Some(deleted) = self.tombstones.read().get(series.sref) {
            let kept: Vec<HistogramSample> = out
                .drain(start..)
                .filter(|h| !deleted.contains(h.t))
                .collect();
            out.extend(kept);
        }
        Ok(())
    }

    /// Sorted label names; restricted to series matching `matchers` when any are given.
    pub fn label_names(&self, matchers: &[Matcher]) -> Vec<Arc<str>> {
        if matchers.is_empty() {
            return self.postings.read().label_names();
        }
        let mut names: Vec<Arc<str>> = self
            .select(matchers)
            .iter()
            .flat_map(|s| s.labels.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Sorted values of label `name`; restricted to series matching `matchers` when given.
    pub fn label_values(&self, name: &str, matchers: &[Matcher]) -> Vec<Arc<str>> {
        if matchers.is_empty() {
            use crate::postings::PostingsSource;
            return match self.postings.read().label_values(name) {
                Ok(v) => v,
                Err(never) => match never {},
            };
        }
        let mut values: Vec<Arc<str>> = self
            .select(matchers)
            .iter()
            .filter_map(|s| {
                s.labels
                    .iter()
                    .find(|l| &*l.name == name)
                    .map(|l| l.value.clone())
            })
            .collect();
        values.sort();
        values.dedup();
        values
    }

    /// Drops every sample before `min_time` (now in a block) and the series left empty, and
    /// deletes chunk files no longer needed. Waits for the commits in flight and blocks new
    /// ones while it runs.
    pub fn truncate(&self, min_time: i64) -> Result<(), TsdbError> {
        let _commits = self.commits.write();
        let _wal = self.wal.lock();
        self.set_min_valid_time(min_time);
        let mut removed = Vec::new();
        let mut chunks_removed = 0;
        for shard in &self.shards {
            let shard = shard.read();
            removed.extend(
                shard
                    .by_ref
                    .values()
                    .filter(|s| {
                        let (chunks, empty) = s.truncate(min_time);
                        chunks_removed += chunks as u64;
                        empty
                    })
                    .cloned(),
            );
        }
        self.stats
            .chunks
            .fetch_sub(chunks_removed, Ordering::Relaxed);
        for s in &removed {
            s.removed.store(true, Ordering::Release);
            self.shard_of_ref(s.sref).write().by_ref.remove(&s.sref);
            let hash = s.labels.stable_hash();
            let mut shard = self.shard_of_hash(hash).write();
            if shard.by_hash.get(&hash).is_some_and(|x| x.sref == s.sref) {
                shard.by_hash.remove(&hash);
                // Promote a colliding series, if any, to the primary slot.
                if let Some(list) = shard.collisions.get_mut(&hash) {
                    if let Some(next) = list.pop() {
                        shard.by_hash.insert(hash, next);
                    }
                }
            } else if let Some(list) = shard.collisions.get_mut(&hash) {
                list.retain(|x| x.sref != s.sref);
            }
            if shard.collisions.get(&hash).is_some_and(Vec::is_empty) {
                shard.collisions.remove(&hash);
            }
            drop(shard);
            self.postings.write().remove(s.sref, &s.labels);
        }
        let removed_refs: std::collections::HashSet<u32> = removed.iter().map(|s| s.sref).collect();
        self.tombstones
            .write()
            .retain(min_time, |r| !removed_refs.contains(&r));
        self.num_series
            .fetch_sub(removed.len() as u64, Ordering::Relaxed);
        self.stats
            .series_removed
            .fetch_add(removed.len() as u64, Ordering::Relaxed);
        let (mut min, mut max) = (i64::MAX, i64::MIN);
        for shard in &self.shards {
            for s in shard.read().by_ref.values() {
                if let Some((a, b)) = s.time_range() {
                    min = min.min(a);
                    max = max.max(b);
                }
            }
        }
        self.min_time.store(min, Ordering::Release);
        self.max_time.store(max, Ordering::Release);
        self.disk
            .truncate(min_time)
            .map_err(|e| TsdbError::HeadChunk(e.to_string()))
    }

    /// All series refs, for WAL checkpoints (which keep only series still in the head).
    pub fn contains_ref(&self, sref: u64) -> bool {
        u32::try_from(sref)
            .ok()
            .is_some_and(|r| self.series(r).is_some())
    }

    /// Calls `f` for every series with samples in `[mint, maxt]` (deleted ones left out), in
    /// label order, one series at a time so that writing a block never holds all of its
    /// samples in memory.
    pub fn for_each_in_range(
        &self,
        mint: i64,
        maxt: i64,
        mut f: impl FnMut(&Labels, &[Sample], &[HistogramSample]) -> Result<(), TsdbError>,
    ) -> Result<(), TsdbError> {
        let mut all: Vec<Arc<MemSeries>> = Vec::new();
        for shard in &self.shards {
            all.extend(shard.read().by_ref.values().cloned());
        }
        all.sort_by(|a, b| a.labels.cmp(&b.labels));
        let (mut samples, mut hists) = (Vec::new(), Vec::new());
        for s in all {
            samples.clear();
            hists.clear();
            self.read_samples(&s, mint, maxt, &mut samples)?;
            self.read_histograms(&s, mint, maxt, &mut hists)?;
            if !samples.is_empty() || !hists.is_empty() {
                f(&s.labels, &samples, &hists)?;
            }
        }
        Ok(())
    }

    /// Calls `f` for every series in the head, in no particular order (for status pages).
    pub fn for_each_series(&self, mut f: impl FnMut(&MemSeries)) {
        for shard in &self.shards {
            for s in shard.read().by_ref.values() {
                f(s);
            }
        }
    }

    /// Bytes of full chunks on disk.
    pub fn chunk_disk_size(&self) -> u64 {
        self.disk.size()
    }
}
