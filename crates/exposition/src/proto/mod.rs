//! Prometheus' protobuf exposition format: a body of `io.prometheus.client.MetricFamily`
//! messages, each preceded by its length as a varint (`encoding=delimited`).
//!
//! [`ProtoParser`] presents such a body as the text parsers present theirs, one [`Entry`] at a
//! time, the way Prometheus' `textparse.ProtobufParser` does: per family its HELP, UNIT (if
//! any) and TYPE, then its samples. Summaries and classic histograms become their `_count`,
//! `_sum` and quantile / `_bucket` series (an `le="+Inf"` bucket is added when the message has
//! none; bounds and quantiles are formatted as OpenMetrics floats, `1.0`, `+Inf`); native
//! histograms become [`Entry::Histogram`] when [`ProtoOptions::native_histograms`] is set.
//! No `_created` series are produced (the start timestamps are only read by Prometheus'
//! created-timestamp ingestion, which bongsu does not have), and exemplars are ignored.
//!
//! It does not own what happens to an entry afterwards (relabeling, limits, storage), nor the
//! validation of a native histogram's counts (the storage's appender does that).

mod dto;
mod nhcb;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;

use prost::Message;
use thiserror::Error;

use bongsu_model::{CounterResetHint, FloatHistogram, Histogram, HistogramValue, Span};

use super::{Entry, MetricType, SeriesEntry};

pub use dto::{
    Bucket, BucketSpan, Counter, Gauge, Histogram as ProtoHistogram, LabelPair, Metric,
    MetricFamily, MetricType as ProtoMetricType, Quantile, Summary, Timestamp, Untyped,
};

/// The media type of the format, as `Content-Type` names it.
pub const MEDIA_TYPE: &str = "application/vnd.google.protobuf";

/// Most bytes a varint length prefix may take (Prometheus reads 32-bit lengths).
const MAX_VARINT_LEN: usize = 5;

/// How histograms are read; the fields are the scrape config's switches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProtoOptions {
    /// Read native histograms as such (`scrape_native_histograms`). Off: every histogram is
    /// read as its classic series, native parts ignored.
    pub native_histograms: bool,
    /// Also produce the classic series of a histogram read as native, and keep the classic
    /// series of one converted to NHCB (`always_scrape_classic_histograms`).
    pub keep_classic: bool,
    /// Produce a native histogram with custom buckets for each classic histogram
    /// (`convert_classic_histograms_to_nhcb`).
    pub convert_nhcb: bool,
}

/// Why a protobuf body could not be read (Prometheus' messages).
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{0}")]
pub struct ProtoError(pub String);

/// An entry the parser owns until the next call hands out the following one.
#[derive(Debug)]
enum Owned {
    Help {
        metric: Arc<str>,
        text: String,
    },
    Type {
        metric: Arc<str>,
        kind: MetricType,
    },
    Unit {
        metric: Arc<str>,
        unit: String,
    },
    Sample {
        name: String,
        labels: Arc<[(String, String)]>,
        magic: Option<(&'static str, String)>,
        value: f64,
        timestamp_ms: Option<i64>,
    },
    Histogram {
        name: Arc<str>,
        labels: Arc<[(String, String)]>,
        h: HistogramValue,
        timestamp_ms: Option<i64>,
    },
}

/// A streaming reader of a delimited protobuf body: one family is decoded at a time.
///
/// After an error the parser is finished: every further call returns the same error.
#[derive(Debug)]
pub struct ProtoParser<'a> {
    input: &'a [u8],
    pos: usize,
    opts: ProtoOptions,
    pending: VecDeque<Owned>,
    current: Option<Owned>,
    failed: Option<ProtoError>,
}

impl<'a> ProtoParser<'a> {
    pub fn new(input: &'a [u8], opts: ProtoOptions) -> ProtoParser<'a> {
        ProtoParser {
            input,
            pos: 0,
            opts,
            pending: VecDeque::new(),
            current: None,
            failed: None,
        }
    }

    /// The next entry, borrowed from the parser until the next call; `Ok(None)` at the end.
    pub fn next_entry(&mut self) -> Result<Option<Entry<'_>>, ProtoError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        while self.pending.is_empty() {
            match self.next_family() {
                Ok(true) => {}
                Ok(false) => {
                    self.current = None;
                    return Ok(None);
                }
                Err(e) => {
                    self.failed = Some(e.clone());
                    return Err(e);
                }
            }
        }
        self.current = self.pending.pop_front();
        Ok(self.current.as_ref().map(view))
    }

    /// Decodes the next family into `pending`; false at the end of the body.
    fn next_family(&mut self) -> Result<bool, ProtoError> {
        let rest = &self.input[self.pos..];
        if rest.is_empty() {
            return Ok(false);
        }
        let (len, varint_len) = read_varint(rest)
            .ok_or_else(|| ProtoError("clientpb: invalid varint encountered".into()))?;
        let total = usize::try_from(len)
            .ok()
            .and_then(|l| l.checked_add(varint_len))
            .filter(|t| *t <= rest.len())
            .ok_or_else(|| {
                ProtoError(format!(
                    "clientpb: insufficient length of buffer, expected at least {} bytes, got {} bytes",
                    (len as u128) + varint_len as u128,
                    rest.len()
                ))
            })?;
        let mf = MetricFamily::decode(&rest[varint_len..total])
            .map_err(|e| ProtoError(format!("clientpb: {e}")))?;
        self.pos += total;
        self.expand(mf)?;
        Ok(true)
    }

    /// The entries of one family, in Prometheus' order.
    fn expand(&mut self, mf: MetricFamily) -> Result<(), ProtoError> {
        // Families without metrics are skipped entirely, metadata included.
        if mf.metric.is_empty() {
            return Ok(());
        }
        if mf.name.is_empty() {
            return Err(ProtoError(format!("invalid metric name: {}", mf.name)));
        }
        let kind = ProtoMetricType::try_from(mf.r#type).map_err(|_| {
            ProtoError(format!(
                "unknown metric type for metric {:?}: {}",
                mf.name, mf.r#type
            ))
        })?;
        let family: Arc<str> = mf.name.as_str().into();
        self.pending.push_back(Owned::Help {
            metric: family.clone(),
            text: mf.help,
        });
        if !mf.unit.is_empty() {
            self.pending.push_back(Owned::Unit {
                metric: family.clone(),
                unit: mf.unit,
            });
        }
        self.pending.push_back(Owned::Type {
            metric: family.clone(),
            kind: metadata_type(kind),
        });
        for m in mf.metric {
            let labels: Arc<[(String, String)]> =
                m.label.into_iter().map(|l| (l.name, l.value)).collect();
            let ts = (m.timestamp_ms != 0).then_some(m.timestamp_ms);
            let simple = |value: f64| Owned::Sample {
                name: family.to_string(),
                labels: labels.clone(),
                magic: None,
                value,
                timestamp_ms: ts,
            };
            match kind {
                ProtoMetricType::Counter => {
                    let v = m.counter.map_or(0.0, |c| c.value);
                    self.pending.push_back(simple(v));
                }
                ProtoMetricType::Gauge => {
                    let v = m.gauge.map_or(0.0, |g| g.value);
                    self.pending.push_back(simple(v));
                }
                ProtoMetricType::Untyped => {
                    let v = m.untyped.map_or(0.0, |u| u.value);
                    self.pending.push_back(simple(v));
                }
                ProtoMetricType::Summary => {
                    let s = m.summary.unwrap_or_default();
                    self.push_summary(&family, &labels, &s, ts);
                }
                ProtoMetricType::Histogram | ProtoMetricType::GaugeHistogram => {
                    let gauge = kind == ProtoMetricType::GaugeHistogram;
                    let h = m.histogram.unwrap_or_default();
                    self.push_histogram(&family, &labels, &h, gauge, ts)?;
                }
            }
        }
        Ok(())
    }

    fn push_summary(
        &mut self,
        family: &str,
        labels: &Arc<[(String, String)]>,
        s: &Summary,
        ts: Option<i64>,
    ) {
        self.push_sample(
            format!("{family}_count"),
            labels,
            None,
            s.sample_count as f64,
            ts,
        );
        self.push_sample(format!("{family}_sum"), labels, None, s.sample_sum, ts);
        for q in &s.quantile {
            let magic = Some(("quantile", format_openmetrics_float(q.quantile)));
            self.push_sample(family.to_string(), labels, magic, q.value, ts);
        }
    }

    fn push_histogram(
        &mut self,
        family: &Arc<str>,
        labels: &Arc<[(String, String)]>,
        h: &ProtoHistogram,
        gauge: bool,
        ts: Option<i64>,
    ) -> Result<(), ProtoError> {
        let native = self.opts.native_histograms && is_native_histogram(h);
        if native {
            check_native_consistency(h)
                .map_err(|e| ProtoError(format!("histogram {family:?}: {e}")))?;
            self.pending.push_back(Owned::Histogram {
                name: family.clone(),
                labels: labels.clone(),
                h: native_histogram(h, gauge),
                timestamp_ms: ts,
            });
            if self.opts.keep_classic && !h.bucket.is_empty() {
                self.push_classic(family, labels, h, ts);
            }
            return Ok(());
        }
        if !self.opts.convert_nhcb || self.opts.keep_classic {
            self.push_classic(family, labels, h, ts);
        }
        if self.opts.convert_nhcb {
            let converted = nhcb::convert(h, gauge).map_err(ProtoError)?;
            self.pending.push_back(Owned::Histogram {
                name: family.clone(),
                labels: labels.clone(),
                h: converted,
                timestamp_ms: ts,
            });
        }
        Ok(())
    }

    /// `_count`, `_sum`, then one `_bucket` per bucket up to the first +Inf one, adding it
    /// when missing.
    fn push_classic(
        &mut self,
        family: &str,
        labels: &Arc<[(String, String)]>,
        h: &ProtoHistogram,
        ts: Option<i64>,
    ) {
        let count = or_int(h.sample_count_float, h.sample_count);
        self.push_sample(format!("{family}_count"), labels, None, count, ts);
        self.push_sample(format!("{family}_sum"), labels, None, h.sample_sum, ts);
        let bucket = format!("{family}_bucket");
        for b in &h.bucket {
            let v = or_int(b.cumulative_count_float, b.cumulative_count);
            let magic = Some(("le", format_openmetrics_float(b.upper_bound)));
            self.push_sample(bucket.clone(), labels, magic, v, ts);
            if b.upper_bound == f64::INFINITY {
                return;
            }
        }
        self.push_sample(bucket, labels, Some(("le", "+Inf".into())), count, ts);
    }

    fn push_sample(
        &mut self,
        name: String,
        labels: &Arc<[(String, String)]>,
        magic: Option<(&'static str, String)>,
        value: f64,
        timestamp_ms: Option<i64>,
    ) {
        self.pending.push_back(Owned::Sample {
            name,
            labels: labels.clone(),
            magic,
            value,
            timestamp_ms,
        });
    }
}

/// Appends `families` to `out` in the delimited format (each message after its length), as a
/// target or a federation endpoint writes them.
pub fn encode_delimited(families: &[MetricFamily], out: &mut Vec<u8>) {
    for mf in families {
        // Writing to a Vec grows it as needed: the only encode error is a full buffer.
        let _ = mf.encode_length_delimited(out);
    }
}

/// The borrowed form of an owned entry.
fn view(o: &Owned) -> Entry<'_> {
    match o {
        Owned::Help { metric, text } => Entry::Help {
            metric,
            text: Cow::Borrowed(text),
        },
        Owned::Type { metric, kind } => Entry::Type {
            metric,
            kind: *kind,
        },
        Owned::Unit { metric, unit } => Entry::Unit { metric, unit },
        Owned::Sample {
            name,
            labels,
            magic,
            value,
            timestamp_ms,
        } => {
            let mut pairs: Vec<(&str, Cow<'_, str>)> = labels
                .iter()
                .map(|(n, v)| (n.as_str(), Cow::Borrowed(v.as_str())))
                .collect();
            if let Some((n, v)) = magic {
                pairs.push((n, Cow::Borrowed(v.as_str())));
            }
            Entry::Series(SeriesEntry {
                name,
                labels: pairs,
                value: *value,
                timestamp_ms: *timestamp_ms,
                exemplar: None,
            })
        }
        Owned::Histogram {
            name,
            labels,
            h,
            timestamp_ms,
        } => Entry::Histogram {
            series: SeriesEntry {
                name,
                labels: labels
                    .iter()
                    .map(|(n, v)| (n.as_str(), Cow::Borrowed(v.as_str())))
                    .collect(),
                value: 0.0,
                timestamp_ms: *timestamp_ms,
                exemplar: None,
            },
            h: h.clone(),
        },
    }
}

fn metadata_type(t: ProtoMetricType) -> MetricType {
    match t {
        ProtoMetricType::Counter => MetricType::Counter,
        ProtoMetricType::Gauge => MetricType::Gauge,
        ProtoMetricType::Summary => MetricType::Summary,
        ProtoMetricType::Histogram => MetricType::Histogram,
        ProtoMetricType::GaugeHistogram => MetricType::GaugeHistogram,
        ProtoMetricType::Untyped => MetricType::Unknown,
    }
}

/// The float field if it is not 0, else the integer one (Prometheus' rule for counts).
fn or_int(f: f64, i: u64) -> f64 {
    if f == 0.0 {
        i as f64
    } else {
        f
    }
}

/// Reads a varint of at most [`MAX_VARINT_LEN`] bytes: the value and its length.
fn read_varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, byte) in b.iter().take(MAX_VARINT_LEN).enumerate() {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Whether a histogram message carries a native histogram: any span, a zero threshold or a
/// zero count. (An exporter marks an empty native histogram with a no-op span.)
fn is_native_histogram(h: &ProtoHistogram) -> bool {
    !h.positive_span.is_empty()
        || !h.negative_span.is_empty()
        || h.zero_threshold > 0.0
        || h.zero_count > 0
}

fn is_float_histogram(h: &ProtoHistogram) -> bool {
    h.sample_count_float > 0.0 || h.zero_count_float > 0.0
}

/// The spans must describe exactly the buckets given, on each side.
fn check_native_consistency(h: &ProtoHistogram) -> Result<(), String> {
    let (pos, neg) = if is_float_histogram(h) {
        (h.positive_count.len(), h.negative_count.len())
    } else {
        (h.positive_delta.len(), h.negative_delta.len())
    };
    check_side("positive", &h.positive_span, pos)?;
    check_side("negative", &h.negative_span, neg)
}

fn check_side(side: &str, spans: &[BucketSpan], buckets: usize) -> Result<(), String> {
    let total: u64 = spans.iter().map(|s| u64::from(s.length)).sum();
    if total != buckets as u64 {
        return Err(format!(
            "{side} side: spans require {total} buckets, have {buckets}"
        ));
    }
    Ok(())
}

fn spans(s: &[BucketSpan]) -> Vec<Span> {
    s.iter()
        .map(|s| Span {
            offset: s.offset,
            length: s.length,
        })
        .collect()
}

/// The native histogram of a message: float if its float count or float zero count is set,
/// integer otherwise; a gauge histogram gets the gauge hint.
fn native_histogram(h: &ProtoHistogram, gauge: bool) -> HistogramValue {
    let hint = if gauge {
        CounterResetHint::Gauge
    } else {
        CounterResetHint::Unknown
    };
    if is_float_histogram(h) {
        let mut fh = FloatHistogram {
            counter_reset_hint: hint,
            schema: h.schema,
            zero_threshold: h.zero_threshold,
            zero_count: h.zero_count_float,
            count: h.sample_count_float,
            sum: h.sample_sum,
            positive_spans: spans(&h.positive_span),
            negative_spans: spans(&h.negative_span),
            positive_buckets: h.positive_count.clone(),
            negative_buckets: h.negative_count.clone(),
            custom_values: Vec::new(),
        };
        // As Prometheus, every parsed histogram is compacted (empty buckets and spans go).
        fh.compact(0);
        return HistogramValue::Float(Arc::new(fh));
    }
    let mut ih = Histogram {
        counter_reset_hint: hint,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count: h.zero_count,
        count: h.sample_count,
        sum: h.sample_sum,
        positive_spans: spans(&h.positive_span),
        negative_spans: spans(&h.negative_span),
        positive_buckets: h.positive_delta.clone(),
        negative_buckets: h.negative_delta.clone(),
        custom_values: Vec::new(),
    };
    ih.compact(0);
    HistogramValue::Int(Arc::new(ih))
}

/// Prometheus' `FormatOpenMetricsFloat`: Go's shortest `%g`, with `.0` added to integers.
pub fn format_openmetrics_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return "0.0".into();
    }
    let mut s = go_shortest_g(f);
    if !s.contains(['e', '.']) {
        s.push_str(".0");
    }
    s
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` for a finite, non-zero `f`.
fn go_shortest_g(f: f64) -> String {
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    // With the shortest precision Go switches to the exponent form below 1e-4 and from 1e6.
    if (-4..6).contains(&exp) {
        return format!("{f}");
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
}
