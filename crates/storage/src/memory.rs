//! [`MemStorage`]: every series and sample in memory, behind one lock.
//!
//! It keeps the rules a real store keeps where callers can see them — samples in time order
//! per series, a second value at the same timestamp refused, refs stable for the store's
//! life — and nothing else: no durability, no compression, no retention, no out-of-bounds
//! window. It exists so that the query engine and rule evaluation can be tested without a
//! data directory, and for `bongsu test rules`, whose data lives only as long as one test.

use std::collections::{BTreeSet, HashMap};

use parking_lot::RwLock;

use bongsu_model::{HistogramSample, HistogramValue, Labels, Matcher, Sample};

use crate::{
    AppendError, Appendable, Appender, CommitStats, Querier, Queryable, Series, SeriesRef,
    StorageError,
};

/// An in-memory store of series.
#[derive(Default)]
pub struct MemStorage {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Indexed by ref.
    series: Vec<MemSeries>,
    by_labels: HashMap<Labels, SeriesRef>,
}

struct MemSeries {
    labels: Labels,
    samples: Vec<Sample>,
    histograms: Vec<HistogramSample>,
}

/// A sample of either kind, as it waits for commit.
#[derive(Clone, PartialEq)]
enum Value {
    Float(f64),
    Histogram(HistogramValue),
}

impl Value {
    /// Equal values at one timestamp are one sample appended twice; floats compare by bits.
    fn same(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Histogram(a), Value::Histogram(b)) => a == b,
            _ => false,
        }
    }
}

impl MemSeries {
    fn newest(&self) -> Option<(i64, Value)> {
        let f = self.samples.last().map(|s| (s.t, Value::Float(s.v)));
        let h = self
            .histograms
            .last()
            .map(|s| (s.t, Value::Histogram(s.h.clone())));
        match (f, h) {
            (Some(f), Some(h)) => Some(if h.0 > f.0 { h } else { f }),
            (f, h) => f.or(h),
        }
    }

    fn newest_t(&self) -> Option<i64> {
        let f = self.samples.last().map(|s| s.t);
        let h = self.histograms.last().map(|s| s.t);
        f.max(h)
    }
}

impl Inner {
    fn get(&self, sref: SeriesRef) -> Option<&MemSeries> {
        usize::try_from(sref).ok().and_then(|i| self.series.get(i))
    }

    /// Where the next sample of `sref` must go: after its newest sample of either kind.
    fn last(&self, sref: SeriesRef) -> Option<(i64, Value)> {
        self.get(sref)?.newest()
    }

    fn matching<'a>(&'a self, matchers: &'a [Matcher]) -> impl Iterator<Item = &'a MemSeries> {
        self.series.iter().filter(move |s| {
            matchers
                .iter()
                .all(|m| m.matches(s.labels.get(&m.name).unwrap_or("")))
        })
    }
}

impl MemStorage {
    pub fn new() -> MemStorage {
        MemStorage::default()
    }
}

impl Queryable for MemStorage {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        Ok(Box::new(MemQuerier {
            store: self,
            mint,
            maxt,
        }))
    }
}

impl Appendable for MemStorage {
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(MemAppender {
            store: self,
            pending: Vec::new(),
            newest: HashMap::new(),
            created: 0,
        })
    }
}

struct MemQuerier<'a> {
    store: &'a MemStorage,
    mint: i64,
    maxt: i64,
}

impl MemQuerier<'_> {
    fn in_range<'s>(&self, s: &'s MemSeries) -> (&'s [Sample], &'s [HistogramSample]) {
        let from = s.samples.partition_point(|x| x.t < self.mint);
        let to = s.samples.partition_point(|x| x.t <= self.maxt);
        let hfrom = s.histograms.partition_point(|x| x.t < self.mint);
        let hto = s.histograms.partition_point(|x| x.t <= self.maxt);
        (
            &s.samples[from..to.max(from)],
            &s.histograms[hfrom..hto.max(hfrom)],
        )
    }

    fn has_data(&self, s: &MemSeries) -> bool {
        let (f, h) = self.in_range(s);
        !f.is_empty() || !h.is_empty()
    }
}

impl Querier for MemQuerier<'_> {
    fn select(&self, matchers: &[Matcher]) -> Result<Vec<Series>, StorageError> {
        let inner = self.store.inner.read();
        let mut out: Vec<Series> = inner
            .matching(matchers)
            .filter_map(|s| {
                let (samples, histograms) = self.in_range(s);
                let series = Series {
                    labels: s.labels.clone(),
                    samples: samples.to_vec(),
                    histograms: histograms.to_vec(),
                };
                (!series.is_empty()).then_some(series)
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
    }

    fn series_labels(&self, matchers: &[Matcher]) -> Result<Vec<Labels>, StorageError> {
        let inner = self.store.inner.read();
        let mut out: Vec<Labels> = inner
            .matching(matchers)
            .filter(|s| self.has_data(s))
            .map(|s| s.labels.clone())
            .collect();
        out.sort();
        Ok(out)
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let names: BTreeSet<String> = if matchers.is_empty() {
            let inner = self.store.inner.read();
            inner
                .series
                .iter()
                .flat_map(|s| s.labels.iter().map(|l| l.name.to_string()))
                .collect()
        } else {
            self.series_labels(matchers)?
                .iter()
                .flat_map(|ls| ls.iter().map(|l| l.name.to_string()))
                .collect()
        };
        Ok(names.into_iter().collect())
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let values: BTreeSet<String> = if matchers.is_empty() {
            let inner = self.store.inner.read();
            inner
                .series
                .iter()
                .filter_map(|s| s.labels.get(name).map(str::to_string))
                .collect()
        } else {
            self.series_labels(matchers)?
                .iter()
                .filter_map(|ls| ls.get(name).map(str::to_string))
                .collect()
        };
        Ok(values.into_iter().collect())
    }
}

struct MemAppender<'a> {
    store: &'a MemStorage,
    pending: Vec<(SeriesRef, i64, Value)>,
    /// Newest pending `(t, value)` per series, to check order within the batch.
    newest: HashMap<SeriesRef, (i64, Value)>,
    /// Series this batch created (as the tsdb, a series exists from its first append on,
    /// without samples until a commit gives it some).
    created: u64,
}

impl MemAppender<'_> {
    fn push(&mut self, sref: SeriesRef, t: i64, v: Value) -> Result<(), AppendError> {
        let newest = match self.newest.get(&sref) {
            Some(n) => Some(n.clone()),
            None => self.store.inner.read().last(sref),
        };
        match newest {
            Some((last_t, _)) if t < last_t => return Err(AppendError::OutOfOrder),
            Some((last_t, last)) if t == last_t => {
                return if last.same(&v) {
                    Ok(())
                } else {
                    Err(AppendError::DuplicateTimestamp)
                };
            }
            _ => {}
        }
        self.newest.insert(sref, (t, v.clone()));
        self.pending.push((sref, t, v));
        Ok(())
    }

    /// The ref of the series with `labels`, created if new.
    fn series_ref(&mut self, labels: &Labels) -> Result<SeriesRef, AppendError> {
        if labels.is_empty() {
            return Err(AppendError::InvalidLabels("series has no labels".into()));
        }
        if let Some(r) = self.store.inner.read().by_labels.get(labels) {
            return Ok(*r);
        }
        let mut inner = self.store.inner.write();
        if let Some(r) = inner.by_labels.get(labels) {
            return Ok(*r);
        }
        let r = inner.series.len() as SeriesRef;
        inner.by_labels.insert(labels.clone(), r);
        inner.series.push(MemSeries {
            labels: labels.clone(),
            samples: Vec::new(),
            histograms: Vec::new(),
        });
        self.created += 1;
        Ok(r)
    }

    fn known(&self, sref: SeriesRef) -> Result<(), AppendError> {
        match self.store.inner.read().get(sref) {
            Some(_) => Ok(()),
            None => Err(AppendError::UnknownSeries(sref)),
        }
    }
}

impl Appender for MemAppender<'_> {
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        let sref = self.series_ref(labels)?;
        self.push(sref, t, Value::Float(v))?;
        Ok(sref)
    }

    fn append_ref(&mut self, sref: SeriesRef, t: i64, v: f64) -> Result<(), AppendError> {
        self.known(sref)?;
        self.push(sref, t, Value::Float(v))
    }

    fn append_histogram(
        &mut self,
        labels: &Labels,
        t: i64,
        h: HistogramValue,
    ) -> Result<SeriesRef, AppendError> {
        let sref = self.series_ref(labels)?;
        self.push(sref, t, Value::Histogram(h))?;
        Ok(sref)
    }

    fn append_histogram_ref(
        &mut self,
        sref: SeriesRef,
        t: i64,
        h: HistogramValue,
    ) -> Result<(), AppendError> {
        self.known(sref)?;
        self.push(sref, t, Value::Histogram(h))
    }

    fn get_ref(&self, pairs: &[(&str, &str)]) -> Option<SeriesRef> {
        let labels = Labels::from_pairs(pairs).ok()?;
        self.store.inner.read().by_labels.get(&labels).copied()
    }

    fn len(&self) -> usize {
        self.pending.len()
    }

    fn commit(&mut self) -> Result<CommitStats, StorageError> {
        let mut stats = CommitStats {
            new_series: std::mem::take(&mut self.created),
            ..CommitStats::default()
        };
        let mut inner = self.store.inner.write();
        for (sref, t, v) in self.pending.drain(..) {
            let Some(series) = usize::try_from(sref)
                .ok()
                .and_then(|i| inner.series.get_mut(i))
            else {
                stats.dropped += 1;
                continue;
            };
            // Another writer may have committed a newer sample since this one was checked.
            if series.newest_t().is_some_and(|newest| newest >= t) {
                stats.dropped += 1;
                continue;
            }
            match v {
                Value::Float(v) => series.samples.push(Sample { t, v }),
                Value::Histogram(h) => series.histograms.push(HistogramSample { t, h }),
            }
            stats.samples += 1;
        }
        self.newest.clear();
        Ok(stats)
    }

    fn rollback(&mut self) {
        self.pending.clear();
        self.newest.clear();
    }
}

#[cfg(test)]
mod tests {
    use bongsu_model::MatchOp;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs).unwrap()
    }

    #[test]
    fn appends_become_visible_on_commit_in_label_order() {
        let store = MemStorage::new();
        let mut app = store.appender();
        let b = app.append(&labels(&[("__name__", "b")]), 10, 1.0).unwrap();
        app.append(&labels(&[("__name__", "a")]), 20, 2.0).unwrap();
        app.append_ref(b, 30, 3.0).unwrap();
        assert_eq!(
            app.append_ref(7, 30, 3.0),
            Err(AppendError::UnknownSeries(7))
        );
        assert!(store
            .querier(0, 100)
            .unwrap()
            .select(&[])
            .unwrap()
            .is_empty());
        let stats = app.commit().unwrap();
        assert_eq!((stats.samples, stats.new_series), (3, 2));
        let got = store.querier(0, 100).unwrap().select(&[]).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|s| s.labels.metric_name().unwrap())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(got[1].samples.len(), 2);
    }

    #[test]
    fn order_and_duplicates_as_the_tsdb() {
        let store = MemStorage::new();
        let l = labels(&[("__name__", "x")]);
        let mut app = store.appender();
        app.append(&l, 10, 1.0).unwrap();
        app.append(&l, 10, 1.0).unwrap();
        assert_eq!(
            app.append(&l, 10, 2.0),
            Err(AppendError::DuplicateTimestamp)
        );
        assert_eq!(app.append(&l, 5, 2.0), Err(AppendError::OutOfOrder));
        app.commit().unwrap();
        assert_eq!(app.append(&l, 9, 2.0), Err(AppendError::OutOfOrder));
        assert_eq!(
            store.appender().append(&Labels::empty(), 1, 1.0),
            Err(AppendError::InvalidLabels("series has no labels".into()))
        );
    }

    #[test]
    fn select_filters_by_matchers_and_range() {
        let store = MemStorage::new();
        let mut app = store.appender();
        for (job, t) in [("a", 10), ("b", 50), ("c", 90)] {
            app.append(&labels(&[("__name__", "up"), ("job", job)]), t, 1.0)
                .unwrap();
        }
        app.commit().unwrap();
        let q = store.querier(20, 100).unwrap();
        let m = Matcher::new(MatchOp::NotEqual, "job", "c").unwrap();
        let got = q.select(std::slice::from_ref(&m)).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].labels.get("job"), Some("b"));
        assert_eq!(q.label_values("job", &[]).unwrap(), ["a", "b", "c"]);
        assert_eq!(q.label_values("job", &[m]).unwrap(), ["b"]);
        assert_eq!(q.label_names(&[]).unwrap(), ["__name__", "job"]);
        let app = store.appender();
        assert_eq!(app.get_ref(&[("__name__", "up"), ("job", "b")]), Some(1));
        assert_eq!(app.get_ref(&[("__name__", "up"), ("job", "z")]), None);
    }

    #[test]
    fn histograms_and_floats_share_one_timeline() {
        use bongsu_model::Histogram;
        use std::sync::Arc;
        let store = MemStorage::new();
        let l = labels(&[("__name__", "h")]);
        let h = HistogramValue::Int(Arc::new(Histogram {
            count: 3,
            sum: 1.5,
            ..Histogram::default()
        }));
        let mut app = store.appender();
        let r = app.append_histogram(&l, 10, h.clone()).unwrap();
        app.append_histogram_ref(r, 10, h.clone()).unwrap();
        assert_eq!(
            app.append_ref(r, 10, 1.0),
            Err(AppendError::DuplicateTimestamp)
        );
        app.append_ref(r, 20, 1.0).unwrap();
        assert_eq!(
            app.append_histogram_ref(r, 15, h.clone()),
            Err(AppendError::OutOfOrder)
        );
        app.commit().unwrap();
        let got = store.querier(0, 100).unwrap().select(&[]).unwrap();
        assert_eq!(got[0].samples, [Sample::new(20, 1.0)]);
        assert_eq!(got[0].histograms, [HistogramSample { t: 10, h }]);
    }
}
