//! The store's own failures (I/O, damage), as opposed to refused lines
//! (`bongsu_storage::logs::LogRejection`).

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::encoding::DecodeError;
use crate::wal::WalError;

#[derive(Debug, Error)]
pub enum LogStoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Wal(#[from] WalError),
    #[error("log block {path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("log block {path} has format version {version}, this build reads only version 1")]
    UnsupportedVersion { path: PathBuf, version: u8 },
    #[error("log data directory {0} is in use by another process")]
    Locked(PathBuf),
    #[error("invalid log query: {0}")]
    InvalidQuery(String),
}

impl LogStoreError {
    pub fn io(path: &Path, source: io::Error) -> LogStoreError {
        LogStoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn corrupt(path: &Path, reason: impl std::fmt::Display) -> LogStoreError {
        LogStoreError::Corrupt {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn decode(path: &Path, e: DecodeError) -> LogStoreError {
        LogStoreError::corrupt(path, e)
    }
}

impl From<LogStoreError> for bongsu_storage::StorageError {
    fn from(e: LogStoreError) -> bongsu_storage::StorageError {
        bongsu_storage::StorageError::new(e)
    }
}
