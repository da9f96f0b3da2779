//! The stages that drop entries: `drop` (by line length, age, extracted values or a regex),
//! `sampling` (keeps a random share) and `limit` (a token bucket, for all entries or per
//! value of one label). Each dropped entry counts in `logentry_dropped_lines_total{reason}`.
//!
//! `limit` without `drop: true` waits for a token as Promtail does, by sleeping the calling
//! thread: run pipelines with such a stage on a blocking thread, not an async task.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bongsu_logpipeline::units;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use regex::bytes::Regex;
use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use super::item::Item;
use super::metrics::PipelineMetrics;
use super::pipeline::{decode_or_default, Built, Context, Stage, Weak};

#[derive(Deserialize, Default)]
#[serde(default)]
struct DropConfig {
    drop_counter_reason: Option<String>,
    source: Option<Yaml>,
    value: Option<String>,
    separator: Option<String>,
    expression: Option<String>,
    older_than: Option<String>,
    longer_than: Option<Yaml>,
}

struct DropStage {
    reason: String,
    sources: Option<Vec<String>>,
    separator: String,
    regex: Option<Regex>,
    older_than_ns: Option<i64>,
    longer_than: Option<usize>,
    metrics: PipelineMetrics,
}

pub(crate) fn drop(v: &Yaml, ctx: &Context) -> Built {
    let c: DropConfig = decode_or_default(v)?;
    if c.source.is_none()
        && c.expression.is_none()
        && c.older_than.is_none()
        && c.longer_than.is_none()
    {
        return Err("drop stage config must contain at least one of `source`, `expression`, `older_than` or `longer_than`".into());
    }
    let sources = match &c.source {
        None => None,
        Some(Yaml::String(s)) => Some(vec![s.clone()]),
        Some(Yaml::Sequence(l)) => Some(
            l.iter()
                .map(|s| s.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or("drop stage source invalid type should be string or list of strings")?,
        ),
        Some(_) => {
            return Err("drop stage source invalid type should be string or list of strings".into())
        }
    };
    let older_than_ns = match &c.older_than {
        None => None,
        Some(d) => Some(units::parse_duration(d).map_err(|e| {
            format!("drop stage invalid duration, {d} cannot be converted to a duration: {e}")
        })?),
    };
    if c.value.is_some() && c.source.is_none() {
        return Err("drop stage config must contain `source` if `value` is specified".into());
    }
    if c.value.is_some() && c.expression.is_some() {
        return Err("drop stage config error, `value` and `expression` cannot both be defined at the same time.".into());
    }
    let pattern = match (&c.expression, &c.value) {
        (Some(e), _) => Some(e.clone()),
        (None, Some(v)) => Some(format!("^{}$", regex::escape(v))),
        (None, None) => None,
    };
    let regex = match pattern {
        None => None,
        Some(p) => Some(
            bongsu_logpipeline::goregex::compile(&p)
                .map_err(|e| format!("drop stage regex compilation error: {e}"))?,
        ),
    };
    let longer_than = match &c.longer_than {
        None => None,
        Some(v) => {
            let text = super::pipeline::yaml_text(v);
            Some(parse_size(&text).ok_or_else(|| {
                format!("drop stage failed to parse longer_than to bytes: invalid size {text:?}")
            })?)
        }
    };
    Ok(Box::new(DropStage {
        reason: c
            .drop_counter_reason
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "drop_stage".into()),
        sources,
        separator: c.separator.unwrap_or_else(|| ";".into()),
        regex,
        older_than_ns,
        longer_than,
        metrics: ctx.metrics.clone(),
    }))
}

/// A size as Promtail's `flagext.ByteSize` reads it (the `datasize` package, case
/// folded): digits and an optional unit `B`, `K`/`KB`, `M`/`MB`, `G`/`GB`, `T`/`TB`,
/// `P`/`PB`, `E`/`EB`, powers of 1024 (`8kb` is 8192).
pub(crate) fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim().to_ascii_uppercase();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let n: u64 = s[..digits].parse().ok()?;
    let shift = match s[digits..].trim_start() {
        "" | "B" => 0,
        "K" | "KB" => 10,
        "M" | "MB" => 20,
        "G" | "GB" => 30,
        "T" | "TB" => 40,
        "P" | "PB" => 50,
        "E" | "EB" => 60,
        _ => return None,
    };
    usize::try_from(n.checked_mul(1u64 << shift)?).ok()
}

impl DropStage {
    /// Promtail's `shouldDrop`: every configured condition must hold.
    fn should_drop(&self, item: &Item) -> bool {
        if let Some(max) = self.longer_than {
            if item.line.len() <= max {
                return false;
            }
        }
        if let Some(age) = self.older_than_ns {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i64);
            if item.ts >= now.saturating_sub(age) {
                return false;
            }
        }
        match (&self.sources, &self.regex) {
            (Some(sources), None) => {
                if !sources.iter().all(|s| item.extracted.contains_key(s)) {
                    return false;
                }
            }
            (None, Some(re)) => {
                if !re.is_match(item.line.as_bytes()) {
                    return false;
                }
            }
            (Some(sources), Some(re)) => {
                let mut values = Vec::with_capacity(sources.len());
                for s in sources {
                    if let Some(v) = item.extracted.get(s) {
                        match v.as_string() {
                            Some(v) => values.push(v.into_owned()),
                            None => return false,
                        }
                    }
                }
                if !re.is_match(values.join(&self.separator).as_bytes()) {
                    return false;
                }
            }
            (None, None) => {}
        }
        true
    }
}

impl Stage for DropStage {
    fn process(&mut self, item: Item, out: &mut Vec<Item>) {
        if self.should_drop(&item) {
            self.metrics.count_drop(&self.reason);
        } else {
            out.push(item);
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SamplingConfig {
    drop_counter_reason: Option<String>,
    rate: Weak,
}

struct SamplingStage {
    reason: String,
    /// Entries whose random 63-bit number is at most this are kept.
    boundary: u64,
    rng: StdRng,
    metrics: PipelineMetrics,
}

const MAX_RANDOM: u64 = (1 << 63) - 1;

pub(crate) fn sampling(v: &Yaml, ctx: &Context) -> Built {
    let c: SamplingConfig = decode_or_default(v)?;
    let rate = c.rate.0;
    if !(0.0..=1.0).contains(&rate) {
        return Err(format!("sampling stage failed to parse rate,Sampling Rate must be between 0.0 and 1.0, received {rate:.6}"));
    }
    Ok(Box::new(SamplingStage {
        reason: c
            .drop_counter_reason
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "sampling_stage".into()),
        boundary: (MAX_RANDOM as f64 * rate) as u64,
        rng: StdRng::from_os_rng(),
        metrics: ctx.metrics.clone(),
    }))
}

impl Stage for SamplingStage {
    fn process(&mut self, item: Item, out: &mut Vec<Item>) {
        let mut r = 0;
        while r == 0 {
            r = self.rng.random::<u64>() & MAX_RANDOM;
        }
        if r <= self.boundary {
            out.push(item);
        } else {
            self.metrics.count_drop(&self.reason);
        }
    }
}

/// Promtail's floor on `max_distinct_labels` (about 1 MiB of limiters).
const MIN_MAX_DISTINCT_LABELS: usize = 10_000;

#[derive(Deserialize, Default)]
#[serde(default)]
struct LimitConfig {
    rate: Weak,
    burst: Weak,
    drop: bool,
    by_label_name: String,
    max_distinct_labels: Weak,
}

/// Longest a `limit` stage without `drop` waits for one token (at rates under one line an
/// hour, Promtail would wait longer).
const MAX_LIMIT_WAIT: Duration = Duration::from_secs(3600);

/// Go's `rate.Limiter`: `rate` tokens a second, at most `burst` saved.
#[derive(Debug, Clone)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64, burst: f64) -> Bucket {
        Bucket {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let gained = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + gained).min(self.burst);
        self.last = now;
    }

    fn allow(&mut self) -> bool {
        self.refill();
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Takes a token, sleeping until there is one.
    fn wait(&mut self) {
        self.refill();
        if self.tokens < 1.0 {
            let wait = Duration::try_from_secs_f64((1.0 - self.tokens) / self.rate)
                .unwrap_or(MAX_LIMIT_WAIT)
                .min(MAX_LIMIT_WAIT);
            std::thread::sleep(wait);
            self.refill();
        }
        self.tokens -= 1.0;
    }
}

struct LimitStage {
    drop: bool,
    by_label: Option<ByLabel>,
    bucket: Bucket,
    metrics: PipelineMetrics,
}

/// One bucket per label value, in two generations: when the current one reaches the
/// maximum, the previous one is forgotten (Promtail's `GenerationalMap`).
struct ByLabel {
    name: String,
    max: usize,
    current: HashMap<String, Bucket>,
    previous: HashMap<String, Bucket>,
}

pub(crate) fn limit(v: &Yaml, ctx: &Context) -> Built {
    let c: LimitConfig = decode_or_default(v)?;
    let burst = c.burst.0.trunc();
    if c.rate.0 <= 0.0 || burst <= 0.0 {
        return Err("limit stage failed to parse rate or burst".into());
    }
    if !c.by_label_name.is_empty() && !c.drop {
        return Err("When ratelimiting by label, drop must be true".into());
    }
    let by_label = (!c.by_label_name.is_empty()).then(|| ByLabel {
        name: c.by_label_name.clone(),
        max: (c.max_distinct_labels.0 as usize).max(MIN_MAX_DISTINCT_LABELS),
        current: HashMap::new(),
        previous: HashMap::new(),
    });
    Ok(Box::new(LimitStage {
        drop: c.drop,
        by_label,
        bucket: Bucket::new(c.rate.0, burst),
        metrics: ctx.metrics.clone(),
    }))
}

impl Stage for LimitStage {
    fn process(&mut self, item: Item, out: &mut Vec<Item>) {
        const REASON: &str = "ratelimit_drop_stage";
        if let Some(bl) = &mut self.by_label {
            let Some(value) = item.labels.get(&bl.name) else {
                out.push(item);
                return;
            };
            let bucket = match bl.current.get_mut(value) {
                Some(b) => b,
                None => {
                    let b = bl
                        .previous
                        .remove(value)
                        .unwrap_or_else(|| Bucket::new(self.bucket.rate, self.bucket.burst));
                    if bl.current.len() >= bl.max {
                        bl.previous = std::mem::take(&mut bl.current);
                    }
                    bl.current.entry(value.clone()).or_insert(b)
                }
            };
            if bucket.allow() {
                out.push(item);
            } else {
                self.metrics.count_drop(REASON);
                self.metrics.count_drop_by_label(&bl.name, value);
            }
            return;
        }
        if self.drop {
            if self.bucket.allow() {
                out.push(item);
            } else {
                self.metrics.count_drop(REASON);
            }
            return;
        }
        self.bucket.wait();
        out.push(item);
    }
}
