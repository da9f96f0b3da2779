//! `GET /federate`: the newest sample within the lookback delta of every series matching any
//! `match[]`, as upstream's federation handler (`web/federate.go`) writes it: families by
//! metric name (floats `untyped`), the series' labels, then the external labels the series
//! does not already have (with `instance=""` when it has no instance), and the sample's own
//! timestamp. Stale series (a stale float or histogram) are left out.
//!
//! The format is negotiated from `Accept` as expfmt's `Negotiate`: the delimited protobuf
//! format ([`proto`]) or the text format 0.0.4. Native histograms: in protobuf, a family of
//! type `HISTOGRAM` (`GAUGE_HISTOGRAM` for gauge histograms) per run of the same name and
//! kind; custom-bucket histograms (NHCB) as classic histograms. The text format has no native
//! histograms, so exponential ones are left out there, as upstream; an NHCB is written as a
//! classic histogram (`_bucket`, `_sum`, `_count`; a gauge one typed `histogram` too, as
//! expfmt ≥ 0.67 renders a gauge histogram in text). Not here: the protobuf text formats (`encoding=text`, `compact-text`), answered with the
//! text format.

mod proto;

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prost::Message;

use bongsu_model::histogram::CounterResetHint;
use bongsu_model::{is_stale_nan, FloatHistogram, Labels, METRIC_NAME};
use bongsu_storage::Queryable;

use super::params::{parse_selector, Params};
use super::{json, now_ms, ApiState};

/// The content type of the text format version 0.0.4, which Prometheus answers by default.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

fn plain(status: StatusCode, msg: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg + "\n",
    )
        .into_response()
}

/// The newest value of a series: a float or a histogram (integer ones as floats).
enum Value {
    Float(f64),
    Histogram(Box<FloatHistogram>),
}

impl Value {
    fn histogram(&self) -> Option<&FloatHistogram> {
        match self {
            Value::Float(_) => None,
            Value::Histogram(h) => Some(h),
        }
    }
}

/// The newest sample of each series, sorted by metric name then labels.
type Latest = [(Labels, (i64, Value))];

/// Whether the client asked for the delimited protobuf format before the text format, as
/// expfmt's `Negotiate` decides (by `q`, then order; an unknown type is skipped).
fn wants_protobuf(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    let mut entries: Vec<(f64, usize, Vec<&str>)> = accept
        .split(',')
        .enumerate()
        .map(|(i, e)| {
            let parts: Vec<&str> = e.split(';').map(str::trim).collect();
            let q = parts
                .iter()
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f64>().ok())
                .unwrap_or(1.0);
            (q, i, parts)
        })
        .collect();
    entries.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, parts) in entries {
        let param = |name: &str| {
            parts[1..].iter().find_map(|p| {
                let (k, v) = p.split_once('=')?;
                (k.trim() == name).then(|| v.trim().trim_matches('"'))
            })
        };
        let media = parts[0].to_ascii_lowercase();
        if media == "application/vnd.google.protobuf"
            && param("proto") == Some("io.prometheus.client.MetricFamily")
            && param("encoding") == Some("delimited")
        {
            return true;
        }
        if media == "text/plain" && matches!(param("version"), None | Some("0.0.4")) {
            return false;
        }
    }
    false
}

pub(super) async fn federate(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let protobuf = wants_protobuf(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let p = match Params::parse(q.as_deref(), None) {
        Ok(p) => p,
        Err(e) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("error parsing form values: {e}"),
            )
        }
    };
    let sets = match p
        .all("match[]")
        .into_iter()
        .map(parse_selector)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(sets) => sets,
        Err(e) => return plain(StatusCode::BAD_REQUEST, e),
    };
    let Ok(db) = s.db() else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "TSDB not ready".into());
    };
    let external = s.0.external_labels.lock().clone();
    let lookback = s.0.engine.lookback_ms;
    let work = move || -> Result<Vec<u8>, String> {
        let maxt = now_ms();
        let querier = db
            .querier(maxt - lookback, maxt)
            .map_err(|e| e.to_string())?;
        // Deduplicated across match[] sets, in label order.
        let mut latest: BTreeMap<Labels, (i64, Value)> = BTreeMap::new();
        for set in &sets {
            for series in querier.select(set).map_err(|e| e.to_string())? {
                let float = series.samples.last();
                let hist = series.histograms.last();
                let newest = match (float, hist) {
                    (Some(f), Some(h)) if h.t > f.t => (h.t, None, Some(&h.h)),
                    (Some(f), _) => (f.t, Some(f.v), None),
                    (None, Some(h)) => (h.t, None, Some(&h.h)),
                    (None, None) => continue,
                };
                let value = match newest {
                    (_, Some(v), _) if !is_stale_nan(v) => Value::Float(v),
                    (_, _, Some(h)) if !h.is_stale() => Value::Histogram(Box::new(h.to_float())),
                    _ => continue,
                };
                latest.insert(series.labels, (newest.0, value));
            }
        }
        let mut samples: Vec<_> = latest.into_iter().collect();
        // Stable: series of one name stay in label order.
        samples.sort_by(|a, b| a.0.get(METRIC_NAME).cmp(&b.0.get(METRIC_NAME)));
        Ok(match protobuf {
            true => render_protobuf(&samples, &external),
            false => render(&samples, &external).into_bytes(),
        })
    };
    let content_type = match protobuf {
        true => proto::PROTO_DELIMITED,
        false => TEXT_FORMAT,
    };
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(body)) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        Ok(Err(e)) => plain(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The external labels a sample may need, with `instance=""` when there is none, sorted.
fn extra_labels(external: &Labels) -> Vec<(&str, &str)> {
    let mut extra: Vec<(&str, &str)> = external.iter().map(|l| (&*l.name, &*l.value)).collect();
    if !extra.iter().any(|(n, _)| *n == "instance") {
        extra.push(("instance", ""));
        extra.sort();
    }
    extra
}

/// A sample's exposed labels: its own (without the name and empty values), then the
/// external ones it does not have.
fn exposed<'a>(labels: &'a Labels, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut pairs: Vec<(&str, &str)> = labels
        .iter()
        .filter(|l| &*l.name != METRIC_NAME && !l.value.is_empty())
        .map(|l| (&*l.name, &*l.value))
        .collect();
    let own = pairs.len();
    for &(n, v) in extra {
        if !pairs[..own].iter().any(|(name, _)| *name == n) {
            pairs.push((n, v));
        }
    }
    pairs
}

/// What starts a new family besides the name: floats, counter histograms and gauge
/// histograms are families of their own (upstream bends the exposition rules the same way).
fn family_kind(v: &Value) -> (bool, bool) {
    match v.histogram() {
        None => (false, false),
        Some(h) => (true, h.counter_reset_hint == CounterResetHint::Gauge),
    }
}

/// The text format of `samples` (sorted by metric name) with `external` labels added.
fn render(samples: &Latest, external: &Labels) -> String {
    let extra = extra_labels(external);
    let mut out = String::new();
    let mut last: Option<(&str, (bool, bool))> = None;
    for (labels, (t, v)) in samples {
        let Some(name) = labels.get(METRIC_NAME) else {
            continue;
        };
        let kind = family_kind(v);
        if v.histogram().is_some_and(|h| !h.uses_custom_buckets()) {
            // No native histograms in text.
            continue;
        }
        if last != Some((name, kind)) {
            out.push_str("# TYPE ");
            out.push_str(name);
            out.push_str(if kind.0 { " histogram\n" } else { " untyped\n" });
            last = Some((name, kind));
        }
        let pairs = exposed(labels, &extra);
        match v {
            Value::Float(f) => line(&mut out, name, &pairs, None, *f, *t),
            Value::Histogram(h) => {
                let mut bucket = format!("{name}_bucket");
                for (le, count) in proto::cumulative(h) {
                    line(&mut out, &bucket, &pairs, Some(le), count, *t);
                }
                line(&mut out, &bucket, &pairs, Some(f64::INFINITY), h.count, *t);
                bucket.truncate(name.len());
                bucket.push_str("_sum");
                line(&mut out, &bucket, &pairs, None, h.sum, *t);
                bucket.truncate(name.len());
                bucket.push_str("_count");
                line(&mut out, &bucket, &pairs, None, h.count, *t);
            }
        }
    }
    out
}

/// One text-format sample line; `le`, when given, is the last label.
fn line(out: &mut String, name: &str, pairs: &[(&str, &str)], le: Option<f64>, v: f64, t: i64) {
    out.push_str(name);
    if !pairs.is_empty() || le.is_some() {
        out.push('{');
        for (i, (n, v)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(n);
            out.push_str("=\"");
            escape_label_value(out, v);
            out.push('"');
        }
        if let Some(le) = le {
            if !pairs.is_empty() {
                out.push(',');
            }
            out.push_str("le=\"");
            out.push_str(&go_float(le));
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(&go_float(v));
    out.push(' ');
    out.push_str(&t.to_string());
    out.push('\n');
}

/// The delimited protobuf format of `samples` (sorted by metric name) with `external`
/// labels added: one `MetricFamily` per run of the same name and kind.
fn render_protobuf(samples: &Latest, external: &Labels) -> Vec<u8> {
    let extra = extra_labels(external);
    let mut out = Vec::new();
    let mut family: Option<proto::MetricFamily> = None;
    let mut last: Option<(&str, (bool, bool))> = None;
    for (labels, (t, v)) in samples {
        let Some(name) = labels.get(METRIC_NAME) else {
            continue;
        };
        let kind = family_kind(v);
        if last != Some((name, kind)) {
            if let Some(f) = family.take() {
                f.encode_length_delimited(&mut out).ok();
            }
            family = Some(proto::MetricFamily {
                name: Some(name.to_string()),
                r#type: Some(match kind {
                    (false, _) => proto::UNTYPED,
                    (true, false) => proto::HISTOGRAM,
                    (true, true) => proto::GAUGE_HISTOGRAM,
                }),
                metric: Vec::new(),
            });
            last = Some((name, kind));
        }
        let metric = proto::Metric {
            label: exposed(labels, &extra)
                .into_iter()
                .map(|(n, v)| proto::LabelPair {
                    name: Some(n.to_string()),
                    value: Some(v.to_string()),
                })
                .collect(),
            untyped: match v {
                Value::Float(f) => Some(proto::Untyped { value: Some(*f) }),
                Value::Histogram(_) => None,
            },
            timestamp_ms: Some(*t),
            histogram: v.histogram().map(|h| match h.uses_custom_buckets() {
                true => proto::classic(h),
                false => proto::native(h),
            }),
        };
        if let Some(f) = family.as_mut() {
            f.metric.push(metric);
        }
    }
    if let Some(f) = family {
        f.encode_length_delimited(&mut out).ok();
    }
    out
}

fn escape_label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A value as the text format writes it (Go's `strconv.FormatFloat(v, 'g', -1, 64)`).
fn go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // With the shortest precision, Go's 'g' switches to the exponent form when the decimal
    // exponent is below -4 or 6 and above.
    let exp = format!("{v:e}")
        .split_once('e')
        .and_then(|(_, e)| e.parse::<i32>().ok())
        .unwrap_or(0);
    if (-4..6).contains(&exp) {
        json::format_decimal(v)
    } else {
        json::go_exponent(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_writes_them() {
        assert_eq!(go_float(1.0), "1");
        assert_eq!(go_float(123456.0), "123456");
        assert_eq!(go_float(1234567.0), "1.234567e+06");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(-2.5e-10), "-2.5e-10");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn external_labels_and_families() {
        let a = Labels::from_pairs(&[("__name__", "a"), ("job", "j")]).unwrap();
        let b =
            Labels::from_pairs(&[("__name__", "b"), ("instance", "i"), ("zone", "own")]).unwrap();
        let ext = Labels::from_pairs(&[("zone", "eu")]).unwrap();
        let out = render(
            &[
                (a, (1000, Value::Float(1.0))),
                (b, (2000, Value::Float(2.0))),
            ],
            &ext,
        );
        assert_eq!(
            out,
            "# TYPE a untyped\na{job=\"j\",instance=\"\",zone=\"eu\"} 1 1000\n# TYPE b untyped\nb{instance=\"i\",zone=\"own\"} 2 2000\n"
        );
    }

    fn span(offset: i32, length: u32) -> bongsu_model::Span {
        bongsu_model::Span { offset, length }
    }

    /// Upstream's federation test histograms: an NHCB with bounds 0.1 … 2 and an
    /// exponential one.
    fn nhcb() -> FloatHistogram {
        bongsu_model::Histogram {
            count: 6,
            sum: 1.234,
            schema: -53,
            positive_spans: vec![span(0, 2), span(2, 1)],
            positive_buckets: vec![3, -1, -1],
            custom_values: vec![0.1, 0.2, 0.5, 1.0, 2.0],
            ..Default::default()
        }
        .to_float()
    }

    fn exponential() -> FloatHistogram {
        bongsu_model::Histogram {
            count: 20,
            sum: 99.23,
            schema: 1,
            positive_spans: vec![span(0, 2), span(1, 2)],
            positive_buckets: vec![2, 2, -2, 0],
            ..Default::default()
        }
        .to_float()
    }

    fn samples() -> Vec<(Labels, (i64, Value))> {
        let l = |i: &str| Labels::from_pairs(&[("__name__", "test_metric"), ("foo", i)]).unwrap();
        let gauge = FloatHistogram {
            counter_reset_hint: CounterResetHint::Gauge,
            ..nhcb()
        };
        vec![
            (l("0"), (6000, Value::Float(0.0))),
            (l("4"), (6000, Value::Histogram(Box::new(exponential())))),
            (l("6"), (6000, Value::Histogram(Box::new(nhcb())))),
            (l("7"), (6000, Value::Histogram(Box::new(gauge)))),
            (l("8"), (6000, Value::Float(8.0))),
        ]
    }

    #[test]
    fn text_writes_nhcb_as_classic_and_leaves_native_histograms_out() {
        let out = render(&samples(), &Labels::default());
        let want = "\
# TYPE test_metric untyped
test_metric{foo=\"0\",instance=\"\"} 0 6000
# TYPE test_metric histogram
test_metric_bucket{foo=\"6\",instance=\"\",le=\"0.1\"} 3 6000
test_metric_bucket{foo=\"6\",instance=\"\",le=\"0.2\"} 5 6000
test_metric_bucket{foo=\"6\",instance=\"\",le=\"0.5\"} 5 6000
test_metric_bucket{foo=\"6\",instance=\"\",le=\"1\"} 5 6000
test_metric_bucket{foo=\"6\",instance=\"\",le=\"2\"} 6 6000
test_metric_bucket{foo=\"6\",instance=\"\",le=\"+Inf\"} 6 6000
test_metric_sum{foo=\"6\",instance=\"\"} 1.234 6000
test_metric_count{foo=\"6\",instance=\"\"} 6 6000
# TYPE test_metric histogram
test_metric_bucket{foo=\"7\",instance=\"\",le=\"0.1\"} 3 6000
test_metric_bucket{foo=\"7\",instance=\"\",le=\"0.2\"} 5 6000
test_metric_bucket{foo=\"7\",instance=\"\",le=\"0.5\"} 5 6000
test_metric_bucket{foo=\"7\",instance=\"\",le=\"1\"} 5 6000
test_metric_bucket{foo=\"7\",instance=\"\",le=\"2\"} 6 6000
test_metric_bucket{foo=\"7\",instance=\"\",le=\"+Inf\"} 6 6000
test_metric_sum{foo=\"7\",instance=\"\"} 1.234 6000
test_metric_count{foo=\"7\",instance=\"\"} 6 6000
# TYPE test_metric untyped
test_metric{foo=\"8\",instance=\"\"} 8 6000
";
        assert_eq!(out, want);
    }

    #[test]
    fn protobuf_has_a_family_per_name_and_kind() {
        let out = render_protobuf(&samples(), &Labels::default());
        let mut buf = &out[..];
        let mut families = Vec::new();
        while !buf.is_empty() {
            families.push(proto::MetricFamily::decode_length_delimited(&mut buf).unwrap());
        }
        let types: Vec<(i32, usize)> = families
            .iter()
            .map(|f| (f.r#type.unwrap(), f.metric.len()))
            .collect();
        assert_eq!(
            types,
            vec![
                (proto::UNTYPED, 1),
                (proto::HISTOGRAM, 2),
                (proto::GAUGE_HISTOGRAM, 1),
                (proto::UNTYPED, 1)
            ]
        );
        let native = families[1].metric[0].histogram.as_ref().unwrap();
        assert_eq!(native.schema, Some(1));
        assert_eq!(native.sample_count_float, Some(20.0));
        assert_eq!(native.positive_count, vec![2.0, 4.0, 2.0, 2.0]);
        assert!(native.bucket.is_empty());
        let classic = families[1].metric[1].histogram.as_ref().unwrap();
        assert_eq!(classic.schema, None);
        let cum: Vec<(f64, f64)> = classic
            .bucket
            .iter()
            .map(|b| (b.upper_bound.unwrap(), b.cumulative_count_float.unwrap()))
            .collect();
        assert_eq!(
            cum,
            vec![(0.1, 3.0), (0.2, 5.0), (0.5, 5.0), (1.0, 5.0), (2.0, 6.0)]
        );
        let m = &families[0].metric[0];
        assert_eq!(m.timestamp_ms, Some(6000));
        // proto2: an untyped 0 is still written.
        assert_eq!(m.untyped.as_ref().unwrap().value, Some(0.0));
        let labels: Vec<(&str, &str)> = m
            .label
            .iter()
            .map(|l| (l.name.as_deref().unwrap(), l.value.as_deref().unwrap()))
            .collect();
        assert_eq!(labels, vec![("foo", "0"), ("instance", "")]);
        // Repeated doubles unpacked, as Go writes proto2: tag 14, wire type 1, per count.
        let h = proto::native(&exponential()).encode_to_vec();
        assert_eq!(h.iter().filter(|&&b| b == 14 << 3 | 1).count(), 4);
    }

    #[test]
    fn negotiation_follows_expfmt() {
        const PROM: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert!(wants_protobuf(Some(PROM)));
        assert!(!wants_protobuf(None));
        assert!(!wants_protobuf(Some("text/plain")));
        assert!(!wants_protobuf(Some("text/plain;q=0.9,application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5")));
        assert!(wants_protobuf(Some("application/openmetrics-text, application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited")));
        assert!(!wants_protobuf(Some(
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text"
        )));
    }
}
