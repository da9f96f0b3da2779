//! Turning one scrape body into samples in an [`Appender`]: target labels, `honor_labels`,
//! metric relabeling, limits, the per-target series cache and staleness markers.
//!
//! This file knows nothing of HTTP or scheduling: the scrape loop hands it a body and a
//! timestamp and gets back what was appended.

use std::collections::HashMap;
use std::sync::Arc;

use thiserror::Error;

use bongsu_exposition::{Entry, Format, MetricType, Parser, SeriesEntry};
use bongsu_model::{Label, Labels, LabelsBuilder, STALE_NAN};
use bongsu_storage::{AppendError, Appender, SeriesRef};

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

struct CacheEntry {
    /// `None` when metric relabeling dropped the series.
    series: Option<(Labels, SeriesRef)>,
    /// The exposition gave the sample's timestamp: Prometheus writes no stale marker for such
    /// series, since the exporter, not the scrape, decides when their samples are.
    explicit_ts: bool,
    /// Scrape iteration that last saw the series.
    seen: u64,
}

/// What a target's scrape loop keeps between scrapes.
#[derive(Default)]
pub struct SeriesCache {
    /// Keyed by the series as written in the body (name and labels), so an unchanged series
    /// skips label building, relabeling and the head's lookup.
    entries: HashMap<Box<str>, CacheEntry>,
    iteration: u64,
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
            if let (Some((labels, sref)), false) = (e.series, e.explicit_ts) {
                n += u64::from(append_cached(app, &labels, sref, t, STALE_NAN).is_ok());
            }
        }
        n
    }
}

/// Appends `v` through the cached ref, falling back to the labels when the head no longer
/// knows the ref (its series was garbage-collected after a compaction).
fn append_cached(
    app: &mut dyn Appender,
    labels: &Labels,
    sref: SeriesRef,
    t: i64,
    v: f64,
) -> Result<SeriesRef, AppendError> {
    match app.append_ref(sref, t, v) {
        Err(AppendError::UnknownSeries(_)) => app.append(labels, t, v),
        other => other.map(|()| sref),
    }
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
    format: Format,
    t: i64,
    opts: &ScrapeOptions<'_>,
) -> Result<ScrapeReport, ScrapeError> {
    let mut report = ScrapeReport::default();
    // Every scrape, failed or not, is a new iteration: cached entries are marked seen in
    // place, and a failed scrape's marks are older than the next scrape's iteration.
    cache.iteration += 1;
    let iteration = cache.iteration;
    let mut parser = Parser::new(body, format);
    let mut key = String::new();
    let mut metadata: HashMap<String, Metadata> = HashMap::new();
    // New cache entries are collected apart, so a failed scrape adds no series to the cache.
    let mut fresh: Vec<(Box<str>, CacheEntry)> = Vec::new();
    loop {
        let entry = parser
            .next_entry()
            .map_err(|e| ScrapeError::Parse(e.to_string()))?;
        let s = match entry {
            None => break,
            Some(Entry::Series(s)) => s,
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
        let explicit_ts = opts.rules.honor_timestamps
            && s.timestamp_ms.is_some()
            && !opts.rules.track_timestamps_staleness;
        let ts = if opts.rules.honor_timestamps {
            s.timestamp_ms.unwrap_or(t)
        } else {
            t
        };
        raw_key(&s, &mut key);
        // The common case: a series of the previous scrape. No allocation, no label work.
        if let Some(e) = cache.entries.get_mut(key.as_str()) {
            e.seen = iteration;
            let Some((labels, sref)) = &mut e.series else {
                continue; // dropped by metric relabeling
            };
            report.post_relabel += 1;
            match append_cached(app, labels, *sref, ts, s.value) {
                // The ref changes when the head had dropped the series and made it anew.
                Ok(r) => *sref = r,
                Err(e) if report.count_rejected(&e) => {}
                Err(e) => {
                    return Err(ScrapeError::InvalidSeries {
                        series: series_in_error(labels),
                        message: e.to_string(),
                    })
                }
            }
        } else {
            let entry = match final_labels(&s, opts)? {
                // Dropped by metric relabeling: remembered, so the next scrape skips it fast.
                None => CacheEntry {
                    series: None,
                    explicit_ts,
                    seen: iteration,
                },
                Some(labels) => {
                    let sref = match app.append(&labels, ts, s.value) {
                        Ok(r) => r,
                        Err(e) if report.count_rejected(&e) => {
                            report.post_relabel += 1;
                            continue;
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
                        seen: iteration,
                    }
                }
            };
            fresh.push((key.as_str().into(), entry));
        }
        if opts.rules.sample_limit > 0 && report.post_relabel as usize > opts.rules.sample_limit {
            return Err(ScrapeError::SampleLimit {
                count: report.post_relabel as usize,
                limit: opts.rules.sample_limit,
            });
        }
    }
    if opts.rules.sample_limit > 0 && report.post_relabel as usize > opts.rules.sample_limit {
        return Err(ScrapeError::SampleLimit {
            count: report.post_relabel as usize,
            limit: opts.rules.sample_limit,
        });
    }

    // The scrape succeeded: add its new series, and mark series that disappeared as stale.
    cache.entries.extend(fresh);
    let mut gone = Vec::new();
    for (k, e) in &cache.entries {
        if e.seen < iteration {
            gone.push(k.clone());
        }
    }
    for k in gone {
        if let Some(CacheEntry {
            series: Some((labels, sref)),
            explicit_ts: false,
            ..
        }) = cache.entries.remove(&k)
        {
            report.stale += u64::from(append_cached(app, &labels, sref, t, STALE_NAN).is_ok());
        }
    }
    cache.metadata = Arc::new(metadata);
    Ok(report)
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
mod tests {
    use super::*;
    use bongsu_model::{is_stale_nan, Matcher};
    use bongsu_storage::memory::MemStorage;
    use bongsu_storage::{Appendable, Queryable};

    const BODY1: &str =
        "# TYPE up_ish gauge\n# HELP up_ish A gauge.\nup_ish{job=\"inner\"} 1\nother 2\n";
    const BODY2: &str = "# TYPE up_ish gauge\nup_ish{job=\"inner\"} 3\n";

    fn target() -> Labels {
        Labels::from_pairs(&[("job", "outer"), ("instance", "h:1")]).unwrap()
    }

    fn keep_all(l: Labels) -> Option<Labels> {
        Some(l)
    }

    fn opts<'a>(
        target: &'a Labels,
        relabel: &'a (dyn Fn(Labels) -> Option<Labels> + Sync),
    ) -> ScrapeOptions<'a> {
        ScrapeOptions {
            target_labels: target,
            rules: SampleRules {
                honor_timestamps: true,
                ..SampleRules::default()
            },
            metric_relabel: relabel,
        }
    }

    fn scrape(
        db: &MemStorage,
        cache: &mut SeriesCache,
        body: &str,
        t: i64,
        o: &ScrapeOptions<'_>,
    ) -> Result<ScrapeReport, ScrapeError> {
        let mut app = db.appender();
        let r = append_scrape(
            &mut *app,
            cache,
            body.as_bytes(),
            Format::PrometheusText,
            t,
            o,
        )?;
        app.commit().unwrap();
        Ok(r)
    }

    fn all(db: &MemStorage) -> Vec<(String, Vec<(i64, f64)>)> {
        db.querier(i64::MIN, i64::MAX)
            .unwrap()
            .select(&[Matcher::new(bongsu_model::MatchOp::Regex, "__name__", ".+").unwrap()])
            .unwrap()
            .into_iter()
            .map(|s| {
                (
                    s.labels.to_string(),
                    s.samples.iter().map(|x| (x.t, x.v)).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn target_labels_exported_prefix_and_staleness() {
        let db = MemStorage::new();
        let t = target();
        let o = opts(&t, &keep_all);
        let mut cache = SeriesCache::new();
        let r = scrape(&db, &mut cache, BODY1, 1000, &o).unwrap();
        assert_eq!(
            (r.scraped, r.post_relabel, r.series_added, r.stale),
            (2, 2, 2, 0)
        );
        assert_eq!(cache.metadata.get("up_ish").unwrap().help, "A gauge.");
        let r = scrape(&db, &mut cache, BODY2, 2000, &o).unwrap();
        assert_eq!((r.scraped, r.series_added, r.stale), (1, 0, 1));
        let got = all(&db);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "other{instance=\"h:1\", job=\"outer\"}");
        assert_eq!(got[0].1[0], (1000, 2.0));
        assert!(
            is_stale_nan(got[0].1[1].1),
            "the vanished series got a stale marker"
        );
        assert_eq!(
            got[1].0,
            "up_ish{exported_job=\"inner\", instance=\"h:1\", job=\"outer\"}"
        );
        assert_eq!(got[1].1, vec![(1000, 1.0), (2000, 3.0)]);
    }

    #[test]
    fn rejected_samples_are_counted_by_reason() {
        let db = MemStorage::new();
        let t = target();
        let o = opts(&t, &keep_all);
        let mut cache = SeriesCache::new();
        scrape(&db, &mut cache, "a 1 2000\nb 1 2000\n", 3000, &o).unwrap();
        let r = scrape(&db, &mut cache, "a 1 1000\nb 2 2000\n", 4000, &o).unwrap();
        assert_eq!(
            (r.out_of_order, r.duplicate_timestamp, r.out_of_bounds),
            (1, 1, 0)
        );
    }

    #[test]
    fn honor_labels_keeps_scraped_values() {
        let db = MemStorage::new();
        let t = target();
        let mut o = opts(&t, &keep_all);
        o.rules.honor_labels = true;
        scrape(&db, &mut SeriesCache::new(), BODY2, 1000, &o).unwrap();
        assert_eq!(all(&db)[0].0, "up_ish{instance=\"h:1\", job=\"inner\"}");
    }

    #[test]
    fn limits_and_relabel_drops() {
        let db = MemStorage::new();
        let t = target();
        let mut o = opts(&t, &keep_all);
        o.rules.sample_limit = 1;
        let mut cache = SeriesCache::new();
        assert!(matches!(
            scrape(&db, &mut cache, BODY1, 1000, &o),
            Err(ScrapeError::SampleLimit { .. })
        ));
        assert!(cache.is_empty(), "a failed scrape leaves the cache alone");
        o.rules.sample_limit = 0;
        o.rules.label_limit = 2;
        assert!(matches!(
            scrape(&db, &mut cache, BODY1, 1000, &o),
            Err(ScrapeError::LabelLimit { .. })
        ));
        let drop_other = |l: Labels| (l.metric_name() != Some("other")).then_some(l);
        let o = opts(&t, &drop_other);
        let r = scrape(&db, &mut cache, BODY1, 1000, &o).unwrap();
        assert_eq!((r.scraped, r.post_relabel), (2, 1));
        assert_eq!(all(&db).len(), 1);
        assert!(matches!(
            scrape(&db, &mut cache, "bad line here\n", 2000, &o),
            Err(ScrapeError::Parse(_))
        ));
    }

    #[test]
    fn a_failed_scrape_does_not_hide_a_vanished_series() {
        let db = MemStorage::new();
        let t = target();
        let o = opts(&t, &keep_all);
        let mut cache = SeriesCache::new();
        scrape(&db, &mut cache, BODY1, 1000, &o).unwrap();
        // `other` is seen by a scrape that then fails: that must not count as seen later.
        let mut app = db.appender();
        let failed = append_scrape(
            &mut *app,
            &mut cache,
            b"other 5\nbad line here\n",
            Format::PrometheusText,
            2000,
            &o,
        );
        assert!(matches!(failed, Err(ScrapeError::Parse(_))));
        drop(app);
        let r = scrape(&db, &mut cache, BODY2, 3000, &o).unwrap();
        assert_eq!((r.scraped, r.series_added, r.stale), (1, 0, 1));
        let got = all(&db);
        assert_eq!(got[0].0, "other{instance=\"h:1\", job=\"outer\"}");
        assert_eq!(got[0].1.len(), 2);
        assert!(is_stale_nan(got[0].1[1].1));
        assert_eq!(got[0].1[1].0, 3000);
    }

    #[test]
    fn all_stale_when_the_target_fails() {
        let db = MemStorage::new();
        let t = target();
        let o = opts(&t, &keep_all);
        let mut cache = SeriesCache::new();
        scrape(&db, &mut cache, BODY1, 1000, &o).unwrap();
        let mut app = db.appender();
        assert_eq!(cache.mark_all_stale(&mut *app, 2000), 2);
        app.commit().unwrap();
        assert!(all(&db).iter().all(|(_, s)| is_stale_nan(s[1].1)));
    }
}
