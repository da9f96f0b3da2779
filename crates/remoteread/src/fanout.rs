//! The local storage and the remotes as one storage (`storage/fanout.go`, `merge.go`): the
//! local querier is primary, its errors fail the query; each remote is secondary, its errors
//! become warnings. Series with the same labels are merged, a timestamp given twice keeps the
//! first answer's sample (the local one), as Prometheus' `ChainedSeriesMerge`.
//!
//! Remotes answer `select` (PromQL) and `series_labels` (`/api/v1/series`, which Prometheus
//! also serves through `Select`); label names and values come from local storage only, with
//! Prometheus' warning "not implemented" when a remote would have been asked. Appends go to
//! local storage.

use std::sync::Arc;

use parking_lot::Mutex;

use bongsu_model::{Labels, Matcher, Sample};
use bongsu_storage::{Appendable, Appender, Querier, Queryable, Series, Storage, StorageError};

use crate::remote::Remote;
use crate::RemoteReads;

/// Where a query's remote errors go: collected for the API's `warnings`, or logged.
#[derive(Clone, Default)]
pub struct Warnings(Option<Arc<Mutex<Vec<String>>>>);

impl Warnings {
    /// Collects warnings for [`Warnings::take`].
    pub fn collect() -> Warnings {
        Warnings(Some(Arc::default()))
    }

    /// The warnings so far, each once.
    pub fn take(&self) -> Vec<String> {
        match &self.0 {
            Some(w) => std::mem::take(&mut *w.lock()),
            None => Vec::new(),
        }
    }

    fn add(&self, message: String) {
        match &self.0 {
            Some(w) => {
                let mut w = w.lock();
                if !w.contains(&message) {
                    w.push(message);
                }
            }
            None => tracing::warn!(error = %message, "remote read failed"),
        }
    }
}

/// Local storage with the remotes of `remote_read`.
pub struct Fanout {
    local: Arc<dyn Storage>,
    remotes: Arc<RemoteReads>,
    warnings: Warnings,
}

impl Fanout {
    pub fn new(local: Arc<dyn Storage>, remotes: Arc<RemoteReads>, warnings: Warnings) -> Fanout {
        Fanout {
            local,
            remotes,
            warnings,
        }
    }
}

impl Queryable for Fanout {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        let remotes = self.remotes.remotes();
        let local_start = match remotes.is_empty() {
            true => i64::MAX,
            false => self.remotes.local_start(),
        };
        Ok(Box::new(FanoutQuerier {
            local: self.local.querier(mint, maxt)?,
            remotes,
            local_start,
            mint,
            maxt,
            warnings: self.warnings.clone(),
        }))
    }
}

impl Appendable for Fanout {
    fn appender(&self) -> Box<dyn Appender + '_> {
        self.local.appender()
    }
}

struct FanoutQuerier<'a> {
    local: Box<dyn Querier + 'a>,
    remotes: Arc<Vec<Remote>>,
    local_start: i64,
    mint: i64,
    maxt: i64,
    warnings: Warnings,
}

impl FanoutQuerier<'_> {
    fn remote_series(&self, matchers: &[Matcher]) -> Vec<Vec<Series>> {
        let mut out = Vec::new();
        for r in self.remotes.iter() {
            match r.select(self.mint, self.maxt, self.local_start, matchers) {
                Ok(s) => out.push(s),
                Err(e) => self.warnings.add(format!("remote_read: {e}")),
            }
        }
        out
    }
}

impl FanoutQuerier<'_> {
    /// Prometheus' remote querier answers label names and values with the error "not
    /// implemented", which its fanout turns into a warning whenever a remote would be asked.
    fn no_remote_labels(&self) {
        if self
            .remotes
            .iter()
            .any(|r| r.covers(self.mint, self.local_start))
        {
            self.warnings.add("not implemented".to_string());
        }
    }
}

impl Querier for FanoutQuerier<'_> {
    fn select(&self, matchers: &[Matcher]) -> Result<Vec<Series>, StorageError> {
        let mut series = self.local.select(matchers)?;
        for remote in self.remote_series(matchers) {
            series = merge(series, remote);
        }
        Ok(series)
    }

    fn series_labels(&self, matchers: &[Matcher]) -> Result<Vec<Labels>, StorageError> {
        let mut labels = self.local.series_labels(matchers)?;
        for remote in self.remote_series(matchers) {
            labels.extend(remote.into_iter().map(|s| s.labels));
        }
        labels.sort();
        labels.dedup();
        Ok(labels)
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        self.no_remote_labels();
        self.local.label_names(matchers)
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        self.no_remote_labels();
        self.local.label_values(name, matchers)
    }
}

/// Merges two lists of series sorted by labels (each may repeat a label set); series with
/// equal labels become one, with a timestamp given twice keeping the earlier sample (`a`'s
/// before `b`'s).
pub(crate) fn merge(a: Vec<Series>, b: Vec<Series>) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if y.labels < x.labels => b.next(),
            (Some(_), _) => a.next(),
            (None, _) => b.next(),
        };
        let Some(s) = next else { break };
        match out.last_mut() {
            Some(last) if last.labels == s.labels => {
                last.samples = merge_samples(&last.samples, &s.samples)
            }
            _ => out.push(s),
        }
    }
    out
}

fn merge_samples(a: &[Sample], b: &[Sample]) -> Vec<Sample> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if y.t < x.t => {
                out.push(*y);
                j += 1;
            }
            (Some(x), Some(y)) => {
                out.push(*x);
                i += 1;
                if y.t == x.t {
                    j += 1;
                }
            }
            (Some(x), None) => {
                out.push(*x);
                i += 1;
            }
            (None, Some(y)) => {
                out.push(*y);
                j += 1;
            }
            (None, None) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, s: &[(i64, f64)]) -> Series {
        Series {
            labels: Labels::from_pairs(&[("__name__", name)]).unwrap(),
            samples: s.iter().map(|&(t, v)| Sample { t, v }).collect(),
            histograms: Vec::new(),
        }
    }

    #[test]
    fn merge_joins_equal_labels_and_keeps_the_first_duplicate() {
        let local = vec![series("a", &[(1, 1.0), (3, 3.0)]), series("c", &[(1, 1.0)])];
        let remote = vec![
            series("a", &[(2, 20.0), (3, 30.0)]),
            series("b", &[(1, 5.0)]),
        ];
        let got = merge(local, remote);
        assert_eq!(
            got,
            vec![
                series("a", &[(1, 1.0), (2, 20.0), (3, 3.0)]),
                series("b", &[(1, 5.0)]),
                series("c", &[(1, 1.0)]),
            ]
        );
    }
}
