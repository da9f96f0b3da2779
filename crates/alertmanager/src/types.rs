//! Alerts as Alertmanager holds them: labels, annotations, the activity range, and the
//! fingerprint that identifies an alert by its labels. Also the clock the pipeline reads.
//!
//! Owns the alert value type and its merge rule; not where alerts are stored (`provider`)
//! or how they are grouped (`dispatch`).

use std::cmp::Ordering;
use std::fmt;

use jiff::{SignedDuration, Timestamp};

use crate::matcher::LabelSet;

/// An alert's identity: 64-bit FNV-1a over its sorted label pairs, as Prometheus'
/// `LabelSet.Fingerprint`, shown as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub u64);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

const FNV_OFFSET: u64 = 14_695_981_039_346_656_037;
const FNV_PRIME: u64 = 1_099_511_628_211;
/// Prometheus' separator byte between names and values; it never occurs in UTF-8.
const SEPARATOR: u8 = 0xff;

fn fnv_add(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// The fingerprint of a label set (names are already sorted in a `LabelSet`).
pub fn fingerprint(labels: &LabelSet) -> Fingerprint {
    let mut h = FNV_OFFSET;
    for (n, v) in labels {
        h = fnv_add(h, n.as_bytes());
        h = fnv_add(h, &[SEPARATOR]);
        h = fnv_add(h, v.as_bytes());
        h = fnv_add(h, &[SEPARATOR]);
    }
    Fingerprint(h)
}

/// One alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub labels: LabelSet,
    pub annotations: LabelSet,
    pub starts_at: Timestamp,
    /// When the alert stops (or stopped) being active.
    pub ends_at: Timestamp,
    pub generator_url: String,
    pub updated_at: Timestamp,
    /// `ends_at` was not given by the sender but set from `resolve_timeout`.
    pub timeout: bool,
}

impl Alert {
    pub fn fingerprint(&self) -> Fingerprint {
        fingerprint(&self.labels)
    }

    /// Whether the alert is resolved at `now`.
    pub fn resolved_at(&self, now: Timestamp) -> bool {
        self.ends_at <= now
    }

    /// Alertmanager's `Alert.Merge`: the newer alert's content, the earliest start, and the
    /// end that best reflects what the senders said.
    pub fn merge(&self, newer: &Alert, now: Timestamp) -> Alert {
        if newer.updated_at < self.updated_at {
            return newer.merge(self, now);
        }
        let mut res = newer.clone();
        if self.starts_at < newer.starts_at {
            res.starts_at = self.starts_at;
        }
        if newer.resolved_at(now) {
            if self.resolved_at(now) && self.ends_at > newer.ends_at {
                res.ends_at = self.ends_at;
            }
        } else if self.ends_at > newer.ends_at && !self.timeout {
            res.ends_at = self.ends_at;
        }
        res
    }
}

/// Alertmanager's order of alerts in a notification: by `job`, then `instance`, then the
/// whole label set.
pub fn compare_alerts(a: &Alert, b: &Alert) -> Ordering {
    for key in ["job", "instance"] {
        match (a.labels.get(key), b.labels.get(key)) {
            (None, None) => continue,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    a.labels
        .len()
        .cmp(&b.labels.len())
        .then_with(|| a.labels.iter().cmp(b.labels.iter()))
}

/// Wall-clock time derived from tokio's clock, so that a paused tokio clock in tests moves
/// alert, silence and notification-log time along with the timers.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    wall: Timestamp,
    mono: tokio::time::Instant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock::starting_at(Timestamp::now())
    }

    /// A clock that reads `wall` now.
    pub fn starting_at(wall: Timestamp) -> Clock {
        Clock {
            wall,
            mono: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> Timestamp {
        let elapsed = tokio::time::Instant::now().duration_since(self.mono);
        let d = SignedDuration::try_from(elapsed).unwrap_or(SignedDuration::MAX);
        self.wall.checked_add(d).unwrap_or(Timestamp::MAX)
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::new()
    }
}

/// `t + d`, saturating.
pub fn add(t: Timestamp, d: std::time::Duration) -> Timestamp {
    let d = SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX);
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

/// `t - d`, saturating.
pub fn sub(t: Timestamp, d: std::time::Duration) -> Timestamp {
    let d = SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX);
    t.checked_sub(d).unwrap_or(Timestamp::MIN)
}

/// Go's zero time as JSON shows it, for a firing alert's end in notifications.
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A test alert with `pairs` as labels, starting at `now` and ending `lasts` later.
#[cfg(test)]
pub(crate) fn test_alert(
    now: Timestamp,
    pairs: &[(&str, &str)],
    lasts: std::time::Duration,
) -> Alert {
    Alert {
        labels: pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        annotations: LabelSet::new(),
        starts_at: now,
        ends_at: add(now, lasts),
        generator_url: String::new(),
        updated_at: now,
        timeout: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn fingerprints_match_prometheus() {
        // Values from Prometheus' model/signature tests.
        assert_eq!(fingerprint(&LabelSet::new()).0, 14_695_981_039_346_656_037);
        assert_eq!(
            fingerprint(&ls(&[
                ("name", "garland, briggs"),
                ("fear", "love is not enough")
            ]))
            .0,
            5_799_056_148_416_392_346
        );
        assert_eq!(
            fingerprint(&ls(&[("alertname", "x")])).to_string().len(),
            16
        );
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn alert(start: i64, end: i64, updated: i64, timeout: bool) -> Alert {
        Alert {
            labels: ls(&[("a", "b")]),
            annotations: LabelSet::new(),
            starts_at: at(start),
            ends_at: at(end),
            generator_url: String::new(),
            updated_at: at(updated),
            timeout,
        }
    }

    #[test]
    fn merge_keeps_earliest_start_and_explicit_end() {
        let now = at(100);
        let old = alert(10, 500, 50, false);
        let new = alert(20, 300, 60, true);
        let m = old.merge(&new, now);
        assert_eq!(m.starts_at, at(10));
        assert_eq!(
            m.ends_at,
            at(500),
            "an explicit later end wins over a timeout"
        );
        let m = new.merge(&old, now);
        assert_eq!(m.ends_at, at(500), "the order of arguments does not matter");
        let resolved = alert(20, 90, 70, false);
        let m = old.merge(&resolved, now);
        assert_eq!(m.ends_at, at(90), "a newer resolve wins");
        let timeout_old = alert(10, 500, 50, true);
        let m = timeout_old.merge(&new, now);
        assert_eq!(m.ends_at, at(300), "an older timeout end does not win");
    }

    #[test]
    fn sorting_prefers_job_then_instance() {
        let mut a = alert(0, 1, 0, false);
        let mut b = a.clone();
        a.labels = ls(&[("job", "b"), ("z", "1")]);
        b.labels = ls(&[("job", "a"), ("z", "2")]);
        assert_eq!(compare_alerts(&a, &b), Ordering::Greater);
        b.labels = ls(&[("z", "0")]);
        assert_eq!(compare_alerts(&a, &b), Ordering::Less);
    }
}
