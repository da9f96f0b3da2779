//! `POST /api/v1/read`: Prometheus' remote-read protocol with the `SAMPLES` response type.
//!
//! The request is a snappy-compressed `prometheus.ReadRequest`; each query's matchers (minus
//! equality matchers on external labels with the same value, as upstream) select series in
//! `[start, end]`, whose samples (floats and native histograms, integer or float as stored,
//! both counted by the sample limit as upstream's `ToQueryResult`) are returned with the
//! external labels merged in, as one snappy-compressed `prometheus.ReadResponse`.
//! `STREAMED_XOR_CHUNKS` is not implemented: a
//! client that accepts only it gets a 400 naming what is supported, and a client that lists
//! both gets samples. Errors are plain text, as upstream's handler writes them.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use prost::Message;

use bongsu_ingest::histogram;
use bongsu_ingest::proto::v1::{Label, Sample, TimeSeries};
use bongsu_ingest::read_proto::{Query, QueryResult, ReadRequest, ReadResponse, SAMPLES};
use bongsu_model::{Labels, MatchOp, Matcher};
use bongsu_storage::{Queryable, Series};

use super::ApiState;

/// Largest request body, compressed and decompressed (upstream's `decodeReadLimit`).
const MAX_REQUEST_BYTES: usize = 32 << 20;

fn plain(status: StatusCode, msg: impl std::fmt::Display) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{msg}\n"),
    )
        .into_response()
}

/// Decodes the snappy-framed (block format) protobuf request.
fn decode(body: &[u8]) -> Result<ReadRequest, String> {
    let len = snap::raw::decompress_len(body).map_err(|e| format!("snappy: {e}"))?;
    if len > MAX_REQUEST_BYTES {
        return Err(format!(
            "snappy: decoded length {len} exceeds limit {MAX_REQUEST_BYTES}"
        ));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| format!("snappy: {e}"))?;
    ReadRequest::decode(raw.as_slice()).map_err(|e| e.to_string())
}

fn type_name(t: i32) -> String {
    match t {
        0 => "SAMPLES".into(),
        1 => "STREAMED_XOR_CHUNKS".into(),
        t => t.to_string(),
    }
}

/// The query's matchers as storage matchers, without equality matchers on an external label
/// with its own value (the remote side added them; the local series do not carry them).
fn matchers(q: &Query, external: &Labels) -> Result<Vec<Matcher>, String> {
    let mut out = Vec::with_capacity(q.matchers.len());
    for m in &q.matchers {
        let op = match m.r#type {
            0 => MatchOp::Equal,
            1 => MatchOp::NotEqual,
            2 => MatchOp::Regex,
            3 => MatchOp::NotRegex,
            t => return Err(format!("invalid matcher type {t}")),
        };
        if op == MatchOp::Equal && external.get(&m.name) == Some(m.value.as_str()) {
            continue;
        }
        out.push(Matcher::new(op, &m.name, &m.value).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

fn label(name: &str, value: &str) -> Label {
    Label {
        name: Bytes::copy_from_slice(name.as_bytes()),
        value: Bytes::copy_from_slice(value.as_bytes()),
    }
}

/// The series' labels with the external labels it lacks, sorted by name.
fn merged_labels(own: &Labels, external: &Labels) -> Vec<Label> {
    let mut pairs: Vec<(&str, &str)> = own.iter().map(|l| (&*l.name, &*l.value)).collect();
    for l in external.iter() {
        if own.get(&l.name).is_none() {
            pairs.push((&l.name, &l.value));
        }
    }
    pairs.sort();
    pairs.into_iter().map(|(n, v)| label(n, v)).collect()
}

/// A stored series as a `prometheus.TimeSeries`, with the external labels it lacks.
fn to_timeseries(s: &Series, external: &Labels) -> TimeSeries {
    TimeSeries {
        labels: merged_labels(&s.labels, external),
        samples: s
            .samples
            .iter()
            .map(|x| Sample {
                value: x.v,
                timestamp: x.t,
            })
            .collect(),
        exemplars: Vec::new(),
        histograms: s
            .histograms
            .iter()
            .map(|h| histogram::from_model(h.t, &h.h))
            .collect(),
    }
}

pub(super) async fn read(State(s): State<ApiState>, body: Body) -> Response {
    let Ok(db) = s.db() else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
    };
    // Waits for a slot as Prometheus' gate does; the permit lives until the answer is built.
    let _slot = match &s.0.remote_read_slots {
        Some(slots) => match slots.clone().acquire_owned().await {
            Ok(p) => Some(p),
            Err(e) => return plain(StatusCode::INTERNAL_SERVER_ERROR, e),
        },
        None => None,
    };
    let limit = match s.0.remote_read_sample_limit {
        0 => usize::MAX,
        n => n,
    };
    let body = match axum::body::to_bytes(body, MAX_REQUEST_BYTES).await {
        Ok(b) => b,
        Err(e) => return plain(StatusCode::BAD_REQUEST, e),
    };
    let req = match decode(&body) {
        Ok(r) => r,
        Err(e) => return plain(StatusCode::BAD_REQUEST, e),
    };
    if !req.accepted_response_types.is_empty() && !req.accepted_response_types.contains(&SAMPLES) {
        let asked: Vec<String> = req
            .accepted_response_types
            .iter()
            .map(|&t| type_name(t))
            .collect();
        return plain(
            StatusCode::BAD_REQUEST,
            format!(
                "server does not support any of the requested response types: [{}]; supported: [SAMPLES]",
                asked.join(" ")
            ),
        );
    }
    let external = s.0.external_labels.lock().clone();
    let work = move || -> Result<Vec<u8>, (StatusCode, String)> {
        let mut results = Vec::with_capacity(req.queries.len());
        let mut total = 0usize;
        for q in &req.queries {
            let ms = matchers(q, &external).map_err(|e| (StatusCode::BAD_REQUEST, e))?;
            let series = db
                .querier(q.start_timestamp_ms, q.end_timestamp_ms)
                .and_then(|querier| querier.select(&ms))
                .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            let mut timeseries = Vec::with_capacity(series.len());
            for s in series {
                total += s.samples.len() + s.histograms.len();
                if total > limit {
                    return Err((
                        StatusCode::BAD_REQUEST,
                        format!("exceeded sample limit ({limit})"),
                    ));
                }
                timeseries.push(to_timeseries(&s, &external));
            }
            results.push(QueryResult { timeseries });
        }
        let encoded = ReadResponse { results }.encode_to_vec();
        snap::raw::Encoder::new()
            .compress_vec(&encoded)
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
    };
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(body)) => (
            [
                (header::CONTENT_TYPE, "application/x-protobuf"),
                (header::CONTENT_ENCODING, "snappy"),
            ],
            body,
        )
            .into_response(),
        Ok(Err((status, msg))) => plain(status, msg),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bongsu_model::{FloatHistogram, Histogram, HistogramSample, HistogramValue};

    use super::*;

    #[test]
    fn series_carry_their_histograms_as_stored() {
        let int = Histogram {
            count: 2,
            sum: 3.0,
            zero_count: 2,
            ..Histogram::default()
        };
        let float = FloatHistogram {
            count: 1.5,
            ..FloatHistogram::default()
        };
        let s = Series {
            labels: Labels::from_pairs(&[("__name__", "h")]).unwrap(),
            samples: vec![bongsu_model::Sample { t: 1, v: 1.0 }],
            histograms: vec![
                HistogramSample {
                    t: 2,
                    h: HistogramValue::Int(Arc::new(int.clone())),
                },
                HistogramSample {
                    t: 3,
                    h: HistogramValue::Float(Arc::new(float.clone())),
                },
            ],
        };
        let external = Labels::from_pairs(&[("dc", "eu")]).unwrap();
        let ts = to_timeseries(&s, &external);
        assert_eq!(ts.labels, vec![label("__name__", "h"), label("dc", "eu")]);
        assert_eq!(
            ts.histograms,
            vec![
                histogram::from_int(2, &int),
                histogram::from_float(3, &float)
            ]
        );
        assert!(!histogram::is_float(&ts.histograms[0]));
        assert!(histogram::is_float(&ts.histograms[1]));
    }
}
