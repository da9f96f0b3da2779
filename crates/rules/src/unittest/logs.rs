//! Log input of rule unit tests (`input_logs`): streams of lines given as entries (one line
//! `at` a time, or repeated `every` interval `from`/`until`), expanded, merged by time per
//! stream and written into a fresh log store per test group, which LogQL rules and
//! `logql_expr_test` then query.
//!
//! The store comes through [`TestLogStores`], which the binary implements over the log store
//! in a temporary directory: this crate never names the store or the LogQL evaluator.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use bongsu_logql::Expr;
use bongsu_model::log::{LogEntry, LogStream};
use bongsu_model::{Labels, MatchOp};

use super::Text;
use crate::logs::LogQuerier;

/// Most log lines one test group's `input_logs` may expand to: far above what a unit test
/// needs, low enough that a wrong `every` fails clearly instead of filling memory.
pub const MAX_TEST_LOG_LINES: usize = 2_000_000;

/// Lines appended to the store in one call.
const APPEND_BATCH: usize = 10_000;

/// A log store holding one test group's lines.
pub trait TestLogStore: LogQuerier {
    /// Stores `streams` (each in time order); an error names why lines were refused.
    fn append(&self, streams: &[LogStream]) -> Result<(), String>;
}

/// Makes an empty [`TestLogStore`] for each test group that needs one.
pub trait TestLogStores: Send + Sync {
    fn create(&self) -> Result<Arc<dyn TestLogStore>, String>;
}

/// The error when a test needs logs and `test rules` was run without a log store.
pub const ERR_NO_TEST_LOG_STORE: &str =
    "this test needs a log store (log_rule_files, input_logs or logql_expr_test), which this run of the tests does not have";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InputStream {
    stream: String,
    #[serde(default)]
    entries: Vec<InputEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputEntry {
    line: String,
    #[serde(default)]
    at: Option<Text>,
    #[serde(default)]
    from: Option<Text>,
    #[serde(default)]
    until: Option<Text>,
    #[serde(default)]
    every: Option<Text>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

/// The stream labels of `{a="b", c="d"}`: a LogQL stream selector of equality matchers only.
fn stream_labels(text: &str) -> Result<Labels, String> {
    let expr = bongsu_logql::parse(text).map_err(|e| format!("stream {text:?}: {e}"))?;
    let Expr::Log(log) = expr else {
        return Err(format!(
            "stream {text:?}: not a stream selector such as {{job=\"app\"}}"
        ));
    };
    if !log.stages.is_empty() {
        return Err(format!(
            "stream {text:?}: only labels, no pipeline stages, may be given"
        ));
    }
    let mut pairs = Vec::with_capacity(log.matchers.len());
    for m in &log.matchers {
        if m.op != MatchOp::Equal {
            return Err(format!(
                "stream {text:?}: only `=` matchers give stream labels, not {}",
                m.op
            ));
        }
        pairs.push((m.name.as_str(), m.value.as_str()));
    }
    Labels::from_pairs(&pairs).map_err(|e| format!("stream {text:?}: {e}"))
}

fn ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// The lines of one entry, appended to `out` with their time.
fn expand_entry(
    e: &InputEntry,
    default_every: Duration,
    out: &mut Vec<LogEntry>,
) -> Result<(), String> {
    let metadata: Vec<(String, String)> = e.metadata.clone().into_iter().collect();
    let line = |ts| LogEntry {
        ts,
        line: e.line.clone(),
        metadata: metadata.clone(),
    };
    let repeated = e.from.is_some() || e.until.is_some() || e.every.is_some();
    if let Some(at) = &e.at {
        if repeated {
            return Err("`at` and `from`/`until`/`every` cannot be combined".into());
        }
        out.push(line(ns(at.duration()?)));
        return Ok(());
    }
    let Some(until) = &e.until else {
        return Err("needs `at` (one line) or `until` (a repeated line)".into());
    };
    let until = ns(until.duration()?);
    let from = match &e.from {
        Some(f) => ns(f.duration()?),
        None => 0,
    };
    let every = match &e.every {
        Some(t) => t.duration()?,
        None => default_every,
    };
    if every.is_zero() {
        return Err("`every` must be greater than 0".into());
    }
    if until <= from {
        return Err(format!(
            "`until` ({}) must be after `from` ({})",
            super::fmt_time(until / 1_000_000),
            super::fmt_time(from / 1_000_000)
        ));
    }
    let step = ns(every);
    let count = usize::try_from((until - from - 1) / step + 1).unwrap_or(usize::MAX);
    if out.len().saturating_add(count) > MAX_TEST_LOG_LINES {
        return Err(format!(
            "more than {MAX_TEST_LOG_LINES} log lines in one test group"
        ));
    }
    let mut ts = from;
    while ts < until {
        out.push(line(ts));
        ts += step;
    }
    Ok(())
}

/// Expands every stream's entries; lines of one stream (streams with the same labels are
/// one) are sorted by time, equal times in file order.
pub(super) fn expand(input: &[InputStream], interval: Duration) -> Result<Vec<LogStream>, String> {
    let mut streams: BTreeMap<Labels, Vec<LogEntry>> = BTreeMap::new();
    let mut total = 0usize;
    for s in input {
        let labels = stream_labels(&s.stream)?;
        let lines = streams.entry(labels).or_default();
        let before = lines.len();
        for (i, e) in s.entries.iter().enumerate() {
            expand_entry(e, interval, lines)
                .map_err(|m| format!("input_logs: stream {}, entry {}: {m}", s.stream, i + 1))?;
            if total + lines.len() - before > MAX_TEST_LOG_LINES {
                return Err(format!(
                    "input_logs: more than {MAX_TEST_LOG_LINES} log lines in one test group"
                ));
            }
        }
        total += lines.len() - before;
    }
    Ok(streams
        .into_iter()
        .map(|(labels, mut entries)| {
            // Stable: equal times keep file order.
            entries.sort_by_key(|e| e.ts);
            LogStream { labels, entries }
        })
        .collect())
}

/// Writes `streams` into `store` in batches.
pub(super) fn load(store: &dyn TestLogStore, streams: Vec<LogStream>) -> Result<(), String> {
    for s in streams {
        for chunk in s.entries.chunks(APPEND_BATCH) {
            store.append(&[LogStream {
                labels: s.labels.clone(),
                entries: chunk.to_vec(),
            }])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(yaml: &str) -> Vec<InputStream> {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn entries_expand_and_merge_by_time() {
        let streams = expand(
            &input(
                r#"
- stream: '{job="a", host="h"}'
  entries:
    - {line: tick, from: 1m, until: 3m}
    - {line: once, at: 1m, metadata: {trace_id: t1}}
    - {line: fast, until: 2s, every: 1s}
"#,
            ),
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(streams.len(), 1);
        assert_eq!(streams[0].labels.to_string(), r#"{host="h", job="a"}"#);
        let got: Vec<(i64, &str)> = streams[0]
            .entries
            .iter()
            .map(|e| (e.ts / 1_000_000_000, e.line.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (0, "fast"),
                (1, "fast"),
                (60, "tick"),
                (60, "once"),
                (120, "tick")
            ]
        );
        assert_eq!(
            streams[0].entries[3].metadata,
            [("trace_id".to_string(), "t1".to_string())]
        );
    }

    #[test]
    fn bad_entries_are_named() {
        let err = |yaml: &str| expand(&input(yaml), Duration::from_secs(60)).unwrap_err();
        assert_eq!(
            err("- {stream: '{a=\"b\"}', entries: [{line: x}]}"),
            "input_logs: stream {a=\"b\"}, entry 1: needs `at` (one line) or `until` (a repeated line)"
        );
        assert_eq!(
            err("- {stream: '{a=\"b\"}', entries: [{line: x, at: 1m, every: 1s}]}"),
            "input_logs: stream {a=\"b\"}, entry 1: `at` and `from`/`until`/`every` cannot be combined"
        );
        assert_eq!(
            err("- {stream: '{a=\"b\"}', entries: [{line: x, from: 2m, until: 1m}]}"),
            "input_logs: stream {a=\"b\"}, entry 1: `until` (1m) must be after `from` (2m)"
        );
        assert!(err("- {stream: '{a=~\"b\"}'}").contains("only `=` matchers"));
        assert!(err("- {stream: '{a=\"b\"} |= \"x\"'}").contains("no pipeline stages"));
        assert!(err("- {stream: 'a'}").contains("parse error"));
        assert!(
            err("- {stream: '{a=\"b\"}', entries: [{line: x, until: 1000d, every: 1ms}]}")
                .contains("more than 2000000 log lines")
        );
    }
}
