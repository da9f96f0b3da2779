//! The request as it arrives: content negotiation (which message, which encoding), the size
//! limits, snappy decompression and protobuf decoding into the 1.0 or 2.0 message. Nothing
//! here looks at samples or storage; `write` does.

use bytes::Bytes;
use prost::Message;
use thiserror::Error;

use bongsu_storage::StorageError;

use super::proto::{v1, v2};

/// Largest decompressed request. Prometheus has no limit; VictoriaMetrics' default
/// `-maxInsertRequestSize` is the same 32 MiB. A Prometheus sender's request (2,000 samples
/// by default) is a few hundred KiB.
pub const MAX_DECOMPRESSED_BYTES: usize = 32 << 20;

/// Largest request body: snappy's worst case for [`MAX_DECOMPRESSED_BYTES`]
/// (`32 + n + n / 6` bytes) fits, so every body that can decompress within the limit is read.
pub const MAX_BODY_BYTES: usize = 40 << 20;

const MEDIA_TYPE: &str = "application/x-protobuf";
const PROTO_V1: &str = "prometheus.WriteRequest";
const PROTO_V2: &str = "io.prometheus.write.v2.Request";

/// The protobuf message of a request, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    V1,
    V2,
}

impl Proto {
    /// The `proto` label value on `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::V1 => "v1",
            Proto::V2 => "v2",
        }
    }

    /// The fully qualified message name.
    pub fn message_name(self) -> &'static str {
        match self {
            Proto::V1 => PROTO_V1,
            Proto::V2 => PROTO_V2,
        }
    }
}

/// Why a request failed as a whole, or (for `BadRequest`) why parts of it were rejected.
#[derive(Debug, Error)]
pub enum WriteError {
    /// 415: a content type or encoding this receiver does not speak.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 400: the request, or some of its samples, will never be written; senders do not retry.
    #[error("{0}")]
    BadRequest(String),
    /// 500: nothing was written; senders retry.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// 500: the receiver itself failed (a task died); nothing was written.
    #[error("{0}")]
    Internal(String),
}

/// Picks the message from `Content-Type` and checks `Content-Encoding`, as Prometheus'
/// `parseProtoMsg`: a missing content type means 1.0 and a missing encoding means snappy
/// (Prometheus keeps "yolo" 1.0 clients working); anything else unknown is 415. Unlike
/// Prometheus, whitespace around parameters (`; proto=…`, allowed by RFC 9110) and the case of
/// the media type and encoding do not matter.
pub fn negotiate(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> Result<Proto, WriteError> {
    let proto = match content_type.map(str::trim).filter(|s| !s.is_empty()) {
        None => Proto::V1,
        Some(ct) => parse_content_type(ct)?,
    };
    match content_encoding.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(proto),
        Some(enc) if enc.eq_ignore_ascii_case("snappy") => Ok(proto),
        Some(enc) => Err(WriteError::UnsupportedMediaType(format!(
            "{enc} encoding (compression) is not accepted by this server; only snappy is acceptable"
        ))),
    }
}

fn parse_content_type(ct: &str) -> Result<Proto, WriteError> {
    let unsupported = |why: String| WriteError::UnsupportedMediaType(why);
    let mut parts = ct.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case(MEDIA_TYPE) {
        return Err(unsupported(format!(
            "expected {MEDIA_TYPE} as the media type, got content type {ct:?}"
        )));
    }
    for param in parts {
        let Some((key, value)) = param.split_once('=') else {
            return Err(unsupported(format!(
                "content type parameters must be key=value (RFC 9110), got {param:?} in {ct:?}"
            )));
        };
        if !key.trim().eq_ignore_ascii_case("proto") {
            continue;
        }
        let value = value.trim().trim_matches('"');
        return match value {
            PROTO_V1 => Ok(Proto::V1),
            PROTO_V2 => Ok(Proto::V2),
            _ => Err(unsupported(format!(
                "{value} protobuf message is not accepted by this server; accepted {PROTO_V1}, {PROTO_V2}"
            ))),
        };
    }
    Ok(Proto::V1)
}

/// The decompressed size a snappy block-format body announces, checked against
/// [`MAX_DECOMPRESSED_BYTES`] before anything is allocated.
pub fn decompressed_len(body: &[u8]) -> Result<usize, WriteError> {
    let n = snap::raw::decompress_len(body)
        .map_err(|e| WriteError::BadRequest(format!("snappy: {e}")))?;
    if n > MAX_DECOMPRESSED_BYTES {
        return Err(WriteError::BadRequest(format!(
            "request decompresses to {n} bytes, more than the limit of {MAX_DECOMPRESSED_BYTES}"
        )));
    }
    Ok(n)
}

/// Decompresses a snappy block-format body of at most [`MAX_DECOMPRESSED_BYTES`].
pub fn decompress(body: &[u8]) -> Result<Bytes, WriteError> {
    decompressed_len(body)?;
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map(Bytes::from)
        .map_err(|e| WriteError::BadRequest(format!("snappy: {e}")))
}

/// Decodes a 1.0 `WriteRequest`; a 2.0 body (fields 4 and 5) is an error rather than the
/// empty request the 1.0 schema would see, so a mislabelled sender learns why nothing lands.
pub fn decode_v1(body: Bytes) -> Result<v1::WriteRequest, WriteError> {
    let req = v1::WriteRequest::decode(body)
        .map_err(|e| WriteError::BadRequest(format!("decoding {PROTO_V1}: {e}")))?;
    if !req.v2_symbols.is_empty() || !req.v2_timeseries.is_empty() {
        return Err(WriteError::BadRequest(format!(
            "the body has fields of {PROTO_V2} (symbols, timeseries) but the content type \
             says {PROTO_V1}; send Content-Type: {MEDIA_TYPE};proto={PROTO_V2}"
        )));
    }
    Ok(req)
}

/// Decodes a 2.0 `Request`; a 1.0 body (fields 1 and 3, reserved in 2.0 for this purpose) is
/// an error, for the same reason as in [`decode_v1`].
pub fn decode_v2(body: Bytes) -> Result<v2::Request, WriteError> {
    let req = v2::Request::decode(body)
        .map_err(|e| WriteError::BadRequest(format!("decoding {PROTO_V2}: {e}")))?;
    if !req.v1_timeseries.is_empty() || !req.v1_metadata.is_empty() {
        return Err(WriteError::BadRequest(format!(
            "the body has fields of {PROTO_V1} (timeseries, metadata) but the content type \
             says {PROTO_V2}; send Content-Type: {MEDIA_TYPE} for Remote-Write 1.0"
        )));
    }
    Ok(req)
}
