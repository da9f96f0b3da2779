//! Keys of series for grouping (`by`/`without`) and vector matching (`on`/`ignoring`): which
//! labels form a key, and dense ids for distinct keys. A key is hashed straight from the
//! series' labels and compared pair by pair, so a series whose key is already known costs no
//! allocation, and per-step work indexes vectors by id instead of hashing label sets.

use std::collections::HashMap;

use bongsu_model::{stable_hash_of, Label, Labels, METRIC_NAME};

/// Which labels of a series make up its key.
#[derive(Clone, Copy)]
pub(super) enum KeyLabels<'a> {
    /// Only the labels with these names (`by`, `on`).
    Only(&'a [String]),
    /// Every label but these and the metric name (`without`, `ignoring`, plain matching).
    AllBut(&'a [String]),
}

impl<'a> KeyLabels<'a> {
    fn keeps(&self, name: &str) -> bool {
        match self {
            KeyLabels::Only(names) => names.iter().any(|n| n == name),
            KeyLabels::AllBut(names) => name != METRIC_NAME && !names.iter().any(|n| n == name),
        }
    }

    /// The labels of `labels` that belong to the key, in label order.
    pub fn pairs<'l>(self, labels: &'l Labels) -> impl Iterator<Item = &'l Label> + 'l
    where
        'a: 'l,
    {
        labels.iter().filter(move |l| self.keeps(&l.name))
    }

    /// The key of `labels` as a label set.
    pub fn key(self, labels: &Labels) -> Labels {
        Labels::new(self.pairs(labels).cloned().collect()).unwrap_or_default()
    }
}

/// Dense ids `0..len()` for the distinct keys seen, in order of first sight.
#[derive(Default)]
pub(super) struct KeyIndex {
    /// Key hash → the first id with that hash; further ids with the same hash are chained
    /// through `next`.
    by_hash: HashMap<u64, u32>,
    next: Vec<u32>,
    keys: Vec<Labels>,
}

const NONE: u32 = u32::MAX;

impl KeyIndex {
    /// The id of the key of `labels` under `rule`, adding it if new.
    pub fn id(&mut self, rule: KeyLabels, labels: &Labels) -> usize {
        let hash = stable_hash_of(rule.pairs(labels).map(|l| (&*l.name, &*l.value)));
        let mut at = self.by_hash.get(&hash).copied().unwrap_or(NONE);
        while at != NONE {
            let key = &self.keys[at as usize];
            if key.iter().eq(rule.pairs(labels)) {
                return at as usize;
            }
            at = self.next[at as usize];
        }
        let id = self.keys.len() as u32;
        let first = self.by_hash.insert(hash, id).unwrap_or(NONE);
        self.next.push(first);
        self.keys.push(rule.key(labels));
        id as usize
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn key(&self, id: usize) -> &Labels {
        &self.keys[id]
    }

    pub fn into_keys(self) -> Vec<Labels> {
        self.keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_share_an_id() {
        let by = ["job".to_string()];
        let a = Labels::from_pairs(&[("__name__", "x"), ("job", "a"), ("i", "1")]).unwrap();
        let b = Labels::from_pairs(&[("__name__", "y"), ("job", "a"), ("i", "2")]).unwrap();
        let c = Labels::from_pairs(&[("job", "b")]).unwrap();
        let mut index = KeyIndex::default();
        let ids: Vec<usize> = [&a, &b, &c]
            .iter()
            .map(|l| index.id(KeyLabels::Only(&by), l))
            .collect();
        assert_eq!(ids, [0, 0, 1]);
        assert_eq!(index.key(0), &Labels::from_pairs(&[("job", "a")]).unwrap());

        let mut index = KeyIndex::default();
        let ignore = ["i".to_string()];
        let ids: Vec<usize> = [&a, &b, &c]
            .iter()
            .map(|l| index.id(KeyLabels::AllBut(&ignore), l))
            .collect();
        assert_eq!(ids, [0, 0, 1]);
        assert_eq!(index.len(), 2);
    }
}
