//! Loki's push API (`POST /loki/api/v1/push`, legacy `POST /api/prom/push`): which content a
//! request carries, and its decoding into [`PushStream`]s, as Loki's `ParseLokiRequest`:
//! stream label strings parsed (an unparsable one fails the whole push with 400
//! `couldn't parse labels: …`), `service_name` discovered.
//!
//! - `proto`: the protobuf messages (snappy-framed on the wire).
//! - `json`: the JSON bodies.
//!
//! Not here: reading the body (`body`), validation (`distributor`), the answer (`handler`).

pub mod json;
pub mod proto;

use std::borrow::Cow;

use prost::Message;

use bongsu_model::log::LogEntry;

use super::body::{Encoding, Outer};
use super::distributor::PushStream;
use super::gofmt::is_legacy_label_name;
use super::names::discover_service_name;
use super::selector::parse_labels;
use super::PushError;

/// The content of a push body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `logproto.PushRequest`, snappy block format.
    Protobuf,
    /// The JSON body of the endpoint's API version.
    Json,
}

/// The endpoint's API version, which decides the JSON shape (Loki's `loghttp.GetVersion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `/loki/api/v1/push`.
    V1,
    /// `/api/prom/push`.
    Legacy,
}

/// Picks the format and encoding as Loki's `parsePushRequestBody`: `application/json` is
/// JSON; a protobuf media type (or `application/octet-stream`) is protobuf, which is always
/// snappy-framed, so `Content-Encoding: snappy` changes nothing; gzip and deflate wrap either.
/// The returned encoding undoes all compression: protobuf is decoded from what it yields.
/// Loki reads every other media type as protobuf; bongsu answers 415 for types no client of
/// Loki sends, so a misconfigured client learns why. No content type at all is Loki's 400.
pub fn negotiate(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> Result<(Format, Encoding), PushError> {
    let encoding = match content_encoding.map(str::trim).unwrap_or("") {
        "" | "snappy" => Encoding::Identity,
        "gzip" => Encoding::Gzip,
        "deflate" => Encoding::Deflate,
        other => {
            let mut msg = String::from("Content-Encoding ");
            super::gofmt::quote(other, &mut msg);
            msg.push_str(" not supported");
            return Err(PushError::BadRequest(msg));
        }
    };
    let ct = content_type.unwrap_or("").trim();
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let format = match media.as_str() {
        "" => return Err(PushError::BadRequest("mime: no media type".into())),
        "application/json" => Format::Json,
        "application/octet-stream" => Format::Protobuf,
        m if m.starts_with("application/") && m.contains("protobuf") => Format::Protobuf,
        _ => {
            return Err(PushError::UnsupportedMediaType(format!(
                "unsupported Content-Type {ct:?}: send application/x-protobuf (snappy) or \
                 application/json"
            )))
        }
    };
    let encoding = match (format, encoding) {
        (Format::Json, e) => e,
        (Format::Protobuf, Encoding::Gzip) => Encoding::Wrapped(Outer::Gzip),
        (Format::Protobuf, Encoding::Deflate) => Encoding::Wrapped(Outer::Deflate),
        (Format::Protobuf, _) => Encoding::Snappy,
    };
    Ok((format, encoding))
}

/// Decodes a decompressed body into streams with parsed labels and `service_name`
/// discovered (`discover` empty turns that off).
pub fn decode(
    format: Format,
    version: Version,
    raw: &[u8],
    discover: &[String],
) -> Result<Vec<PushStream>, PushError> {
    let mut streams = match (format, version) {
        (Format::Protobuf, _) => decode_protobuf(raw)?,
        (Format::Json, Version::V1) => decode_json_v1(raw)?,
        (Format::Json, Version::Legacy) => decode_json_legacy(raw)?,
    };
    for s in &mut streams {
        discover_service_name(&mut s.labels, discover);
    }
    Ok(streams)
}

fn labels_error(e: impl std::fmt::Display) -> PushError {
    PushError::BadRequest(format!("couldn't parse labels: {e}"))
}

fn lossy(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Decodes a `logproto.PushRequest` already out of its snappy framing.
fn decode_protobuf(raw: &[u8]) -> Result<Vec<PushStream>, PushError> {
    let req = proto::PushRequest::decode(raw)
        .map_err(|e| PushError::BadRequest(format!("decoding logproto.PushRequest: {e}")))?;
    req.streams
        .into_iter()
        .map(|s| {
            let labels = parse_labels(&String::from_utf8_lossy(&s.labels)).map_err(labels_error)?;
            let entries = s
                .entries
                .into_iter()
                .map(|e| LogEntry {
                    ts: e.timestamp.unwrap_or_default().unix_nanos(),
                    line: lossy(e.line),
                    metadata: e
                        .structured_metadata
                        .into_iter()
                        .map(|p| (lossy(p.name), lossy(p.value)))
                        .collect(),
                })
                .collect();
            Ok(PushStream { labels, entries })
        })
        .collect()
}

fn json_error(e: serde_json::Error) -> PushError {
    PushError::BadRequest(format!("decoding the JSON push request: {e}"))
}

fn decode_json_v1(raw: &[u8]) -> Result<Vec<PushStream>, PushError> {
    let req: json::PushV1<'_> = serde_json::from_slice(raw).map_err(json_error)?;
    req.streams
        .unwrap_or_default()
        .into_iter()
        .map(|s| {
            Ok(PushStream {
                labels: json_labels(s.stream.map(|m| m.0).unwrap_or_default())?,
                entries: s.values.map(|v| v.0).unwrap_or_default(),
            })
        })
        .collect()
}

/// A JSON label object as Loki reads it: printed as a label string (`LabelSet.String()`,
/// names unquoted) and parsed back. Names Prometheus' lexer takes as they are, and values
/// without U+FFFD, survive that unchanged, so only other input takes the round trip, to fail
/// with Loki's parse error.
fn json_labels(
    pairs: Vec<(Cow<'_, str>, Cow<'_, str>)>,
) -> Result<Vec<(String, String)>, PushError> {
    let mut pairs = pairs;
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let plain = pairs
        .iter()
        .all(|(n, v)| is_legacy_label_name(n) && !v.contains('\u{fffd}'));
    if !plain {
        let mut shown = String::from("{");
        for (i, (n, v)) in pairs.iter().enumerate() {
            if i > 0 {
                shown.push_str(", ");
            }
            shown.push_str(n);
            shown.push('=');
            super::gofmt::quote(v, &mut shown);
        }
        shown.push('}');
        return parse_labels(&shown).map_err(labels_error);
    }
    Ok(pairs
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect())
}

fn decode_json_legacy(raw: &[u8]) -> Result<Vec<PushStream>, PushError> {
    let req: json::PushLegacy<'_> = serde_json::from_slice(raw).map_err(json_error)?;
    req.streams
        .unwrap_or_default()
        .into_iter()
        .map(|s| {
            let labels = parse_labels(&s.labels).map_err(labels_error)?;
            let entries = s
                .entries
                .unwrap_or_default()
                .into_iter()
                .map(|e| {
                    Ok(LogEntry {
                        ts: json::parse_rfc3339(&e.ts).map_err(PushError::BadRequest)?,
                        line: e.line,
                        metadata: Vec::new(),
                    })
                })
                .collect::<Result<_, PushError>>()?;
            Ok(PushStream { labels, entries })
        })
        .collect()
}
