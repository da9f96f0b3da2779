//! The remote-read protobuf messages (`prompb/remote.proto`, `prompb/types.proto`): the
//! request, the `SAMPLES` answer and the frames of the `STREAMED_XOR_CHUNKS` answer, shared by
//! the server (`api`) and the client (`remoteread`). Series reuse the remote-write
//! [`TimeSeries`](crate::proto::v1::TimeSeries) and [`Label`](crate::proto::v1::Label).
//!
//! Not here: compression, framing, chunk encodings (their users own them).

use bytes::Bytes;

use crate::proto::v1::{Label, TimeSeries};

/// `ReadRequest.ResponseType` `SAMPLES`.
pub const SAMPLES: i32 = 0;
/// `ReadRequest.ResponseType` `STREAMED_XOR_CHUNKS`.
pub const STREAMED_XOR_CHUNKS: i32 = 1;

/// `prometheus.ReadRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadRequest {
    #[prost(message, repeated, tag = "1")]
    pub queries: Vec<Query>,
    /// `ResponseType` values: [`SAMPLES`], [`STREAMED_XOR_CHUNKS`].
    #[prost(int32, repeated, tag = "2")]
    pub accepted_response_types: Vec<i32>,
}

/// `prometheus.Query`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Query {
    #[prost(int64, tag = "1")]
    pub start_timestamp_ms: i64,
    #[prost(int64, tag = "2")]
    pub end_timestamp_ms: i64,
    #[prost(message, repeated, tag = "3")]
    pub matchers: Vec<LabelMatcher>,
    /// `prometheus.ReadHints`: only an optimisation hint; kept as bytes.
    #[prost(bytes = "bytes", optional, tag = "4")]
    pub hints: Option<Bytes>,
}

/// `prometheus.LabelMatcher`; `type`: 0 `EQ`, 1 `NEQ`, 2 `RE`, 3 `NRE`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelMatcher {
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(string, tag = "3")]
    pub value: String,
}

/// `prometheus.ReadResponse`: the `SAMPLES` answer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadResponse {
    #[prost(message, repeated, tag = "1")]
    pub results: Vec<QueryResult>,
}

/// `prometheus.QueryResult`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryResult {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.ChunkedReadResponse`: one frame of the `STREAMED_XOR_CHUNKS` answer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChunkedReadResponse {
    #[prost(message, repeated, tag = "1")]
    pub chunked_series: Vec<ChunkedSeries>,
    /// Which query of the request this frame answers.
    #[prost(int64, tag = "2")]
    pub query_index: i64,
}

/// `prometheus.ChunkedSeries`: a series' labels and its chunks in time order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChunkedSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub chunks: Vec<Chunk>,
}

/// `Chunk.Encoding` `XOR` (Prometheus' float chunk).
pub const CHUNK_XOR: i32 = 1;

/// `prometheus.Chunk`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Chunk {
    #[prost(int64, tag = "1")]
    pub min_time_ms: i64,
    #[prost(int64, tag = "2")]
    pub max_time_ms: i64,
    /// `Encoding`: 0 `UNKNOWN`, 1 `XOR`, 2 `HISTOGRAM`, 3 `FLOAT_HISTOGRAM`.
    #[prost(int32, tag = "3")]
    pub r#type: i32,
    #[prost(bytes = "bytes", tag = "4")]
    pub data: Bytes,
}
