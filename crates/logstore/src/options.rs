//! How a [`crate::LogStore`] behaves: limits, windows, sizes and compression, as one options
//! struct (the binary maps its `--logs.*` flags onto it).

use std::time::Duration;

/// Nanoseconds in an hour.
const HOUR_NS: i64 = 3_600_000_000_000;

/// Loki's default `max_line_size`.
pub const DEFAULT_MAX_LINE_BYTES: usize = 256 * 1024;

/// Options of a log store. `Default` gives the values documented on each field.
#[derive(Debug, Clone)]
pub struct LogStoreOptions {
    /// Lines older than this (against the wall clock) are refused and blocks whose newest line
    /// is older are deleted. Default 15 days, the metrics' default retention; the binary passes
    /// `--logs.retention.time` (defaulting to `--storage.tsdb.retention.time`).
    pub retention: Duration,
    /// Blocks are deleted oldest first while they take more than this. `None`: no size limit.
    pub retention_bytes: Option<u64>,
    /// How far behind its stream's newest line a line may be (Loki's out-of-order window,
    /// `max_chunk_age / 2` = 1 h by default). Nanoseconds.
    pub out_of_order_window_ns: i64,
    /// Most streams holding lines in the head at once (Loki's active streams). A line of a new
    /// stream beyond it is refused with `StreamLimit`.
    pub max_active_streams: usize,
    /// Longest line plus structured metadata, bytes (Loki's `max_line_size`).
    pub max_line_bytes: usize,
    /// The head is cut into a block once its lines take this many bytes, keeping memory flat.
    pub head_max_bytes: usize,
    /// ... or once it spans this much time (nanoseconds between its oldest and newest line).
    pub head_max_span_ns: i64,
    /// Most lines in one chunk (the unit of compression, filtering and decoding).
    pub chunk_max_lines: usize,
    /// Most uncompressed line bytes in one chunk.
    pub chunk_max_bytes: usize,
    /// zstd level of the line and metadata columns of blocks cut from the head: fast, since
    /// it is paid on the append path.
    pub cut_zstd_level: i32,
    /// zstd level of merged blocks (merges recompress what a cut compressed at a lower level):
    /// the level data spends its retention at, paid once in the background.
    pub merge_zstd_level: i32,
    /// WAL segment size.
    pub wal_segment_size: u64,
    /// fsync the WAL on every append (survives power loss, not only a crash of the process),
    /// as `tsdb`'s `fsync_on_commit`. Default off, as tsdb's.
    pub fsync_on_commit: bool,
    /// Blocks starting in the same partition (UTC day by default) are merged into one.
    /// Nanoseconds.
    pub partition_ns: i64,
}

impl Default for LogStoreOptions {
    fn default() -> LogStoreOptions {
        LogStoreOptions {
            retention: Duration::from_secs(15 * 24 * 3600),
            retention_bytes: None,
            out_of_order_window_ns: HOUR_NS,
            max_active_streams: 100_000,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            head_max_bytes: 32 * 1024 * 1024,
            head_max_span_ns: 2 * HOUR_NS,
            chunk_max_lines: 1024,
            chunk_max_bytes: 256 * 1024,
            cut_zstd_level: 3,
            merge_zstd_level: 10,
            wal_segment_size: 64 * 1024 * 1024,
            fsync_on_commit: false,
            partition_ns: 24 * HOUR_NS,
        }
    }
}
