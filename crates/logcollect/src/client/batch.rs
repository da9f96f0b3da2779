//! A batch of one tenant's entries and its encoding as a Loki push request (protobuf, snappy).

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fmt::Write;

use bongsu_ingest::logs::loki::proto::{
    EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter, Timestamp,
};
use prost::Message as _;
use tokio::time::Instant;

use super::ClientError;
use crate::Entry;

/// The label that routes a stream to a tenant, removed before sending (Promtail's
/// `ReservedLabelTenantID`).
pub const TENANT_LABEL: &str = "__tenant_id__";

/// Entries waiting to be sent to one tenant, grouped by stream in arrival order.
pub(crate) struct Batch {
    streams: Vec<StreamAdapter>,
    by_labels: HashMap<String, usize>,
    bytes: usize,
    entries: usize,
    pub(crate) created: Instant,
    /// The worker's ids of the requests whose entries are in this batch.
    pub(crate) requests: Vec<u64>,
}

/// What counts toward `batchsize`: the line and the structured metadata, as Promtail counts.
pub(crate) fn entry_size(e: &Entry) -> usize {
    e.line.len()
        + e.metadata
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
}

impl Batch {
    pub(crate) fn new() -> Batch {
        Batch {
            streams: Vec::new(),
            by_labels: HashMap::new(),
            bytes: 0,
            entries: 0,
            created: Instant::now(),
            requests: Vec::new(),
        }
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn entries(&self) -> usize {
        self.entries
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Adds `e` to its stream: its labels with `external` under them, less the tenant label.
    pub(crate) fn add(&mut self, e: Entry, external: &BTreeMap<String, String>) {
        self.bytes += entry_size(&e);
        self.entries += 1;
        let labels = stream_labels(&e, external);
        let i = match self.by_labels.get(&labels) {
            Some(i) => *i,
            None => {
                self.streams.push(StreamAdapter {
                    labels: labels.clone().into_bytes(),
                    entries: Vec::new(),
                    hash: 0,
                });
                self.by_labels.insert(labels, self.streams.len() - 1);
                self.streams.len() - 1
            }
        };
        let ts = Timestamp {
            seconds: e.ts.div_euclid(1_000_000_000),
            nanos: e.ts.rem_euclid(1_000_000_000) as i32,
        };
        self.streams[i].entries.push(EntryAdapter {
            timestamp: Some(ts),
            line: e.line.into_bytes(),
            structured_metadata: e
                .metadata
                .into_iter()
                .map(|(name, value)| LabelPairAdapter {
                    name: name.into_bytes(),
                    value: value.into_bytes(),
                })
                .collect(),
            parsed: Vec::new(),
        });
    }

    /// The request body: `PushRequest` in protobuf, snappy-compressed (block format).
    pub(crate) fn encode(&mut self) -> Result<Vec<u8>, ClientError> {
        let req = PushRequest {
            streams: std::mem::take(&mut self.streams),
            format: Vec::new(),
        };
        let body = req.encode_to_vec();
        self.streams = req.streams;
        snap::raw::Encoder::new()
            .compress_vec(&body)
            .map_err(|e| ClientError::Encode(e.to_string()))
    }
}

/// `{a="b", c="d"}` of the entry's labels over the external ones, without the tenant label;
/// values quoted as Go's `strconv.Quote` does for the characters that need it.
pub(crate) fn stream_labels(e: &Entry, external: &BTreeMap<String, String>) -> String {
    let mut merged: BTreeMap<&str, &str> = external
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for l in e.labels.iter() {
        merged.insert(&l.name, &l.value);
    }
    merged.remove(TENANT_LABEL);
    let mut s = String::from("{");
    for (i, (k, v)) in merged.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(k);
        s.push_str("=\"");
        for c in v.chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\n' => s.push_str("\\n"),
                '\r' => s.push_str("\\r"),
                '\t' => s.push_str("\\t"),
                c if c.is_control() => {
                    let _ = write!(s, "\\u{:04x}", u32::from(c));
                }
                c => s.push(c),
            }
        }
        s.push('"');
    }
    s.push('}');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::Labels;

    fn entry(labels: &[(&str, &str)], ts: i64, line: &str) -> Entry {
        Entry {
            labels: Labels::from_pairs(labels).unwrap(),
            ts,
            line: line.into(),
            metadata: vec![("trace_id".into(), "abc".into())],
        }
    }

    #[test]
    fn streams_group_entries_and_external_labels_sit_under() {
        let ext = BTreeMap::from([
            ("host".to_string(), "h1".to_string()),
            ("job".to_string(), "ext".to_string()),
        ]);
        let mut b = Batch::new();
        b.add(
            entry(&[("job", "a"), (TENANT_LABEL, "t")], 1_500_000_000, "one"),
            &ext,
        );
        b.add(entry(&[("job", "b")], -1, "two"), &ext);
        b.add(entry(&[("job", "a")], 3, "three\"q"), &ext);
        assert_eq!(b.entries(), 3);
        assert_eq!(b.bytes(), 3 + 3 + 7 + 3 * 11);
        let body = b.encode().unwrap();
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        let req = PushRequest::decode(raw.as_slice()).unwrap();
        let labels: Vec<String> = req
            .streams
            .iter()
            .map(|s| String::from_utf8(s.labels.clone()).unwrap())
            .collect();
        assert_eq!(
            labels,
            [r#"{host="h1", job="a"}"#, r#"{host="h1", job="b"}"#]
        );
        assert_eq!(req.streams[0].entries.len(), 2);
        assert_eq!(
            req.streams[0].entries[0].timestamp,
            Some(Timestamp {
                seconds: 1,
                nanos: 500_000_000
            })
        );
        assert_eq!(
            req.streams[1].entries[0].timestamp,
            Some(Timestamp {
                seconds: -1,
                nanos: 999_999_999
            })
        );
        assert_eq!(req.streams[0].entries[1].line, b"three\"q");
        assert_eq!(
            req.streams[0].entries[0].structured_metadata[0].name,
            b"trace_id"
        );
    }

    #[test]
    fn label_values_are_quoted() {
        let e = entry(&[("a", "x\"y\\z\n")], 0, "");
        assert_eq!(stream_labels(&e, &BTreeMap::new()), r#"{a="x\"y\\z\n"}"#);
    }
}
