//! The log store: Loki-style streams (a label set each, indexed like series) of timestamped
//! lines, made durable by a WAL, held in a head until cut into immutable, memory-mapped,
//! columnar zstd blocks with a token filter per chunk; the read API the LogQL evaluator runs on.
//!
//! # Writing
//! [`LogStore`] implements `bongsu_storage::logs::LogAppendable`: `append_logs` returns after
//! the WAL write (fsynced with [`LogStoreOptions::fsync_on_commit`]), so an acknowledged line
//! survives `kill -9`. Appends and head cuts run one at a time on a thread the store owns (the
//! caller waits), which keeps the head's memory in one allocator arena. Refused lines come back with Loki's reasons: older than the retention
//! (`TooOld`), more than the out-of-order window behind the stream's newest line
//! (`TooFarBehind`, 1 h by default), a new stream past [`LogStoreOptions::max_active_streams`]
//! (`StreamLimit`), a line over [`LogStoreOptions::max_line_bytes`] (`LineTooLong`). An exact
//! duplicate of a line in the head (same stream, timestamp and line) is dropped silently, as
//! Loki does. Structured metadata is kept sorted by name, one value per name (the last given).
//!
//! # Reading
//! ```text
//! LogStore::select(&self, &[Matcher], start: i64, end: i64) -> Result<Selection>   // ns, inclusive
//! Selection::streams(&self) -> &[SelectedStream]            // { id, labels }, sorted by labels
//! Selection::cursor(&self, i, &ScanOptions) -> Cursor       // one stream, time order
//!   Cursor::next(&mut self) -> Result<Option<EntryRef<'_>>> // lending: { ts, line: &str, metadata() }
//!   Cursor::peek_ts(&mut self) -> Result<Option<i64>>
//! Selection::scan(&self, &ScanOptions, |&SelectedStream, EntryRef| -> ControlFlow<()>)
//!                                                          // all streams merged by time
//! Selection::count(&self) -> Result<u64>                   // from chunk counts where possible
//! Selection::stats(&self) -> IndexStats; Selection::volumes(&self)
//! Selection::volume_buckets(&self, &[(from, through)]) -> bytes per stream and bucket
//! LogStore::series / label_names / label_values / stats (matchers, start, end)
//! ScanOptions { direction: Forward | Backward, limit: Option<usize>, needles: Vec<Needle> }
//! Needle::new("4bf9…") (exact bytes) | Needle::ascii_case_insensitive("error")
//! ```
//! A selection is a snapshot (blocks stay mapped, head lines shared or copied). Lines are
//! borrowed from the decompressed chunk (no copy per line); a cursor decompresses one chunk at
//! a time, and only chunks whose time range meets the query.
//!
//! **Needles are applied by the store**: with needles, a scan yields exactly the lines that
//! contain all of them. The store first skips chunks whose filter proves no line can contain a
//! needle (see `tokens` for the keys: whole tokens, infix minimizers of long tokens, trigrams;
//! sound for any substring, not only whole words), then checks each remaining line with
//! `memmem`. The evaluator still runs its own pipeline (regexes, parsers) on what comes out;
//! it need not repeat the needle check. What lets a needle skip chunks (case-insensitively):
//! a token inside it with separators on both sides (`"user_id":175878,` → `user`, `id`,
//! `175878`; not numbers under 6 digits), any run of 32+ letters and digits (a trace id, even
//! as a bare substring), and its trigrams that hold a letter (`error`). A needle with none of
//! these (`"42"`) reads every chunk in range. [`Cursor::stats`] says what a scan read and
//! skipped; [`LogStore::store_stats`] sizes the store. For a LogQL `|~ "(?i)…"` literal use
//! [`Needle::ascii_case_insensitive`], whose folding is ASCII-only (see its docs).
//!
//! # On disk
//! `wal/` (`docs/format/logs-wal.md`) and `blocks/<ULID>` files
//! (`docs/format/logs-block.md`). The head is cut into one block when it holds
//! [`LogStoreOptions::head_max_bytes`] or spans [`LogStoreOptions::head_max_span_ns`],
//! compressed fast ([`LogStoreOptions::cut_zstd_level`]); blocks starting in one partition (a UTC
//! day) are merged, their chunks copied or recompressed harder
//! ([`LogStoreOptions::merge_zstd_level`]); retention deletes whole blocks by age and by total
//! size. The owner calls [`LogStore::compact`] periodically (merges, retention, a head that
//! stopped growing) and may call [`LogStore::flush`] at shutdown.
//!
//! Not here: LogQL, HTTP, push decoding; nothing here uses an async runtime.

mod block;
mod compact;
mod cursor;
mod error;
mod filter;
mod head;
mod needle;
mod options;
mod read;
mod registry;
mod select;
mod store;
mod timefmt;
mod tokens;
mod wal;
mod writer;

pub(crate) use bongsu_tsdb::encoding;

pub use compact::{CompactStats, StoreStats, MAX_BLOCKS_PER_PARTITION};
pub use cursor::Cursor;
pub use error::LogStoreError;
pub use needle::Needle;
pub use options::{LogStoreOptions, DEFAULT_MAX_LINE_BYTES};
pub use read::{
    Direction, EntryRef, IndexStats, ScanOptions, ScanStats, SelectedStream, Selection,
};
pub use store::{format_rfc3339_nano, LogStore};
pub use wal::WalError;
