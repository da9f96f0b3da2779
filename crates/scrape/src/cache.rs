//! What a target's scrape loop keeps between scrapes: each series as written in the body,
//! its final labels and storage ref, whether it is a histogram series, and the scrape
//! that last saw it (for stale markers).
//!
//! Not here: parsing and relabeling (`append`).

use std::collections::HashMap;
use std::sync::Arc;

use bongsu_model::{HistogramValue, Labels, STALE_NAN};
use bongsu_storage::{AppendError, Appender, SeriesRef};

use super::append::Metadata;
use super::histograms::stale_marker;

/// The kind of a series' last sample, which decides the kind of its stale marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Float,
    IntHistogram,
    FloatHistogram,
}

impl Kind {
    pub(crate) fn of(v: &Value) -> Kind {
        match v {
            Value::Float(_) => Kind::Float,
            Value::Histogram(HistogramValue::Int(_)) => Kind::IntHistogram,
            Value::Histogram(HistogramValue::Float(_)) => Kind::FloatHistogram,
        }
    }

    /// The stale marker of a series whose last sample was of this kind.
    fn stale(self) -> Value {
        match self {
            Kind::Float => Value::Float(STALE_NAN),
            Kind::IntHistogram => Value::Histogram(stale_marker(false)),
            Kind::FloatHistogram => Value::Histogram(stale_marker(true)),
        }
    }
}

/// A scraped sample's value.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Float(f64),
    Histogram(HistogramValue),
}

pub(crate) struct CacheEntry {
    /// `None` when metric relabeling dropped the series.
    pub(crate) series: Option<(Labels, SeriesRef)>,
    /// The exposition gave the sample's timestamp: Prometheus writes no stale marker for such
    /// series, since the exporter, not the scrape, decides when their samples are.
    pub(crate) explicit_ts: bool,
    /// Scrape iteration that last saw the series.
    pub(crate) seen: u64,
    pub(crate) kind: Kind,
}

/// What a target's scrape loop keeps between scrapes.
#[derive(Default)]
pub struct SeriesCache {
    /// Keyed by the series as written in the body (name and labels), so an unchanged series
    /// skips label building, relabeling and the head's lookup.
    pub(crate) entries: HashMap<Box<str>, CacheEntry>,
    pub(crate) iteration: u64,
    /// Metadata per family from the last successful scrape.
    pub metadata: Arc<HashMap<String, Metadata>>,
}

impl SeriesCache {
    pub fn new() -> SeriesCache {
        SeriesCache::default()
    }

    /// Number of series the last successful scrape produced.
    pub fn len(&self) -> usize {
        self.entries.values().filter(|e| e.series.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes stale markers at `t` for every series of the last successful scrape and forgets
    /// them: the target failed or went away, so its series must stop now, not after the
    /// 5-minute lookback.
    pub fn mark_all_stale(&mut self, app: &mut dyn Appender, t: i64) -> u64 {
        let mut n = 0;
        for (_, e) in self.entries.drain() {
            n += u64::from(mark_stale(app, e, t));
        }
        n
    }

    /// Writes stale markers at `t` for the series the scrape `iteration` did not see, and
    /// forgets them; returns how many were written.
    pub(crate) fn mark_unseen_stale(
        &mut self,
        app: &mut dyn Appender,
        iteration: u64,
        t: i64,
    ) -> u64 {
        let gone: Vec<Box<str>> = self
            .entries
            .iter()
            .filter(|(_, e)| e.seen < iteration)
            .map(|(k, _)| k.clone())
            .collect();
        let mut n = 0;
        for k in gone {
            if let Some(e) = self.entries.remove(&k) {
                n += u64::from(mark_stale(app, e, t));
            }
        }
        n
    }
}

/// The stale marker of one cached series, unless it was dropped or has its own timestamps.
fn mark_stale(app: &mut dyn Appender, e: CacheEntry, t: i64) -> bool {
    match (e.series, e.explicit_ts) {
        (Some((labels, sref)), false) => {
            append_value(app, &labels, Some(sref), t, &e.kind.stale()).is_ok()
        }
        _ => false,
    }
}

/// Appends `v` through the cached ref if any, falling back to the labels when the head no
/// longer knows the ref (its series was garbage-collected after a compaction).
pub(crate) fn append_value(
    app: &mut dyn Appender,
    labels: &Labels,
    sref: Option<SeriesRef>,
    t: i64,
    v: &Value,
) -> Result<SeriesRef, AppendError> {
    let by_labels = |app: &mut dyn Appender| match v {
        Value::Float(f) => app.append(labels, t, *f),
        Value::Histogram(h) => app.append_histogram(labels, t, h.clone()),
    };
    let Some(sref) = sref else {
        return by_labels(app);
    };
    let by_ref = match v {
        Value::Float(f) => app.append_ref(sref, t, *f),
        Value::Histogram(h) => app.append_histogram_ref(sref, t, h.clone()),
    };
    match by_ref {
        Err(AppendError::UnknownSeries(_)) => by_labels(app),
        other => other.map(|()| sref),
    }
}
