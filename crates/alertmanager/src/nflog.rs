//! The notification log: for each aggregation group and receiver integration, which alerts
//! were firing and resolved at the last successful notification. The dedup stage reads it to
//! decide whether to notify again; it is persisted so a restart sends no duplicates.
//!
//! Owns the log entries and their snapshot; the decision rule itself lives in `notify`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use jiff::Timestamp;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::snapshot;
use crate::types::{add, Clock};

/// What a notifier keeps about a group's last notification (Slack's message id for
/// `update_message`), upstream's `receiver_data`.
pub type ReceiverData = BTreeMap<String, String>;

/// What was last notified for a group to one integration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// `receiver/integration/index`.
    pub receiver: String,
    pub group_key: String,
    pub timestamp: Timestamp,
    pub firing: Vec<u64>,
    pub resolved: Vec<u64>,
    /// Dropped after this time.
    pub expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub receiver_data: ReceiverData,
}

/// The log, in memory with a snapshot file.
pub struct NotificationLog {
    clock: Clock,
    path: Option<PathBuf>,
    entries: Mutex<HashMap<(String, String), Entry>>,
    dirty: AtomicBool,
}

impl NotificationLog {
    pub fn open(
        path: Option<PathBuf>,
        clock: Clock,
    ) -> Result<NotificationLog, snapshot::SnapshotError> {
        let mut entries = HashMap::new();
        if let Some(p) = &path {
            let stored: Vec<Entry> =
                snapshot::load(p, snapshot::Kind::NotificationLog)?.unwrap_or_default();
            for e in stored {
                entries.insert((e.group_key.clone(), e.receiver.clone()), e);
            }
        }
        Ok(NotificationLog {
            clock,
            path,
            entries: Mutex::new(entries),
            dirty: AtomicBool::new(false),
        })
    }

    pub fn query(&self, group_key: &str, receiver: &str) -> Option<Entry> {
        self.entries
            .lock()
            .get(&(group_key.to_string(), receiver.to_string()))
            .cloned()
    }

    /// Records a notification and its notifier's data; the entry lives for `retention`.
    pub fn log(
        &self,
        receiver: &str,
        group_key: &str,
        firing: Vec<u64>,
        resolved: Vec<u64>,
        retention: std::time::Duration,
        receiver_data: ReceiverData,
    ) {
        let now = self.clock.now();
        let e = Entry {
            receiver: receiver.to_string(),
            group_key: group_key.to_string(),
            timestamp: now,
            firing,
            resolved,
            expires_at: add(now, retention),
            receiver_data,
        };
        self.entries
            .lock()
            .insert((group_key.to_string(), receiver.to_string()), e);
        self.dirty.store(true, Ordering::Release);
    }

    /// Drops expired entries.
    pub fn gc(&self) -> usize {
        let now = self.clock.now();
        let mut entries = self.entries.lock();
        let before = entries.len();
        entries.retain(|_, e| e.expires_at > now);
        let removed = before - entries.len();
        if removed > 0 {
            self.dirty.store(true, Ordering::Release);
        }
        removed
    }

    /// Writes the snapshot if anything changed since the last one. Called often (and at
    /// shutdown) rather than on every entry, since busy servers log many notifications.
    pub fn persist(&self) -> Result<(), snapshot::SnapshotError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let all: Vec<Entry> = self.entries.lock().values().cloned().collect();
        let r = snapshot::store(path, snapshot::Kind::NotificationLog, &all);
        if r.is_err() {
            self.dirty.store(true, Ordering::Release);
        }
        r
    }

    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn logs_persists_and_expires() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nflog");
        let c = Clock::starting_at(Timestamp::from_second(1_000_000).unwrap());
        let log = NotificationLog::open(Some(path.clone()), c).unwrap();
        log.log(
            "r/webhook/0",
            "{}:{}",
            vec![1, 2],
            vec![3],
            Duration::from_secs(60),
            [("threadTs".to_string(), "1.2".to_string())].into(),
        );
        log.persist().unwrap();
        let log = NotificationLog::open(Some(path), c).unwrap();
        let e = log.query("{}:{}", "r/webhook/0").unwrap();
        assert_eq!((e.firing, e.resolved), (vec![1, 2], vec![3]));
        assert_eq!(e.receiver_data["threadTs"], "1.2");
        assert!(log.query("{}:{}", "r/webhook/1").is_none());
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(log.gc(), 1);
        assert!(log.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn loads_a_snapshot_from_before_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nflog");
        // Byte for byte what bongsu wrote before snapshot files had a header.
        std::fs::write(
            &path,
            r#"[{"receiver":"r/webhook/0","group_key":"{}:{}","timestamp":"1970-01-12T13:46:40Z","firing":[1],"resolved":[],"expires_at":"1970-01-12T14:46:40Z"}]"#,
        )
        .unwrap();
        let c = Clock::starting_at(Timestamp::from_second(1_000_000).unwrap());
        let log = NotificationLog::open(Some(path.clone()), c).unwrap();
        assert_eq!(log.query("{}:{}", "r/webhook/0").unwrap().firing, vec![1]);
        log.log(
            "r/webhook/0",
            "{}:{}",
            vec![2],
            vec![],
            Duration::from_secs(60),
            ReceiverData::new(),
        );
        log.persist().unwrap();
        assert!(std::fs::read(&path).unwrap().starts_with(b"BSNL\x01"));
        let log = NotificationLog::open(Some(path), c).unwrap();
        assert_eq!(log.query("{}:{}", "r/webhook/0").unwrap().firing, vec![2]);
    }
}
