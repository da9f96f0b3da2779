//! Deletions in the head: [`Head::delete`] logs them to the WAL and keeps them as tombstones,
//! which [`Head::read_samples`] applies; a WAL replay applies them again.
//!
//! Not here: deletions in blocks and the choice of what to delete (`Db::delete`).

use std::collections::HashMap;

use bongsu_model::Matcher;

use super::{Head, MemSeries};
use crate::tombstones::Interval;
use crate::wal::RefTombstone;
use crate::TsdbError;

impl Head {
    /// Whether `series` may have samples in `[mint, maxt]` that are not deleted (judged by its
    /// time range, as blocks judge by chunk ranges).
    pub fn has_data_in(&self, series: &MemSeries, mint: i64, maxt: i64) -> bool {
        let Some(iv) = series
            .time_range()
            .and_then(|(a, b)| Interval::new(a, b).clamp(mint, maxt))
        else {
            return false;
        };
        !self
            .tombstones
            .read()
            .get(series.sref)
            .is_some_and(|d| d.covers(iv.mint, iv.maxt))
    }

    /// Deletes the samples in `[mint, maxt]` of the series matching `matchers`. Each series'
    /// interval is first clamped to the samples it holds, so that later appends stay visible
    /// (as Prometheus). The deletions are logged to the WAL, then applied; commits wait
    /// meanwhile, so the WAL order is the apply order and a replay rebuilds the same head.
    pub fn delete(&self, mint: i64, maxt: i64, matchers: &[Matcher]) -> Result<(), TsdbError> {
        let mut wal = self.wal.lock();
        let mut stones: Vec<(u32, Interval)> = self
            .select(matchers)
            .iter()
            .filter_map(|s| {
                let (a, b) = s.time_range()?;
                Some((s.sref, Interval::new(mint, maxt).clamp(a, b)?))
            })
            .collect();
        if stones.is_empty() {
            return Ok(());
        }
        stones.sort_unstable_by_key(|&(r, _)| r);
        if let Some(w) = wal.as_mut() {
            let records: Vec<RefTombstone> = stones
                .iter()
                .map(|&(r, iv)| RefTombstone {
                    sref: u64::from(r),
                    mint: iv.mint,
                    maxt: iv.maxt,
                })
                .collect();
            w.log_tombstones(&records)?;
        }
        let mut tombstones = self.tombstones.write();
        for (r, iv) in stones {
            tombstones.add(r, iv);
        }
        Ok(())
    }

    /// Applies the deletions of a WAL record during replay; `aliases` as for series records.
    pub(super) fn replay_tombstones(&self, stones: Vec<RefTombstone>, aliases: &HashMap<u64, u32>) {
        // A deletion of a series no longer in the head has nothing left to hide.
        let known: Vec<(u32, Interval)> = stones
            .into_iter()
            .filter_map(|rs| {
                let r = aliases
                    .get(&rs.sref)
                    .copied()
                    .or_else(|| u32::try_from(rs.sref).ok())?;
                self.series(r)?;
                Some((r, Interval::new(rs.mint, rs.maxt)))
            })
            .collect();
        let mut tombstones = self.tombstones.write();
        for (r, iv) in known {
            tombstones.add(r, iv);
        }
    }
}
