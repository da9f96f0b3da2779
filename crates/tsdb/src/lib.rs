//! The storage engine: write-ahead log, in-memory head, compressed chunks and immutable,
//! memory-mapped blocks. [`Db`] implements the storage traits of `bongsu-storage`
//! (`Appendable` for writes, `Queryable` for reads by label matchers and time range); figures
//! leave as [`DbStats`] and [`HeadCardinality`] snapshots, and as Prometheus' `prometheus_tsdb_*`
//! metric families through [`Db::write_metrics`]. [`Db::delete`] and [`Db::clean_tombstones`]
//! (deletion by tombstones) and [`Db::snapshot`] are the operations of Prometheus' TSDB admin
//! API. The head, postings and readers are private; `block` (the `BlockWriter` of imports),
//! `chunk` (encodings) and `wal` are public for the importer, the benchmarks and the WAL crash
//! test; `encoding` (bounds-checked varints) and `postings` (matchers → ids, `MemPostings`) for
//! the log store, which indexes and encodes the same way.
//!
//! Native histograms are stored beside floats on one timeline per series: the WAL has histogram
//! records, the head and blocks hold Prometheus' histogram chunk encodings byte for byte
//! (`chunk::histogram`, `chunk::float_histogram`), and queries fill `Series::histograms`.
//! [`promblock::import_prometheus_block`] turns a Prometheus block (floats and histograms)
//! into a bongsu block.
//!
//! `tsdb` knows nothing of HTTP, PromQL, scraping or an async runtime. Only the WAL makes a
//! sample durable.

pub mod block;
pub mod chunk;
mod compact;
mod db;
mod delete;
pub mod encoding;
mod head;
#[cfg(test)]
mod hist_tests;
mod metrics;
pub mod postings;
pub mod promblock;
mod querier;
mod retention;
mod snapshot;
mod stats;
#[cfg(test)]
mod test_support;
mod tombstones;
pub mod wal;

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use db::{Db, DbOptions};
pub use stats::{DbStats, HeadCardinality};

pub(crate) use bongsu_storage::{AppendError, CommitStats, SeriesRef};

/// A failure of the storage engine itself (I/O, corruption), as opposed to a rejected sample.
/// Crosses the storage traits as a [`bongsu_storage::StorageError`].
#[derive(Debug, Error)]
pub enum TsdbError {
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
    #[error("block {path} cannot be opened ({source}); the server does not start without a block it has: move the directory out of the data directory (its samples are lost) or restore it")]
    UnreadableBlock {
        path: PathBuf,
        source: block::BlockError,
    },
}

impl TsdbError {
    pub fn io(path: &Path, source: io::Error) -> TsdbError {
        TsdbError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<TsdbError> for bongsu_storage::StorageError {
    fn from(e: TsdbError) -> bongsu_storage::StorageError {
        bongsu_storage::StorageError::new(e)
    }
}

impl From<wal::WalError> for bongsu_storage::StorageError {
    fn from(e: wal::WalError) -> bongsu_storage::StorageError {
        TsdbError::from(e).into()
    }
}

impl From<block::BlockError> for bongsu_storage::StorageError {
    fn from(e: block::BlockError) -> bongsu_storage::StorageError {
        TsdbError::from(e).into()
    }
}
