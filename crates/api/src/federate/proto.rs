//! The protobuf exposition format `/federate` answers when a client negotiates it: delimited
//! `io.prometheus.client.MetricFamily` messages (client_model's `metrics.proto`, proto2),
//! hand-written `prost` structs with the upstream field numbers, fields in number order and
//! repeated scalars unpacked, as Go's encoder writes them. Only what federation writes is
//! declared: untyped floats and histograms (native ones, and custom-bucket ones written as
//! classic histograms, as upstream's `makeNativeHistogram` and `makeClassicHistogram`).

use bongsu_model::{FloatHistogram, Span};

/// The content type of the delimited protobuf format (expfmt's `FmtProtoDelim`).
pub(super) const PROTO_DELIMITED: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// `io.prometheus.client.MetricType` values.
pub(super) const UNTYPED: i32 = 3;
pub(super) const HISTOGRAM: i32 = 4;
pub(super) const GAUGE_HISTOGRAM: i32 = 5;

/// `io.prometheus.client.MetricFamily`.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct MetricFamily {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(int32, optional, tag = "3")]
    pub r#type: Option<i32>,
    #[prost(message, repeated, tag = "4")]
    pub metric: Vec<Metric>,
}

/// `io.prometheus.client.Metric`.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Metric {
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    #[prost(message, optional, tag = "5")]
    pub untyped: Option<Untyped>,
    #[prost(int64, optional, tag = "6")]
    pub timestamp_ms: Option<i64>,
    #[prost(message, optional, tag = "7")]
    pub histogram: Option<Histogram>,
}

/// `io.prometheus.client.LabelPair`.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct LabelPair {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// `io.prometheus.client.Untyped`.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Untyped {
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// `io.prometheus.client.Histogram` (the fields federation sets).
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Histogram {
    #[prost(double, optional, tag = "2")]
    pub sample_sum: Option<f64>,
    #[prost(message, repeated, tag = "3")]
    pub bucket: Vec<Bucket>,
    #[prost(double, optional, tag = "4")]
    pub sample_count_float: Option<f64>,
    #[prost(sint32, optional, tag = "5")]
    pub schema: Option<i32>,
    #[prost(double, optional, tag = "6")]
    pub zero_threshold: Option<f64>,
    #[prost(double, optional, tag = "8")]
    pub zero_count_float: Option<f64>,
    #[prost(message, repeated, tag = "9")]
    pub negative_span: Vec<BucketSpan>,
    #[prost(double, repeated, packed = "false", tag = "11")]
    pub negative_count: Vec<f64>,
    #[prost(message, repeated, tag = "12")]
    pub positive_span: Vec<BucketSpan>,
    #[prost(double, repeated, packed = "false", tag = "14")]
    pub positive_count: Vec<f64>,
}

/// `io.prometheus.client.Bucket`.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Bucket {
    #[prost(double, optional, tag = "2")]
    pub upper_bound: Option<f64>,
    #[prost(double, optional, tag = "4")]
    pub cumulative_count_float: Option<f64>,
}

/// `io.prometheus.client.BucketSpan`.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct BucketSpan {
    #[prost(sint32, optional, tag = "1")]
    pub offset: Option<i32>,
    #[prost(uint32, optional, tag = "2")]
    pub length: Option<u32>,
}

fn spans(s: &[Span]) -> Vec<BucketSpan> {
    s.iter()
        .map(|s| BucketSpan {
            offset: Some(s.offset),
            length: Some(s.length),
        })
        .collect()
}

/// A native histogram with exponential buckets (upstream's `makeNativeHistogram`).
pub(super) fn native(h: &FloatHistogram) -> Histogram {
    Histogram {
        sample_sum: Some(h.sum),
        bucket: Vec::new(),
        sample_count_float: Some(h.count),
        schema: Some(h.schema),
        zero_threshold: Some(h.zero_threshold),
        zero_count_float: Some(h.zero_count),
        negative_span: spans(&h.negative_spans),
        negative_count: h.negative_buckets.clone(),
        positive_span: spans(&h.positive_spans),
        positive_count: h.positive_buckets.clone(),
    }
}

/// The cumulative count at each custom bound of a custom-bucket histogram, in bound order
/// (the +Inf bucket is left out: the count stands for it).
pub(super) fn cumulative(h: &FloatHistogram) -> Vec<(f64, f64)> {
    // Bucket index → count, from the spans.
    let mut counts = Vec::with_capacity(h.positive_buckets.len());
    let mut idx: i64 = 0;
    let mut buckets = h.positive_buckets.iter();
    for span in &h.positive_spans {
        idx += i64::from(span.offset);
        for _ in 0..span.length {
            let Some(c) = buckets.next() else { break };
            counts.push((idx, *c));
            idx += 1;
        }
    }
    let mut counts = counts.into_iter().peekable();
    let mut total = 0.0;
    h.custom_values
        .iter()
        .enumerate()
        .map(|(i, le)| {
            let i = i as i64;
            while counts.next_if(|(idx, _)| *idx < i).is_some() {}
            if let Some((_, c)) = counts.next_if(|(idx, _)| *idx == i) {
                total += c;
            }
            (*le, total)
        })
        .collect()
}

/// A custom-bucket histogram as a classic one (upstream's `makeClassicHistogram`).
pub(super) fn classic(h: &FloatHistogram) -> Histogram {
    Histogram {
        sample_sum: Some(h.sum),
        bucket: cumulative(h)
            .into_iter()
            .map(|(le, c)| Bucket {
                upper_bound: Some(le),
                cumulative_count_float: Some(c),
            })
            .collect(),
        sample_count_float: Some(h.count),
        ..Histogram::default()
    }
}
