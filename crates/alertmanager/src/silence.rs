//! Silences: label matchers that mute alerts for a time range, with Alertmanager's rules on
//! creating, updating and expiring them, retention of expired ones, and persistence in a
//! snapshot file under the data directory.
//!
//! Owns the silence records and whether an alert is silenced; not the API shapes (`api`) nor
//! where muting happens in the pipeline (`notify`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use parking_lot::{Mutex, MutexGuard};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::matcher::{LabelSet, MatchOp, Matcher, Matchers};
use crate::snapshot;
use crate::types::{add, Clock};

/// How long expired silences are kept, as Alertmanager's `--data.retention`.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(120 * 3600);

/// One matcher of a silence, as the API carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceMatcher {
    pub name: String,
    pub value: String,
    #[serde(rename = "isRegex")]
    pub is_regex: bool,
    #[serde(rename = "isEqual", default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl SilenceMatcher {
    fn compile(&self) -> Result<Matcher, String> {
        let op = match (self.is_regex, self.is_equal) {
            (false, true) => MatchOp::Equal,
            (false, false) => MatchOp::NotEqual,
            (true, true) => MatchOp::Regex,
            (true, false) => MatchOp::NotRegex,
        };
        if self.name.is_empty() {
            return Err(format!("invalid label name {:?}", self.name));
        }
        Matcher::new(op, &self.name, &self.value).map_err(|e| e.to_string())
    }
}

/// A silence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<SilenceMatcher>,
    #[serde(rename = "startsAt")]
    pub starts_at: Timestamp,
    #[serde(rename = "endsAt")]
    pub ends_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
    #[serde(rename = "createdBy")]
    pub created_by: String,
    pub comment: String,
    #[serde(default)]
    pub annotations: LabelSet,
}

/// A silence's state at a point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilenceState {
    Pending,
    Active,
    Expired,
}

impl SilenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

impl Silence {
    pub fn state(&self, now: Timestamp) -> SilenceState {
        if now < self.starts_at {
            SilenceState::Pending
        } else if now < self.ends_at {
            SilenceState::Active
        } else {
            SilenceState::Expired
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SilenceError {
    #[error("not found")]
    NotFound,
    #[error("invalid silence: {0}")]
    Invalid(String),
    #[error("silence {0} already expired")]
    AlreadyExpired(String),
    /// `--silences.max-silences` reached; upstream's text, which the API answers with 400.
    #[error("exceeded maximum number of silences: {count} (limit: {limit})")]
    TooMany { count: usize, limit: usize },
    /// `--silences.max-silence-size-bytes` exceeded; upstream's text.
    #[error("silence exceeded maximum size: {size} bytes (limit: {limit} bytes)")]
    TooLarge { size: usize, limit: usize },
}

/// Alertmanager's `--silences.max-silences` and `--silences.max-silence-size-bytes`; `None`
/// sets no limit. They refuse new and updated silences only: silences loaded from the
/// snapshot are kept whatever their number and size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SilenceLimits {
    /// Most silences stored, expired ones (until retention drops them) included.
    pub max_silences: Option<usize>,
    /// Largest silence, counted as its JSON in the snapshot (upstream counts its protobuf).
    pub max_silence_size_bytes: Option<usize>,
}

impl SilenceLimits {
    fn check_size(&self, s: &Silence) -> Result<(), SilenceError> {
        let Some(limit) = self.max_silence_size_bytes else {
            return Ok(());
        };
        // Serializing a silence cannot fail: every field is a string, a bool or a map of
        // strings.
        let size = serde_json::to_vec(s).map_or(usize::MAX, |b| b.len());
        if size > limit {
            return Err(SilenceError::TooLarge { size, limit });
        }
        Ok(())
    }

    fn check_count(&self, count: usize) -> Result<(), SilenceError> {
        match self.max_silences {
            Some(limit) if count >= limit => Err(SilenceError::TooMany { count, limit }),
            _ => Ok(()),
        }
    }
}

struct Entry {
    silence: Silence,
    matchers: Matchers,
}

/// The silences of this server.
pub struct Silences {
    clock: Clock,
    retention: Duration,
    limits: SilenceLimits,
    path: Option<PathBuf>,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Silences {
    /// Silences persisted at `path` (loaded if the file exists), or only in memory.
    pub fn open(
        path: Option<PathBuf>,
        retention: Duration,
        clock: Clock,
    ) -> Result<Silences, snapshot::SnapshotError> {
        let mut entries = HashMap::new();
        if let Some(p) = &path {
            let stored: Vec<Silence> =
                snapshot::load(p, snapshot::Kind::Silences)?.unwrap_or_default();
            for s in stored {
                let Ok(matchers) = compile(&s.matchers) else {
                    tracing::warn!(id = %s.id, "dropping a stored silence whose matchers no longer compile");
                    continue;
                };
                entries.insert(
                    s.id.clone(),
                    Entry {
                        silence: s,
                        matchers,
                    },
                );
            }
        }
        let s = Silences {
            clock,
            retention,
            limits: SilenceLimits::default(),
            path,
            entries: Mutex::new(entries),
        };
        s.gc();
        Ok(s)
    }

    /// The same silences, refusing new ones beyond `limits`.
    pub fn with_limits(mut self, limits: SilenceLimits) -> Silences {
        self.limits = limits;
        self
    }

    /// Creates or updates a silence and returns its ID. A silence with an ID is edited in
    /// place when Alertmanager allows it (same matchers; an active one keeps its start and
    /// does not end in the past; a pending one does not start in the past); otherwise the old
    /// one is expired and a new one with a new ID is created. As upstream, the size limit
    /// applies to both and the count limit to a new silence, checked before the old one is
    /// expired, so a refused replacement changes nothing.
    pub fn set(&self, mut sil: Silence) -> Result<String, SilenceError> {
        let now = self.clock.now();
        let mut entries = self.entries.lock();
        let prev = if sil.id.is_empty() {
            None
        } else {
            Some(
                entries
                    .get(&sil.id)
                    .map(|e| e.silence.clone())
                    .ok_or(SilenceError::NotFound)?,
            )
        };
        sil.updated_at = now;
        let matchers = validate(&sil)?;
        if let Some(prev) = &prev {
            if can_update(prev, &sil, now) {
                self.limits.check_size(&sil)?;
                return Ok(self.insert(entries, sil, matchers));
            }
        }
        self.limits.check_count(entries.len())?;
        sil.id = new_id();
        if sil.starts_at < now {
            sil.starts_at = now;
        }
        validate(&sil)?;
        self.limits.check_size(&sil)?;
        if let Some(prev) = prev.filter(|p| p.state(now) != SilenceState::Expired) {
            expire_entry(&mut entries, &prev.id, now)?;
        }
        Ok(self.insert(entries, sil, matchers))
    }

    /// Stores `silence` under its id, releases the lock and persists; returns the id.
    fn insert(
        &self,
        mut entries: MutexGuard<'_, HashMap<String, Entry>>,
        silence: Silence,
        matchers: Matchers,
    ) -> String {
        let id = silence.id.clone();
        entries.insert(id.clone(), Entry { silence, matchers });
        drop(entries);
        self.persist();
        id
    }

    /// Ends a silence now (a pending one moves straight to expired).
    pub fn expire(&self, id: &str) -> Result<(), SilenceError> {
        let now = self.clock.now();
        expire_entry(&mut self.entries.lock(), id, now)?;
        self.persist();
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<Silence> {
        self.entries.lock().get(id).map(|e| e.silence.clone())
    }

    pub fn list(&self) -> Vec<Silence> {
        self.entries
            .lock()
            .values()
            .map(|e| e.silence.clone())
            .collect()
    }

    /// The IDs of active silences that match `labels`, sorted.
    pub fn mutes(&self, labels: &LabelSet) -> Vec<String> {
        let now = self.clock.now();
        let mut ids: Vec<String> = self
            .entries
            .lock()
            .values()
            .filter(|e| e.silence.state(now) == SilenceState::Active && e.matchers.matches(labels))
            .map(|e| e.silence.id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Whether `labels` match the silence's matchers (whatever its state).
    pub fn matches(&self, id: &str, labels: &LabelSet) -> bool {
        self.entries
            .lock()
            .get(id)
            .is_some_and(|e| e.matchers.matches(labels))
    }

    /// Drops silences that expired more than the retention ago.
    pub fn gc(&self) -> usize {
        let now = self.clock.now();
        let mut entries = self.entries.lock();
        let before = entries.len();
        entries.retain(|_, e| add(e.silence.ends_at, self.retention) > now);
        let removed = before - entries.len();
        drop(entries);
        if removed > 0 {
            self.persist();
        }
        removed
    }

    /// Counts by state, for `alertmanager_silences`.
    pub fn count_by_state(&self) -> [(SilenceState, usize); 3] {
        let now = self.clock.now();
        let mut counts = [
            (SilenceState::Active, 0),
            (SilenceState::Pending, 0),
            (SilenceState::Expired, 0),
        ];
        for e in self.entries.lock().values() {
            let st = e.silence.state(now);
            if let Some(c) = counts.iter_mut().find(|(s, _)| *s == st) {
                c.1 += 1;
            }
        }
        counts
    }

    /// Writes the snapshot; silences are rare enough to write on every change, so none is
    /// lost on a crash.
    fn persist(&self) {
        let Some(path) = &self.path else { return };
        let all = self.list();
        if let Err(e) = snapshot::store(path, snapshot::Kind::Silences, &all) {
            tracing::error!(error = %e, "writing the silences snapshot failed");
        }
    }
}

fn compile(ms: &[SilenceMatcher]) -> Result<Matchers, String> {
    ms.iter()
        .enumerate()
        .map(|(i, m)| {
            m.compile()
                .map_err(|e| format!("invalid label matcher {i}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Matchers)
}

fn validate(s: &Silence) -> Result<Matchers, SilenceError> {
    if s.matchers.is_empty() {
        return Err(SilenceError::Invalid(
            "at least one matcher required".into(),
        ));
    }
    let ms = compile(&s.matchers).map_err(SilenceError::Invalid)?;
    if s.ends_at < s.starts_at {
        return Err(SilenceError::Invalid(
            "end time must not be before start time".into(),
        ));
    }
    Ok(ms)
}

fn can_update(prev: &Silence, new: &Silence, now: Timestamp) -> bool {
    if prev.matchers != new.matchers {
        return false;
    }
    match prev.state(now) {
        SilenceState::Active => new.starts_at == prev.starts_at && new.ends_at >= now,
        SilenceState::Pending => new.starts_at >= now,
        SilenceState::Expired => false,
    }
}

fn expire_entry(
    entries: &mut HashMap<String, Entry>,
    id: &str,
    now: Timestamp,
) -> Result<(), SilenceError> {
    let e = entries.get_mut(id).ok_or(SilenceError::NotFound)?;
    match e.silence.state(now) {
        SilenceState::Expired => return Err(SilenceError::AlreadyExpired(id.to_string())),
        SilenceState::Active => e.silence.ends_at = now,
        SilenceState::Pending => {
            e.silence.starts_at = now;
            e.silence.ends_at = now;
        }
    }
    e.silence.updated_at = now;
    Ok(())
}

/// A random (version 4) UUID, the form of Alertmanager's silence IDs.
fn new_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests;
