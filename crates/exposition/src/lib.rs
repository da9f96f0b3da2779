//! Parsers for the exposition formats a scrape or an import can bring in: the Prometheus
//! text format 0.0.4, OpenMetrics 1.0 text, and the protobuf format ([`proto`]).
//!
//! This module owns turning bytes into [`Entry`] values: metadata (`HELP`, `TYPE`, `UNIT`) and
//! samples with their labels, timestamp and exemplar. It borrows from the input wherever it can
//! (names always, label values and help text unless they contain escapes), and streams: one entry
//! per [`Parser::next_entry`] call, no look-ahead beyond the current line.
//!
//! It does not own what happens to an entry afterwards: relabeling, limits, staleness and storage
//! belong to `scrape` and `tsdb`. It performs no I/O.
//!
//! OpenMetrics input is checked against the whole OpenMetrics 1.0 specification, not only its
//! grammar: metric families must be contiguous, metadata must come first, histograms must be
//! well formed, and so on (see `openmetrics.rs`). The Prometheus text format is accepted as
//! leniently as Prometheus accepts it.
//!
//! Quoted metric and label names (`{"my.metric", "label.name"="v"}`, as Prometheus 3 accepts) are
//! supported in both formats, but a quoted *name* may not contain escape sequences, because names
//! are handed out as slices of the input.

mod lex;
pub mod nhcb;
mod om_validate;
mod openmetrics;
pub mod proto;
mod text;

use std::borrow::Cow;

use thiserror::Error;

use bongsu_model::{HistogramValue, Label, Labels, LabelsError, METRIC_NAME};

/// Which exposition format a body is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format, version 0.0.4.
    PrometheusText,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

impl Format {
    /// The format named by an HTTP `Content-Type`: `application/openmetrics-text` (with any
    /// parameters) is OpenMetrics; everything else, including a missing or unknown type, is the
    /// Prometheus text format, as Prometheus falls back to it.
    pub fn from_content_type(ct: &str) -> Format {
        let media_type = ct.split(';').next().unwrap_or("").trim();
        if media_type.eq_ignore_ascii_case("application/openmetrics-text") {
            Format::OpenMetrics
        } else {
            Format::PrometheusText
        }
    }
}

/// The type a `# TYPE` line declares. The text format's `untyped` is [`MetricType::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    Unknown,
}

impl MetricType {
    /// The lower-case name the metadata APIs use (`"counter"`, `"gaugehistogram"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

/// How strictly OpenMetrics input is checked beyond its grammar. The text format ignores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validation {
    /// Every rule of OpenMetrics 1.0 as its conformance suite checks it.
    Strict,
    /// The grammar of every line and the closing `# EOF`, but none of the rules that span lines
    /// (family grouping and order, suffixes, histogram groups, signs of `_sum` and quantiles).
    /// This is what Prometheus' own parser accepts, so what `promtool` imports and Prometheus
    /// scrapes; real exporters and backfill files rely on it (e.g. a family whose series are
    /// interleaved with its `_sum` and `_count` per target).
    Compatible,
}

/// Why a body could not be parsed, and on which line.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based number of the offending line.
    pub line: usize,
    pub message: String,
}

/// One exemplar attached to a sample (OpenMetrics only).
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// The exemplar's own labels (often a trace id); sorted, without empty values.
    pub labels: Labels,
    pub value: f64,
    /// Milliseconds since the Unix epoch, converted like sample timestamps.
    pub timestamp_ms: Option<i64>,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesEntry<'a> {
    /// The sample's metric name as written (`foo_bucket`, not the family name `foo`).
    pub name: &'a str,
    /// Labels in input order, values unescaped, without `__name__`. Empty values are kept here
    /// (they mean "label absent" and are dropped by [`SeriesEntry::to_labels`]).
    pub labels: Vec<(&'a str, Cow<'a, str>)>,
    pub value: f64,
    /// Milliseconds since the Unix epoch. OpenMetrics writes float seconds; they are converted
    /// as Prometheus does, by multiplying by 1000 and truncating toward zero.
    pub timestamp_ms: Option<i64>,
    pub exemplar: Option<Exemplar>,
}

impl SeriesEntry<'_> {
    /// The series' label set: `__name__` plus the sample's labels, sorted and validated.
    pub fn to_labels(&self) -> Result<Labels, LabelsError> {
        let mut labels = Vec::with_capacity(self.labels.len() + 1);
        labels.push(Label::new(METRIC_NAME, self.name));
        labels.extend(self.labels.iter().map(|(n, v)| Label::new(*n, v.as_ref())));
        Labels::new_series(labels)
    }
}

/// One parsed line that carries information; comments and (in the text format) blank lines
/// produce no entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    Help {
        metric: &'a str,
        text: Cow<'a, str>,
    },
    Type {
        metric: &'a str,
        kind: MetricType,
    },
    /// OpenMetrics only; `unit` may be empty.
    Unit {
        metric: &'a str,
        unit: &'a str,
    },
    Series(SeriesEntry<'a>),
    /// A native histogram (the protobuf format only, see [`proto`]). `series.value` is
    /// unused (0); `series.name` is the family name.
    Histogram {
        series: SeriesEntry<'a>,
        h: HistogramValue,
    },
}

/// A streaming parser over a whole exposition body.
///
/// After an error the parser is finished: every further call returns the same error.
#[derive(Debug)]
pub struct Parser<'a> {
    input: &'a [u8],
    /// Byte offset of the first line not yet read.
    pos: usize,
    /// Number of the line most recently read (0 before the first).
    line: usize,
    state: State,
    done: bool,
    failed: Option<ParseError>,
    /// The type of the last `# TYPE` line, for [`normalize_floats_in_label_values`].
    family_type: Option<MetricType>,
}

#[derive(Debug)]
enum State {
    Text,
    /// With the cross-line validator only for [`Validation::Strict`].
    OpenMetrics(Option<Box<om_validate::Validator>>),
}

impl<'a> Parser<'a> {
    /// A parser of `input` in `format`, validating OpenMetrics with [`Validation::Compatible`].
    pub fn new(input: &'a [u8], format: Format) -> Parser<'a> {
        Parser::with_validation(input, format, Validation::Compatible)
    }

    /// A parser of `input` in `format` with the given OpenMetrics validation level.
    pub fn with_validation(input: &'a [u8], format: Format, validation: Validation) -> Parser<'a> {
        let state = match format {
            Format::PrometheusText => State::Text,
            Format::OpenMetrics => State::OpenMetrics(
                (validation == Validation::Strict).then(|| Box::new(om_validate::Validator::new())),
            ),
        };
        Parser {
            input,
            pos: 0,
            line: 0,
            state,
            done: false,
            failed: None,
            family_type: None,
        }
    }

    /// The next entry; `Ok(None)` at the end of the input (for OpenMetrics, after `# EOF`; a
    /// missing `# EOF` is an error).
    pub fn next_entry(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if self.done {
            return Ok(None);
        }
        let mut result = match self.state {
            State::Text => self.next_text(),
            State::OpenMetrics(_) => self.next_openmetrics(),
        };
        match &mut result {
            Ok(None) => self.done = true,
            Err(err) => self.failed = Some(err.clone()),
            Ok(Some(Entry::Type { kind, .. })) => self.family_type = Some(*kind),
            Ok(Some(Entry::Series(s))) => normalize_floats_in_label_values(self.family_type, s),
            Ok(Some(_)) => {}
        }
        result
    }

    /// The 1-based number of the line most recently read: the line of the entry (or error) just
    /// returned, or 0 before the first call.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The next line without its `\n`, and whether it had one; `None` at the end of input.
    fn next_line(&mut self) -> Option<(&'a [u8], bool)> {
        let rest = self.input.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        self.line += 1;
        match rest.iter().position(|&b| b == b'\n') {
            Some(n) => {
                self.pos += n + 1;
                Some((&rest[..n], true))
            }
            None => {
                self.pos = self.input.len();
                Some((rest, false))
            }
        }
    }

    /// Whether every byte of the input has been read.
    fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// An error on the current line.
    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            line: self.line,
            message: message.into(),
        }
    }

    /// `bytes` as UTF-8, or an error on the current line.
    fn utf8(&self, bytes: &'a [u8]) -> Result<&'a str, ParseError> {
        std::str::from_utf8(bytes).map_err(|e| {
            self.error(format!(
                "invalid UTF-8 at byte {} of the line",
                e.valid_up_to()
            ))
        })
    }
}

/// Prometheus 3's rule for both text formats: the `le` of a histogram's series and the
/// `quantile` of a summary's are rewritten as OpenMetrics floats (`1` → `1.0`, `1e3` →
/// `1000.0`), by the type of the last `# TYPE` line, so text and protobuf scrapes of the
/// same target give the same series. Values that are not numbers stay as written.
fn normalize_floats_in_label_values(family_type: Option<MetricType>, s: &mut SeriesEntry<'_>) {
    let label = match family_type {
        Some(MetricType::Histogram) => "le",
        Some(MetricType::Summary) => "quantile",
        _ => return,
    };
    for (name, value) in &mut s.labels {
        if *name != label {
            continue;
        }
        if let Ok(f) = value.parse::<f64>() {
            let normalized = proto::format_openmetrics_float(f);
            if normalized != *value {
                *value = Cow::Owned(normalized);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_selects_format() {
        assert_eq!(
            Format::from_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::from_content_type("Application/OpenMetrics-Text"),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::from_content_type("text/plain; version=0.0.4"),
            Format::PrometheusText
        );
        assert_eq!(Format::from_content_type(""), Format::PrometheusText);
    }

    #[test]
    fn to_labels_adds_name_and_drops_empty_values() {
        let entry = SeriesEntry {
            name: "up",
            labels: vec![("job", Cow::Borrowed("a")), ("empty", Cow::Borrowed(""))],
            value: 1.0,
            timestamp_ms: None,
            exemplar: None,
        };
        let ls = entry.to_labels().unwrap();
        assert_eq!(ls.to_string(), "up{job=\"a\"}");
    }

    #[test]
    fn le_and_quantile_values_are_normalized_by_family_type() {
        let body = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1e3\"} 1\n\
                    h_bucket{le=\"Inf\"} 1\nh_bucket{le=\"x\"} 1\n\
                    # TYPE s summary\ns{quantile=\"0\"} 1\ns{le=\"1\"} 1\n\
                    # TYPE g gauge\ng{le=\"1\"} 1\n";
        let mut p = Parser::new(body.as_bytes(), Format::PrometheusText);
        let mut got = Vec::new();
        while let Some(e) = p.next_entry().unwrap() {
            if let Entry::Series(s) = e {
                got.push(s.labels[0].1.to_string());
            }
        }
        assert_eq!(got, ["1.0", "1000.0", "+Inf", "x", "0.0", "1", "1"]);
    }

    #[test]
    fn parser_is_fused_after_error_and_end() {
        let mut p = Parser::new(b"a 1\n", Format::OpenMetrics);
        assert!(p.next_entry().unwrap().is_some());
        let err = p.next_entry().unwrap_err();
        assert_eq!(p.next_entry().unwrap_err(), err);

        let mut p = Parser::new(b"a 1\n", Format::PrometheusText);
        assert!(p.next_entry().unwrap().is_some());
        assert_eq!(p.next_entry().unwrap(), None);
        assert_eq!(p.next_entry().unwrap(), None);
    }

    /// Drains a parser, failing if it yields more entries than the input has lines (which
    /// would mean it stopped making progress).
    fn drain(input: &[u8], format: Format, validation: Validation) {
        let mut p = Parser::with_validation(input, format, validation);
        let bound = input.iter().filter(|&&b| b == b'\n').count() + 2;
        for _ in 0..bound {
            match p.next_entry() {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return,
            }
        }
        panic!("parser made no progress on {input:?}");
    }

    proptest::proptest! {
        #[test]
        fn never_panics_or_stalls(
            input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            text in "([a-z_{}=\",# .\\\n\t+-]|le|EOF|HELP|TYPE|UNIT|Inf|NaN|[0-9]|\"\\\\\"){0,60}",
        ) {
            for format in [Format::PrometheusText, Format::OpenMetrics] {
                for validation in [Validation::Strict, Validation::Compatible] {
                    drain(&input, format, validation);
                    drain(text.as_bytes(), format, validation);
                }
            }
        }
    }
}
