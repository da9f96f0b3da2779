//! The progress file of a queue: the WAL position up to which every sample was acknowledged by
//! the receiver (or dropped for good), so a restarted queue resumes there.
//!
//! The layout is in `docs/format/remote-write-progress.md`: magic, version, segment, offset and
//! a CRC32C, 24 bytes, replaced whole by a rename. Not here: when to write it (the queue) and
//! reading the WAL (the watcher).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

const MAGIC: [u8; 4] = *b"BSRP";
const VERSION: u8 = 1;
/// Magic (4), version (1), reserved (3), segment (4), offset (8), CRC32C (4).
const SIZE: usize = 24;

/// A position in the WAL: a segment and the byte offset of the next record to read there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WalPosition {
    pub segment: u32,
    pub offset: u64,
}

#[derive(Debug, Error)]
pub enum ProgressError {
    #[error("remote-write progress file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("remote-write progress file {path} is damaged: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("remote-write progress file {path} has version {version}, this build reads version {VERSION}")]
    UnsupportedVersion { path: PathBuf, version: u8 },
}

/// Reads the progress file at `path`; `None` when there is none (a new queue).
pub fn read(path: &Path) -> Result<Option<WalPosition>, ProgressError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ProgressError::Io {
                path: path.into(),
                source,
            })
        }
    };
    let corrupt = |reason: &str| ProgressError::Corrupt {
        path: path.into(),
        reason: reason.into(),
    };
    if bytes.len() != SIZE {
        return Err(corrupt(&format!("{} bytes, expected {SIZE}", bytes.len())));
    }
    if bytes[..4] != MAGIC {
        return Err(corrupt("bad magic"));
    }
    if bytes[4] != VERSION {
        return Err(ProgressError::UnsupportedVersion {
            path: path.into(),
            version: bytes[4],
        });
    }
    let crc = u32::from_le_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    if crc != crc32c::crc32c(&bytes[..20]) {
        return Err(corrupt("checksum mismatch"));
    }
    let mut seg = [0u8; 4];
    seg.copy_from_slice(&bytes[8..12]);
    let mut off = [0u8; 8];
    off.copy_from_slice(&bytes[12..20]);
    Ok(Some(WalPosition {
        segment: u32::from_le_bytes(seg),
        offset: u64::from_le_bytes(off),
    }))
}

/// Replaces the progress file at `path` with `pos`: written to a temporary file, fsynced and
/// renamed, so a crash leaves the old or the new position, never a torn one.
pub fn write(path: &Path, pos: WalPosition) -> Result<(), ProgressError> {
    let io_err = |source| ProgressError::Io {
        path: path.into(),
        source,
    };
    let mut bytes = Vec::with_capacity(SIZE);
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&[VERSION, 0, 0, 0]);
    bytes.extend_from_slice(&pos.segment.to_le_bytes());
    bytes.extend_from_slice(&pos.offset.to_le_bytes());
    let crc = crc32c::crc32c(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io_err)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp).map_err(io_err)?;
    f.write_all(&bytes).map_err(io_err)?;
    f.sync_all().map_err(io_err)?;
    fs::rename(&tmp, path).map_err(io_err)?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_missing_and_damage() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("q").join("progress");
        assert_eq!(read(&p).unwrap(), None);
        let pos = WalPosition {
            segment: 7,
            offset: 123_456,
        };
        write(&p, pos).unwrap();
        assert_eq!(read(&p).unwrap(), Some(pos));
        let mut bytes = fs::read(&p).unwrap();
        bytes[13] ^= 1;
        fs::write(&p, &bytes).unwrap();
        assert!(matches!(read(&p), Err(ProgressError::Corrupt { .. })));
        bytes[13] ^= 1;
        bytes[4] = 9;
        fs::write(&p, &bytes).unwrap();
        assert!(matches!(
            read(&p),
            Err(ProgressError::UnsupportedVersion { version: 9, .. })
        ));
        fs::write(&p, b"short").unwrap();
        assert!(read(&p).is_err());
    }
}
