//! Encoding a batch as a remote-write request body: protobuf (`prometheus.WriteRequest` for
//! 1.0, `io.prometheus.write.v2.Request` with its symbols table for 2.0), snappy block format.
//!
//! Samples of one series are grouped in one time series, in the order they came (their WAL
//! order, which is timestamp order per series); series are ordered by WAL ref. Native
//! histograms follow the float samples of their series (field 4 in 1.0, 3 in 2.0; the same
//! `Histogram` message, encoded by prost from `bongsu_ingest::proto`). The protobuf
//! bytes are written directly from the entries, the same bytes prost writes for the messages
//! of `bongsu_ingest::proto` (tested against them), without building those messages: a batch
//! would otherwise copy every label of every series into its own allocation. A shard keeps one
//! [`Encoder`] and reuses its buffers from batch to batch.
//!
//! Not here: headers and sending (`client.rs`).

use std::collections::HashMap;

use bongsu_config::ProtobufMessage;
use bongsu_model::Labels;
use bytes::Bytes;
// The varint primitives prost's generated code uses; the message layout is the schema's.
use prost::encoding::{encode_varint, encoded_len_varint};

use bongsu_ingest::{histogram, proto};

use crate::watcher::Entry;

/// Wire type of length-delimited fields (bytes, messages, packed repeated scalars).
const LEN: u8 = 2;
/// Wire type of 64-bit fixed fields (double).
const FIXED64: u8 = 1;
/// Wire type of varint fields.
const VARINT: u8 = 0;

/// A field's key byte (every field number used here is below 16, so one byte).
const fn key(field: u8, wire: u8) -> u8 {
    (field << 3) | wire
}

/// Encodes batches of one protocol, reusing its buffers.
pub(crate) struct Encoder {
    proto: ProtobufMessage,
    /// Indices of the batch's entries, grouped by series.
    order: Vec<u32>,
    /// The uncompressed protobuf message.
    raw: Vec<u8>,
    /// 2.0: every series' label references, series after series.
    refs: Vec<u32>,
    snappy: snap::raw::Encoder,
}

impl Encoder {
    pub(crate) fn new(proto: ProtobufMessage) -> Encoder {
        Encoder {
            proto,
            order: Vec::new(),
            raw: Vec::new(),
            refs: Vec::new(),
            snappy: snap::raw::Encoder::new(),
        }
    }

    /// Encodes `entries` and compresses the result with snappy.
    pub(crate) fn encode(&mut self, entries: &[Entry]) -> Result<Bytes, snap::Error> {
        self.order.clear();
        self.order.extend(0..entries.len() as u32);
        // Stable: a series' samples keep their order.
        self.order.sort_by_key(|&i| entries[i as usize].sref);
        self.raw.clear();
        match self.proto {
            ProtobufMessage::V1 => write_v1(&mut self.raw, entries, &self.order),
            ProtobufMessage::V2 => write_v2(&mut self.raw, &mut self.refs, entries, &self.order),
        }
        let mut out = vec![0; snap::raw::max_compress_len(self.raw.len())];
        let n = self.snappy.compress(&self.raw, &mut out)?;
        out.truncate(n);
        Ok(Bytes::from(out))
    }
}

/// The runs of `order` that belong to one series each.
fn series_runs<'a>(entries: &'a [Entry], order: &'a [u32]) -> impl Iterator<Item = &'a [u32]> {
    order.chunk_by(move |&a, &b| entries[a as usize].sref == entries[b as usize].sref)
}

/// Length of a bytes field holding `s` (proto3 leaves an empty one out).
fn bytes_field_len(s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        1 + encoded_len_varint(s.len() as u64) + s.len()
    }
}

fn put_bytes_field(buf: &mut Vec<u8>, field: u8, s: &str) {
    if !s.is_empty() {
        buf.push(key(field, LEN));
        encode_varint(s.len() as u64, buf);
        buf.extend_from_slice(s.as_bytes());
    }
}

/// Length of a 1.0 `Sample` or a 2.0 `Sample` (whose `start_timestamp` is left at zero): the
/// two messages share their first two fields.
fn sample_len(e: &Entry) -> usize {
    let v = if e.v != 0.0 { 9 } else { 0 };
    let t = if e.t != 0 {
        1 + encoded_len_varint(e.t as u64)
    } else {
        0
    };
    v + t
}

/// Writes the sample as field `field` of a time series.
fn put_sample(buf: &mut Vec<u8>, field: u8, e: &Entry) {
    buf.push(key(field, LEN));
    encode_varint(sample_len(e) as u64, buf);
    if e.v != 0.0 {
        buf.push(key(1, FIXED64));
        buf.extend_from_slice(&e.v.to_le_bytes());
    }
    if e.t != 0 {
        buf.push(key(2, VARINT));
        encode_varint(e.t as u64, buf);
    }
}

fn samples_len(entries: &[Entry], run: &[u32]) -> usize {
    run.iter()
        .filter(|&&i| entries[i as usize].h.is_none())
        .map(|&i| {
            let l = sample_len(&entries[i as usize]);
            1 + encoded_len_varint(l as u64) + l
        })
        .sum()
}

fn v1_label_len(name: &str, value: &str) -> usize {
    bytes_field_len(name) + bytes_field_len(value)
}

fn v1_labels_len(labels: &Labels) -> usize {
    labels
        .iter()
        .map(|l| {
            let n = v1_label_len(&l.name, &l.value);
            1 + encoded_len_varint(n as u64) + n
        })
        .sum()
}

/// The wire histograms of a series' run.
fn histograms(entries: &[Entry], run: &[u32]) -> Vec<proto::Histogram> {
    run.iter()
        .filter_map(|&i| {
            let e = &entries[i as usize];
            e.h.as_ref().map(|h| histogram::from_model(e.t, h))
        })
        .collect()
}

fn histograms_len(field: u32, hs: &[proto::Histogram]) -> usize {
    prost::encoding::message::encoded_len_repeated(field, hs)
}

/// Writes the float samples of a run as field `field`.
fn put_samples(buf: &mut Vec<u8>, field: u8, entries: &[Entry], run: &[u32]) {
    for &i in run {
        let e = &entries[i as usize];
        if e.h.is_none() {
            put_sample(buf, field, e);
        }
    }
}

fn put_histograms(buf: &mut Vec<u8>, field: u32, hs: &[proto::Histogram]) {
    for h in hs {
        prost::encoding::message::encode(field, h, buf);
    }
}

/// `prometheus.WriteRequest`: field 1, one `TimeSeries` per series (labels 1, samples 2,
/// histograms 4).
fn write_v1(buf: &mut Vec<u8>, entries: &[Entry], order: &[u32]) {
    for run in series_runs(entries, order) {
        let labels = &entries[run[0] as usize].labels;
        let hs = histograms(entries, run);
        buf.push(key(1, LEN));
        encode_varint(
            (v1_labels_len(labels) + samples_len(entries, run) + histograms_len(4, &hs)) as u64,
            buf,
        );
        for l in labels.iter() {
            buf.push(key(1, LEN));
            encode_varint(v1_label_len(&l.name, &l.value) as u64, buf);
            put_bytes_field(buf, 1, &l.name);
            put_bytes_field(buf, 2, &l.value);
        }
        put_samples(buf, 2, entries, run);
        put_histograms(buf, 4, &hs);
    }
}

/// `io.prometheus.write.v2.Request`: symbols (field 4; element 0 is always the empty string),
/// then one `TimeSeries` per series (field 5: packed label references 1, samples 2,
/// histograms 3).
fn write_v2(buf: &mut Vec<u8>, refs: &mut Vec<u32>, entries: &[Entry], order: &[u32]) {
    let mut symbols: Vec<&str> = vec![""];
    let mut index: HashMap<&str, u32> = HashMap::from([("", 0)]);
    refs.clear();
    for run in series_runs(entries, order) {
        for l in entries[run[0] as usize].labels.iter() {
            for s in [&*l.name, &*l.value] {
                let r = *index.entry(s).or_insert_with(|| {
                    symbols.push(s);
                    (symbols.len() - 1) as u32
                });
                refs.push(r);
            }
        }
    }
    for s in &symbols {
        // Repeated bytes: every element is written, the empty one too.
        buf.push(key(4, LEN));
        encode_varint(s.len() as u64, buf);
        buf.extend_from_slice(s.as_bytes());
    }
    let mut at = 0;
    for run in series_runs(entries, order) {
        let n = entries[run[0] as usize].labels.len() * 2;
        let series_refs = &refs[at..at + n];
        at += n;
        let packed: usize = series_refs
            .iter()
            .map(|&r| encoded_len_varint(u64::from(r)))
            .sum();
        let refs_len = if n == 0 {
            0
        } else {
            1 + encoded_len_varint(packed as u64) + packed
        };
        let hs = histograms(entries, run);
        buf.push(key(5, LEN));
        encode_varint(
            (refs_len + samples_len(entries, run) + histograms_len(3, &hs)) as u64,
            buf,
        );
        if n > 0 {
            buf.push(key(1, LEN));
            encode_varint(packed as u64, buf);
            for &r in series_refs {
                encode_varint(u64::from(r), buf);
            }
        }
        put_samples(buf, 2, entries, run);
        put_histograms(buf, 3, &hs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_ingest::proto::{v1, v2};
    use bongsu_model::HistogramValue;
    use prost::Message;
    use std::sync::Arc;

    fn entry(sref: u64, name: &str, t: i64) -> Entry {
        Entry {
            sref,
            labels: Labels::from_pairs(&[("__name__", name), ("job", "j")]).unwrap(),
            t,
            v: t as f64,
            h: None,
            seq: 0,
        }
    }

    fn decompress(b: &Bytes) -> Vec<u8> {
        snap::raw::Decoder::new().decompress_vec(b).unwrap()
    }

    /// Entries with the cases proto3 encodes specially: zero, negative zero and NaN values,
    /// zero and negative timestamps, a series seen twice, long labels.
    fn awkward() -> Vec<Entry> {
        let long = "x".repeat(300);
        let mut es = vec![
            entry(7, "a", 0),
            entry(3, "b", -5),
            entry(7, "a", 1_700_000_000_000),
            Entry {
                labels: Labels::from_pairs(&[("__name__", "c"), ("long", long.as_str())]).unwrap(),
                ..entry(9, "c", 12)
            },
        ];
        es[1].v = -0.0;
        es[3].v = f64::NAN;
        // Histograms: integer, float and custom-bucket ones, mixed with floats of a series.
        let int = bongsu_model::Histogram {
            schema: 3,
            count: 4,
            sum: 2.5,
            zero_count: 1,
            zero_threshold: 1e-3,
            positive_spans: vec![bongsu_model::Span {
                offset: -2,
                length: 2,
            }],
            positive_buckets: vec![2, -1],
            ..Default::default()
        };
        let nhcb = bongsu_model::Histogram {
            schema: -53,
            count: 3,
            positive_spans: vec![bongsu_model::Span {
                offset: 0,
                length: 1,
            }],
            positive_buckets: vec![3],
            custom_values: vec![0.5, 1.0],
            ..Default::default()
        };
        // A ref's labels are the same for all its entries (series 7 is "a").
        let h = |sref, t, h| Entry {
            h: Some(h),
            ..entry(sref, if sref == 7 { "a" } else { "h" }, t)
        };
        es.push(h(7, 5, HistogramValue::Int(Arc::new(int.clone()))));
        es.push(h(11, 6, HistogramValue::Float(Arc::new(int.to_float()))));
        es.push(h(11, 7, HistogramValue::Int(Arc::new(nhcb))));
        es
    }

    /// What prost writes for the same entries (grouped the same way).
    fn prost_v1(entries: &[Entry], order: &[u32]) -> Vec<u8> {
        let timeseries = series_runs(entries, order)
            .map(|run| v1::TimeSeries {
                labels: entries[run[0] as usize]
                    .labels
                    .iter()
                    .map(|l| v1::Label {
                        name: Bytes::copy_from_slice(l.name.as_bytes()),
                        value: Bytes::copy_from_slice(l.value.as_bytes()),
                    })
                    .collect(),
                samples: run
                    .iter()
                    .filter(|&&i| entries[i as usize].h.is_none())
                    .map(|&i| v1::Sample {
                        value: entries[i as usize].v,
                        timestamp: entries[i as usize].t,
                    })
                    .collect(),
                histograms: run
                    .iter()
                    .filter_map(|&i| {
                        let e = &entries[i as usize];
                        e.h.as_ref().map(|h| histogram::from_model(e.t, h))
                    })
                    .collect(),
                ..Default::default()
            })
            .collect();
        v1::WriteRequest {
            timeseries,
            ..Default::default()
        }
        .encode_to_vec()
    }

    fn order(entries: &[Entry]) -> Vec<u32> {
        let mut o: Vec<u32> = (0..entries.len() as u32).collect();
        o.sort_by_key(|&i| entries[i as usize].sref);
        o
    }

    #[test]
    fn v1_bytes_are_prosts() {
        let es = awkward();
        let body = Encoder::new(ProtobufMessage::V1).encode(&es).unwrap();
        assert_eq!(decompress(&body), prost_v1(&es, &order(&es)));
    }

    #[test]
    fn v2_decodes_to_the_entries() {
        let es = awkward();
        let body = Encoder::new(ProtobufMessage::V2).encode(&es).unwrap();
        let raw = decompress(&body);
        let req = v2::Request::decode(&raw[..]).unwrap();
        // Re-encoding with prost gives the same bytes: same fields, same order.
        assert_eq!(req.encode_to_vec(), raw);
        let sym = |r: u32| {
            std::str::from_utf8(&req.symbols[r as usize])
                .unwrap()
                .to_owned()
        };
        let mut got = Vec::new();
        let mut got_h = Vec::new();
        for ts in &req.timeseries {
            let labels: Vec<String> = ts.labels_refs.iter().map(|&r| sym(r)).collect();
            for s in &ts.samples {
                got.push((labels.clone(), s.timestamp, s.value.to_bits()));
            }
            for h in &ts.histograms {
                got_h.push((labels.clone(), h.timestamp, histogram::to_model(h)));
            }
        }
        let want_h: Vec<_> = order(&es)
            .iter()
            .filter_map(|&i| {
                let e = &es[i as usize];
                let labels: Vec<String> = e
                    .labels
                    .iter()
                    .flat_map(|l| [l.name.to_string(), l.value.to_string()])
                    .collect();
                e.h.clone().map(|h| (labels, e.t, h))
            })
            .collect();
        assert_eq!(got_h, want_h);
        let mut want: Vec<_> = order(&es)
            .iter()
            .filter(|&&i| es[i as usize].h.is_none())
            .map(|&i| {
                let e = &es[i as usize];
                let labels: Vec<String> = e
                    .labels
                    .iter()
                    .flat_map(|l| [l.name.to_string(), l.value.to_string()])
                    .collect();
                // proto3 leaves a zero value out, so negative zero arrives as zero.
                let v = if e.v == 0.0 { 0.0 } else { e.v };
                (labels, e.t, v.to_bits())
            })
            .collect();
        want.sort_by(|a, b| a.0.cmp(&b.0));
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, want);
    }

    #[test]
    fn the_encoder_is_reusable() {
        let mut enc = Encoder::new(ProtobufMessage::V1);
        let es = awkward();
        let first = enc.encode(&es).unwrap();
        let _ = enc.encode(&es[..1]).unwrap();
        assert_eq!(enc.encode(&es).unwrap(), first);
    }

    #[test]
    fn v1_groups_samples_by_series_in_order() {
        let es = [entry(1, "a", 1), entry(2, "b", 1), entry(1, "a", 2)];
        let body = Encoder::new(ProtobufMessage::V1).encode(&es).unwrap();
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
        let body = Encoder::new(ProtobufMessage::V2).encode(&es).unwrap();
        let req = v2::Request::decode(&decompress(&body)[..]).unwrap();
        assert_eq!(&req.symbols[0][..], b"");
        let names: Vec<&[u8]> = req.symbols.iter().map(|s| &s[..]).collect();
        assert_eq!(names, vec![&b""[..], b"__name__", b"a", b"job", b"j", b"b"]);
        assert_eq!(req.timeseries[1].labels_refs, vec![1, 5, 3, 4]);
    }
}
