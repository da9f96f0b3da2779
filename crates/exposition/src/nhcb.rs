//! Classic histograms as native histograms with custom buckets (NHCB), for the scrape
//! option `convert_classic_histograms_to_nhcb`, as Prometheus' `NHCBParser` (text formats)
//! and `convertnhcb.TempHistogram` (all formats) do it.
//!
//! [`NhcbParser`] wraps a text [`Parser`]: it gathers the `_bucket`, `_count` and `_sum`
//! series of each histogram (family declared `histogram`, same labels but `le`) and yields
//! one [`Entry::Histogram`] after the group ends (at the next other series, metadata line or
//! the end of the body), keeping or dropping the classic series as asked. A group that does
//! not convert (counts not cumulative, `_count` not matching the `+Inf` bucket, …) is
//! dropped silently, as upstream does. [`TempHistogram`] is the collector, shared with the
//! protobuf parser.
//!
//! Not here: the conversion to the histogram types (the model's `from_classic`).

use std::borrow::Cow;

use std::sync::Arc;

use bongsu_model::histogram::CUSTOM_BUCKETS_SCHEMA;
use bongsu_model::{FloatHistogram, Histogram, HistogramValue, Span};

use super::{Entry, MetricType, ParseError, Parser, SeriesEntry};

/// The buckets, count and sum of one classic histogram as they arrive (Prometheus'
/// `TempHistogram`): buckets kept sorted by bound, the first value of a repeated bound kept.
#[derive(Debug, Default, Clone)]
pub struct TempHistogram {
    /// `(le, cumulative count)` by increasing `le`.
    buckets: Vec<(f64, f64)>,
    count: Option<f64>,
    sum: f64,
    err: Option<String>,
}

impl TempHistogram {
    pub fn reset(&mut self) {
        self.buckets.clear();
        self.count = None;
        self.sum = 0.0;
        self.err = None;
    }

    /// Adds a bucket; the first error sticks (later calls are ignored).
    pub fn set_bucket_count(&mut self, le: f64, count: f64) {
        if self.err.is_some() {
            return;
        }
        if le.is_nan() {
            self.err = Some("bucket boundary must not be NaN".into());
            return;
        }
        if count < 0.0 {
            self.err = Some(format!(
                "bucket count must be non-negative: le={}, count={}",
                go_g(le),
                go_g(count)
            ));
            return;
        }
        let i = self.buckets.partition_point(|(b, _)| *b < le);
        if self.buckets.get(i).is_some_and(|(b, _)| *b == le) {
            return;
        }
        if let Some((_, prev)) = i.checked_sub(1).and_then(|p| self.buckets.get(p)) {
            if count < *prev {
                self.err = Some(format!(
                    "count is not cumulative: {} < {}",
                    go_g(count),
                    go_g(*prev)
                ));
                return;
            }
        }
        if let Some((_, next)) = self.buckets.get(i) {
            if count > *next {
                self.err = Some(format!(
                    "count is not cumulative: {} > {}",
                    go_g(count),
                    go_g(*next)
                ));
                return;
            }
        }
        self.buckets.insert(i, (le, count));
    }

    pub fn set_count(&mut self, count: f64) {
        if self.err.is_some() {
            return;
        }
        if count < 0.0 {
            self.err = Some(format!("count must be non-negative: count={}", go_g(count)));
            return;
        }
        self.count = Some(count);
    }

    pub fn set_sum(&mut self, sum: f64) {
        if self.err.is_none() {
            self.sum = sum;
        }
    }

    /// The NHCB: integer if every count is, float otherwise. Without a `_count`, the last
    /// bucket's count is the count; without a `+Inf` bucket, one with the count is added.
    pub fn convert(&self) -> Result<HistogramValue, String> {
        if let Some(e) = &self.err {
            return Err(e.clone());
        }
        let count = self
            .count
            .or_else(|| self.buckets.last().map(|(_, c)| *c))
            .unwrap_or(0.0);
        let mut buckets = self.buckets.clone();
        if buckets.last().is_none_or(|(le, _)| *le != f64::INFINITY) {
            buckets.push((f64::INFINITY, count));
        }
        convert_buckets(&buckets, count, self.sum)
    }
}

/// Classic buckets (ending with +Inf) as an NHCB. Until the model's `from_classic` is merged
/// (issue #18, then this calls it) the conversion is done here, as `convertnhcb` does it
/// minus the final compaction.
fn convert_buckets(buckets: &[(f64, f64)], count: f64, sum: f64) -> Result<HistogramValue, String> {
    let last = buckets.last().map_or(0.0, |(_, c)| *c);
    let mismatch = |count: String| {
        format!(
            "count mismatch: count={count} != le=+Inf count={}",
            go_g(last)
        )
    };
    let custom_values: Vec<f64> = buckets
        .iter()
        .map(|(le, _)| *le)
        .filter(|le| *le != f64::INFINITY)
        .collect();
    let spans = vec![Span {
        offset: 0,
        length: buckets.len() as u32,
    }];
    let integral = |c: f64| c == c.round() && c.abs() < 9.0e18;
    if buckets.iter().all(|(_, c)| integral(*c)) && integral(count) {
        if count as u64 != last as u64 {
            return Err(mismatch((count as u64).to_string()));
        }
        let mut prev_count = 0i64;
        let mut prev_delta = 0i64;
        let deltas = buckets
            .iter()
            .map(|(_, c)| {
                let delta = *c as i64 - prev_count;
                let d = delta - prev_delta;
                prev_count = *c as i64;
                prev_delta = delta;
                d
            })
            .collect();
        return Ok(HistogramValue::Int(Arc::new(Histogram {
            schema: CUSTOM_BUCKETS_SCHEMA,
            count: count as u64,
            sum,
            positive_spans: spans,
            positive_buckets: deltas,
            custom_values,
            ..Histogram::default()
        })));
    }
    if count != last {
        return Err(mismatch(go_g(count)));
    }
    let mut prev = 0.0;
    let counts = buckets
        .iter()
        .map(|(_, c)| {
            let d = c - prev;
            prev = *c;
            d
        })
        .collect();
    Ok(HistogramValue::Float(Arc::new(FloatHistogram {
        schema: CUSTOM_BUCKETS_SCHEMA,
        count,
        sum,
        positive_spans: spans,
        positive_buckets: counts,
        custom_values,
        ..FloatHistogram::default()
    })))
}

/// Go's `%g` (shortest), as upstream's messages print floats.
fn go_g(f: f64) -> String {
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return "0".into();
    }
    let s = super::proto::format_openmetrics_float(f);
    s.strip_suffix(".0").map_or(s.clone(), str::to_string)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Collecting,
    Emitting,
}

/// A converted group: the NHCB, its labels (without `le`), base name and timestamp.
type Emitted<'a> = (
    HistogramValue,
    Vec<(&'a str, Cow<'a, str>)>,
    &'a str,
    Option<i64>,
);

/// A text parser that also yields an NHCB per classic histogram.
#[derive(Debug)]
pub struct NhcbParser<'a> {
    inner: Parser<'a>,
    keep_classic: bool,
    state: State,
    /// The family and type of the last `# TYPE` line.
    family: &'a str,
    kind: Option<MetricType>,
    /// The entry read after a group ended, returned after the group's NHCB.
    held: Option<Result<Option<Entry<'a>>, ParseError>>,
    /// The group being collected: base name, key of its labels without `le`, labels.
    group_name: &'a str,
    group_key: String,
    group_labels: Vec<(&'a str, Cow<'a, str>)>,
    group_ts: Option<i64>,
    temp: TempHistogram,
    /// The NHCB being emitted.
    out: Option<Emitted<'a>>,
    key_buf: String,
}

impl<'a> NhcbParser<'a> {
    pub fn new(inner: Parser<'a>, keep_classic: bool) -> NhcbParser<'a> {
        NhcbParser {
            inner,
            keep_classic,
            state: State::Start,
            family: "",
            kind: None,
            held: None,
            group_name: "",
            group_key: String::new(),
            group_labels: Vec::new(),
            group_ts: None,
            temp: TempHistogram::default(),
            out: None,
            key_buf: String::new(),
        }
    }

    /// The next entry: the text parser's, with the NHCBs in between.
    pub fn next_entry(&mut self) -> Result<Option<Entry<'_>>, ParseError> {
        loop {
            if self.state == State::Emitting {
                self.state = State::Start;
                let held = self.held.take().unwrap_or(Ok(None));
                if let Ok(Some(Entry::Series(s))) = &held {
                    if self.handle_classic(s) && !self.keep_classic {
                        continue;
                    }
                }
                return held;
            }
            let entry = self.inner.next_entry();
            match entry {
                Err(e) => return Err(e),
                Ok(None) => {
                    if self.process_nhcb() {
                        self.held = Some(Ok(None));
                        return Ok(self.emitted());
                    }
                    return Ok(None);
                }
                Ok(Some(Entry::Series(s))) => {
                    if self.state == State::Collecting
                        && self.different_metric(&s)
                        && self.process_nhcb()
                    {
                        self.held = Some(Ok(Some(Entry::Series(s))));
                        return Ok(self.emitted());
                    }
                    if self.handle_classic(&s) && !self.keep_classic {
                        continue;
                    }
                    return Ok(Some(Entry::Series(s)));
                }
                Ok(Some(other)) => {
                    if let Entry::Type { metric, kind } = &other {
                        self.family = metric;
                        self.kind = Some(*kind);
                    }
                    if self.process_nhcb() {
                        self.held = Some(Ok(Some(other)));
                        return Ok(self.emitted());
                    }
                    return Ok(Some(other));
                }
            }
        }
    }

    /// The NHCB just completed, as an entry (`process_nhcb` set it before returning true).
    fn emitted(&self) -> Option<Entry<'_>> {
        self.out
            .as_ref()
            .map(|(h, labels, name, ts)| Entry::Histogram {
                series: SeriesEntry {
                    name,
                    labels: labels.clone(),
                    value: 0.0,
                    timestamp_ms: *ts,
                    exemplar: None,
                },
                h: h.clone(),
            })
    }

    /// Key of a series' labels without `le`, in input order.
    fn key_of(s: &SeriesEntry<'_>, buf: &mut String) {
        buf.clear();
        for (n, v) in s.labels.iter().filter(|(n, _)| *n != "le") {
            buf.push_str(n);
            buf.push('\u{0}');
            buf.push_str(v);
            buf.push('\u{0}');
        }
    }

    fn different_metric(&mut self, s: &SeriesEntry<'a>) -> bool {
        if self.kind != Some(MetricType::Histogram) {
            return true;
        }
        if base_name(s.name).1 != self.group_name {
            return true;
        }
        Self::key_of(s, &mut self.key_buf);
        self.key_buf != self.group_key
    }

    /// Adds `s` to the group if it is part of a classic histogram; whether it was.
    fn handle_classic(&mut self, s: &SeriesEntry<'a>) -> bool {
        if self.kind != Some(MetricType::Histogram) {
            return false;
        }
        let (suffix, name) = base_name(s.name);
        if name != self.family {
            return false;
        }
        match suffix {
            Suffix::Bucket => {
                let Some((_, le)) = s.labels.iter().find(|(n, _)| *n == "le") else {
                    return false;
                };
                match parse_go_float(le) {
                    Some(le) if !le.is_nan() => {
                        self.start_group(s, name);
                        self.temp.set_bucket_count(le, s.value);
                        true
                    }
                    _ => false,
                }
            }
            Suffix::Count => {
                self.start_group(s, name);
                self.temp.set_count(s.value);
                true
            }
            Suffix::Sum => {
                self.start_group(s, name);
                self.temp.set_sum(s.value);
                true
            }
            Suffix::None => false,
        }
    }

    fn start_group(&mut self, s: &SeriesEntry<'a>, name: &'a str) {
        self.group_ts = s.timestamp_ms;
        if self.state == State::Collecting {
            return;
        }
        self.state = State::Collecting;
        self.group_name = name;
        Self::key_of(s, &mut self.group_key);
        self.group_labels = s
            .labels
            .iter()
            .filter(|(n, _)| *n != "le")
            .cloned()
            .collect();
    }

    /// Ends the group being collected: true (and `out` set) if it converted.
    fn process_nhcb(&mut self) -> bool {
        if self.state != State::Collecting {
            return false;
        }
        let converted = self.temp.convert();
        self.temp.reset();
        match converted {
            Ok(h) => {
                self.out = Some((
                    h,
                    std::mem::take(&mut self.group_labels),
                    self.group_name,
                    self.group_ts,
                ));
                self.state = State::Emitting;
                true
            }
            Err(_) => {
                self.state = State::Start;
                false
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suffix {
    None,
    Bucket,
    Sum,
    Count,
}

fn base_name(name: &str) -> (Suffix, &str) {
    if let Some(b) = name.strip_suffix("_bucket") {
        (Suffix::Bucket, b)
    } else if let Some(b) = name.strip_suffix("_sum") {
        (Suffix::Sum, b)
    } else if let Some(b) = name.strip_suffix("_count") {
        (Suffix::Count, b)
    } else {
        (Suffix::None, name)
    }
}

/// Go's `strconv.ParseFloat` for a label value (Rust's syntax also takes Go's `Inf`,
/// `+Inf`, `NaN` in any case).
fn parse_go_float(s: &str) -> Option<f64> {
    s.parse().ok()
}

#[cfg(test)]
#[path = "nhcb_tests.rs"]
mod tests;
