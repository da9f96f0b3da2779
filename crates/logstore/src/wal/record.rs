//! The log WAL's records: stream definitions, batches of entries, and a consumer's checkpoint
//! with the entries it covers, as bytes and back.
//! Layout in `docs/format/logs-wal.md`.

use bongsu_model::log::LogEntry;
use bongsu_model::{Label, Labels, MAX_LABELS};

use crate::encoding::{put_str, put_uvarint, put_varint, DecodeError, Decoder};
use crate::head::Row;

pub const RECORD_STREAMS: u8 = 1;
pub const RECORD_ENTRIES: u8 = 2;
pub const RECORD_CHECKPOINT: u8 = 3;

/// Longest consumer name of a checkpoint record.
pub const MAX_CONSUMER_BYTES: usize = 256;
/// Largest checkpoint a record carries (a collector's positions of thousands of files).
pub const MAX_CHECKPOINT_BYTES: usize = 1024 * 1024;

/// A stream's WAL id (the store's stream id when it was logged) and its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalStream {
    pub id: u32,
    pub labels: Labels,
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Streams(Vec<WalStream>),
    /// `(stream id, entry)` in append order.
    Entries(Vec<(u32, LogEntry)>),
    /// A consumer's checkpoint, durable together with the entries of the same record.
    Checkpoint {
        consumer: String,
        data: Vec<u8>,
        entries: Vec<(u32, LogEntry)>,
    },
}

pub fn encode_streams(out: &mut Vec<u8>, streams: &[WalStream]) {
    put_uvarint(out, streams.len() as u64);
    for s in streams {
        put_uvarint(out, u64::from(s.id));
        put_uvarint(out, s.labels.len() as u64);
        for l in s.labels.iter() {
            put_str(out, &l.name);
            put_str(out, &l.value);
        }
    }
}

/// What an entries record holds of one line: appended lines are `LogEntry`s, head lines a
/// cut logs again are `Row`s; both encode to the same bytes.
pub trait WalEntry {
    fn ts(&self) -> i64;
    fn line(&self) -> &str;
    fn metadata(&self) -> impl ExactSizeIterator<Item = (&str, &str)>;
}

impl WalEntry for &LogEntry {
    fn ts(&self) -> i64 {
        self.ts
    }
    fn line(&self) -> &str {
        &self.line
    }
    fn metadata(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.metadata.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl WalEntry for Row<'_> {
    fn ts(&self) -> i64 {
        self.ts
    }
    fn line(&self) -> &str {
        self.line
    }
    fn metadata(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.metadata.iter().map(|(k, v)| (&**k, &**v))
    }
}

/// Encoded size of one entry (an upper bound), for splitting batches into records.
pub fn entry_len(e: &impl WalEntry) -> usize {
    let meta: usize = e.metadata().map(|(k, v)| k.len() + v.len() + 10).sum();
    5 + 10 + 5 + e.line().len() + 5 + meta
}

pub fn encode_entries<E: WalEntry>(out: &mut Vec<u8>, entries: &[(u32, E)]) {
    put_uvarint(out, entries.len() as u64);
    for (id, e) in entries {
        put_uvarint(out, u64::from(*id));
        put_varint(out, e.ts());
        put_str(out, e.line());
        let meta = e.metadata();
        put_uvarint(out, meta.len() as u64);
        for (k, v) in meta {
            put_str(out, k);
            put_str(out, v);
        }
    }
}

/// A checkpoint record: the consumer, its opaque bytes, then an entries payload.
pub fn encode_checkpoint<E: WalEntry>(
    out: &mut Vec<u8>,
    consumer: &str,
    data: &[u8],
    entries: &[(u32, E)],
) {
    put_str(out, consumer);
    put_uvarint(out, data.len() as u64);
    out.extend_from_slice(data);
    encode_entries(out, entries);
}

fn decode_entries(d: &mut Decoder<'_>, len: usize) -> Result<Vec<(u32, LogEntry)>, DecodeError> {
    let n = d.uvarint_max("entry count", len as u64)? as usize;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let id = d.uvarint_max("stream id", u64::from(u32::MAX))? as u32;
        let ts = d.varint()?;
        let line = d.str()?.to_string();
        let m = d.uvarint_max("metadata count", d.remaining() as u64)? as usize;
        let mut metadata = Vec::with_capacity(m);
        for _ in 0..m {
            metadata.push((d.str()?.to_string(), d.str()?.to_string()));
        }
        out.push((id, LogEntry { ts, line, metadata }));
    }
    Ok(out)
}

pub fn decode(rtype: u8, payload: &[u8]) -> Result<Record, DecodeError> {
    let mut d = Decoder::new(payload);
    let rec = match rtype {
        RECORD_STREAMS => {
            let n = d.uvarint_max("stream count", payload.len() as u64)? as usize;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let at = d.pos();
                let id = d.uvarint_max("stream id", u64::from(u32::MAX))? as u32;
                let k = d.uvarint_max("label count", MAX_LABELS as u64)? as usize;
                let mut ls = Vec::with_capacity(k);
                for _ in 0..k {
                    let name = d.str()?;
                    let value = d.str()?;
                    ls.push(Label::new(name, value));
                }
                let labels = Labels::new(ls).map_err(|_| DecodeError::OutOfRange {
                    what: "invalid label set",
                    value: k as u64,
                    at,
                })?;
                out.push(WalStream { id, labels });
            }
            Record::Streams(out)
        }
        RECORD_ENTRIES => Record::Entries(decode_entries(&mut d, payload.len())?),
        RECORD_CHECKPOINT => {
            let at = d.pos();
            let consumer = d.str()?.to_string();
            if consumer.len() > MAX_CONSUMER_BYTES {
                return Err(DecodeError::OutOfRange {
                    what: "checkpoint consumer length",
                    value: consumer.len() as u64,
                    at,
                });
            }
            let n = d.uvarint_max("checkpoint length", MAX_CHECKPOINT_BYTES as u64)? as usize;
            let data = d.bytes(n)?.to_vec();
            let entries = decode_entries(&mut d, payload.len())?;
            Record::Checkpoint {
                consumer,
                data,
                entries,
            }
        }
        other => {
            return Err(DecodeError::OutOfRange {
                what: "record type",
                value: u64::from(other),
                at: 0,
            })
        }
    };
    if d.remaining() != 0 {
        return Err(DecodeError::OutOfRange {
            what: "trailing record bytes",
            value: d.remaining() as u64,
            at: d.pos(),
        });
    }
    Ok(rec)
}
