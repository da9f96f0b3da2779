//! The head's inverted index: label name → value → roaring bitmap of series refs.

use std::collections::HashMap;
use std::sync::Arc;

use roaring::RoaringBitmap;

use bongsu_model::Labels;

use crate::postings::PostingsSource;

#[derive(Default)]
pub struct MemPostings {
    map: HashMap<Arc<str>, HashMap<Arc<str>, RoaringBitmap>>,
    all: RoaringBitmap,
}

impl MemPostings {
    pub fn add(&mut self, sref: u32, labels: &Labels) {
        for l in labels.iter() {
            self.map
                .entry(l.name.clone())
                .or_default()
                .entry(l.value.clone())
                .or_default()
                .insert(sref);
        }
        self.all.insert(sref);
    }

    pub fn remove(&mut self, sref: u32, labels: &Labels) {
        for l in labels.iter() {
            let Some(values) = self.map.get_mut(&l.name) else {
                continue;
            };
            if let Some(b) = values.get_mut(&l.value) {
                b.remove(sref);
                if b.is_empty() {
                    values.remove(&l.value);
                }
            }
            if values.is_empty() {
                self.map.remove(&l.name);
            }
        }
        self.all.remove(sref);
    }

    /// Sorted label names.
    pub fn label_names(&self) -> Vec<Arc<str>> {
        let mut names: Vec<Arc<str>> = self.map.keys().cloned().collect();
        names.sort();
        names
    }
}

impl PostingsSource for MemPostings {
    type Error = std::convert::Infallible;

    fn all_postings(&self) -> Result<RoaringBitmap, Self::Error> {
        Ok(self.all.clone())
    }

    fn postings(&self, name: &str, value: &str) -> Result<RoaringBitmap, Self::Error> {
        Ok(self
            .map
            .get(name)
            .and_then(|vs| vs.get(value))
            .cloned()
            .unwrap_or_default())
    }

    fn label_values(&self, name: &str) -> Result<Vec<Arc<str>>, Self::Error> {
        let mut values: Vec<Arc<str>> = self
            .map
            .get(name)
            .map(|vs| vs.keys().cloned().collect())
            .unwrap_or_default();
        values.sort();
        Ok(values)
    }
}
