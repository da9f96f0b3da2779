//! The stream registry: every stream the store holds (in blocks or the head), by id and by
//! label set, with the inverted index that turns matchers into stream ids (`tsdb`'s
//! `MemPostings` and `postings_for_matchers`: streams are selected exactly as series are).
//!
//! Ids are assigned on first sight and live as long as the process; they are not stored on disk
//! (blocks name their streams by labels, the WAL by the id it logged with a definition).
//!
//! Not here: the lines (head, blocks) and the rules for accepting them (the store).

use std::collections::HashMap;

use bongsu_model::{Labels, Matcher};
use bongsu_tsdb::postings::{postings_for_matchers, MemPostings};
use roaring::RoaringBitmap;

/// What the store knows of one stream.
#[derive(Debug)]
pub struct StreamInfo {
    pub labels: Labels,
    /// Newest line ever accepted: the out-of-order window is measured from it.
    pub newest_ts: i64,
    /// The WAL generation (the segment the WAL was rolled to at the last cut) in which this
    /// stream's definition was logged; logged again when it differs from the current one.
    pub logged_gen: Option<u32>,
}

#[derive(Default)]
pub struct Registry {
    streams: Vec<Option<StreamInfo>>,
    by_hash: HashMap<u64, Vec<u32>>,
    postings: MemPostings,
    live: usize,
}

impl Registry {
    pub fn lookup(&self, labels: &Labels) -> Option<u32> {
        self.by_hash
            .get(&labels.stable_hash())?
            .iter()
            .copied()
            .find(|&id| self.get(id).is_some_and(|s| &s.labels == labels))
    }

    /// The id of `labels`, registering it if new.
    pub fn get_or_insert(&mut self, labels: &Labels) -> u32 {
        if let Some(id) = self.lookup(labels) {
            return id;
        }
        let id = self.streams.len() as u32;
        self.streams.push(Some(StreamInfo {
            labels: labels.clone(),
            newest_ts: i64::MIN,
            logged_gen: None,
        }));
        self.by_hash
            .entry(labels.stable_hash())
            .or_default()
            .push(id);
        self.postings.add(id, labels);
        self.live += 1;
        id
    }

    pub fn get(&self, id: u32) -> Option<&StreamInfo> {
        self.streams.get(id as usize)?.as_ref()
    }

    pub fn get_mut(&mut self, id: u32) -> Option<&mut StreamInfo> {
        self.streams.get_mut(id as usize)?.as_mut()
    }

    /// Forgets a stream that has no lines left anywhere (its id is not reused).
    pub fn remove(&mut self, id: u32) {
        if let Some(s) = self.streams.get_mut(id as usize).and_then(Option::take) {
            self.postings.remove(id, &s.labels);
            let h = s.labels.stable_hash();
            if let Some(ids) = self.by_hash.get_mut(&h) {
                ids.retain(|&i| i != id);
                if ids.is_empty() {
                    self.by_hash.remove(&h);
                }
            }
            self.live -= 1;
        }
    }

    /// Ids of the streams matching every matcher (Prometheus' semantics).
    pub fn select(&self, matchers: &[Matcher]) -> RoaringBitmap {
        match postings_for_matchers(&self.postings, matchers) {
            Ok(b) => b,
            Err(never) => match never {},
        }
    }

    /// Every id in use.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.streams
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| i as u32)
    }

    pub fn len(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::MatchOp;

    #[test]
    fn select_like_series() {
        let mut r = Registry::default();
        let a = r.get_or_insert(&Labels::from_pairs(&[("job", "a")]).unwrap());
        let b = r.get_or_insert(&Labels::from_pairs(&[("job", "b"), ("env", "x")]).unwrap());
        assert_eq!(
            r.get_or_insert(&Labels::from_pairs(&[("job", "a")]).unwrap()),
            a
        );
        let re = Matcher::new(MatchOp::Regex, "job", ".+").unwrap();
        assert_eq!(
            r.select(std::slice::from_ref(&re))
                .iter()
                .collect::<Vec<_>>(),
            vec![a, b]
        );
        assert_eq!(
            r.select(&[Matcher::equal("env", "")])
                .iter()
                .collect::<Vec<_>>(),
            vec![a]
        );
        r.remove(a);
        assert_eq!(r.select(&[re]).iter().collect::<Vec<_>>(), vec![b]);
        assert_eq!(r.len(), 1);
    }
}
