//! Reading: series selected by label matchers over a time range, merged across head and blocks,
//! with deleted samples (tombstones) left out.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::Arc;

use bongsu_model::{HistogramSample, Labels, Matcher, Sample};
use bongsu_storage::{Querier, Series, StorageError};

use super::block::{Block, ChunkMeta, ChunkScratch, HistChunkMeta};
use super::head::Head;
use super::postings::postings_for_matchers;
use super::TsdbError;

/// Fewer series than this are read from a block on the calling thread alone: below it,
/// starting threads costs about what they save.
const PARALLEL_MIN_SERIES: usize = 512;

/// A series read from a block: labels, float samples, histogram samples.
type BlockSeries = (Labels, Vec<Sample>, Vec<HistogramSample>);

/// A consistent view of the head and the blocks overlapping `[mint, maxt]` (both inclusive).
///
/// Blocks held by a querier stay readable even if compaction or retention deletes them
/// meanwhile: their files stay mapped until the querier is dropped.
pub(crate) struct DbQuerier {
    head: Arc<Head>,
    blocks: Vec<Arc<Block>>,
    mint: i64,
    maxt: i64,
}

impl DbQuerier {
    pub(super) fn new(head: Arc<Head>, blocks: Vec<Arc<Block>>, mint: i64, maxt: i64) -> DbQuerier {
        DbQuerier {
            head,
            blocks,
            mint,
            maxt,
        }
    }

    /// The labels and in-range samples of the series `ids` of `block` that have any, in the
    /// order of `ids`. Many series are decoded on several threads (at most one per core):
    /// decoding is most of a large select's time and each series is independent.
    fn read_block_series(&self, block: &Block, ids: &[u32]) -> Result<Vec<BlockSeries>, TsdbError> {
        let tombstones = block.tombstones();
        let read = |ids: &[u32]| -> Result<Vec<BlockSeries>, TsdbError> {
            let (mut metas, mut scratch, mut all) =
                (Vec::new(), ChunkScratch::default(), Vec::new());
            let mut hmetas = Vec::new();
            let mut out = Vec::with_capacity(ids.len());
            for &id in ids {
                let labels =
                    block
                        .index()
                        .series_with_histograms(id, &mut metas, Some(&mut hmetas))?;
                let deleted = tombstones.get(id);
                let mut hists = Vec::new();
                for c in hmetas.iter().filter(|c| {
                    c.max_time >= self.mint
                        && c.min_time <= self.maxt
                        && !deleted.is_some_and(|d| d.covers(c.min_time, c.max_time))
                }) {
                    block.read_histogram_chunk(c, &mut hists)?;
                }
                hists.retain(|h| {
                    h.t >= self.mint
                        && h.t <= self.maxt
                        && !deleted.is_some_and(|d| d.contains(h.t))
                });
                all.clear();
                for c in metas.iter().filter(|c| {
                    overlaps(c, self.mint, self.maxt)
                        && !deleted.is_some_and(|d| d.covers(c.min_time, c.max_time))
                }) {
                    block.read_chunk(c, &mut all, &mut scratch)?;
                }
                if let Some(d) = deleted {
                    d.remove_deleted(&mut all, 0);
                }
                // Decoded into a reused buffer, then copied once into a vector of its size:
                // growing each series' own vector chunk by chunk cost reallocations and page
                // faults.
                let in_range = |s: &&Sample| s.t >= self.mint && s.t <= self.maxt;
                let n = all.iter().filter(in_range).count();
                if n > 0 || !hists.is_empty() {
                    let mut buf = Vec::with_capacity(n);
                    buf.extend(all.iter().filter(in_range).copied());
                    out.push((labels, buf, hists));
                }
            }
            Ok(out)
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        if threads < 2 || ids.len() < PARALLEL_MIN_SERIES {
            return read(ids);
        }
        let per_thread = ids.len().div_ceil(threads);
        let parts: Vec<Result<_, TsdbError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = ids
                .chunks(per_thread)
                .map(|part| scope.spawn(move || read(part)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let mut out = Vec::with_capacity(ids.len());
        for part in parts {
            out.extend(part?);
        }
        Ok(out)
    }
}

impl Querier for DbQuerier {
    /// Series matching every matcher that have samples in range, sorted by labels.
    fn select(&self, matchers: &[Matcher]) -> Result<Vec<Series>, StorageError> {
        let mut out: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
        let mut hists: BTreeMap<Labels, Vec<HistogramSample>> = BTreeMap::new();
        let mut buf = Vec::new();
        let mut hbuf = Vec::new();
        for block in &self.blocks {
            let ids: Vec<u32> = postings_for_matchers(block.index(), matchers)?
                .iter()
                .collect();
            for (labels, samples, mut hs) in self.read_block_series(block, &ids)? {
                if !hs.is_empty() {
                    merge_histograms_into(hists.entry(labels.clone()).or_default(), &mut hs);
                }
                match out.entry(labels) {
                    Entry::Vacant(e) => {
                        e.insert(samples);
                    }
                    Entry::Occupied(mut e) => merge_into(e.get_mut(), &samples),
                }
            }
        }
        if self.head.max_time() >= self.mint && self.head.min_time() <= self.maxt {
            for s in self.head.select(matchers) {
                buf.clear();
                self.head.read_samples(&s, self.mint, self.maxt, &mut buf)?;
                if !buf.is_empty() {
                    merge_into(out.entry(s.labels.clone()).or_default(), &buf);
                }
                hbuf.clear();
                self.head
                    .read_histograms(&s, self.mint, self.maxt, &mut hbuf)?;
                if !hbuf.is_empty() {
                    merge_histograms_into(hists.entry(s.labels.clone()).or_default(), &mut hbuf);
                    out.entry(s.labels.clone()).or_default();
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|(labels, samples)| {
                let histograms = hists.remove(&labels).unwrap_or_default();
                Series {
                    labels,
                    samples,
                    histograms,
                }
            })
            .collect())
    }

    /// Label sets of the series matching `matchers` with data in range, sorted.
    fn series_labels(&self, matchers: &[Matcher]) -> Result<Vec<Labels>, StorageError> {
        let mut out: BTreeMap<Labels, ()> = BTreeMap::new();
        let (mut metas, mut hmetas) = (Vec::new(), Vec::new());
        for block in &self.blocks {
            let index = block.index();
            let tombstones = block.tombstones();
            for id in postings_for_matchers(index, matchers)? {
                let labels = index.series_with_histograms(id, &mut metas, Some(&mut hmetas))?;
                let deleted = tombstones.get(id);
                // A chunk counts unless its part in range is all deleted.
                let live = |c: &ChunkMeta| {
                    let (lo, hi) = (c.min_time.max(self.mint), c.max_time.min(self.maxt));
                    lo <= hi && !deleted.is_some_and(|d| d.covers(lo, hi))
                };
                let live_h = |c: &HistChunkMeta| {
                    let (lo, hi) = (c.min_time.max(self.mint), c.max_time.min(self.maxt));
                    lo <= hi && !deleted.is_some_and(|d| d.covers(lo, hi))
                };
                if metas.iter().any(live) || hmetas.iter().any(live_h) {
                    out.insert(labels, ());
                }
            }
        }
        for s in self.head.select(matchers) {
            if self.head.has_data_in(&s, self.mint, self.maxt) {
                out.insert(s.labels.clone(), ());
            }
        }
        Ok(out.into_keys().collect())
    }

    /// Sorted, distinct label names, of the series matching `matchers` when any are given.
    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let mut names: BTreeMap<Arc<str>, ()> = BTreeMap::new();
        if matchers.is_empty() {
            for b in &self.blocks {
                names.extend(b.index().label_names().into_iter().map(|n| (n, ())));
            }
            names.extend(self.head.label_names(&[]).into_iter().map(|n| (n, ())));
        } else {
            for ls in self.series_labels(matchers)? {
                names.extend(ls.iter().map(|l| (l.name.clone(), ())));
            }
        }
        Ok(names.into_keys().map(|n| n.to_string()).collect())
    }

    /// Sorted, distinct values of label `name`, of the series matching `matchers` if given.
    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        use super::postings::PostingsSource;
        let mut values: BTreeMap<Arc<str>, ()> = BTreeMap::new();
        if matchers.is_empty() {
            for b in &self.blocks {
                values.extend(b.index().label_values(name)?.into_iter().map(|v| (v, ())));
            }
            values.extend(
                self.head
                    .label_values(name, &[])
                    .into_iter()
                    .map(|v| (v, ())),
            );
        } else {
            for ls in self.series_labels(matchers)? {
                if let Some(l) = ls.iter().find(|l| &*l.name == name) {
                    values.insert(l.value.clone(), ());
                }
            }
        }
        Ok(values.into_keys().map(|v| v.to_string()).collect())
    }
}

/// Merges `new` (sorted by time) into `into` (sorted); on equal times the sample already in
/// `into` (from an older source) gives way to the newer one.
pub(super) fn merge_histograms_into(
    into: &mut Vec<HistogramSample>,
    new: &mut Vec<HistogramSample>,
) {
    if into
        .last()
        .is_none_or(|l| new.first().is_none_or(|f| l.t < f.t))
    {
        into.append(new);
        return;
    }
    let old = std::mem::take(into);
    let mut a = old.into_iter().peekable();
    let mut b = new.drain(..).peekable();
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => {
                if x.t == y.t {
                    a.next();
                    continue;
                }
                x.t < y.t
            }
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        into.extend(if take_a { a.next() } else { b.next() });
    }
}

fn overlaps(c: &ChunkMeta, mint: i64, maxt: i64) -> bool {
    c.max_time >= mint && c.min_time <= maxt
}

/// Merges sorted `new` samples into sorted `into`, keeping the first of equal timestamps.
pub(super) fn merge_into(into: &mut Vec<Sample>, new: &[Sample]) {
    match (into.last(), new.first()) {
        (None, _) => into.extend_from_slice(new),
        (Some(last), Some(first)) if last.t < first.t => into.extend_from_slice(new),
        _ => {
            let old = std::mem::take(into);
            let (mut i, mut j) = (0, 0);
            into.reserve(old.len() + new.len());
            while i < old.len() || j < new.len() {
                let take_old = j >= new.len() || (i < old.len() && old[i].t <= new[j].t);
                let s = if take_old { old[i] } else { new[j] };
                if take_old {
                    i += 1;
                    if j < new.len() && new[j].t == s.t {
                        j += 1;
                    }
                } else {
                    j += 1;
                }
                into.push(s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ts: &[i64]) -> Vec<Sample> {
        ts.iter().map(|&t| Sample::new(t, t as f64)).collect()
    }

    #[test]
    fn merge_dedups_and_sorts() {
        let mut a = s(&[1, 3, 5]);
        merge_into(&mut a, &s(&[2, 3, 6]));
        assert_eq!(a, s(&[1, 2, 3, 5, 6]));
        let mut b = s(&[1]);
        merge_into(&mut b, &s(&[2, 3]));
        assert_eq!(b, s(&[1, 2, 3]));
    }
}
