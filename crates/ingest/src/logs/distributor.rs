//! What Loki's distributor does to a decoded push before the store sees it, for both the Loki
//! and the OTLP endpoint (`pkg/distributor/distributor.go`, `validator.go`): per stream, label
//! count and lengths, duplicate names; per line, age, line size (refused or truncated),
//! structured metadata size and count; structured metadata names normalized; `detected_level`
//! added; the tenant's ingestion rate. A refused stream or line does not stop the others: its
//! error joins the 400 answer in Loki's grouped form, the rest is written.
//!
//! Not here: decoding (`loki`, `otlp`), `service_name` discovery (done while decoding, as
//! Loki's parsers do), the HTTP answer (`handler`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bongsu_model::log::{LogEntry, LogStream};
use bongsu_model::{Label, Labels};

use super::gofmt::{labels_string, rfc3339};
use super::level::StreamLevel;
use super::limits::{LogLimits, RateLimiter, TENANT};
use super::names::{is_internal_stream, label_name, SERVICE_NAME};
use super::PushError;

/// Distinct error messages kept for a 400 answer; further ones are counted only. Loki keeps
/// all; this bounds the answer when every line of a large push fails differently.
pub const MAX_DISTINCT_ERRORS: usize = 1000;

/// A stream as decoded, before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushStream {
    /// Sorted by name, empty values dropped; duplicate names are kept for validation to
    /// report.
    pub labels: Vec<(String, String)>,
    pub entries: Vec<LogEntry>,
}

/// Errors grouped by message as Loki's `GroupedErrors` prints them: `msg` for a single error,
/// otherwise `N errors like: msg` per distinct message, joined by `; `, in first-seen order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GroupedErrors {
    groups: Vec<(String, u64)>,
    /// Message → index in `groups`: a push of many failing lines stays linear.
    index: HashMap<String, usize>,
    dropped: u64,
}

impl GroupedErrors {
    pub fn add(&mut self, msg: String) {
        if let Some(&i) = self.index.get(&msg) {
            self.groups[i].1 += 1;
        } else if self.groups.len() < MAX_DISTINCT_ERRORS {
            self.index.insert(msg.clone(), self.groups.len());
            self.groups.push((msg, 1));
        } else {
            self.dropped += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    pub fn message(&self) -> String {
        let single = self.groups.len() == 1 && self.groups[0].1 == 1 && self.dropped == 0;
        let mut out = String::new();
        for (i, (msg, n)) in self.groups.iter().enumerate() {
            if i > 0 {
                out.push_str("; ");
            }
            if !single {
                out.push_str(&format!("{n} errors like: "));
            }
            out.push_str(msg);
        }
        if self.dropped > 0 {
            out.push_str(&format!("; {} more errors", self.dropped));
        }
        out
    }
}

/// A push after validation: what to append, and what was refused.
#[derive(Debug, Default)]
pub struct Validated {
    pub streams: Vec<LogStream>,
    pub errors: GroupedErrors,
    /// Lines in the request, and lines kept.
    pub received: u64,
    pub kept: u64,
}

/// Validates `streams` as Loki's distributor at time `now_ns` (Unix ns) and takes the kept
/// bytes from `rate`. A whole-request failure (no streams, a name that cannot be normalized,
/// the rate limit) is an `Err`.
pub fn validate(
    limits: &LogLimits,
    streams: Vec<PushStream>,
    now_ns: i64,
    rate: &RateLimiter,
    now: Instant,
) -> Result<Validated, PushError> {
    if streams.is_empty() {
        return Err(PushError::Unprocessable(
            "error at least one valid stream is required for ingestion".into(),
        ));
    }
    let ctx = Context::new(limits, now_ns);
    // As Loki: levels are structured metadata, so no metadata means no levels.
    let detect_levels = limits.discover_log_levels && limits.allow_structured_metadata;
    let mut out = Validated::default();
    let mut kept_bytes = 0usize;
    for mut stream in streams {
        out.received += stream.entries.len() as u64;
        if stream.entries.is_empty() {
            continue;
        }
        ctx.truncate_lines(&mut stream.entries);
        let shown = labels_string(stream.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        if let Err(e) = ctx.validate_labels(&stream.labels, &shown) {
            out.errors.add(e);
            continue;
        }
        let labels = match Labels::new(
            stream
                .labels
                .iter()
                .map(|(n, v)| Label::new(n.as_str(), v.as_str()))
                .collect(),
        ) {
            Ok(l) => l,
            Err(e) => {
                out.errors
                    .add(format!("stream '{shown}' has invalid labels: {e}"));
                continue;
            }
        };
        let level = detect_levels.then(|| StreamLevel::of(&stream.labels));
        let mut entries = Vec::with_capacity(stream.entries.len());
        for mut entry in stream.entries {
            if let Err(e) = ctx.validate_entry(&entry, &shown) {
                out.errors.add(e);
                continue;
            }
            normalize_metadata(&mut entry.metadata)?;
            if let Some(level) = &level {
                level.add_level(&mut entry);
            }
            kept_bytes += entry.line.len() + metadata_size(&entry.metadata);
            entries.push(entry);
        }
        if !entries.is_empty() {
            out.kept += entries.len() as u64;
            out.streams.push(LogStream { labels, entries });
        }
    }
    if !out.streams.is_empty() && !rate.allow(now, kept_bytes) {
        return Err(PushError::RateLimited(format!(
            "ingestion rate limit exceeded for user {TENANT} (limit: {} bytes/sec) while \
             attempting to ingest '{}' lines totaling '{kept_bytes}' bytes, reduce log volume \
             or contact your Loki administrator to see if the limit can be increased",
            rate.limit(),
            out.kept
        )));
    }
    Ok(out)
}

/// The checks `validate` makes on one line of one stream (label count and lengths, duplicate
/// names, age, line size, structured metadata size and count), for receivers that answer per
/// line (Elasticsearch's `_bulk`) and so check each line before grouping them into streams.
/// `labels` are sorted; the error is Loki's message for the first failed check.
pub fn check_line(
    limits: &LogLimits,
    now_ns: i64,
    labels: &[(String, String)],
    entry: &LogEntry,
) -> Result<(), String> {
    let ctx = Context::new(limits, now_ns);
    let shown = labels_string(labels.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    ctx.validate_labels(labels, &shown)?;
    // As `validate`: a line over the size is cut, not refused, when truncation is on.
    if limits.max_line_size_truncate {
        let mut cut = [entry.clone()];
        ctx.truncate_lines(&mut cut);
        return ctx.validate_entry(&cut[0], &shown);
    }
    ctx.validate_entry(entry, &shown)
}

/// Bytes of structured metadata as Loki counts them: names and values.
pub fn metadata_size(metadata: &[(String, String)]) -> usize {
    metadata.iter().map(|(n, v)| n.len() + v.len()).sum()
}

/// The limits of one request, resolved against its clock.
struct Context<'a> {
    limits: &'a LogLimits,
    /// Lines older than this (Unix ns) are refused, if `reject_old_samples`.
    oldest_ns: i64,
    /// Lines newer than this are refused.
    newest_ns: i64,
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl<'a> Context<'a> {
    fn new(limits: &'a LogLimits, now_ns: i64) -> Context<'a> {
        Context {
            limits,
            oldest_ns: now_ns.saturating_sub(nanos(limits.reject_old_samples_max_age)),
            newest_ns: now_ns.saturating_add(nanos(limits.creation_grace_period)),
        }
    }

    /// `max_line_size_truncate`: longer lines are cut to the limit, suffix included. Go cuts
    /// bytes; bongsu cuts at the character boundary at or before, so the line stays UTF-8.
    fn truncate_lines(&self, entries: &mut [LogEntry]) {
        let max = self.limits.max_line_size;
        let suffix = &self.limits.max_line_size_truncate_identifier;
        if !self.limits.max_line_size_truncate || max == 0 || max <= suffix.len() {
            return;
        }
        for e in entries.iter_mut().filter(|e| e.line.len() > max) {
            let mut cut = max - suffix.len();
            while !e.line.is_char_boundary(cut) {
                cut -= 1;
            }
            e.line.truncate(cut);
            e.line.push_str(suffix);
        }
    }

    /// `Validator.ValidateLabels`.
    fn validate_labels(&self, labels: &[(String, String)], shown: &str) -> Result<(), String> {
        if labels.is_empty() {
            return Err("error at least one label pair is required per stream".into());
        }
        if is_internal_stream(labels) {
            return Ok(());
        }
        let l = self.limits;
        // Loki adds `service_name` itself, so it does not count against the limit.
        let count = labels.len() - usize::from(labels.iter().any(|(n, _)| n == SERVICE_NAME));
        if count > l.max_label_names_per_series {
            return Err(format!(
                "entry for stream '{shown}' has {count} label names; limit {}",
                l.max_label_names_per_series
            ));
        }
        let mut last = "";
        for (name, value) in labels {
            if name.len() > l.max_label_name_length {
                return Err(format!(
                    "stream '{shown}' has label name too long: '{name}'"
                ));
            }
            if value.len() > l.max_label_value_length {
                return Err(format!(
                    "stream '{shown}' has label value too long: '{value}'"
                ));
            }
            if name == last {
                return Err(format!(
                    "stream '{shown}' has duplicate label name: '{name}'"
                ));
            }
            last = name;
        }
        Ok(())
    }

    /// `Validator.ValidateEntry`.
    fn validate_entry(&self, e: &LogEntry, shown: &str) -> Result<(), String> {
        let l = self.limits;
        if l.reject_old_samples && e.ts < self.oldest_ns {
            return Err(format!(
                "entry for stream '{shown}' has timestamp too old: {}, oldest acceptable \
                 timestamp is: {}",
                rfc3339(e.ts),
                rfc3339(self.oldest_ns)
            ));
        }
        if e.ts > self.newest_ns {
            return Err(format!(
                "entry for stream '{shown}' has timestamp too new: {}",
                rfc3339(e.ts)
            ));
        }
        if l.max_line_size != 0 && e.line.len() > l.max_line_size {
            return Err(format!(
                "max entry size '{}' bytes exceeded for stream '{shown}' while adding an entry \
                 with length '{}' bytes",
                l.max_line_size,
                e.line.len()
            ));
        }
        if e.metadata.is_empty() {
            return Ok(());
        }
        if !l.allow_structured_metadata {
            return Err(format!(
                "stream '{shown}' includes structured metadata, but this feature is \
                 disallowed. Please see `limits_config.allow_structured_metadata` or contact \
                 your Loki administrator to enable it"
            ));
        }
        let size = metadata_size(&e.metadata);
        if l.max_structured_metadata_size != 0 && size > l.max_structured_metadata_size {
            return Err(format!(
                "stream '{shown}' has structured metadata too large: '{size}' bytes, limit: \
                 '{}' bytes. Please see `limits_config.max_structured_metadata_size` or contact \
                 your Loki administrator to increase it",
                l.max_structured_metadata_size
            ));
        }
        let count = e.metadata.len();
        if l.max_structured_metadata_count != 0 && count > l.max_structured_metadata_count {
            return Err(format!(
                "stream '{shown}' has too many structured metadata labels: '{count}', limit: \
                 '{}'. Please see `limits_config.max_structured_metadata_entries_count` or \
                 contact your Loki administrator to increase it",
                l.max_structured_metadata_count
            ));
        }
        Ok(())
    }
}

/// Structured metadata names made label names and U+FFFD removed from values, with the
/// effect of Loki's `labels.Builder`: untouched metadata keeps its order; once one pair
/// changes, the result is sorted by name, a renamed pair replaces one of the same name, and an
/// emptied value removes its pair. A name that cannot be normalized fails the request (Loki
/// answers 500 there; bongsu 400, since retrying cannot help).
pub fn normalize_metadata(metadata: &mut Vec<(String, String)>) -> Result<(), PushError> {
    let needs_work = |(n, v): &(String, String)| -> Result<bool, PushError> {
        let normal = label_name(n).map_err(|e| PushError::BadRequest(e.to_string()))?;
        Ok(normal != n.as_str() || v.contains('\u{fffd}'))
    };
    let mut changed = false;
    for pair in metadata.iter() {
        changed |= needs_work(pair)?;
    }
    if !changed {
        return Ok(());
    }
    let mut deleted: Vec<String> = Vec::new();
    let mut added: Vec<(String, String)> = Vec::new();
    let mut set = |name: String, value: String, added: &mut Vec<(String, String)>| {
        added.retain(|(n, _)| *n != name);
        if value.is_empty() {
            deleted.push(name);
        } else {
            added.push((name, value));
        }
    };
    for (name, value) in metadata.iter() {
        let normal = label_name(name)
            .map_err(|e| PushError::BadRequest(e.to_string()))?
            .into_owned();
        if normal != *name {
            added.retain(|(n, _)| n != name);
            set(normal.clone(), value.clone(), &mut added);
        }
        if value.contains('\u{fffd}') {
            set(normal, value.replace('\u{fffd}', ""), &mut added);
        }
    }
    // Names renamed away are deleted from the base (Loki's `Del(old)`).
    let renamed: Vec<String> = metadata
        .iter()
        .filter(|(n, _)| label_name(n).is_ok_and(|normal| normal != n.as_str()))
        .map(|(n, _)| n.clone())
        .collect();
    let mut result: Vec<(String, String)> = std::mem::take(metadata)
        .into_iter()
        .filter(|(n, _)| {
            !renamed.contains(n) && !deleted.contains(n) && !added.iter().any(|(a, _)| a == n)
        })
        .collect();
    result.extend(added);
    result.sort_by(|a, b| a.0.cmp(&b.0));
    *metadata = result;
    Ok(())
}
