//! The wire format of a remote read (`storage/remote/codec.go`, `chunked.go`): the request
//! body, the `SAMPLES` answer and the framed `STREAMED_XOR_CHUNKS` answer, turned into
//! storage [`Series`].
//!
//! Not here: HTTP (the client), which series a query may ask for (the querier).

use bongsu_ingest::histogram;
use bongsu_ingest::proto::v1::{Label, TimeSeries};
use bongsu_ingest::read_proto::{
    ChunkedReadResponse, LabelMatcher, Query, ReadRequest, ReadResponse, CHUNK_XOR, SAMPLES,
    STREAMED_XOR_CHUNKS,
};
use bongsu_model::{HistogramSample, Labels, MatchOp, Matcher, Sample};
use bongsu_storage::Series;
use prost::Message;

use crate::{xor, ReadError};

/// Largest `SAMPLES` answer once decompressed, in bytes (as the server's request limit).
pub const MAX_DECOMPRESSED_BYTES: usize = 256 << 20;

/// The response types bongsu accepts, in Prometheus 3.5's order of preference.
pub const ACCEPTED_RESPONSE_TYPES: [i32; 2] = [STREAMED_XOR_CHUNKS, SAMPLES];

/// One query of `[mint, maxt]` with `matchers`, as Prometheus' `ToQuery` (no hints).
pub fn to_query(mint: i64, maxt: i64, matchers: &[Matcher]) -> Query {
    Query {
        start_timestamp_ms: mint,
        end_timestamp_ms: maxt,
        matchers: matchers
            .iter()
            .map(|m| LabelMatcher {
                r#type: match m.op {
                    MatchOp::Equal => 0,
                    MatchOp::NotEqual => 1,
                    MatchOp::Regex => 2,
                    MatchOp::NotRegex => 3,
                },
                name: m.name.to_string(),
                value: m.value.to_string(),
            })
            .collect(),
        hints: None,
    }
}

/// The snappy-compressed `ReadRequest` body for one query, accepting `types` (see
/// [`ACCEPTED_RESPONSE_TYPES`]).
pub fn encode_request(query: Query, types: &[i32]) -> Result<Vec<u8>, ReadError> {
    let req = ReadRequest {
        queries: vec![query],
        accepted_response_types: types.to_vec(),
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .map_err(|e| ReadError::Decode(format!("compressing the request: {e}")))
}

fn labels(pairs: &[Label]) -> Result<Labels, ReadError> {
    let mut out = Vec::with_capacity(pairs.len());
    for l in pairs {
        let name = std::str::from_utf8(&l.name)
            .map_err(|_| ReadError::Decode("label name is not UTF-8".into()))?;
        let value = std::str::from_utf8(&l.value)
            .map_err(|_| ReadError::Decode("label value is not UTF-8".into()))?;
        out.push((name, value));
    }
    Labels::from_pairs(&out).map_err(|e| ReadError::Decode(format!("invalid labels: {e}")))
}

/// Sorts by labels and drops out-of-order or repeated samples, so every series keeps the
/// storage promise (time order, no duplicates, no timestamp both a float and a histogram)
/// whatever the remote sent. On a float/histogram clash the float is kept, as Prometheus'
/// `concreteSeriesIterator`.
fn finish(mut series: Vec<Series>) -> Vec<Series> {
    for s in &mut series {
        s.samples.sort_by_key(|x| x.t);
        s.samples.dedup_by_key(|x| x.t);
        if !s.histograms.is_empty() {
            s.histograms.sort_by_key(|x| x.t);
            s.histograms.dedup_by_key(|x| x.t);
            let floats = &s.samples;
            s.histograms
                .retain(|h| floats.binary_search_by_key(&h.t, |f| f.t).is_err());
        }
    }
    series.retain(|s| !s.is_empty());
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    series
}

/// Decodes a snappy-compressed `ReadResponse` with one result.
pub fn decode_samples(compressed: &[u8]) -> Result<Vec<Series>, ReadError> {
    let len = snap::raw::decompress_len(compressed)
        .map_err(|e| ReadError::Decode(format!("error reading response: {e}")))?;
    if len > MAX_DECOMPRESSED_BYTES {
        return Err(ReadError::TooLarge(format!(
            "decompressed response of {len} bytes is over the limit of {MAX_DECOMPRESSED_BYTES}"
        )));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(compressed)
        .map_err(|e| ReadError::Decode(format!("error reading response: {e}")))?;
    let resp = ReadResponse::decode(raw.as_slice())
        .map_err(|e| ReadError::Decode(format!("unable to unmarshal response body: {e}")))?;
    if resp.results.len() != 1 {
        return Err(ReadError::Decode(format!(
            "responses: want 1, got {}",
            resp.results.len()
        )));
    }
    let mut out = Vec::new();
    for TimeSeries {
        labels: l,
        samples,
        histograms,
        ..
    } in resp.results.into_iter().flat_map(|r| r.timeseries)
    {
        out.push(Series {
            labels: labels(&l)?,
            samples: samples
                .iter()
                .map(|s| Sample {
                    t: s.timestamp,
                    v: s.value,
                })
                .collect(),
            histograms: histograms
                .iter()
                .map(|h| HistogramSample {
                    t: h.timestamp,
                    h: histogram::to_model(h),
                })
                .collect(),
        });
    }
    Ok(finish(out))
}

/// Decodes a `STREAMED_XOR_CHUNKS` body: frames of a uvarint length, a big-endian CRC32
/// (Castagnoli) of the message and a `ChunkedReadResponse`, each at most `frame_limit` bytes
/// (0: no limit). Samples outside `[mint, maxt]` are dropped, as Prometheus' chunked series
/// set does; a series split over frames is joined.
pub fn decode_chunked(
    mut body: &[u8],
    frame_limit: u64,
    mint: i64,
    maxt: i64,
) -> Result<Vec<Series>, ReadError> {
    let mut out: Vec<Series> = Vec::new();
    while !body.is_empty() {
        let (size, used) = uvarint(body)?;
        if frame_limit > 0 && size > frame_limit {
            return Err(ReadError::TooLarge(format!(
                "chunkedReader: message size exceeded the limit {size} bytes; limit {frame_limit} bytes"
            )));
        }
        let size = usize::try_from(size)
            .map_err(|_| ReadError::Decode("chunked frame size overflows".into()))?;
        let rest = &body[used..];
        let frame = rest
            .get(..4 + size)
            .ok_or_else(|| ReadError::Decode("chunked response is truncated".into()))?;
        let (crc, msg) = frame.split_at(4);
        if crc32c::crc32c(msg).to_be_bytes() != crc {
            return Err(ReadError::Decode(
                "chunkedReader: corrupted frame; checksum mismatch".into(),
            ));
        }
        body = &rest[4 + size..];
        let resp = ChunkedReadResponse::decode(msg)
            .map_err(|e| ReadError::Decode(format!("chunked frame: {e}")))?;
        for cs in resp.chunked_series {
            let l = labels(&cs.labels)?;
            let mut samples = Vec::new();
            for c in &cs.chunks {
                if c.r#type == CHUNK_HISTOGRAM || c.r#type == CHUNK_FLOAT_HISTOGRAM {
                    return Err(ReadError::HistogramChunks(format!(
                        "chunk encoding {} ({}) of series {l} is not supported by bongsu's remote-read client yet",
                        c.r#type,
                        encoding_name(c.r#type)
                    )));
                }
                if c.r#type != CHUNK_XOR {
                    return Err(ReadError::Decode(format!(
                        "chunk encoding {} ({}) of series {l} is not supported by bongsu's remote-read client yet",
                        c.r#type,
                        encoding_name(c.r#type)
                    )));
                }
                xor::decode(&c.data, &mut samples)?;
            }
            samples.retain(|s| s.t >= mint && s.t <= maxt);
            match out.last_mut() {
                Some(last) if last.labels == l => last.samples.extend(samples),
                _ => out.push(Series::floats(l, samples)),
            }
        }
    }
    Ok(finish(out))
}

/// `Chunk.Encoding` `HISTOGRAM` and `FLOAT_HISTOGRAM`.
const CHUNK_HISTOGRAM: i32 = 2;
const CHUNK_FLOAT_HISTOGRAM: i32 = 3;

/// The `prometheus.Chunk.Encoding` name of a chunk type.
fn encoding_name(t: i32) -> &'static str {
    match t {
        CHUNK_XOR => "XOR",
        CHUNK_HISTOGRAM => "HISTOGRAM",
        CHUNK_FLOAT_HISTOGRAM => "FLOAT_HISTOGRAM",
        _ => "UNKNOWN",
    }
}

fn uvarint(buf: &[u8]) -> Result<(u64, usize), ReadError> {
    let mut v = 0u64;
    for (i, &b) in buf.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Ok((v, i + 1));
        }
    }
    Err(ReadError::Decode("chunked frame has a bad size".into()))
}

#[cfg(test)]
mod tests {
    use bongsu_ingest::proto::v1::Sample as PbSample;
    use bongsu_ingest::read_proto::{Chunk, ChunkedSeries, QueryResult};

    use super::*;

    fn pb_labels(l: &Labels) -> Vec<Label> {
        l.iter()
            .map(|l| Label {
                name: l.name.as_bytes().to_vec().into(),
                value: l.value.as_bytes().to_vec().into(),
            })
            .collect()
    }

    fn sample(t: i64, v: f64) -> Sample {
        Sample { t, v }
    }

    #[test]
    fn request_is_snappy_protobuf_with_both_response_types() {
        let ms = [
            Matcher::new(MatchOp::Equal, "__name__", "up").unwrap(),
            Matcher::new(MatchOp::NotRegex, "job", "a.*").unwrap(),
        ];
        let body = encode_request(to_query(10, 20, &ms), &ACCEPTED_RESPONSE_TYPES).unwrap();
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        let req = ReadRequest::decode(raw.as_slice()).unwrap();
        assert_eq!(req.accepted_response_types, vec![1, 0]);
        let q = &req.queries[0];
        assert_eq!((q.start_timestamp_ms, q.end_timestamp_ms), (10, 20));
        let got: Vec<(i32, &str, &str)> = q
            .matchers
            .iter()
            .map(|m| (m.r#type, m.name.as_str(), m.value.as_str()))
            .collect();
        assert_eq!(got, vec![(0, "__name__", "up"), (3, "job", "a.*")]);
    }

    #[test]
    fn samples_answer_decodes_sorted() {
        let b = Labels::from_pairs(&[("__name__", "b")]).unwrap();
        let a = Labels::from_pairs(&[("__name__", "a")]).unwrap();
        let ts = |l: &Labels, s: &[(i64, f64)]| TimeSeries {
            labels: pb_labels(l),
            samples: s
                .iter()
                .map(|&(timestamp, value)| PbSample { value, timestamp })
                .collect(),
            exemplars: vec![],
            histograms: vec![],
        };
        let resp = ReadResponse {
            results: vec![QueryResult {
                timeseries: vec![ts(&b, &[(2, 2.0), (1, 1.0)]), ts(&a, &[(5, 5.0)])],
            }],
        };
        let body = snap::raw::Encoder::new()
            .compress_vec(&resp.encode_to_vec())
            .unwrap();
        let got = decode_samples(&body).unwrap();
        assert_eq!(got[0].labels, a);
        assert_eq!(got[1].labels, b);
        assert_eq!(got[1].samples, vec![sample(1, 1.0), sample(2, 2.0)]);
        assert!(decode_samples(b"not snappy").is_err());
    }

    #[test]
    fn samples_answer_decodes_histograms_preferring_floats_on_a_clash() {
        use bongsu_model::{FloatHistogram, Histogram, HistogramValue};
        use std::sync::Arc;
        let l = Labels::from_pairs(&[("__name__", "h")]).unwrap();
        let int = Histogram {
            count: 3,
            sum: 1.5,
            schema: -53,
            positive_spans: vec![bongsu_model::Span {
                offset: 0,
                length: 2,
            }],
            positive_buckets: vec![1, 1],
            custom_values: vec![1.0],
            ..Histogram::default()
        };
        let float = FloatHistogram {
            count: 2.5,
            ..FloatHistogram::default()
        };
        let resp = ReadResponse {
            results: vec![QueryResult {
                timeseries: vec![TimeSeries {
                    labels: pb_labels(&l),
                    samples: vec![PbSample {
                        value: 7.0,
                        timestamp: 3,
                    }],
                    exemplars: vec![],
                    histograms: vec![
                        histogram::from_float(2, &float),
                        histogram::from_int(1, &int),
                        histogram::from_int(3, &int), // clashes with the float at 3
                    ],
                }],
            }],
        };
        let body = snap::raw::Encoder::new()
            .compress_vec(&resp.encode_to_vec())
            .unwrap();
        let got = decode_samples(&body).unwrap();
        assert_eq!(got[0].samples, vec![sample(3, 7.0)]);
        assert_eq!(
            got[0].histograms,
            vec![
                HistogramSample {
                    t: 1,
                    h: HistogramValue::Int(Arc::new(int))
                },
                HistogramSample {
                    t: 2,
                    h: HistogramValue::Float(Arc::new(float))
                },
            ]
        );
    }

    fn frame(resp: &ChunkedReadResponse) -> Vec<u8> {
        let msg = resp.encode_to_vec();
        let mut out = Vec::new();
        let mut n = msg.len() as u64;
        while n >= 0x80 {
            out.push(n as u8 | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out.extend(crc32c::crc32c(&msg).to_be_bytes());
        out.extend(msg);
        out
    }

    #[test]
    fn chunked_answer_decodes_joins_and_trims() {
        let l = Labels::from_pairs(&[("__name__", "x"), ("job", "j")]).unwrap();
        let chunk = |s: &[Sample]| Chunk {
            min_time_ms: s[0].t,
            max_time_ms: s[s.len() - 1].t,
            r#type: CHUNK_XOR,
            data: xor::tests::encode(s).into(),
        };
        let first = [sample(0, 0.0), sample(10, 1.0), sample(20, 2.0)];
        let second = [sample(30, 3.0), sample(40, 4.0)];
        let mut body = frame(&ChunkedReadResponse {
            chunked_series: vec![ChunkedSeries {
                labels: pb_labels(&l),
                chunks: vec![chunk(&first)],
            }],
            query_index: 0,
        });
        body.extend(frame(&ChunkedReadResponse {
            chunked_series: vec![ChunkedSeries {
                labels: pb_labels(&l),
                chunks: vec![chunk(&second)],
            }],
            query_index: 0,
        }));
        let got = decode_chunked(&body, 0, 10, 30).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].samples,
            vec![sample(10, 1.0), sample(20, 2.0), sample(30, 3.0)]
        );
        assert!(matches!(
            decode_chunked(&body, 8, 0, 100),
            Err(ReadError::TooLarge(_))
        ));
        let mut bad = body.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(decode_chunked(&bad, 0, 0, 100).is_err());
        assert!(decode_chunked(&body[..body.len() - 3], 0, 0, 100).is_err());
    }

    #[test]
    fn histogram_chunks_are_refused_by_name() {
        let body = frame(&ChunkedReadResponse {
            chunked_series: vec![ChunkedSeries {
                labels: pb_labels(&Labels::from_pairs(&[("__name__", "h")]).unwrap()),
                chunks: vec![Chunk {
                    min_time_ms: 0,
                    max_time_ms: 0,
                    r#type: 2,
                    data: vec![0, 0].into(),
                }],
            }],
            query_index: 0,
        });
        let err = decode_chunked(&body, 0, 0, 100).unwrap_err().to_string();
        assert!(
            err.contains("chunk encoding 2 (HISTOGRAM) of series h{}"),
            "{err}"
        );
    }
}
