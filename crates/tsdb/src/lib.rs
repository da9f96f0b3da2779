//! The storage engine: write-ahead log, in-memory head, compressed chunks and immutable,
//! memory-mapped blocks, behind two small interfaces: [`Appender`] (writes) and [`Querier`]
//! (reads by label matchers and time range).
//!
//! `tsdb` knows nothing of HTTP, PromQL or scraping. Only the WAL makes a sample durable.

pub mod block;
pub mod chunk;
mod compact;
mod db;
pub mod encoding;
pub mod head;
pub mod postings;
mod querier;
mod retention;
pub mod wal;

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use db::{Db, DbOptions, DbStats};
pub use head::{Appender, CommitStats};
pub use querier::{Querier, Series};

/// Identifies a series for fast repeated appends (see [`Appender::append_ref`]).
pub type SeriesRef = u64;

/// Why one sample was rejected. The messages are Prometheus' so clients recognise them.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum AppendError {
    #[error("out of order sample")]
    OutOfOrder,
    #[error("duplicate sample for timestamp")]
    DuplicateTimestamp,
    #[error("out of bounds")]
    OutOfBounds,
    #[error("invalid labels: {0}")]
    InvalidLabels(String),
    #[error("unknown series ref {0}")]
    UnknownSeries(SeriesRef),
    #[error("too many series in the head")]
    TooManySeries,
}

/// A failure of the storage engine itself (I/O, corruption), as opposed to a rejected sample.
#[derive(Debug, Error)]
pub enum StorageError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("write-ahead log: {0}")]
    Wal(#[from] wal::WalError),
    #[error(transparent)]
    Block(#[from] block::BlockError),
    #[error("head chunk: {0}")]
    HeadChunk(String),
    #[error("append: {0}")]
    Append(String),
    #[error("data directory {0} is in use by another process")]
    Locked(PathBuf),
}

impl StorageError {
    pub fn io(path: &Path, source: io::Error) -> StorageError {
        StorageError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
