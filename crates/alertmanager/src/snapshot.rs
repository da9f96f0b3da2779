//! Snapshot files of the silences and the notification log, laid out in
//! `docs/format/silences.md` and `docs/format/nflog.md`: a header naming what the file holds
//! and its format version, the payload's length and SHA-256, then the payload as JSON.
//! Written to a temporary file, synced and renamed over the old one, so a crash leaves either
//! the old or the new state, never a torn file.
//!
//! Reads version 1 and the bare JSON that bongsu wrote before snapshots had a version
//! (version 0), so a server upgraded in place keeps its state; refuses newer versions rather
//! than guess at them. Owns the file layout only; what the payload holds belongs to `silence`
//! and `nflog`.

use std::io::Write;
use std::path::Path;

use ring::digest::{digest, SHA256, SHA256_OUTPUT_LEN};
use serde::de::DeserializeOwned;
use serde::Serialize;
use thiserror::Error;

/// The format version written, and the newest one read.
pub const VERSION: u8 = 1;

/// Magic (4), version (1), reserved (3), payload length (8), SHA-256 of the payload (32).
const HEADER_LEN: usize = 16 + SHA256_OUTPUT_LEN;

/// What a snapshot file holds; each kind has its own magic, so one is never read as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Silences,
    NotificationLog,
}

impl Kind {
    const ALL: [Kind; 2] = [Kind::Silences, Kind::NotificationLog];

    fn magic(self) -> &'static [u8; 4] {
        match self {
            Kind::Silences => b"BSSL",
            Kind::NotificationLog => b"BSNL",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Silences => "silences",
            Kind::NotificationLog => "notification log",
        }
    }
}

#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path}: {kind} snapshot format version {version} is newer than this bongsu reads \
         (version {VERSION}); run a newer bongsu or move the file away"
    )]
    UnsupportedVersion {
        path: String,
        kind: &'static str,
        version: u8,
    },
    #[error("{path}: corrupt {kind} snapshot: {reason}")]
    Corrupt {
        path: String,
        kind: &'static str,
        reason: String,
    },
    #[error("decoding {path}: {source}")]
    Decode {
        path: String,
        source: serde_json::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// The stored value, or `None` if there is no file yet.
pub fn load<T: DeserializeOwned>(path: &Path, kind: Kind) -> Result<Option<T>, SnapshotError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SnapshotError::Read {
                path: path.display().to_string(),
                source,
            })
        }
    };
    let json = payload(&bytes, kind).map_err(|e| e.at(path, kind))?;
    serde_json::from_slice(json)
        .map(Some)
        .map_err(|source| SnapshotError::Decode {
            path: path.display().to_string(),
            source,
        })
}

/// Why a file's bytes are not a payload, before the path is known to the message.
enum Refusal {
    Newer(u8),
    Corrupt(String),
}

impl Refusal {
    fn at(self, path: &Path, kind: Kind) -> SnapshotError {
        let path = path.display().to_string();
        match self {
            Refusal::Newer(version) => SnapshotError::UnsupportedVersion {
                path,
                kind: kind.name(),
                version,
            },
            Refusal::Corrupt(reason) => SnapshotError::Corrupt {
                path,
                kind: kind.name(),
                reason,
            },
        }
    }
}

/// The JSON payload of a snapshot file of `kind`, checked against its header.
fn payload(bytes: &[u8], kind: Kind) -> Result<&[u8], Refusal> {
    let corrupt = |reason: String| Err(Refusal::Corrupt(reason));
    if !bytes.starts_with(kind.magic()) {
        if let Some(other) = Kind::ALL.iter().find(|k| bytes.starts_with(k.magic())) {
            return corrupt(format!("the file holds a {} snapshot", other.name()));
        }
        // Version 0: the bare JSON array, whose first byte can never be a magic's.
        return match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => Ok(bytes),
            _ => corrupt("neither a bongsu snapshot header nor a version-0 JSON array".into()),
        };
    }
    // The version comes before anything else is trusted: a newer one may lay out the rest
    // differently.
    match bytes.get(4).copied() {
        None => return corrupt(format!("{} bytes, shorter than the header", bytes.len())),
        Some(VERSION) => {}
        Some(v) if v > VERSION => return Err(Refusal::Newer(v)),
        Some(v) => return corrupt(format!("version {v} in a header (version 0 has none)")),
    }
    if bytes.len() < HEADER_LEN {
        return corrupt(format!("{} bytes, shorter than the header", bytes.len()));
    }
    let (header, body) = bytes.split_at(HEADER_LEN);
    let mut len = [0u8; 8];
    len.copy_from_slice(&header[8..16]);
    let len = u64::from_le_bytes(len);
    if len != body.len() as u64 {
        return corrupt(format!(
            "the header gives {len} payload bytes, the file has {}",
            body.len()
        ));
    }
    if digest(&SHA256, body).as_ref() != &header[16..HEADER_LEN] {
        return corrupt("payload checksum mismatch".into());
    }
    Ok(body)
}

/// Replaces the file atomically with `value`, in the current version.
pub fn store<T: Serialize + ?Sized>(
    path: &Path,
    kind: Kind,
    value: &T,
) -> Result<(), SnapshotError> {
    let err = |source| SnapshotError::Write {
        path: path.display().to_string(),
        source,
    };
    let body = serde_json::to_vec(value).map_err(|e| err(std::io::Error::other(e)))?;
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
    bytes.extend_from_slice(kind.magic());
    bytes.extend_from_slice(&[VERSION, 0, 0, 0]);
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(digest(&SHA256, &body).as_ref());
    bytes.extend_from_slice(&body);
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(&bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(err)?;
    // The rename is durable only once the directory is synced; a failure here leaves the new
    // file in place and at worst the old one after a power loss, both whole.
    if let Some(dir) = path.parent().and_then(|d| std::fs::File::open(d).ok()) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests;
