//! The OpenMetrics rules that span lines, the same ones the OpenMetrics reference parser
//! applies:
//!
//! - a metric family is a run of contiguous lines; its metadata comes before its samples and
//!   each kind at most once; no two families may claim the same sample name (a counter `a`
//!   claims `a`, `a_total` and `a_created`);
//! - a sample belongs to the current family only if its name is the family name plus a suffix
//!   the family's type allows, otherwise it starts a new family of unknown type;
//! - within a family, samples form groups (same labels, ignoring `le`, `quantile` or the state
//!   label); a group's lines are contiguous, and its timestamps all present or all absent and
//!   never decreasing;
//! - type rules: counter-like values are not NaN or negative, buckets carry a canonical `le` in
//!   ascending order with non-decreasing integer counts and a `+Inf` bucket, `_count` matches
//!   it and comes with `_sum`, stateset values are 0 or 1, info values 1, and exemplars appear
//!   only on counter `_total` and histogram `_bucket` samples.
//!
//! It sees parsed entries only, never bytes.

use std::collections::HashSet;

use xxhash_rust::xxh3::{xxh3_128_with_seed, xxh3_64};

use super::lex::{parse_float, LabelPairs};
use super::{Entry, MetricType, ParseError, SeriesEntry};

/// The cross-line state of an OpenMetrics body.
#[derive(Debug)]
pub(super) struct Validator {
    /// Every sample name claimed by a family so far, the current one included.
    claimed: HashSet<String>,
    family: Option<Family>,
}

#[derive(Debug)]
struct Family {
    name: String,
    kind: MetricType,
    typed: bool,
    has_help: bool,
    unit: Option<String>,
    has_samples: bool,
    /// The group of the previous sample and its timestamp in seconds.
    group: Option<(GroupKey, Option<f64>)>,
    /// Every group seen in this family, to catch a group that comes back.
    seen_groups: HashSet<GroupKey>,
    histogram: Option<HistogramGroup>,
}

/// An order-independent 128-bit hash of a group's labels. Distinct label sets could share one
/// only with probability about 2^-128, and the worst a collision can do is reject a valid body,
/// which is why storing hashes rather than label sets is acceptable here.
type GroupKey = u128;

/// One histogram group at one timestamp, checked when it ends.
#[derive(Debug)]
struct HistogramGroup {
    key: GroupKey,
    ts: Option<f64>,
    last_line: usize,
    bound: Option<f64>,
    bucket_value: f64,
    count: Option<f64>,
    has_sum: bool,
    has_gsum: bool,
    negative_bound: bool,
    negative_gsum: bool,
}

fn suffixes(kind: MetricType) -> &'static [&'static str] {
    match kind {
        MetricType::Counter => &["_total", "_created"],
        MetricType::Summary => &["", "_count", "_sum", "_created"],
        MetricType::Histogram => &["_count", "_sum", "_bucket", "_created"],
        MetricType::GaugeHistogram => &["_gcount", "_gsum", "_bucket"],
        MetricType::Info => &["_info"],
        MetricType::Gauge | MetricType::StateSet | MetricType::Unknown => &[""],
    }
}

fn group_key(labels: &LabelPairs<'_>, ignore: Option<&str>) -> GroupKey {
    labels
        .iter()
        .filter(|(n, _)| Some(*n) != ignore)
        .fold(0u128, |acc, (n, v)| {
            acc.wrapping_add(xxh3_128_with_seed(v.as_bytes(), xxh3_64(n.as_bytes())))
        })
}

fn label<'l>(labels: &'l LabelPairs<'_>, name: &str) -> Option<&'l str> {
    labels
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_ref())
}

fn is_integer(v: f64) -> bool {
    v.is_finite() && v.fract() == 0.0
}

/// An `le` or `quantile` value: a number, not NaN, and `+Inf` spelled exactly so.
fn bound(raw: Option<&str>) -> Option<f64> {
    let v = parse_float(raw?)?;
    if v.is_nan() || (v == f64::INFINITY && raw != Some("+Inf")) {
        return None;
    }
    Some(v)
}

impl Validator {
    pub(super) fn new() -> Validator {
        Validator {
            claimed: HashSet::new(),
            family: None,
        }
    }

    /// Claims `name` for the current family; a name can belong to one family only.
    fn claim(&mut self, name: String, line: usize) -> Result<(), ParseError> {
        if self.claimed.contains(&name) {
            return Err(ParseError {
                line,
                message: format!("metric name {name:?} is used by an earlier metric family"),
            });
        }
        self.claimed.insert(name);
        Ok(())
    }

    fn start_family(&mut self, name: &str, line: usize) -> Result<(), ParseError> {
        self.finish()?;
        self.claim(name.to_string(), line)?;
        self.family = Some(Family {
            name: name.to_string(),
            kind: MetricType::Unknown,
            typed: false,
            has_help: false,
            unit: None,
            has_samples: false,
            group: None,
            seen_groups: HashSet::new(),
            histogram: None,
        });
        Ok(())
    }

    /// Ends the current family, running the checks that need its last histogram group.
    pub(super) fn finish(&mut self) -> Result<(), ParseError> {
        match self.family.take().and_then(|f| f.histogram) {
            Some(h) => h.check(),
            None => Ok(()),
        }
    }

    pub(super) fn on_metadata(&mut self, entry: &Entry<'_>, line: usize) -> Result<(), ParseError> {
        let (metric, what) = match entry {
            Entry::Help { metric, .. } => (*metric, "HELP"),
            Entry::Type { metric, .. } => (*metric, "TYPE"),
            Entry::Unit { metric, .. } => (*metric, "UNIT"),
            // Samples are checked by `on_sample`; text has no native histograms.
            Entry::Series(_) | Entry::Histogram { .. } => return Ok(()),
        };
        let err = |message: String| Err(ParseError { line, message });
        match &self.family {
            Some(f) if f.name == metric => {
                if f.has_samples {
                    return err(format!("# {what} for {metric:?} after its samples"));
                }
            }
            _ => self.start_family(metric, line)?,
        }
        let Some(f) = self.family.as_mut() else {
            return err("internal: no current metric family".into());
        };
        match entry {
            Entry::Help { .. } => {
                if f.has_help {
                    return err(format!("second # HELP for {metric:?}"));
                }
                f.has_help = true;
            }
            Entry::Type { kind, .. } => {
                if f.typed {
                    return err(format!("second # TYPE for {metric:?}"));
                }
                f.typed = true;
                f.kind = *kind;
                check_unit_type(f, line)?;
                let names: Vec<String> = suffixes(*kind)
                    .iter()
                    .filter(|s| !s.is_empty())
                    .map(|s| format!("{metric}{s}"))
                    .collect();
                for name in names {
                    self.claim(name, line)?;
                }
            }
            Entry::Unit { unit, .. } => {
                if f.unit.is_some() {
                    return err(format!("second # UNIT for {metric:?}"));
                }
                let suffix_ok = metric
                    .strip_suffix(unit)
                    .is_some_and(|prefix| prefix.ends_with('_'));
                if !unit.is_empty() && !suffix_ok {
                    return err(format!(
                        "unit {unit:?} is not a suffix of the metric name {metric:?}"
                    ));
                }
                f.unit = Some(unit.to_string());
                check_unit_type(f, line)?;
            }
            Entry::Series(_) | Entry::Histogram { .. } => {}
        }
        Ok(())
    }

    pub(super) fn on_sample(
        &mut self,
        s: &SeriesEntry<'_>,
        ts: Option<f64>,
        line: usize,
    ) -> Result<(), ParseError> {
        let belongs = self.family.as_ref().is_some_and(|f| {
            s.name
                .strip_prefix(f.name.as_str())
                .is_some_and(|suffix| suffixes(f.kind).contains(&suffix))
        });
        if !belongs {
            self.start_family(s.name, line)?;
        }
        let Some(f) = self.family.as_mut() else {
            return Err(ParseError {
                line,
                message: "internal: no current metric family".into(),
            });
        };
        f.has_samples = true;
        f.check_sample(s, ts)
            .map_err(|message| ParseError { line, message })?;
        f.track_histogram(s, ts, line)
    }
}

/// Info and stateset metrics have no unit.
fn check_unit_type(f: &Family, line: usize) -> Result<(), ParseError> {
    let has_unit = f.unit.as_deref().is_some_and(|u| !u.is_empty());
    if has_unit && matches!(f.kind, MetricType::Info | MetricType::StateSet) {
        return Err(ParseError {
            line,
            message: format!("{:?} metric {:?} cannot have a unit", f.kind, f.name),
        });
    }
    Ok(())
}

impl Family {
    /// The rules for one sample that need the family but not later lines.
    fn check_sample(&mut self, s: &SeriesEntry<'_>, ts: Option<f64>) -> Result<(), String> {
        let suffix = &s.name[self.name.len()..];
        let kind = self.kind;
        let v = s.value;
        let is_histogram = matches!(kind, MetricType::Histogram | MetricType::GaugeHistogram);
        let is_quantile = kind == MetricType::Summary && suffix.is_empty();

        if kind == MetricType::StateSet && label(&s.labels, &self.name).is_none() {
            return Err(format!("stateset sample has no label {:?}", self.name));
        }
        if suffix == "_bucket" {
            if bound(label(&s.labels, "le")).is_none() {
                return Err("bucket has a missing or invalid \"le\" label".into());
            }
            if !is_integer(v) {
                return Err(format!("bucket value {v} is not an integer"));
            }
        }
        if matches!(suffix, "_count" | "_gcount") && !is_integer(v) {
            return Err(format!("count value {v} is not an integer"));
        }
        if is_quantile
            && !bound(label(&s.labels, "quantile")).is_some_and(|q| (0.0..=1.0).contains(&q))
        {
            return Err("summary sample has a missing or invalid \"quantile\" label".into());
        }

        let ignore = match kind {
            MetricType::StateSet => Some(self.name.as_str()),
            _ if is_quantile => Some("quantile"),
            _ if is_histogram && suffix == "_bucket" => Some("le"),
            _ => None,
        };
        // Info samples cannot be told apart into groups, so they all share one.
        let key = if kind == MetricType::Info {
            0
        } else {
            group_key(&s.labels, ignore)
        };
        match self.group {
            Some((prev, prev_ts)) if prev == key => {
                if prev_ts.is_some() != ts.is_some() {
                    return Err("samples of one group mix having and lacking timestamps".into());
                }
                if kind != MetricType::Info && prev_ts > ts {
                    return Err("timestamp goes backwards within a group".into());
                }
            }
            _ => {
                if !self.seen_groups.insert(key) {
                    return Err(format!(
                        "samples of one label set of {:?} are not contiguous",
                        self.name
                    ));
                }
            }
        }
        self.group = Some((key, ts));

        if kind == MetricType::StateSet && v != 0.0 && v != 1.0 {
            return Err(format!("stateset value {v} is not 0 or 1"));
        }
        if kind == MetricType::Info && v != 1.0 {
            return Err(format!("info value {v} is not 1"));
        }
        if is_quantile && v < 0.0 {
            return Err(format!("quantile value {v} is negative"));
        }
        let counter_like = matches!(
            suffix,
            "_total" | "_sum" | "_count" | "_bucket" | "_gcount" | "_gsum"
        );
        if counter_like && v.is_nan() {
            return Err(format!("{suffix} value cannot be NaN"));
        }
        let non_negative = matches!(suffix, "_total" | "_count" | "_bucket" | "_gcount" | "_sum");
        if non_negative && v < 0.0 {
            return Err(format!("{suffix} value {v} is negative"));
        }
        if s.exemplar.is_some()
            && !((is_histogram && suffix == "_bucket")
                || (kind == MetricType::Counter && suffix == "_total"))
        {
            return Err(
                "exemplars are only allowed on counter _total and histogram _bucket samples".into(),
            );
        }
        Ok(())
    }

    /// Feeds a histogram sample into its group's checks, first finishing the previous group if
    /// this sample starts another (new labels or a new timestamp).
    fn track_histogram(
        &mut self,
        s: &SeriesEntry<'_>,
        ts: Option<f64>,
        line: usize,
    ) -> Result<(), ParseError> {
        if !matches!(
            self.kind,
            MetricType::Histogram | MetricType::GaugeHistogram
        ) {
            return Ok(());
        }
        let suffix = &s.name[self.name.len()..];
        let Some((key, _)) = self.group else {
            return Ok(());
        };
        let same = self
            .histogram
            .as_ref()
            .is_some_and(|h| h.key == key && h.ts == ts);
        if !same {
            if let Some(prev) = self.histogram.take() {
                prev.check()?;
            }
        }
        let h = self.histogram.get_or_insert(HistogramGroup {
            key,
            ts,
            last_line: line,
            bound: None,
            bucket_value: 0.0,
            count: None,
            has_sum: false,
            has_gsum: false,
            negative_bound: false,
            negative_gsum: false,
        });
        h.last_line = line;
        let err = |message: &str| {
            Err(ParseError {
                line,
                message: message.into(),
            })
        };
        match suffix {
            "_bucket" => {
                let Some(b) = bound(label(&s.labels, "le")) else {
                    return err("bucket has a missing or invalid \"le\" label");
                };
                if h.bound.is_some_and(|prev| b <= prev) {
                    return err("histogram buckets are not in ascending order of \"le\"");
                }
                if s.value < h.bucket_value {
                    return err("histogram bucket counts decrease");
                }
                h.negative_bound |= b < 0.0;
                h.bound = Some(b);
                h.bucket_value = s.value;
            }
            "_count" | "_gcount" => h.count = Some(s.value),
            "_sum" => h.has_sum = true,
            "_gsum" => {
                h.has_gsum = true;
                h.negative_gsum |= s.value < 0.0;
            }
            _ => {}
        }
        Ok(())
    }
}

impl HistogramGroup {
    /// The checks that need the whole group, reported on its last line.
    fn check(&self) -> Result<(), ParseError> {
        let fail = |message: &str| {
            Err(ParseError {
                line: self.last_line,
                message: format!("histogram group ending here: {message}"),
            })
        };
        if self.bound != Some(f64::INFINITY) {
            return fail("no +Inf bucket");
        }
        if self.count.is_some_and(|c| c != self.bucket_value) {
            return fail("_count does not match the +Inf bucket");
        }
        if (self.has_sum || self.has_gsum) && self.count.is_none() {
            return fail("_sum or _gsum without _count or _gcount");
        }
        if !(self.has_sum || self.has_gsum) && self.count.is_some() {
            return fail("_count or _gcount without _sum or _gsum");
        }
        if self.negative_bound && self.has_sum {
            return fail("_sum with negative bucket bounds");
        }
        if !self.negative_bound && self.negative_gsum {
            return fail("negative _gsum without negative bucket bounds");
        }
        Ok(())
    }
}
