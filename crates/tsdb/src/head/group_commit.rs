//! Group commit: committers queue the WAL records they framed, and whichever takes the WAL lock
//! first writes every queued batch in one go, so concurrent commits share a `write` (and an
//! fsync with `fsync_on_commit`) and the lock is held only for the write itself.
//!
//! The queue order is the WAL order: batches are written in the order they were queued, and
//! [`GroupCommit::enqueue`] runs the caller's ordering step (taking per-series turns, see
//! `appender.rs`) under the queue lock, so that the head applies samples of one series in the
//! order the WAL holds them. Not here: framing records (the appender does) and applying them.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::wal::{Wal, WalBatch, WalError};
use crate::TsdbError;

/// Batches waiting for the WAL, and what became of those written.
#[derive(Default)]
pub(super) struct GroupCommit {
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    /// Sequence number of the next batch queued.
    next: u64,
    /// Batches `written + 1 ..= next - 1`, in order.
    batches: Vec<WalBatch>,
    /// Every batch up to this sequence number has been written (or failed).
    written: u64,
    /// Why the write of a batch failed, until its committer takes the error. Bounded by the
    /// commits in flight: each entry belongs to a committer waiting in [`GroupCommit::write`].
    failed: HashMap<u64, String>,
}

impl GroupCommit {
    /// Queues `batch`, running `order` while the queue order is being decided; returns the
    /// batch's sequence number for [`GroupCommit::write`].
    pub(super) fn enqueue(&self, batch: WalBatch, order: impl FnOnce()) -> u64 {
        let mut q = self.queue.lock();
        order();
        q.next += 1;
        q.batches.push(batch);
        q.next
    }

    /// Returns once batch `seq` is in the WAL: written by this call, together with every batch
    /// queued meanwhile, unless another committer's call wrote it already. With no WAL attached
    /// the batches are dropped. Either way on return the batch is no longer queued.
    pub(super) fn write(&self, wal: &Mutex<Option<Wal>>, seq: u64) -> Result<(), TsdbError> {
        let mut wal = wal.lock();
        let (batches, first, last) = {
            let mut q = self.queue.lock();
            if q.written >= seq {
                return match q.failed.remove(&seq) {
                    None => Ok(()),
                    Some(why) => Err(TsdbError::Wal(WalError::Other(why.into()))),
                };
            }
            (std::mem::take(&mut q.batches), q.written + 1, q.next)
        };
        let result = match wal.as_mut() {
            Some(w) if batches.iter().any(|b| !b.is_empty()) => w.write_batches(&batches),
            _ => Ok(()),
        };
        let mut q = self.queue.lock();
        q.written = last;
        if let Err(e) = &result {
            let why = e.to_string();
            q.failed.extend(
                (first..=last)
                    .filter(|&s| s != seq)
                    .map(|s| (s, why.clone())),
            );
        }
        drop(q);
        drop(wal);
        result.map_err(TsdbError::Wal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::{replay, Record, RefSample, WalOptions};

    fn batch(sref: u64) -> WalBatch {
        let mut b = WalBatch::default();
        b.add_samples(&[RefSample { sref, t: 1, v: 1.0 }]);
        b
    }

    #[test]
    fn one_write_takes_every_queued_batch_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Mutex::new(Some(Wal::open(dir.path(), WalOptions::default()).unwrap()));
        let g = GroupCommit::default();
        let seqs: Vec<u64> = (1..=3).map(|i| g.enqueue(batch(i), || {})).collect();
        g.write(&wal, seqs[1]).unwrap();
        assert!(g.queue.lock().batches.is_empty());
        // The others find their batch written.
        g.write(&wal, seqs[0]).unwrap();
        g.write(&wal, seqs[2]).unwrap();
        drop(wal);
        let mut refs = Vec::new();
        replay(dir.path(), |r| {
            if let Record::Samples(s) = r {
                refs.extend(s.iter().map(|s| s.sref));
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(refs, [1, 2, 3]);
    }

    #[test]
    fn without_a_wal_batches_are_dropped() {
        let wal = Mutex::new(None);
        let g = GroupCommit::default();
        let seq = g.enqueue(batch(1), || {});
        g.write(&wal, seq).unwrap();
        assert!(g.queue.lock().batches.is_empty());
    }
}
