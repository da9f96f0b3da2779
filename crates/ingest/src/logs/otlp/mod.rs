//! OTLP/HTTP logs (`POST /otlp/v1/logs`) as Loki 3 maps them (`pkg/loghttp/push/otlp.go`,
//! `otlplabels`, with Loki's default OTLP config): the default resource attributes
//! (`service.name`, `k8s.pod.name`, …) become stream labels with dots made underscores
//! (`service_name`), `service_name` is discovered or `unknown_service`; the other resource
//! attributes, the scope's attributes, name and version, and the record's attributes become
//! structured metadata, nested maps flattened (`a_b`); the line is the body as a string; the
//! record's severity, trace and span ids, flags, event name and observed time are structured
//! metadata too. Records of one label set form one stream, in the order first seen.
//!
//! - `proto`: the messages; `json`: their JSON encoding; `value`: `AnyValue` as text.

pub mod json;
pub mod proto;
mod value;

use prost::Message;

use bongsu_model::log::LogEntry;

use super::body::Encoding;
use super::distributor::PushStream;
use super::limits::LogLimits;
use super::names::{label_name, SERVICE_NAME, SERVICE_UNKNOWN};
use super::PushError;
use proto::{ExportLogsServiceRequest, KeyValue, Value};
use value::{as_string, hex};

/// The resource attribute that names the service.
const SERVICE_NAME_ATTRIBUTE: &str = "service.name";

/// The encoding of an OTLP body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Protobuf,
    Json,
}

/// `Content-Type` and `Content-Encoding` as Loki's OTLP endpoint reads them: protobuf or JSON;
/// gzip or none. Loki answers 400 for other types; bongsu answers 415, as the OTLP
/// specification asks. Loki also takes zstd and lz4, which bongsu does not have (415: a
/// collector configured for them learns why; the collector's default is gzip).
pub fn negotiate(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> Result<(Format, Encoding), PushError> {
    let encoding = match content_encoding.map(str::trim).unwrap_or("") {
        "" => Encoding::Identity,
        "gzip" => Encoding::Gzip,
        e @ ("zstd" | "lz4") => {
            return Err(PushError::UnsupportedMediaType(format!(
                "unsupported content encoding {e}: only gzip is supported by bongsu"
            )))
        }
        e => {
            return Err(PushError::BadRequest(format!(
                "unsupported content encoding {e}: only gzip, lz4 and zstd are supported"
            )))
        }
    };
    let ct = content_type.unwrap_or("");
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let format = match media.as_str() {
        "application/x-protobuf" => Format::Protobuf,
        "application/json" => Format::Json,
        _ => {
            return Err(PushError::UnsupportedMediaType(format!(
                "content type: {ct} is not supported"
            )))
        }
    };
    Ok((format, encoding))
}

/// Decodes a decompressed OTLP body into streams; records without a timestamp take their
/// observed time, else `now_ns`.
pub fn decode(
    format: Format,
    raw: &[u8],
    limits: &LogLimits,
    now_ns: i64,
) -> Result<Vec<PushStream>, PushError> {
    let req = match format {
        Format::Protobuf => ExportLogsServiceRequest::decode(raw)
            .map_err(|e| PushError::BadRequest(format!("decoding the OTLP request: {e}")))?,
        Format::Json => serde_json::from_slice(raw)
            .map_err(|e| PushError::BadRequest(format!("decoding the OTLP request: {e}")))?,
    };
    to_streams(req, limits, now_ns)
}

/// Loki's `otlpToLokiPushRequest`.
fn to_streams(
    req: ExportLogsServiceRequest,
    limits: &LogLimits,
    now_ns: i64,
) -> Result<Vec<PushStream>, PushError> {
    let mut streams: Vec<PushStream> = Vec::new();
    // A request without records is an empty push (Loki's 422), whatever its resources.
    let records: usize = req
        .resource_logs
        .iter()
        .flat_map(|rl| &rl.scope_logs)
        .map(|sl| sl.log_records.len())
        .sum();
    if records == 0 {
        return Ok(streams);
    }
    for rl in req.resource_logs {
        let attrs = rl.resource.map(|r| r.attributes).unwrap_or_default();
        let (labels, resource_metadata) = resource_labels(&attrs, limits)?;
        let at = match streams.iter().position(|s| s.labels == labels) {
            Some(i) => i,
            None => {
                streams.push(PushStream {
                    labels,
                    entries: Vec::new(),
                });
                streams.len() - 1
            }
        };
        for sl in rl.scope_logs {
            let scope_metadata = match sl.scope {
                Some(scope) => scope_metadata(scope)?,
                None => Vec::new(),
            };
            let entries = &mut streams[at].entries;
            entries.reserve(sl.log_records.len());
            for record in sl.log_records {
                let mut entry = record_entry(record, now_ns)?;
                entry.metadata.extend(resource_metadata.iter().cloned());
                entry.metadata.extend(scope_metadata.iter().cloned());
                entries.push(entry);
            }
        }
    }
    Ok(streams)
}

/// `ResourceAttrsToStreamLabels`: (stream labels sorted, empty values dropped; structured
/// metadata).
#[allow(clippy::type_complexity)]
fn resource_labels(
    attrs: &[KeyValue],
    limits: &LogLimits,
) -> Result<(Vec<(String, String)>, Vec<(String, String)>), PushError> {
    let mut labels: Vec<(String, String)> = Vec::new();
    let mut metadata = Vec::new();
    for kv in attrs {
        let index = limits
            .otlp_resource_attributes_as_index_labels
            .contains(&kv.key);
        let flat = attribute_labels(
            &kv.key,
            kv.value.as_ref().and_then(|v| v.value.as_ref()),
            "",
        )?;
        if index {
            for (name, value) in flat {
                match labels.iter_mut().find(|(n, _)| *n == name) {
                    Some(l) => l.1 = value,
                    None => labels.push((name, value)),
                }
            }
        } else {
            metadata.extend(flat);
        }
    }
    let discover = &limits.discover_service_name;
    let has_service_name = attrs
        .iter()
        .find(|kv| kv.key == SERVICE_NAME_ATTRIBUTE)
        .is_some_and(|kv| !as_string(kv.value.as_ref().and_then(|v| v.value.as_ref())).is_empty());
    if !has_service_name && !discover.is_empty() {
        let found = discover.iter().find_map(|d| {
            labels
                .iter()
                .find(|(n, v)| n == d && !v.is_empty())
                .map(|(_, v)| v.clone())
        });
        let value = found.unwrap_or_else(|| SERVICE_UNKNOWN.to_string());
        match labels.iter_mut().find(|(n, _)| n == SERVICE_NAME) {
            Some(l) => l.1 = value,
            None => labels.push((SERVICE_NAME.to_string(), value)),
        }
    }
    // Loki prints the label set and its distributor parses it back: sorted, empties gone.
    labels.retain(|(_, v)| !v.is_empty());
    labels.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((labels, metadata))
}

/// `AttributeToLabels`: one pair, or one per leaf of a map value, names normalized (`a.b` →
/// `a_b`, map keys joined to their parent's with `_`).
fn attribute_labels(
    key: &str,
    value: Option<&Value>,
    prefix: &str,
) -> Result<Vec<(String, String)>, PushError> {
    let full = if prefix.is_empty() {
        std::borrow::Cow::Borrowed(key)
    } else {
        std::borrow::Cow::Owned(format!("{prefix}_{key}"))
    };
    let name = label_name(&full)
        .map_err(|e| PushError::BadRequest(format!("symbolizer lookup: {e}")))?
        .into_owned();
    match value {
        Some(Value::Kvlist(list)) => {
            let mut out = Vec::with_capacity(list.values.len());
            for kv in &list.values {
                let inner = kv.value.as_ref().and_then(|v| v.value.as_ref());
                out.extend(attribute_labels(&kv.key, inner, &name)?);
            }
            Ok(out)
        }
        other => Ok(vec![(name, as_string(other))]),
    }
}

fn attributes_metadata(
    attrs: &[KeyValue],
    skip: Option<&str>,
) -> Result<Vec<(String, String)>, PushError> {
    let mut out = Vec::with_capacity(attrs.len());
    for kv in attrs {
        if skip == Some(kv.key.as_str()) {
            continue;
        }
        out.extend(attribute_labels(
            &kv.key,
            kv.value.as_ref().and_then(|v| v.value.as_ref()),
            "",
        )?);
    }
    Ok(out)
}

/// `ScopeAttrsToStructuredMetadata`.
fn scope_metadata(scope: proto::InstrumentationScope) -> Result<Vec<(String, String)>, PushError> {
    let mut out = attributes_metadata(&scope.attributes, None)?;
    if !scope.name.is_empty() {
        out.push(("scope_name".into(), scope.name));
    }
    if !scope.version.is_empty() {
        out.push(("scope_version".into(), scope.version));
    }
    if scope.dropped_attributes_count != 0 {
        out.push((
            "scope_dropped_attributes_count".into(),
            scope.dropped_attributes_count.to_string(),
        ));
    }
    Ok(out)
}

/// `LogAttrsToLabels` and `otlpLogToPushEntry`: the line and the record's own metadata.
fn record_entry(r: proto::LogRecord, now_ns: i64) -> Result<LogEntry, PushError> {
    // The record's `event_name` wins over an attribute of that name.
    let skip = (!r.event_name.is_empty()).then_some("event_name");
    let mut metadata = attributes_metadata(&r.attributes, skip)?;
    if r.time_unix_nano != 0 && r.observed_time_unix_nano != 0 {
        metadata.push((
            "observed_timestamp".into(),
            r.observed_time_unix_nano.to_string(),
        ));
    }
    if r.severity_number != 0 {
        metadata.push(("severity_number".into(), r.severity_number.to_string()));
    }
    if !r.severity_text.is_empty() {
        metadata.push(("severity_text".into(), r.severity_text));
    }
    if r.dropped_attributes_count != 0 {
        metadata.push((
            "dropped_attributes_count".into(),
            r.dropped_attributes_count.to_string(),
        ));
    }
    if r.flags != 0 {
        metadata.push(("flags".into(), r.flags.to_string()));
    }
    for (name, id, len) in [("trace_id", &r.trace_id, 16), ("span_id", &r.span_id, 8)] {
        if id.is_empty() {
            continue;
        }
        // pdata refuses ids of another length when it decodes the request.
        if id.len() != len {
            return Err(PushError::BadRequest(format!(
                "decoding the OTLP request: {name} must be {len} bytes, got {}",
                id.len()
            )));
        }
        if id.iter().any(|b| *b != 0) {
            metadata.push((name.into(), hex(id)));
        }
    }
    if !r.event_name.is_empty() {
        metadata.push(("event_name".into(), r.event_name));
    }
    let ts = [r.time_unix_nano, r.observed_time_unix_nano]
        .into_iter()
        .find(|t| *t != 0)
        .map_or(now_ns, |t| i64::try_from(t).unwrap_or(i64::MAX));
    Ok(LogEntry {
        ts,
        line: match r.body.and_then(|b| b.value) {
            Some(Value::String(s)) => s,
            other => as_string(other.as_ref()),
        },
        metadata,
    })
}
