//! How far each tailed file has been read: Promtail's `positions.yaml` (`positions: {path:
//! "offset"}`, written atomically every `positions.sync_period` and at shutdown, readable by
//! Promtail and from Promtail), and the collector's checkpoint in the log store (the same
//! offsets with each file's inode, versioned; `docs/format/logcollect-positions.md`).
//!
//! Not here: deciding which of the two is the truth at start (the tailer takes the store's
//! checkpoint when it has one) or when they are written.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The checkpoint format's version.
pub const CHECKPOINT_VERSION: u32 = 1;

/// Where a file was read to: `offset` is just after the last whole line handed on; `inode`
/// identifies the file the offset belongs to (0: unknown, e.g. from a Promtail positions file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub offset: u64,
    #[serde(default)]
    pub inode: u64,
}

/// Positions by file path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Positions(pub BTreeMap<String, Position>);

#[derive(Debug, Error)]
pub enum PositionsError {
    #[error("error reading positions file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid yaml positions file [{path}]: {message}")]
    Invalid { path: String, message: String },
    #[error("error writing positions file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid log collector checkpoint: {0}")]
    Checkpoint(String),
}

/// Promtail's file: offsets as strings.
#[derive(Debug, Default, Serialize, Deserialize)]
struct PromtailFile {
    #[serde(default)]
    positions: BTreeMap<String, String>,
}

/// The store checkpoint's body.
#[derive(Debug, Serialize, Deserialize)]
struct Checkpoint {
    version: u32,
    files: BTreeMap<String, Position>,
}

impl Positions {
    /// Reads a Promtail positions file; a missing file is empty. A damaged one is an error,
    /// or (with `ignore_invalid`, Promtail's `ignore_invalid_yaml`) empty with a warning.
    /// Values that are not integers (Promtail's journal cursors) are skipped.
    pub fn read_file(path: &Path, ignore_invalid: bool) -> Result<Positions, PositionsError> {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Positions::default()),
            Err(source) => return Err(PositionsError::Read { path: name, source }),
        };
        let file: PromtailFile = if text.trim().is_empty() {
            PromtailFile::default()
        } else {
            match serde_yaml_ng::from_str(&text) {
                Ok(f) => f,
                Err(e) if ignore_invalid => {
                    tracing::warn!(path = %name, error = %e, "ignoring an invalid positions file");
                    PromtailFile::default()
                }
                Err(e) => {
                    return Err(PositionsError::Invalid {
                        path: name,
                        message: bongsu_yaml::describe(&e),
                    })
                }
            }
        };
        Ok(Positions(
            file.positions
                .into_iter()
                .filter_map(|(p, v)| {
                    let offset = v.parse().ok()?;
                    Some((p, Position { offset, inode: 0 }))
                })
                .collect(),
        ))
    }

    /// Writes Promtail's positions file: to a temporary file beside it (mode 0600, as
    /// Promtail's), fsynced, then renamed over it.
    pub fn write_file(&self, path: &Path) -> Result<(), PositionsError> {
        let name = path.display().to_string();
        let err = |source| PositionsError::Write {
            path: name.clone(),
            source,
        };
        let file = PromtailFile {
            positions: self
                .0
                .iter()
                .map(|(p, pos)| (p.clone(), pos.offset.to_string()))
                .collect(),
        };
        let text = serde_yaml_ng::to_string(&file)
            .map_err(|e| err(std::io::Error::other(e.to_string())))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = path.with_extension("yaml.tmp");
        {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(&tmp).map_err(err)?;
            f.write_all(text.as_bytes()).map_err(err)?;
            f.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// The store checkpoint's bytes.
    pub fn encode_checkpoint(&self) -> Vec<u8> {
        let c = Checkpoint {
            version: CHECKPOINT_VERSION,
            files: self.0.clone(),
        };
        serde_yaml_ng::to_string(&c)
            .map(String::into_bytes)
            .unwrap_or_default()
    }

    /// Reads a store checkpoint written by [`Positions::encode_checkpoint`].
    pub fn decode_checkpoint(bytes: &[u8]) -> Result<Positions, PositionsError> {
        let c: Checkpoint = serde_yaml_ng::from_slice(bytes)
            .map_err(|e| PositionsError::Checkpoint(bongsu_yaml::describe(&e)))?;
        if c.version != CHECKPOINT_VERSION {
            return Err(PositionsError::Checkpoint(format!(
                "version {} (this build reads {CHECKPOINT_VERSION})",
                c.version
            )));
        }
        Ok(Positions(c.files))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promtail_file_and_checkpoint_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/positions.yaml");
        let mut pos = Positions::default();
        pos.0.insert(
            "/var/log/a b.log".into(),
            Position {
                offset: 42,
                inode: 7,
            },
        );
        pos.0
            .insert("/var/log/'x\".log".into(), Position::default());
        pos.write_file(&p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.contains("positions:") && text.contains("'42'"),
            "{text}"
        );
        let back = Positions::read_file(&p, false).unwrap();
        assert_eq!(back.0["/var/log/a b.log"].offset, 42);
        assert_eq!(back.0["/var/log/a b.log"].inode, 0);
        assert_eq!(back.0.len(), 2);

        let cp = Positions::decode_checkpoint(&pos.encode_checkpoint()).unwrap();
        assert_eq!(cp, pos);
        assert!(Positions::decode_checkpoint(b"version: 9\nfiles: {}\n").is_err());
    }

    #[test]
    fn promtail_files_as_promtail_writes_them() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("positions.yaml");
        std::fs::write(
            &p,
            "positions:\n  /var/log/syslog: \"1234\"\n  journal-x: \"s=abc;i=1\"\n",
        )
        .unwrap();
        let pos = Positions::read_file(&p, false).unwrap();
        assert_eq!(pos.0.len(), 1);
        assert_eq!(pos.0["/var/log/syslog"].offset, 1234);
        assert!(Positions::read_file(&d.path().join("none"), false)
            .unwrap()
            .0
            .is_empty());
        std::fs::write(&p, "positions: [oops\n").unwrap();
        let e = Positions::read_file(&p, false).unwrap_err();
        assert!(
            e.to_string().starts_with("invalid yaml positions file"),
            "{e}"
        );
        assert!(Positions::read_file(&p, true).unwrap().0.is_empty());
    }
}
