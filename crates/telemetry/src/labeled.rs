//! One metric per set of label values, made on first use.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::encode::{Encode, FamilyEncoder};

/// Metrics of one family by label values (in the family's label order).
pub struct Labeled<M> {
    make: fn() -> M,
    children: RwLock<BTreeMap<Box<[String]>, Arc<M>>>,
}

impl<M> Labeled<M> {
    /// `make` builds the metric for label values seen for the first time.
    pub const fn new(make: fn() -> M) -> Labeled<M> {
        Labeled {
            make,
            children: RwLock::new(BTreeMap::new()),
        }
    }

    /// The metric for `values`, made if new.
    pub fn with(&self, values: &[&str]) -> Arc<M> {
        let key: Box<[String]> = values.iter().map(|v| v.to_string()).collect();
        if let Some(m) = self.children.read().get(&key) {
            return m.clone();
        }
        self.children
            .write()
            .entry(key)
            .or_insert_with(|| Arc::new((self.make)()))
            .clone()
    }

    /// Drops the metric for `values` (its owner went away).
    pub fn remove(&self, values: &[&str]) {
        let key: Box<[String]> = values.iter().map(|v| v.to_string()).collect();
        self.children.write().remove(&key);
    }
}

impl<M: Encode> Labeled<M> {
    /// Writes every child, ordered by label values.
    pub fn encode(&self, f: &mut FamilyEncoder<'_>) {
        let children: Vec<(Box<[String]>, Arc<M>)> = self
            .children
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (values, m) in children {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            f.metric(&values, &*m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{Encoder, Family};
    use crate::scalar::Counter;

    #[test]
    fn children_by_label_values() {
        static REQUESTS: Labeled<Counter> = Labeled::new(Counter::new);
        REQUESTS.with(&["/b", "200"]).inc();
        REQUESTS.with(&["/a", "500"]).add(2);
        REQUESTS.with(&["/b", "200"]).inc();
        REQUESTS.with(&["/c", "200"]).inc();
        REQUESTS.remove(&["/c", "200"]);
        let mut out = String::new();
        let family = Family::counter("r_total", "R.", &["handler", "code"]);
        REQUESTS.encode(&mut Encoder::new(&mut out).family(&family));
        assert_eq!(
            out,
            "# HELP r_total R.\n# TYPE r_total counter\n\
             r_total{handler=\"/a\",code=\"500\"} 2\n\
             r_total{handler=\"/b\",code=\"200\"} 2\n"
        );
    }
}
