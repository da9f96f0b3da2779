//! The receiver's counters, shown on `/metrics` by `api::metrics`.
//!
//! Every sample of a decoded request is counted once as received, and then once as either
//! written or rejected (with a reason): `received == written + Σ rejected`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::write::Report;

/// Why a sample (float or histogram) was not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// Older than the newest sample of its series.
    OutOfOrder,
    /// Same timestamp as a stored sample, different value.
    Duplicate,
    /// Too old for the head, or more than [`super::MAX_AHEAD_MS`] in the future.
    OutOfBounds,
    /// The series' labels are invalid (no metric name, bad UTF-8, duplicate or empty names,
    /// a bad 2.0 symbol reference, over a limit).
    InvalidLabels,
    /// A native histogram that breaks its own rules (Prometheus' `histogram.Error`: spans and
    /// buckets that do not match, counts too small, an unknown schema, bad custom bounds).
    InvalidHistogram,
    /// The head holds as many series as it can address.
    TooManySeries,
    /// Valid, but not written because the whole request was rejected: a 1.0 request with an
    /// out-of-order (or duplicate, out-of-bounds) sample, or a storage failure.
    RolledBack,
}

impl Reason {
    pub const ALL: [Reason; 7] = [
        Reason::OutOfOrder,
        Reason::Duplicate,
        Reason::OutOfBounds,
        Reason::InvalidLabels,
        Reason::InvalidHistogram,
        Reason::TooManySeries,
        Reason::RolledBack,
    ];

    /// The `reason` label value on `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::OutOfOrder => "out_of_order",
            Reason::Duplicate => "duplicate",
            Reason::OutOfBounds => "out_of_bounds",
            Reason::InvalidLabels => "invalid_labels",
            Reason::InvalidHistogram => "invalid_histogram",
            Reason::TooManySeries => "too_many_series",
            Reason::RolledBack => "rolled_back",
        }
    }

    /// Words for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::OutOfOrder => "out of order",
            Reason::Duplicate => "duplicate timestamp",
            Reason::OutOfBounds => "out of bounds",
            Reason::InvalidLabels => "invalid labels",
            Reason::InvalidHistogram => "invalid native histogram",
            Reason::TooManySeries => "too many series",
            Reason::RolledBack => "rolled back",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Counters since start-up.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests by (protocol, status code); protocol is "v1", "v2" or "unknown" (not
    /// negotiated).
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    samples_received: AtomicU64,
    samples_written: AtomicU64,
    rejected: [AtomicU64; Reason::ALL.len()],
    exemplars_discarded: AtomicU64,
}

impl Stats {
    pub fn record_request(&self, proto: &'static str, status: u16) {
        *self.requests.lock().entry((proto, status)).or_default() += 1;
    }

    /// Adds one request's sample counts.
    pub fn add(&self, report: &Report) {
        self.samples_received
            .fetch_add(report.received, Ordering::Relaxed);
        self.samples_written.fetch_add(
            report.written.samples + report.written.histograms,
            Ordering::Relaxed,
        );
        for (counter, n) in self.rejected.iter().zip(report.rejected) {
            if n > 0 {
                counter.fetch_add(n, Ordering::Relaxed);
            }
        }
        self.exemplars_discarded
            .fetch_add(report.written.exemplars, Ordering::Relaxed);
    }

    /// Requests by (protocol, status code), sorted.
    pub fn requests(&self) -> Vec<((&'static str, u16), u64)> {
        self.requests.lock().iter().map(|(k, v)| (*k, *v)).collect()
    }

    pub fn samples_received(&self) -> u64 {
        self.samples_received.load(Ordering::Relaxed)
    }

    pub fn samples_written(&self) -> u64 {
        self.samples_written.load(Ordering::Relaxed)
    }

    pub fn rejected(&self, reason: Reason) -> u64 {
        self.rejected[reason.index()].load(Ordering::Relaxed)
    }

    /// Exemplars accepted and dropped: bongsu has no exemplar storage yet.
    pub fn exemplars_discarded(&self) -> u64 {
        self.exemplars_discarded.load(Ordering::Relaxed)
    }
}
