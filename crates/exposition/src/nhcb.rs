//! Classic histograms as native histograms with custom buckets (NHCB), for the scrape
//! option `convert_classic_histograms_to_nhcb`, as Prometheus' `NHCBParser` (text formats)
//! does it (the collection of one histogram is the model's `ClassicHistogramBuilder`).
//!
//! [`NhcbParser`] wraps a text [`Parser`]: it gathers the `_bucket`, `_count` and `_sum`
//! series of each histogram (family declared `histogram`, same labels but `le`) and yields
//! one [`Entry::Histogram`] after the group ends (at the next other series, metadata line or
//! the end of the body), keeping or dropping the classic series as asked. A group that does
//! not convert (counts not cumulative, `_count` not matching the `+Inf` bucket, …) is
//! dropped silently, as upstream does.
//!
//! Not here: collecting and converting one histogram (the model's
//! `ClassicHistogramBuilder`, which the protobuf parser uses too).

use std::borrow::Cow;

use bongsu_model::histogram::ClassicHistogramBuilder;
use bongsu_model::HistogramValue;

use super::{Entry, MetricType, ParseError, Parser, SeriesEntry};

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
    temp: ClassicHistogramBuilder,
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
            temp: ClassicHistogramBuilder::new(),
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
                        // The first error sticks in the builder; `convert` reports it.
                        let _ = self.temp.set_bucket_count(le, s.value);
                        true
                    }
                    _ => false,
                }
            }
            Suffix::Count => {
                self.start_group(s, name);
                let _ = self.temp.set_count(s.value);
                true
            }
            Suffix::Sum => {
                self.start_group(s, name);
                let _ = self.temp.set_sum(s.value);
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
        // Upstream also drops a converted histogram that does not validate.
        let converted = self.temp.convert().and_then(|h| {
            match &h {
                HistogramValue::Int(i) => i.validate()?,
                HistogramValue::Float(f) => f.validate()?,
            }
            Ok(h)
        });
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
