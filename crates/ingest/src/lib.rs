//! The push receivers: the Prometheus remote-write receiver (`POST /api/v1/write`):
//! Remote-Write 1.0 (`prometheus.WriteRequest`) and 2.0 (`io.prometheus.write.v2.Request`),
//! snappy block format; and, in [`logs`], the log push receivers: Loki's push API
//! (`/loki/api/v1/push`, `/api/prom/push`) and OTLP/HTTP logs (`/otlp/v1/logs`).
//!
//! Owns content negotiation, the size limits of a request, decompression, protobuf (and, for
//! logs, JSON) decoding, label validation, the 2.0 symbol table, appending through one storage
//! `Appender` per request (logs: one `LogAppendable::append_logs`), the status codes and
//! `X-Prometheus-Remote-Write-*-Written` headers of the answer, and the receivers' counters.
//! It does not own the routes, readiness or the `/metrics` text (`api`), nor storage rules
//! such as out-of-order detection (`tsdb`, the log store).
//!
//! Behaviour follows Prometheus' receiver (`storage/remote/write_handler.go`) and Loki 3's
//! distributor; where bongsu differs, the item in `write`, `handler` or `logs` says why.
//!
//! - `proto`: the messages, hand-written `prost` structs with the upstream field numbers.
//! - `request`: negotiation, size limits, decompression, decoding; no HTTP types.
//! - `histogram`: native histograms between the wire and the model.
//! - `labels`: series labels from 1.0 pairs or the 2.0 symbol table, validated.
//! - `write`: appending a decoded request and the report of what was written; no HTTP types.
//! - `stats`: counters of requests, samples and rejections.
//! - `handler`: the axum side: body limits, the blocking pool, the response.
//! - `logs`: the Loki push and OTLP logs receivers, [`logs::LogReceiver`].

mod handler;
pub mod histogram;
mod labels;
pub mod logs;
pub mod proto;
pub mod read_proto;
pub mod request;
mod stats;
pub mod write;

#[cfg(test)]
mod tests;

pub use handler::{disabled, Receiver, MAX_INFLIGHT_BODY_BYTES, MAX_INFLIGHT_DECOMPRESSED_BYTES};
pub use request::{negotiate, Proto, WriteError, MAX_BODY_BYTES, MAX_DECOMPRESSED_BYTES};
pub use stats::{Reason, Stats};
pub use write::{Report, Written, MAX_AHEAD_MS};
