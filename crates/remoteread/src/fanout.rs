//! The local storage and the remotes as one storage (`storage/fanout.go`, `merge.go`): the
//! local querier is primary, its errors fail the query; each remote is secondary, its errors
//! become warnings. Series with the same labels are merged, a timestamp given twice keeps the
//! first answer's sample (the local one), as Prometheus' `ChainedSeriesMerge`; floats and
//! native histograms share one timeline, so a local histogram hides a remote float at its
//! timestamp and the other way round.
//!
//! Remotes answer `select` (PromQL) and `series_labels` (`/api/v1/series`, which Prometheus
//! also serves through `Select`); label names and values come from local storage only, with
//! Prometheus' warning "not implemented" when a remote would have been asked. Appends go to
//! local storage.

use std::sync::Arc;

use parking_lot::Mutex;

use bongsu_model::{HistogramSample, Labels, Matcher, Sample};
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
            Some(last) if last.labels == s.labels => merge_into(last, s),
            _ => out.push(s),
        }
    }
    out
}

/// Adds `b`'s samples and histograms to `a`'s, except at the timestamps where `a` has either.
fn merge_into(a: &mut Series, b: Series) {
    if b.histograms.is_empty() && a.histograms.is_empty() {
        a.samples = merge_by_t(&a.samples, b.samples, |s| s.t);
        return;
    }
    let taken = |t: i64| {
        a.samples.binary_search_by_key(&t, |s| s.t).is_ok()
            || a.histograms.binary_search_by_key(&t, |h| h.t).is_ok()
    };
    let floats: Vec<Sample> = b.samples.into_iter().filter(|s| !taken(s.t)).collect();
    let histograms: Vec<HistogramSample> =
        b.histograms.into_iter().filter(|h| !taken(h.t)).collect();
    a.samples = merge_by_t(&a.samples, floats, |s| s.t);
    a.histograms = merge_by_t(&a.histograms, histograms, |h| h.t);
}

/// Two time-ordered lists as one; at a timestamp in both, `a`'s element is kept.
fn merge_by_t<T: Clone>(a: &[T], b: Vec<T>, t: impl Fn(&T) -> i64) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut b = b.into_iter().peekable();
    for x in a {
        while let Some(y) = b.next_if(|y| t(y) < t(x)) {
            out.push(y);
        }
        b.next_if(|y| t(y) == t(x));
        out.push(x.clone());
    }
    out.extend(b);
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

    fn hist(t: i64, count: u64) -> HistogramSample {
        HistogramSample {
            t,
            h: bongsu_model::HistogramValue::Int(std::sync::Arc::new(bongsu_model::Histogram {
                count,
                ..Default::default()
            })),
        }
    }

    #[test]
    fn floats_and_histograms_share_one_timeline_in_a_merge() {
        let mut local = series("a", &[(1, 1.0)]);
        local.histograms = vec![hist(2, 2), hist(4, 4)];
        let mut remote = series("a", &[(2, 20.0), (3, 30.0)]);
        remote.histograms = vec![hist(1, 10), hist(4, 40), hist(5, 50)];
        let got = merge(vec![local], vec![remote]);
        let mut want = series("a", &[(1, 1.0), (3, 30.0)]);
        want.histograms = vec![hist(2, 2), hist(4, 4), hist(5, 50)];
        assert_eq!(got, vec![want]);
    }
}
