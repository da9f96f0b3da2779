//! The read API on [`LogStore`]: selecting streams by matchers and time range, and the index
//! questions of Loki's API (`/labels`, `/label/x/values`, `/series`, `index/stats`,
//! `index/stats`). Volumes (`index/volume`, `volume_range`) are counted per stream and bucket
//! on the selection (`Selection::volume_buckets`). Scanning a selection's lines is in `read`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use bongsu_model::{Labels, Matcher};

use crate::error::LogStoreError;
use crate::read::{IndexStats, Part, SelectedStream, Selection};
use crate::store::LogStore;

impl LogStore {
    /// The streams matching every matcher (Prometheus' semantics; no matcher selects all) with
    /// lines in `[start, end]` (Unix ns, both inclusive), sorted by labels: a snapshot to scan.
    pub fn select(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Selection, LogStoreError> {
        if start > end {
            return Err(LogStoreError::InvalidQuery(format!(
                "start {start} is after end {end}"
            )));
        }
        let st = self.state.read();
        let ids = st.registry.select(matchers);
        let mut parts: HashMap<u32, Vec<Part>> = HashMap::new();
        for b in &st.blocks {
            if b.max_ts < start || b.min_ts > end {
                continue;
            }
            for (s, &id) in b.streams.iter().zip(&b.ids) {
                if s.max_ts < start || s.min_ts > end || !ids.contains(id) {
                    continue;
                }
                let v = parts.entry(id).or_default();
                for c in &s.chunks {
                    if c.max_ts >= start && c.min_ts <= end {
                        v.push(Part::Chunk(Arc::clone(b), *c));
                    }
                }
            }
        }
        for (&id, hs) in &st.head.streams {
            if hs.max_ts >= start && hs.min_ts <= end && ids.contains(id) {
                parts.entry(id).or_default().push(Part::Head(hs.snapshot()));
            }
        }
        let mut streams: Vec<SelectedStream> = parts
            .into_iter()
            .filter(|(_, p)| !p.is_empty())
            .filter_map(|(id, mut parts)| {
                parts.sort_by_key(Part::min_ts);
                let labels = st.registry.get(id)?.labels.clone();
                Some(SelectedStream { id, labels, parts })
            })
            .collect();
        streams.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(Selection {
            start,
            end,
            streams,
        })
    }

    /// Label sets of the matching streams with lines in range (`/series`).
    pub fn series(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<Labels>, LogStoreError> {
        Ok(self
            .select(matchers, start, end)?
            .streams
            .into_iter()
            .map(|s| s.labels)
            .collect())
    }

    /// Label names of the matching streams with lines in range, sorted (`/labels`).
    pub fn label_names(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<Arc<str>>, LogStoreError> {
        let sel = self.select(matchers, start, end)?;
        let names: BTreeSet<Arc<str>> = sel
            .streams
            .iter()
            .flat_map(|s| s.labels.iter().map(|l| l.name.clone()))
            .collect();
        Ok(names.into_iter().collect())
    }

    /// Values of label `name` among the matching streams with lines in range, sorted
    /// (`/label/<name>/values`).
    pub fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<Arc<str>>, LogStoreError> {
        let sel = self.select(matchers, start, end)?;
        let values: BTreeSet<Arc<str>> = sel
            .streams
            .iter()
            .filter_map(|s| {
                s.labels
                    .iter()
                    .find(|l| &*l.name == name)
                    .map(|l| l.value.clone())
            })
            .collect();
        Ok(values.into_iter().collect())
    }

    /// Streams, chunks, bytes and entries of the matching streams in range (`index/stats`).
    pub fn stats(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<IndexStats, LogStoreError> {
        Ok(self.select(matchers, start, end)?.stats())
    }
}
