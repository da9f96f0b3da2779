//! Log lines as they cross the layers: from the push endpoints and collectors into the log
//! store, and out of it into LogQL evaluation. A stream is a label set, as a series is; its
//! lines carry a nanosecond timestamp and optional structured metadata (name/value pairs that
//! are not stream labels: trace ids, user ids — high-cardinality values Loki keeps out of the
//! stream's identity).

use crate::Labels;

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Unix nanoseconds.
    pub ts: i64,
    pub line: String,
    /// Structured metadata, in the order given.
    pub metadata: Vec<(String, String)>,
}

/// Lines of one stream, as pushed or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStream {
    pub labels: Labels,
    pub entries: Vec<LogEntry>,
}
