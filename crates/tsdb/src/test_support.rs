//! What the unit tests of deletion and snapshots share: a database without retention, and the
//! timestamps a series holds against the minutes it should hold.

use std::path::Path;

use bongsu_model::Matcher;
use bongsu_storage::Queryable;

use crate::{Db, DbOptions};

pub(crate) const MIN: i64 = 60_000;
pub(crate) const HOUR: i64 = 60 * MIN;

/// A database at `dir` that keeps every sample, however old.
pub(crate) fn open(dir: &Path) -> Db {
    let opts = DbOptions {
        retention_ms: 0,
        ..DbOptions::default()
    };
    Db::open(dir, opts).unwrap()
}

/// The samples of the series named `n`, over all time.
pub(crate) fn samples(db: &Db, n: &str) -> Vec<(i64, f64)> {
    let got = db
        .querier(i64::MIN, i64::MAX)
        .unwrap()
        .select(&[Matcher::equal("__name__", n)])
        .unwrap();
    got.into_iter()
        .flat_map(|s| s.samples)
        .map(|s| (s.t, s.v))
        .collect()
}

/// One timestamp a minute in `[from, to)` but those in the (inclusive) `deleted` ranges.
pub(crate) fn minutes(from: i64, to: i64, deleted: &[(i64, i64)]) -> Vec<i64> {
    (from..to)
        .step_by(MIN as usize)
        .filter(|t| !deleted.iter().any(|(a, b)| a <= t && t <= b))
        .collect()
}
