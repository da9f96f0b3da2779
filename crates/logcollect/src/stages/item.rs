//! One entry as it moves through a pipeline: Promtail's `stages.Entry` (the labels as a
//! mutable map, the extracted map, timestamp, line, structured metadata).

use std::collections::BTreeMap;

use bongsu_model::{stable_hash_of, Label, Labels};

use super::value::{Extracted, Value};
use crate::Entry;

/// An entry inside a pipeline. Labels are a map here because most stages change them;
/// the sorted, validated [`Labels`] is built once on the way out.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub labels: BTreeMap<String, String>,
    pub extracted: Extracted,
    /// Unix nanoseconds.
    pub ts: i64,
    pub line: String,
    pub metadata: Vec<(String, String)>,
}

impl Item {
    /// As Promtail's pipeline does first: the entry's labels are also the first extracted
    /// values, so stages can read a label as `source`.
    pub(crate) fn from_entry(e: Entry) -> Item {
        let mut labels = BTreeMap::new();
        let mut extracted = Extracted::with_capacity(e.labels.len() + 8);
        for l in e.labels.iter() {
            labels.insert(l.name.to_string(), l.value.to_string());
            extracted.insert(l.name.to_string(), Value::Str(l.value.to_string()));
        }
        Item {
            labels,
            extracted,
            ts: e.ts,
            line: e.line,
            metadata: e.metadata,
        }
    }

    /// The entry leaving the pipeline; `None` when its labels are not a valid set (more
    /// than `bongsu_model::MAX_LABELS`).
    pub(crate) fn into_entry(self) -> Option<Entry> {
        let labels = Labels::new(
            self.labels
                .into_iter()
                .map(|(n, v)| Label::new(n, v))
                .collect(),
        )
        .ok()?;
        Some(Entry {
            labels,
            ts: self.ts,
            line: self.line,
            metadata: self.metadata,
        })
    }

    /// The identity of the entry's stream, the key of per-stream state (Promtail keys by
    /// the label set's fingerprint or text; a 64-bit hash of the labels here too).
    pub(crate) fn stream_key(&self) -> u64 {
        stable_hash_of(self.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    }

    /// The extracted value named `source`, as a string (`None` if absent or null).
    pub(crate) fn extracted_string(&self, source: &str) -> Option<String> {
        self.extracted
            .get(source)
            .and_then(|v| v.as_string().map(|s| s.into_owned()))
    }
}
