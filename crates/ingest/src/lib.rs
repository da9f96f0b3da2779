//! The Prometheus remote-write receiver (`POST /api/v1/write`): Remote-Write 1.0
//! (`prometheus.WriteRequest`) and 2.0 (`io.prometheus.write.v2.Request`), snappy block format.
//!
//! Owns content negotiation, the size limits of a request, decompression, protobuf decoding,
//! label validation, the 2.0 symbol table, appending through one storage `Appender` per request,
//! the status codes and `X-Prometheus-Remote-Write-*-Written` headers of the answer, and the
//! receiver's counters. It does not own the route, readiness or the `/metrics` text (`api`),
//! nor storage rules such as out-of-order detection (`tsdb`).
//!
//! Behaviour follows Prometheus' receiver (`storage/remote/write_handler.go`); where bongsu
//! differs, the item in `write` or `handler` says why.
//!
//! - `proto`: the messages, hand-written `prost` structs with the upstream field numbers.
//! - `request`: negotiation, size limits, decompression, decoding; no HTTP types.
//! - `labels`: series labels from 1.0 pairs or the 2.0 symbol table, validated.
//! - `write`: appending a decoded request and the report of what was written; no HTTP types.
//! - `stats`: counters of requests, samples and rejections.
//! - `handler`: the axum side: body limits, the blocking pool, the response.

mod handler;
mod labels;
pub mod logs;
pub mod proto;
pub mod request;
mod stats;
pub mod write;

#[cfg(test)]
mod tests;

pub use handler::{disabled, Receiver, MAX_INFLIGHT_BODY_BYTES, MAX_INFLIGHT_DECOMPRESSED_BYTES};
pub use request::{negotiate, Proto, WriteError, MAX_BODY_BYTES, MAX_DECOMPRESSED_BYTES};
pub use stats::{Reason, Stats};
pub use write::{Report, Written, MAX_AHEAD_MS};
