//! Turning one scrape body (text, OpenMetrics or protobuf) into float and native histogram
//! samples in an [`Appender`]: target labels, `honor_labels`, metric relabeling, limits
//! (native histograms through `histograms`), the per-target series cache and staleness
//! markers.
//!
//! This file knows nothing of HTTP or scheduling: the scrape loop hands it a body, its format
//! and a timestamp and gets back what was appended.

use std::collections::HashMap;
use std::sync::Arc;

use thiserror::Error;

use bongsu_exposition::proto::ProtoOptions;
use bongsu_exposition::{Entry, MetricType, SeriesEntry};
use bongsu_model::{Label, Labels, LabelsBuilder};
use bongsu_storage::{AppendError, Appender};

pub use super::cache::SeriesCache;
use super::cache::{append_value, CacheEntry, Kind, Value};
use super::format::{BodyFormat, BodyParser};
use super::histograms::{apply_limits, HistogramRules, LimitError, BUCKET_LIMIT_EXCEEDED};

/// Prefix given to a scraped label that clashes with a target label (without `honor_labels`).
pub const EXPORTED_PREFIX: &str = "exported_";

/// Why a scrape's samples were all discarded.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum ScrapeError {
    #[error("{0}")]
    Parse(String),
    #[error("sample_limit exceeded: {count} samples after relabeling, limit {limit}")]
    SampleLimit { count: usize, limit: usize },
    #[error("label_limit exceeded (metric: {metric}, number of labels: {count}, limit: {limit})")]
    LabelLimit {
        metric: String,
        count: usize,
        limit: usize,
    },
    #[error("label_name_length_limit exceeded (metric: {metric}, label name: {name}, length: {len}, limit: {limit})")]
    LabelNameLength {
        metric: String,
        name: String,
        len: usize,
        limit: usize,
    },
    #[error("label_value_length_limit exceeded (metric: {metric}, label name: {name}, value: {value:?}, length: {len}, limit: {limit})")]
    LabelValueLength {
        metric: String,
        name: String,
        value: String,
        len: usize,
        limit: usize,
    },
    #[error("invalid series {series}: {message}")]
    InvalidSeries { series: String, message: String },
    /// A native histogram over `native_histogram_bucket_limit` at its coarsest schema.
    #[error("{BUCKET_LIMIT_EXCEEDED}")]
    BucketLimit,
}

/// Longest series text an error repeats: errors end up in `/api/v1/targets`' `lastError`
/// and in logs, and the series at fault may be huge.
const MAX_SERIES_IN_ERROR: usize = 256;

fn series_in_error(labels: &Labels) -> String {
    let mut text = labels.to_string();
    if text.len() > MAX_SERIES_IN_ERROR {
        let mut cut = MAX_SERIES_IN_ERROR;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// How a job treats scraped samples (from its scrape config). Limits of 0 mean no limit, as
/// in Prometheus.
#[derive(Debug, Clone, Copy, Default)]
pub struct SampleRules {
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    /// Write stale markers for series with explicit timestamps too.
    pub track_timestamps_staleness: bool,
    pub sample_limit: usize,
    pub label_limit: usize,
    pub label_name_length_limit: usize,
    pub label_value_length_limit: usize,
    pub histograms: HistogramRules,
}

/// Per-scrape settings that come from the scrape config and the target.
pub struct ScrapeOptions<'a> {
    /// The target's labels (`job`, `instance`, and whatever relabeling left).
    pub target_labels: &'a Labels,
    pub rules: SampleRules,
    /// `metric_relabel_configs`; `None` from the function drops the sample.
    pub metric_relabel: &'a (dyn Fn(Labels) -> Option<Labels> + Sync),
}

/// What one scrape appended.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScrapeReport {
    /// Samples in the body.
    pub scraped: u64,
    /// Samples left after metric relabeling.
    pub post_relabel: u64,
    /// Series not in the previous scrape.
    pub series_added: u64,
    /// Samples the storage rejected as out of order.
    pub out_of_order: u64,
    /// Samples the storage rejected as a second value at a timestamp it has.
    pub duplicate_timestamp: u64,
    /// Samples the storage rejected as too old for the head.
    pub out_of_bounds: u64,
    /// Stale markers written for series that disappeared.
    pub stale: u64,
}

/// HELP, TYPE and UNIT of one metric family, for the metadata APIs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    pub kind: Option<MetricType>,
    pub help: String,
    pub unit: String,
}

/// Builds a series key from the sample as written.
fn raw_key(s: &SeriesEntry<'_>, buf: &mut String) {
    buf.clear();
    buf.push_str(s.name);
    for (n, v) in &s.labels {
        buf.push('\u{0}');
        buf.push_str(n);
        buf.push('\u{0}');
        buf.push_str(v);
    }
}

/// The final label set of a scraped sample, or `None` if metric relabeling drops it.
fn final_labels(
    s: &SeriesEntry<'_>,
    opts: &ScrapeOptions<'_>,
) -> Result<Option<Labels>, ScrapeError> {
    let scraped = s.to_labels().map_err(|e| ScrapeError::InvalidSeries {
        series: s.name.to_string(),
        message: e.to_string(),
    })?;
    let mut b: LabelsBuilder = scraped.builder();
    for l in opts.target_labels.iter() {
        match scraped.get(&l.name) {
            Some(_) if opts.rules.honor_labels => {}
            Some(existing) => {
                b.set(format!("{EXPORTED_PREFIX}{}", l.name), existing);
                b.set(l.name.clone(), l.value.clone());
            }
            None => {
                b.set(l.name.clone(), l.value.clone());
            }
        }
    }
    let labels = b.build().map_err(|e| ScrapeError::InvalidSeries {
        series: s.name.to_string(),
        message: e.to_string(),
    })?;
    let Some(labels) = (opts.metric_relabel)(labels) else {
        return Ok(None);
    };
    if labels.metric_name().is_none_or(str::is_empty) {
        return Ok(None);
    }
    check_limits(&labels, opts)?;
    Ok(Some(labels))
}

fn check_limits(labels: &Labels, opts: &ScrapeOptions<'_>) -> Result<(), ScrapeError> {
    let metric = || labels.metric_name().unwrap_or_default().to_string();
    if opts.rules.label_limit > 0 && labels.len() > opts.rules.label_limit {
        return Err(ScrapeError::LabelLimit {
            metric: metric(),
            count: labels.len(),
            limit: opts.rules.label_limit,
        });
    }
    for Label { name, value } in labels.iter() {
        if opts.rules.label_name_length_limit > 0 && name.len() > opts.rules.label_name_length_limit
        {
            return Err(ScrapeError::LabelNameLength {
                metric: metric(),
                name: name.to_string(),
                len: name.len(),
                limit: opts.rules.label_name_length_limit,
            });
        }
        if opts.rules.label_value_length_limit > 0
            && value.len() > opts.rules.label_value_length_limit
        {
            return Err(ScrapeError::LabelValueLength {
                metric: metric(),
                name: name.to_string(),
                value: value.to_string(),
                len: value.len(),
                limit: opts.rules.label_value_length_limit,
            });
        }
    }
    Ok(())
}

/// Parses `body` and appends its samples at scrape time `t` (ms). On error nothing of this
/// scrape should be committed (the caller drops `app`); the cache then has no new series
/// (entries already there may have been marked seen, which the next scrape overrides).
pub fn append_scrape(
    app: &mut dyn Appender,
    cache: &mut SeriesCache,
    body: &[u8],
    format: BodyFormat,
    t: i64,
    opts: &ScrapeOptions<'_>,
) -> Result<ScrapeReport, ScrapeError> {
    let mut report = ScrapeReport::default();
    // Every scrape, failed or not, is a new iteration: cached entries are marked seen in
    // place, and a failed scrape's marks are older than the next scrape's iteration.
    cache.iteration += 1;
    let mut scrape = Scrape {
        iteration: cache.iteration,
        key: String::new(),
        fresh: Vec::new(),
    };
    let h = &opts.rules.histograms;
    let proto = ProtoOptions {
        native_histograms: h.native,
        keep_classic: h.keep_classic,
        convert_nhcb: h.convert_nhcb,
    };
    let mut parser = BodyParser::new(body, format, proto);
    let mut metadata: HashMap<String, Metadata> = HashMap::new();
    loop {
        let entry = parser.next_entry().map_err(ScrapeError::Parse)?;
        let (s, value) = match entry {
            None => break,
            Some(Entry::Series(s)) => {
                let v = s.value;
                (s, Value::Float(v))
            }
            Some(Entry::Histogram { series, h }) => {
                let h = match apply_limits(h, &opts.rules.histograms) {
                    Ok(h) => h,
                    Err(LimitError::BucketLimit) => return Err(ScrapeError::BucketLimit),
                    Err(LimitError::Invalid(message)) => {
                        return Err(ScrapeError::InvalidSeries {
                            series: series.name.to_string(),
                            message,
                        })
                    }
                };
                (series, Value::Histogram(h))
            }
            Some(Entry::Help { metric, text }) => {
                metadata.entry(metric.to_string()).or_default().help = text.into_owned();
                continue;
            }
            Some(Entry::Type { metric, kind }) => {
                metadata.entry(metric.to_string()).or_default().kind = Some(kind);
                continue;
            }
            Some(Entry::Unit { metric, unit }) => {
                metadata.entry(metric.to_string()).or_default().unit = unit.to_string();
                continue;
            }
        };
        report.scraped += 1;
        scrape.sample(app, cache, &s, value, t, opts, &mut report)?;
        if opts.rules.sample_limit > 0 && report.post_relabel as usize > opts.rules.sample_limit {
            return Err(ScrapeError::SampleLimit {
                count: report.post_relabel as usize,
                limit: opts.rules.sample_limit,
            });
        }
    }

    // The scrape succeeded: add its new series, and mark series that disappeared as stale.
    cache.entries.extend(scrape.fresh);
    report.stale += cache.mark_unseen_stale(app, scrape.iteration, t);
    cache.metadata = Arc::new(metadata);
    Ok(report)
}

/// The state of one scrape's appends.
struct Scrape {
    iteration: u64,
    /// Reused buffer for the series key.
    key: String,
    /// New cache entries, collected apart so a failed scrape adds no series to the cache.
    fresh: Vec<(Box<str>, CacheEntry)>,
}

impl Scrape {
    /// Appends one sample (float or histogram) of the body.
    #[allow(clippy::too_many_arguments)]
    fn sample(
        &mut self,
        app: &mut dyn Appender,
        cache: &mut SeriesCache,
        s: &SeriesEntry<'_>,
        value: Value,
        t: i64,
        opts: &ScrapeOptions<'_>,
        report: &mut ScrapeReport,
    ) -> Result<(), ScrapeError> {
        let explicit_ts = opts.rules.honor_timestamps
            && s.timestamp_ms.is_some()
            && !opts.rules.track_timestamps_staleness;
        let ts = if opts.rules.honor_timestamps {
            s.timestamp_ms.unwrap_or(t)
        } else {
            t
        };
        raw_key(s, &mut self.key);
        // The common case: a series of the previous scrape. No allocation, no label work.
        if let Some(e) = cache.entries.get_mut(self.key.as_str()) {
            e.seen = self.iteration;
            let Some((labels, sref)) = &mut e.series else {
                return Ok(()); // dropped by metric relabeling
            };
            report.post_relabel += 1;
            match append_value(app, labels, Some(*sref), ts, &value) {
                // The ref changes when the head had dropped the series and made it anew.
                Ok(r) => {
                    *sref = r;
                    e.kind = Kind::of(&value);
                }
                Err(e) if report.count_rejected(&e) => {}
                Err(e) => {
                    return Err(ScrapeError::InvalidSeries {
                        series: series_in_error(labels),
                        message: e.to_string(),
                    })
                }
            }
            return Ok(());
        }
        let entry = match final_labels(s, opts)? {
            // Dropped by metric relabeling: remembered, so the next scrape skips it fast.
            None => CacheEntry {
                series: None,
                explicit_ts,
                seen: self.iteration,
                kind: Kind::of(&value),
            },
            Some(labels) => {
                let sref = match append_value(app, &labels, None, ts, &value) {
                    Ok(r) => r,
                    Err(e) if report.count_rejected(&e) => {
                        report.post_relabel += 1;
                        return Ok(());
                    }
                    Err(e) => {
                        return Err(ScrapeError::InvalidSeries {
                            series: series_in_error(&labels),
                            message: e.to_string(),
                        })
                    }
                };
                report.post_relabel += 1;
                report.series_added += 1;
                CacheEntry {
                    series: Some((labels, sref)),
                    explicit_ts,
                    seen: self.iteration,
                    kind: Kind::of(&value),
                }
            }
        };
        self.fresh.push((self.key.as_str().into(), entry));
        Ok(())
    }
}

impl ScrapeReport {
    /// Counts `e` if it rejects one sample but not the scrape, as in Prometheus; false for
    /// errors that fail the scrape.
    fn count_rejected(&mut self, e: &AppendError) -> bool {
        let counter = match e {
            AppendError::OutOfOrder => &mut self.out_of_order,
            AppendError::DuplicateTimestamp => &mut self.duplicate_timestamp,
            AppendError::OutOfBounds => &mut self.out_of_bounds,
            _ => return false,
        };
        *counter += 1;
        true
    }
}

#[cfg(test)]
#[path = "append_tests.rs"]
mod tests;
