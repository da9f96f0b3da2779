//! The loop that scrapes one target every interval until it is stopped.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use bongsu_config::ScrapeProtocol;
use bongsu_httpclient::HttpClientConfig;
use bongsu_model::{Labels, METRIC_NAME, STALE_NAN};
use bongsu_storage::{Appender, SeriesRef, Storage};

use bongsu_exposition::Format;

use super::append::{
    append_scrape, SampleRules, ScrapeError, ScrapeOptions, ScrapeReport, SeriesCache,
};
use super::fetch::{fetch, Fetched, Request};
use super::format::{negotiate, BodyFormat};
use super::metrics::{Failure, COUNTERS};
use super::target::{Health, Target};

/// How a pool's targets are scraped (resolved from its scrape config).
pub struct LoopSettings {
    pub interval: Duration,
    pub timeout: Duration,
    pub rules: SampleRules,
    /// 0: no limit.
    pub body_size_limit: u64,
    /// `metric_relabel_configs` applied to each scraped series; `None` drops it.
    pub metric_relabel: Box<dyn Fn(Labels) -> Option<Labels> + Send + Sync>,
    /// The `Accept` header of scrapes.
    pub accept: String,
    /// `fallback_scrape_protocol`: how a body is read whose `Content-Type` is missing,
    /// unparsable or unknown.
    pub fallback: Option<ScrapeProtocol>,
    /// Authentication and extra request headers.
    pub http: HttpClientConfig,
}

/// The series every scrape writes about itself, in this order.
const SYNTHETIC: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// Label sets and head refs of a target's synthetic series.
struct Synthetic {
    labels: Vec<Labels>,
    refs: Vec<Option<SeriesRef>>,
}

impl Synthetic {
    fn new(target: &Labels) -> Synthetic {
        let labels = SYNTHETIC
            .iter()
            .filter_map(|name| {
                let mut b = target.builder();
                b.set(METRIC_NAME, *name);
                b.build().ok()
            })
            .collect();
        Synthetic {
            labels,
            refs: vec![None; SYNTHETIC.len()],
        }
    }

    fn append(&mut self, app: &mut dyn Appender, t: i64, values: [f64; 5]) {
        for ((labels, r), v) in self.labels.iter().zip(self.refs.iter_mut()).zip(values) {
            let res = match *r {
                Some(sref) => app
                    .append_ref(sref, t, v)
                    .map(|()| sref)
                    .or_else(|_| app.append(labels, t, v)),
                None => app.append(labels, t, v),
            };
            *r = res.ok();
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// When in each interval this target is scraped: spread by a hash of the target so that
/// many targets do not all scrape at once, and stable across restarts and reloads.
fn offset(target: &Target, interval: Duration) -> Duration {
    let h = xxhash_rust::xxh3::xxh3_64(format!("{}{}", target.url, target.labels).as_bytes());
    let ms = interval.as_millis().max(1) as u64;
    Duration::from_millis(h % ms)
}

/// What a scrape loop is told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Keep scraping.
    Running,
    /// Stop and end the target's series with stale markers: the target went away.
    Stale,
    /// Stop without stale markers: a reload replaces the loop with one scraping the same
    /// target, as Prometheus does, so its series continue without a gap.
    Quiet,
}

/// Scrapes `target` every interval until told to stop.
pub async fn run(
    target: Arc<Target>,
    settings: Arc<LoopSettings>,
    client: reqwest::Client,
    db: Arc<dyn Storage>,
    mut stop: watch::Receiver<Stop>,
) {
    let mut cache = SeriesCache::new();
    let mut synthetic = Synthetic::new(&target.labels);
    let interval = settings.interval.max(Duration::from_millis(1));
    // Align to the interval grid plus this target's offset.
    let now = now_ms() as u128;
    let period = interval.as_millis().max(1);
    let phase = offset(&target, interval).as_millis();
    let mut wait = (phase + period - now % period) % period;
    if wait == 0 {
        wait = period;
    }
    let start = tokio::time::Instant::now() + Duration::from_millis(wait as u64);
    let mut ticker = tokio::time::interval_at(start, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() != Stop::Running {
            break;
        }
        let now = Instant::now();
        if let Some(last) = last.replace(now) {
            COUNTERS.interval(settings.interval, now - last);
        }
        scrape_once(&target, &settings, &client, &db, &mut cache, &mut synthetic).await;
    }
    if *stop.borrow() == Stop::Quiet {
        return;
    }
    let mut app = db.appender();
    let t = now_ms();
    cache.mark_all_stale(&mut *app, t);
    synthetic.append(&mut *app, t, [STALE_NAN; 5]);
    if let Err(e) = app.commit() {
        tracing::warn!(target = %target.url, error = %e, "cannot write stale markers for a stopped target");
    }
}

/// Appends a fetched body read as its `Content-Type` says (or the fallback). An empty body
/// has nothing to read: as in Prometheus its series just go stale, whatever its type.
fn scrape_body(
    app: &mut dyn Appender,
    cache: &mut SeriesCache,
    f: &Fetched,
    t: i64,
    opts: &ScrapeOptions<'_>,
    fallback: Option<ScrapeProtocol>,
    url: &str,
) -> Result<ScrapeReport, String> {
    let format = if f.body.is_empty() {
        BodyFormat::Text(Format::PrometheusText)
    } else {
        let (format, warning) = negotiate(&f.content_type, fallback).inspect_err(|e| {
            COUNTERS.failed(Failure::Append(&ScrapeError::Parse(e.clone())));
        })?;
        if let Some(w) = warning {
            tracing::debug!(target = %url, "{w}");
        }
        format
    };
    append_scrape(app, cache, &f.body, format, t, opts).map_err(|e| {
        COUNTERS.failed(Failure::Append(&e));
        e.to_string()
    })
}

async fn scrape_once(
    target: &Target,
    settings: &LoopSettings,
    client: &reqwest::Client,
    db: &dyn Storage,
    cache: &mut SeriesCache,
    synthetic: &mut Synthetic,
) {
    let started = Instant::now();
    let wall = SystemTime::now();
    let t = now_ms();
    let request = Request {
        url: &target.url,
        timeout: settings.timeout,
        body_limit: settings.body_size_limit,
        accept: &settings.accept,
        http: &settings.http,
    };
    let fetched = fetch(client, &request).await;
    let mut app = db.appender();
    let result = match fetched {
        Ok(f) => {
            let mut rules = settings.rules;
            if let Some(h) = target.histograms {
                rules.histograms = h;
            }
            let opts = ScrapeOptions {
                target_labels: &target.labels,
                rules,
                metric_relabel: &settings.metric_relabel,
            };
            scrape_body(
                &mut *app,
                cache,
                &f,
                t,
                &opts,
                settings.fallback,
                &target.url,
            )
        }
        Err(e) => {
            COUNTERS.failed(Failure::Fetch(&e));
            Err(e.to_string())
        }
    };
    let duration = started.elapsed();
    let (report, error) = match result {
        Ok(r) => (r, None),
        Err(e) => {
            // Nothing of a failed scrape is kept; its series end now.
            drop(app);
            app = db.appender();
            cache.mark_all_stale(&mut *app, t);
            (ScrapeReport::default(), Some(e))
        }
    };
    COUNTERS.scraped(&target.pool, duration, &report);
    if error.is_none() {
        target.set_metadata(cache.metadata.clone());
    }
    let up = if error.is_none() { 1.0 } else { 0.0 };
    synthetic.append(
        &mut *app,
        t,
        [
            up,
            duration.as_secs_f64(),
            report.scraped as f64,
            report.post_relabel as f64,
            report.series_added as f64,
        ],
    );
    let mut error = error;
    if let Err(e) = app.commit() {
        tracing::error!(target = %target.url, error = %e, "cannot store scraped samples");
        // The scrape is lost (one series over the WAL's record limit, a full disk): the
        // target reports it as failed, as a sample limit would, rather than `up` with nothing
        // stored. The small batch of `up = 0` and stale markers usually still fits.
        let mut app = db.appender();
        cache.mark_all_stale(&mut *app, t);
        synthetic.append(&mut *app, t, [0.0, duration.as_secs_f64(), 0.0, 0.0, 0.0]);
        if let Err(e) = app.commit() {
            tracing::error!(target = %target.url, error = %e, "cannot store the failed scrape's up = 0");
        }
        error = Some(format!("cannot store scraped samples: {e}"));
    }
    if let Some(e) = &error {
        tracing::debug!(target = %target.url, error = %e, "scrape failed");
    }
    target.set_health(Health {
        state: if error.is_none() { "up" } else { "down" },
        last_error: error.unwrap_or_default(),
        last_scrape: Some(wall),
        last_duration: duration,
        last_samples: report.scraped,
    });
}
