//! Label sets: the identity of a series.
//!
//! A [`Labels`] is sorted by name, has no duplicate names and no empty values (Prometheus treats
//! an empty value as an absent label). Names and values are reference-counted strings so that a
//! [`SymbolTable`] can share one copy of each distinct string between many series.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;
use thiserror::Error;

/// The label that holds a series' metric name.
pub const METRIC_NAME: &str = "__name__";

/// Most labels a series may have; a guard against hostile input, far above real use.
pub const MAX_LABELS: usize = 512;

/// Why a label set was rejected.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum LabelsError {
    #[error("label set has an empty label name")]
    EmptyName,
    #[error("label set has duplicate label name {0:?}")]
    DuplicateName(String),
    #[error("label set has {0} labels, more than the limit of {MAX_LABELS}")]
    TooMany(usize),
    #[error("label set has no labels")]
    Empty,
}

/// One name/value pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    pub name: Arc<str>,
    pub value: Arc<str>,
}

impl Label {
    pub fn new(name: impl Into<Arc<str>>, value: impl Into<Arc<str>>) -> Label {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A validated, sorted label set. Cloning is cheap (one reference count).
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Arc<[Label]>);

impl Labels {
    /// Sorts and validates `labels`, dropping empty values.
    pub fn new(mut labels: Vec<Label>) -> Result<Labels, LabelsError> {
        labels.retain(|l| !l.value.is_empty());
        if labels.len() > MAX_LABELS {
            return Err(LabelsError::TooMany(labels.len()));
        }
        labels.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        for (i, l) in labels.iter().enumerate() {
            if l.name.is_empty() {
                return Err(LabelsError::EmptyName);
            }
            if i > 0 && labels[i - 1].name == l.name {
                return Err(LabelsError::DuplicateName(l.name.to_string()));
            }
        }
        Ok(Labels(labels.into()))
    }

    /// Like [`Labels::new`] but also rejects a set that ends up with no labels, as a stored
    /// series must have at least one.
    pub fn new_series(labels: Vec<Label>) -> Result<Labels, LabelsError> {
        let ls = Labels::new(labels)?;
        if ls.is_empty() {
            return Err(LabelsError::Empty);
        }
        Ok(ls)
    }

    /// Builds a label set from string pairs; for tests and literals.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<Labels, LabelsError> {
        Labels::new(pairs.iter().map(|(n, v)| Label::new(*n, *v)).collect())
    }

    pub fn empty() -> Labels {
        Labels::default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// The value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| (*l.name).cmp(name))
            .ok()
            .map(|i| &*self.0[i].value)
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// A stable 64-bit hash of the label set, the same across processes and versions.
    ///
    /// Different sets can share a hash; users of it as a key must compare the labels too.
    pub fn stable_hash(&self) -> u64 {
        stable_hash_of(self.0.iter().map(|l| (&*l.name, &*l.value)))
    }

    /// A builder starting from this label set.
    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            labels: self.0.to_vec(),
        }
    }

    /// The set without the labels named in `names`.
    pub fn without(&self, names: &[&str]) -> Labels {
        let kept: Vec<Label> = self
            .0
            .iter()
            .filter(|l| !names.contains(&&*l.name))
            .cloned()
            .collect();
        Labels(kept.into())
    }

    /// The set without its metric name.
    pub fn without_metric_name(&self) -> Labels {
        self.without(&[METRIC_NAME])
    }
}

/// [`Labels::stable_hash`] of the label set these pairs would make, computed without building
/// it: the pairs must be sorted by name, unique and without empty values.
pub fn stable_hash_of<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for (name, value) in pairs {
        h.update(name.as_bytes());
        h.update(&[0xff]);
        h.update(value.as_bytes());
        h.update(&[0xff]);
    }
    h.digest()
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Prometheus' notation: `name{a="b", c="d"}`, or `{...}` without a metric name.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.metric_name() {
            f.write_str(name)?;
        }
        f.write_str("{")?;
        let mut first = true;
        for l in self.0.iter().filter(|l| &*l.name != METRIC_NAME) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{}={:?}", l.name, &*l.value)?;
        }
        f.write_str("}")
    }
}

/// Changes a label set one label at a time.
#[derive(Debug, Clone, Default)]
pub struct LabelsBuilder {
    labels: Vec<Label>,
}

impl LabelsBuilder {
    pub fn new() -> LabelsBuilder {
        LabelsBuilder::default()
    }

    /// Sets `name` to `value`; an empty value removes the label.
    pub fn set(&mut self, name: impl Into<Arc<str>>, value: impl Into<Arc<str>>) -> &mut Self {
        let name = name.into();
        self.labels.retain(|l| l.name != name);
        self.labels.push(Label {
            name,
            value: value.into(),
        });
        self
    }

    pub fn del(&mut self, name: &str) -> &mut Self {
        self.labels.retain(|l| &*l.name != name);
        self
    }

    pub fn build(self) -> Result<Labels, LabelsError> {
        Labels::new(self.labels)
    }
}

/// Interns label strings so that equal names and values share one allocation.
///
/// Strings are never removed: the set of distinct label strings is small next to the number of
/// series and samples, and holding them keeps `intern` lock-and-lookup only.
#[derive(Debug, Default)]
pub struct SymbolTable {
    symbols: Mutex<HashSet<Arc<str>>>,
}

impl SymbolTable {
    pub fn new() -> SymbolTable {
        SymbolTable::default()
    }

    pub fn intern(&self, s: &str) -> Arc<str> {
        let mut symbols = self.symbols.lock();
        if let Some(existing) = symbols.get(s) {
            return existing.clone();
        }
        let sym: Arc<str> = Arc::from(s);
        symbols.insert(sym.clone());
        sym
    }

    /// Interns every name and value of `labels`, returning an equal label set.
    pub fn intern_labels(&self, labels: &Labels) -> Labels {
        let mut symbols = self.symbols.lock();
        let mut get = |s: &Arc<str>| -> Arc<str> {
            if let Some(existing) = symbols.get(s) {
                return existing.clone();
            }
            symbols.insert(s.clone());
            s.clone()
        };
        let interned: Vec<Label> = labels
            .iter()
            .map(|l| Label {
                name: get(&l.name),
                value: get(&l.value),
            })
            .collect();
        Labels(interned.into())
    }

    pub fn len(&self) -> usize {
        self.symbols.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_validated() {
        let ls = Labels::from_pairs(&[("job", "a"), ("__name__", "up"), ("empty", "")]).unwrap();
        assert_eq!(ls.len(), 2);
        assert_eq!(ls.as_slice()[0].name.as_ref(), "__name__");
        assert_eq!(ls.get("job"), Some("a"));
        assert_eq!(ls.get("empty"), None);
        assert_eq!(ls.to_string(), "up{job=\"a\"}");
        assert_eq!(
            Labels::from_pairs(&[("a", "1"), ("a", "2")]),
            Err(LabelsError::DuplicateName("a".into()))
        );
        assert_eq!(
            Labels::from_pairs(&[("", "1")]),
            Err(LabelsError::EmptyName)
        );
        assert_eq!(
            Labels::new_series(vec![Label::new("a", "")]),
            Err(LabelsError::Empty)
        );
    }

    #[test]
    fn hash_is_stable_and_order_independent() {
        let a = Labels::from_pairs(&[("a", "1"), ("b", "2")]).unwrap();
        let b = Labels::from_pairs(&[("b", "2"), ("a", "1")]).unwrap();
        assert_eq!(a.stable_hash(), b.stable_hash());
        // The separator keeps "ab"="c" apart from "a"="bc".
        let c = Labels::from_pairs(&[("ab", "c")]).unwrap();
        let d = Labels::from_pairs(&[("a", "bc")]).unwrap();
        assert_ne!(c.stable_hash(), d.stable_hash());
    }

    #[test]
    fn interning_shares_strings() {
        let t = SymbolTable::new();
        let a = t.intern_labels(&Labels::from_pairs(&[("job", "node")]).unwrap());
        let b = t.intern_labels(&Labels::from_pairs(&[("job", "node")]).unwrap());
        assert!(Arc::ptr_eq(&a.as_slice()[0].value, &b.as_slice()[0].value));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn builder_sets_and_deletes() {
        let ls = Labels::from_pairs(&[("a", "1"), ("b", "2")]).unwrap();
        let mut b = ls.builder();
        b.set("c", "3").del("a").set("b", "");
        assert_eq!(
            b.build().unwrap(),
            Labels::from_pairs(&[("c", "3")]).unwrap()
        );
    }
}
