//! The log side of the storage interface: what push endpoints and collectors need from a log
//! store ([`LogAppendable`]). Reading is the log store's own API for now (LogQL evaluation is
//! its only reader).

use bongsu_model::log::LogStream;
use thiserror::Error;

use crate::StorageError;

/// Why the store refused one line; the messages are Loki's, so clients recognise them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LogRejection {
    /// Older than the stream's newest line by more than the out-of-order window.
    #[error("entry too far behind, entry timestamp is: {entry}, oldest acceptable timestamp is: {oldest_acceptable}")]
    TooFarBehind {
        /// RFC 3339 with nanoseconds, as Loki prints it.
        entry: String,
        oldest_acceptable: String,
    },
    /// Older than the retention period.
    #[error("entry for stream '{stream}' has timestamp too old: {entry}, oldest acceptable timestamp is: {oldest_acceptable}")]
    TooOld {
        stream: String,
        entry: String,
        oldest_acceptable: String,
    },
    /// A new stream beyond the store's stream limit.
    #[error("maximum active stream limit exceeded when trying to create stream {stream}, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased")]
    StreamLimit { stream: String },
    /// Line plus structured metadata over the store's size limit.
    #[error("Max entry size '{max}' bytes exceeded for stream '{stream}' while adding an entry with length '{length}' bytes")]
    LineTooLong {
        stream: String,
        max: usize,
        length: usize,
    },
}

/// What an append did: lines accepted (exact duplicates of stored lines, which the store drops
/// silently as Loki does, count as accepted), and the lines refused with why. A refused line does not
/// stop the others (as Loki: the push answers 400 naming the refusals, the rest is written).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogAppendReport {
    pub appended: u64,
    /// `(stream index, entry index, why)` into the appended slice.
    pub rejected: Vec<(usize, usize, LogRejection)>,
}

/// Takes log lines. Once `append_logs` returns `Ok`, the appended lines survive a crash of the
/// process (they are in the write-ahead log).
pub trait LogAppendable: Send + Sync {
    fn append_logs(&self, streams: &[LogStream]) -> Result<LogAppendReport, StorageError>;
}

/// A log store that keeps, for each named consumer, an opaque checkpoint that becomes durable
/// together with the lines appended with it: what a collector needs to store each line exactly
/// once across crashes (its read positions advance only with the lines they cover, and it
/// restarts from the store's checkpoint, not from a file written later).
pub trait CheckpointedLogAppendable: LogAppendable {
    /// Appends `streams` as [`LogAppendable::append_logs`] does and records `checkpoint` as
    /// `consumer`'s last, atomically with the lines (the store documents the size up to which
    /// this holds). Refused lines do not stop the checkpoint.
    fn append_logs_with_checkpoint(
        &self,
        streams: &[LogStream],
        consumer: &str,
        checkpoint: &[u8],
    ) -> Result<LogAppendReport, StorageError>;

    /// `consumer`'s last checkpoint, as recovered at open or appended since.
    fn log_checkpoint(&self, consumer: &str) -> Option<Vec<u8>>;
}
