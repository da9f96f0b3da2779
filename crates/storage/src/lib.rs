//! The storage interface: what the layers above a store of series (the query engine, rules,
//! scraping, remote write, the HTTP API) may ask of it, in the shape of Prometheus' `storage`
//! package: a [`Queryable`] hands out [`Querier`]s over a time range, an [`Appendable`] hands
//! out [`Appender`]s that batch samples until commit, and a [`Storage`] is both.
//!
//! This crate owns those traits, the values that cross them ([`Series`], [`SeriesRef`],
//! [`CommitStats`]) and their errors ([`AppendError`] for one rejected sample, [`StorageError`]
//! for a failure of the store itself). [`logs`] is the same for log lines. It does not store anything durably: `tsdb` implements
//! the traits over its WAL, head and blocks; [`memory::MemStorage`] is a plain in-memory store
//! for tests and for `bongsu test rules`, where nothing needs to outlive the process.

pub mod logs;
pub mod memory;

use std::error::Error;
use std::sync::Arc;

use thiserror::Error;

use bongsu_model::{HistogramSample, HistogramValue, Labels, Matcher, Sample};

/// Identifies a series for fast repeated appends (see [`Appender::append_ref`]). Refs are
/// given out by one store and mean nothing to another.
pub type SeriesRef = u64;

/// One series and its samples in the queried range: float samples and native histogram
/// samples, each in time order without duplicates, and no timestamp in both (a series may
/// change kind over time, as in Prometheus).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<Sample>,
    pub histograms: Vec<HistogramSample>,
}

impl Series {
    /// A series of float samples only.
    pub fn floats(labels: Labels, samples: Vec<Sample>) -> Series {
        Series {
            labels,
            samples,
            histograms: Vec::new(),
        }
    }

    /// Whether it has no sample of either kind.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty() && self.histograms.is_empty()
    }
}

/// Why one sample was rejected. The messages are Prometheus' so clients recognise them.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum AppendError {
    #[error("out of order sample")]
    OutOfOrder,
    #[error("duplicate sample for timestamp")]
    DuplicateTimestamp,
    #[error("out of bounds")]
    OutOfBounds,
    #[error("invalid labels: {0}")]
    InvalidLabels(String),
    #[error("unknown series ref {0}")]
    UnknownSeries(SeriesRef),
    #[error("too many series in the head")]
    TooManySeries,
    /// A native histogram that breaks its own rules (Prometheus' validation message).
    #[error("{0}")]
    InvalidHistogram(String),
}

/// A failure of the store itself (I/O, corruption), as opposed to a rejected sample. The
/// store's own error is kept as the source, with its message.
#[derive(Debug, Error)]
#[error(transparent)]
pub struct StorageError(Box<dyn Error + Send + Sync>);

impl StorageError {
    pub fn new(source: impl Error + Send + Sync + 'static) -> StorageError {
        StorageError(Box::new(source))
    }
}

/// What a commit did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CommitStats {
    pub samples: u64,
    pub new_series: u64,
    /// Samples another writer made out of order between append and commit; dropped, as in
    /// Prometheus.
    pub dropped: u64,
}

/// A consistent view of the store over `[mint, maxt]` (both inclusive, Unix milliseconds).
pub trait Querier: Send + Sync {
    /// Series matching every matcher that have samples in range, sorted by labels.
    fn select(&self, matchers: &[Matcher]) -> Result<Vec<Series>, StorageError>;

    /// Label sets of the series matching `matchers` with data in range, sorted.
    fn series_labels(&self, matchers: &[Matcher]) -> Result<Vec<Labels>, StorageError>;

    /// Sorted, distinct label names; of the series matching `matchers` when any are given.
    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError>;

    /// Sorted, distinct values of label `name`; of the series matching `matchers` if given.
    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError>;
}

/// A batch of samples. Nothing is visible or durable until [`Appender::commit`]; errors from
/// `append` are per sample and leave the batch usable.
pub trait Appender: Send {
    /// Adds a sample for the series with `labels`; returns the series' ref for
    /// [`Appender::append_ref`].
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError>;

    /// Adds a sample for a series by the ref an earlier append returned.
    fn append_ref(&mut self, sref: SeriesRef, t: i64, v: f64) -> Result<(), AppendError>;

    /// Adds a native histogram sample (integer or float, stored as given) for the series
    /// with `labels`; returns the series' ref. A stale marker is a histogram whose sum is
    /// the stale NaN.
    fn append_histogram(
        &mut self,
        labels: &Labels,
        t: i64,
        h: HistogramValue,
    ) -> Result<SeriesRef, AppendError>;

    /// Adds a native histogram sample by series ref.
    fn append_histogram_ref(
        &mut self,
        sref: SeriesRef,
        t: i64,
        h: HistogramValue,
    ) -> Result<(), AppendError>;

    /// The ref of a series the store already holds whose label set is exactly `pairs`
    /// (sorted by name, unique, no empty values), found without building a label set, so
    /// writers that send the same series again and again skip the allocations. `None` when
    /// unknown, or when the store has no such lookup (callers then take [`Appender::append`]).
    fn get_ref(&self, pairs: &[(&str, &str)]) -> Option<SeriesRef> {
        let _ = pairs;
        None
    }

    /// Makes room for `samples` more samples, for callers that know the size of the batch (a
    /// remote-write request): the batch then does not grow step by step as it fills.
    fn reserve(&mut self, samples: usize) {
        let _ = samples;
    }

    /// Number of samples waiting for commit.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes the batch visible and durable (as durable as the store is); the appender is
    /// then empty and may take another batch. On error nothing of the batch is applied.
    fn commit(&mut self) -> Result<CommitStats, StorageError>;

    /// Discards the batch.
    fn rollback(&mut self);
}

/// Hands out queriers.
pub trait Queryable: Send + Sync {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError>;
}

/// Hands out appenders.
pub trait Appendable: Send + Sync {
    fn appender(&self) -> Box<dyn Appender + '_>;
}

/// A store one can both read and write.
pub trait Storage: Queryable + Appendable {}

impl<T: Queryable + Appendable> Storage for T {}

/// A shared store is a store: callers hold `Arc<Db>` or `Arc<dyn Storage>` and pass it on.
impl<T: Queryable + ?Sized> Queryable for Arc<T> {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        (**self).querier(mint, maxt)
    }
}

impl<T: Appendable + ?Sized> Appendable for Arc<T> {
    fn appender(&self) -> Box<dyn Appender + '_> {
        (**self).appender()
    }
}
