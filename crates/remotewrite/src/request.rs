//! Encoding a batch as a remote-write request body: protobuf (`prometheus.WriteRequest` for
//! 1.0, `io.prometheus.write.v2.Request` with its symbols table for 2.0), snappy block format.
//!
//! Samples of one series are grouped in one time series, in the order they came (their WAL
//! order, which is timestamp order per series). Not here: headers and sending (`client.rs`).

use std::collections::HashMap;

use bongsu_config::ProtobufMessage;
use bongsu_ingest::proto::{v1, v2};
use bytes::Bytes;
use prost::Message;

use crate::watcher::Entry;

/// Groups `entries` by series, keeping first-seen order of series and sample order within.
fn group(entries: &[Entry]) -> Vec<(&Entry, Vec<&Entry>)> {
    let mut index: HashMap<u64, usize> = HashMap::new();
    let mut out: Vec<(&Entry, Vec<&Entry>)> = Vec::new();
    for e in entries {
        let i = *index.entry(e.sref).or_insert_with(|| {
            out.push((e, Vec::new()));
            out.len() - 1
        });
        out[i].1.push(e);
    }
    out
}

fn v1_request(entries: &[Entry]) -> v1::WriteRequest {
    let timeseries = group(entries)
        .into_iter()
        .map(|(first, samples)| v1::TimeSeries {
            labels: first
                .labels
                .iter()
                .map(|l| v1::Label {
                    name: Bytes::copy_from_slice(l.name.as_bytes()),
                    value: Bytes::copy_from_slice(l.value.as_bytes()),
                })
                .collect(),
            samples: samples
                .iter()
                .map(|e| v1::Sample {
                    value: e.v,
                    timestamp: e.t,
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    v1::WriteRequest {
        timeseries,
        ..Default::default()
    }
}

fn v2_request(entries: &[Entry]) -> v2::Request {
    // Element 0 of the symbols table is always the empty string.
    let mut symbols: Vec<Bytes> = vec![Bytes::new()];
    let mut refs: HashMap<&str, u32> = HashMap::from([("", 0)]);
    let mut timeseries = Vec::new();
    for (first, samples) in group(entries) {
        let mut labels_refs = Vec::with_capacity(first.labels.len() * 2);
        for l in first.labels.iter() {
            for s in [&*l.name, &*l.value] {
                let r = *refs.entry(s).or_insert_with(|| {
                    symbols.push(Bytes::copy_from_slice(s.as_bytes()));
                    (symbols.len() - 1) as u32
                });
                labels_refs.push(r);
            }
        }
        timeseries.push(v2::TimeSeries {
            labels_refs,
            samples: samples
                .iter()
                .map(|e| v2::Sample {
                    value: e.v,
                    timestamp: e.t,
                    start_timestamp: 0,
                })
                .collect(),
            ..Default::default()
        });
    }
    v2::Request {
        symbols,
        timeseries,
        ..Default::default()
    }
}

/// Encodes `entries` as `proto` and compresses the result with snappy.
pub(crate) fn encode(entries: &[Entry], proto: ProtobufMessage) -> Result<Bytes, snap::Error> {
    let raw = match proto {
        ProtobufMessage::V1 => v1_request(entries).encode_to_vec(),
        ProtobufMessage::V2 => v2_request(entries).encode_to_vec(),
    };
    let compressed = snap::raw::Encoder::new().compress_vec(&raw)?;
    Ok(Bytes::from(compressed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::Labels;

    fn entry(sref: u64, name: &str, t: i64) -> Entry {
        Entry {
            sref,
            labels: Labels::from_pairs(&[("__name__", name), ("job", "j")]).unwrap(),
            t,
            v: t as f64,
            seq: 0,
        }
    }

    fn decompress(b: &Bytes) -> Vec<u8> {
        snap::raw::Decoder::new().decompress_vec(b).unwrap()
    }

    #[test]
    fn v1_groups_samples_by_series_in_order() {
        let es = [entry(1, "a", 1), entry(2, "b", 1), entry(1, "a", 2)];
        let body = encode(&es, ProtobufMessage::V1).unwrap();
        let req = v1::WriteRequest::decode(&decompress(&body)[..]).unwrap();
        assert_eq!(req.timeseries.len(), 2);
        let ts: Vec<i64> = req.timeseries[0]
            .samples
            .iter()
            .map(|s| s.timestamp)
            .collect();
        assert_eq!(ts, vec![1, 2]);
        assert_eq!(&req.timeseries[1].labels[0].value[..], b"b");
    }

    #[test]
    fn v2_symbols_start_empty_and_are_shared() {
        let es = [entry(1, "a", 1), entry(2, "b", 1)];
        let body = encode(&es, ProtobufMessage::V2).unwrap();
        let req = v2::Request::decode(&decompress(&body)[..]).unwrap();
        assert_eq!(&req.symbols[0][..], b"");
        let names: Vec<&[u8]> = req.symbols.iter().map(|s| &s[..]).collect();
        assert_eq!(names, vec![&b""[..], b"__name__", b"a", b"job", b"j", b"b"]);
        assert_eq!(req.timeseries[1].labels_refs, vec![1, 5, 3, 4]);
    }
}
