//! Acknowledgement tracking: which WAL position every sample before has been settled (sent,
//! or dropped for good), given that shards finish batches out of order.
//!
//! Each samples record read from the WAL gets a sequence number and a count of samples in
//! flight; the acknowledged position moves to a record's end once it and every earlier record
//! have none left. Not here: persisting the position (the queue's progress writer).

use std::collections::VecDeque;

use parking_lot::Mutex;

use crate::progress::WalPosition;

/// Settled-up-to bookkeeping shared by the watcher (which adds records) and the shards
/// (which settle samples).
#[derive(Debug)]
pub(crate) struct Tracker {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Sequence number of `pending[0]`.
    front: u64,
    /// Per record in WAL order: its end position and samples not yet settled.
    pending: VecDeque<(WalPosition, u64)>,
    acked: Option<WalPosition>,
    outstanding: u64,
}

impl Tracker {
    /// A tracker whose acknowledged position starts at `start` (where reading resumes).
    pub(crate) fn new(start: Option<WalPosition>) -> Tracker {
        Tracker {
            inner: Mutex::new(Inner {
                front: 0,
                pending: VecDeque::new(),
                acked: start,
                outstanding: 0,
            }),
        }
    }

    /// Adds a record ending at `end` with `samples` to send; returns its sequence number.
    pub(crate) fn push(&self, end: WalPosition, samples: u64) -> u64 {
        let mut g = self.inner.lock();
        let seq = g.front + g.pending.len() as u64;
        g.pending.push_back((end, samples));
        g.outstanding += samples;
        g.advance();
        seq
    }

    /// Settles `n` samples of record `seq`.
    pub(crate) fn settle(&self, seq: u64, n: u64) {
        let mut g = self.inner.lock();
        let Some(idx) = seq.checked_sub(g.front) else {
            debug_assert!(false, "record {seq} settled twice");
            return;
        };
        if let Some(entry) = g.pending.get_mut(idx as usize) {
            debug_assert!(entry.1 >= n, "more samples settled than sent");
            entry.1 = entry.1.saturating_sub(n);
        }
        g.outstanding = g.outstanding.saturating_sub(n);
        g.advance();
    }

    /// The position before which every sample is settled.
    pub(crate) fn acked(&self) -> Option<WalPosition> {
        self.inner.lock().acked
    }

    /// Samples read from the WAL and not settled yet.
    pub(crate) fn outstanding(&self) -> u64 {
        self.inner.lock().outstanding
    }
}

impl Inner {
    fn advance(&mut self) {
        while let Some(&(end, 0)) = self.pending.front() {
            self.acked = Some(end);
            self.pending.pop_front();
            self.front += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(offset: u64) -> WalPosition {
        WalPosition { segment: 1, offset }
    }

    #[test]
    fn position_moves_only_past_fully_settled_prefixes() {
        let t = Tracker::new(Some(pos(8)));
        let a = t.push(pos(100), 2);
        let b = t.push(pos(200), 1);
        let c = t.push(pos(300), 0);
        assert_eq!(t.acked(), Some(pos(8)));
        t.settle(b, 1);
        assert_eq!(t.acked(), Some(pos(8)), "a later record settled first");
        t.settle(a, 1);
        assert_eq!(t.acked(), Some(pos(8)));
        assert_eq!(t.outstanding(), 1);
        t.settle(a, 1);
        assert_eq!(t.acked(), Some(pos(300)), "empty record c follows");
        assert_eq!(c, 2);
        let d = t.push(pos(400), 0);
        assert_eq!((d, t.acked()), (3, Some(pos(400))));
    }
}
