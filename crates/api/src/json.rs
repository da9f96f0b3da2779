//! Prometheus' JSON encoding of API responses: the `status`/`data` envelope, sample values as
//! strings (`"NaN"`, `"+Inf"`), timestamps as Unix seconds with millisecond precision.

use std::fmt::Write;

use bongsu_model::{FloatHistogram, Labels};
use bongsu_promql::{Point, QueryValue};

/// A sample value as Prometheus writes it in JSON: Go's shortest decimal form, switching to the
/// exponent form (`1e-07`, `1.5e+21`) below 1e-6 and from 1e21 on, as its `jsonutil`.
pub fn format_value(v: f64) -> String {
    let abs = v.abs();
    if abs != 0.0 && abs.is_finite() && !(1e-6..1e21).contains(&abs) {
        go_exponent(v)
    } else {
        format_decimal(v)
    }
}

/// Appends `format_value(v)` without a `String` of its own in the common case (a finite
/// value that ryu writes without an exponent), as answers hold one per point.
pub fn write_value(out: &mut String, v: f64) {
    let abs = v.abs();
    if abs.is_finite() && (abs == 0.0 || (1e-6..1e21).contains(&abs)) {
        let mut buf = ryu::Buffer::new();
        let s = buf.format_finite(v);
        if !s.contains('e') {
            out.push_str(s.strip_suffix(".0").unwrap_or(s));
            return;
        }
    }
    out.push_str(&format_value(v));
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest decimal form, never an exponent.
pub fn format_decimal(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        // The shortest digits that read back as `v` (of two equally close, the even one, as
        // Go; Rust's own formatting breaks such ties the other way). ryu finds them fastest;
        // it writes integers as "1.0" and far magnitudes with an exponent, spelled out here.
        let mut buf = ryu::Buffer::new();
        let s = buf.format_finite(v);
        match s.split_once('e') {
            None => s.strip_suffix(".0").unwrap_or(s).to_string(),
            Some((mantissa, exp)) => positional(mantissa, exp.parse().unwrap_or(0)),
        }
    }
}

/// `mantissa` × 10^`exp` (mantissa as `-d.ddd` or `d`) written without an exponent.
fn positional(mantissa: &str, exp: i32) -> String {
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // Digits before the decimal point.
    let point = exp + 1;
    let mut out = String::from(sign);
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else if point as usize >= digits.len() {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
    } else {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    }
    out
}

/// Go's `'e'` form with the shortest mantissa: `1e-07`, `-2.5e+21` (two exponent digits at
/// least, always signed).
pub fn go_exponent(v: f64) -> String {
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// Appends a millisecond timestamp as Unix seconds: `1435781451.781`, `1435781451`.
pub fn write_timestamp(out: &mut String, t: i64) {
    let (secs, ms) = (t.div_euclid(1000), t.rem_euclid(1000));
    if secs < 0 && ms != 0 {
        // Go prints e.g. -0.5 for -500 ms: use the float form for negatives.
        let _ = write!(out, "{}", t as f64 / 1000.0);
        return;
    }
    out.push_str(itoa::Buffer::new().format(secs));
    if ms != 0 {
        out.push('.');
        let digits = [ms / 100, ms / 10 % 10, ms % 10];
        let len = if ms % 100 == 0 {
            1
        } else if ms % 10 == 0 {
            2
        } else {
            3
        };
        for d in &digits[..len] {
            out.push(char::from(b'0' + *d as u8));
        }
    }
}

pub fn write_str(out: &mut String, s: &str) {
    // Most label names and values need no escaping: copy them as they are.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    // serde_json escapes exactly as JSON requires; a &str always serializes.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string()));
}

pub fn write_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, &l.name);
        out.push(':');
        write_str(out, &l.value);
    }
    out.push('}');
}

fn write_point(out: &mut String, p: &Point) {
    out.push('[');
    write_timestamp(out, p.t);
    out.push_str(",\"");
    write_value(out, p.v);
    out.push_str("\"]");
}

/// Most warnings and infos a response lists, each; the rest are counted, as Prometheus.
const MAX_ANNOTATIONS: usize = 10;

/// The success envelope with Prometheus' `warnings` list when there are any.
pub fn success_with_warnings(data: &str, warnings: &[String]) -> String {
    success_with(data, warnings, &[])
}

/// The success envelope: `data`, then `warnings` and `infos` when there are any (at most
/// ten of each, then how many more were left out).
pub fn success_with(data: &str, warnings: &[String], infos: &[String]) -> String {
    let mut s = format!("{{\"status\":\"success\",\"data\":{data}");
    for (key, list, kind) in [("warnings", warnings, "warning"), ("infos", infos, "info")] {
        if list.is_empty() {
            continue;
        }
        s.push_str(&format!(",\"{key}\":["));
        for (i, a) in list.iter().take(MAX_ANNOTATIONS).enumerate() {
            if i > 0 {
                s.push(',');
            }
            write_str(&mut s, a);
        }
        if list.len() > MAX_ANNOTATIONS {
            s.push(',');
            let more = format!(
                "{} more {kind} annotations omitted",
                list.len() - MAX_ANNOTATIONS
            );
            write_str(&mut s, &more);
        }
        s.push(']');
    }
    s.push('}');
    s
}

/// A list of strings as a JSON array.
pub fn string_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let mut out = String::from("[");
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(&mut out, s.as_ref());
    }
    out.push(']');
    out
}

/// `[t, {"count":…,"sum":…,"buckets":[[boundaryRule,"lower","upper","count"],…]}]`, as
/// Prometheus' `MarshalHistogram`: empty buckets left out (and `buckets` when all are);
/// the boundary rule is 0 left-open, 1 right-open, 2 open, 3 closed.
pub fn write_histogram_point(out: &mut String, t: i64, h: &FloatHistogram) {
    out.push('[');
    write_timestamp(out, t);
    out.push_str(",{\"count\":\"");
    write_value(out, h.count);
    out.push_str("\",\"sum\":\"");
    write_value(out, h.sum);
    out.push('"');
    let mut first = true;
    for b in h.all_buckets().filter(|b| b.count != 0.0) {
        out.push_str(if first { ",\"buckets\":[" } else { "," });
        first = false;
        let rule = match (b.lower_inclusive, b.upper_inclusive) {
            (true, true) => 3,
            (true, false) => 1,
            (false, true) => 0,
            (false, false) => 2,
        };
        let _ = write!(out, "[{rule},\"");
        write_value(out, b.lower);
        out.push_str("\",\"");
        write_value(out, b.upper);
        out.push_str("\",\"");
        write_value(out, b.count);
        out.push_str("\"]");
    }
    if !first {
        out.push(']');
    }
    out.push_str("}]");
}

/// The `data` of a query response; `stats` is an already encoded `stats` object.
pub fn query_data(v: &QueryValue, stats: Option<&str>) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("{\"resultType\":\"");
    out.push_str(v.result_type());
    out.push_str("\",\"result\":");
    match v {
        // Prometheus writes a scalar result without the exponent form of sample values.
        QueryValue::Scalar(p) => {
            out.push('[');
            write_timestamp(&mut out, p.t);
            out.push_str(",\"");
            out.push_str(&format_decimal(p.v));
            out.push_str("\"]");
        }
        QueryValue::String { t, s } => {
            out.push('[');
            write_timestamp(&mut out, *t);
            out.push(',');
            write_str(&mut out, s);
            out.push(']');
        }
        QueryValue::Vector(samples) => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(&mut out, &s.labels);
                match &s.h {
                    None => {
                        out.push_str(",\"value\":");
                        write_point(&mut out, &Point { t: s.t, v: s.v });
                    }
                    Some(h) => {
                        out.push_str(",\"histogram\":");
                        write_histogram_point(&mut out, s.t, h);
                    }
                }
                out.push('}');
            }
            out.push(']');
        }
        QueryValue::Matrix(series) => {
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(&mut out, &s.labels);
                // Each list only when it has points, as upstream.
                if !s.points.is_empty() || s.histograms.is_empty() {
                    out.push_str(",\"values\":[");
                    for (j, p) in s.points.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        write_point(&mut out, p);
                    }
                    out.push(']');
                }
                if !s.histograms.is_empty() {
                    out.push_str(",\"histograms\":[");
                    for (j, p) in s.histograms.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        write_histogram_point(&mut out, p.t, &p.h);
                    }
                    out.push(']');
                }
                out.push('}');
            }
            out.push(']');
        }
    }
    if let Some(stats) = stats {
        out.push_str(",\"stats\":");
        out.push_str(stats);
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_times_match_prometheus() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(1e21), "1e+21");
        assert_eq!(format_value(1e20), "100000000000000000000");
        assert_eq!(format_value(1e-7), "1e-07");
        assert_eq!(format_value(-2.5e-10), "-2.5e-10");
        assert_eq!(format_value(0.0000011), "0.0000011");
        assert_eq!(format_value(1.5e300), "1.5e+300");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_decimal(1e21), "1000000000000000000000");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        for v in [
            1.0,
            -0.0,
            0.1,
            1e21,
            1e20,
            1e-7,
            1e-6,
            9.99e-7,
            0.0000011,
            123456.789,
            -3.5e15,
            1.5e300,
            f64::NAN,
            f64::INFINITY,
            f64::MIN_POSITIVE,
            5e-324,
        ] {
            let mut s = String::from("x");
            write_value(&mut s, v);
            assert_eq!(s, format!("x{}", format_value(v)), "{v:e}");
        }
        let mut s = String::new();
        write_timestamp(&mut s, 1_435_781_451_781);
        s.push(' ');
        write_timestamp(&mut s, 1_435_781_451_000);
        s.push(' ');
        write_timestamp(&mut s, 1_435_781_451_500);
        s.push(' ');
        write_timestamp(&mut s, 1_435_781_451_050);
        s.push(' ');
        write_timestamp(&mut s, 1_435_781_451_007);
        s.push(' ');
        write_timestamp(&mut s, -500);
        assert_eq!(
            s,
            "1435781451.781 1435781451 1435781451.5 1435781451.05 1435781451.007 -0.5"
        );
    }

    #[test]
    fn histograms_as_prometheus_writes_them() {
        let h = bongsu_model::histogram::parse_test_notation(
            "{{schema:0 count:5 sum:4.5 z_bucket:1 z_bucket_w:0.001 buckets:[2 0 1] n_buckets:[1]}}",
        )
        .expect("notation");
        let v = QueryValue::Vector(vec![bongsu_promql::VectorSample {
            labels: Labels::empty(),
            t: 1500,
            v: 0.0,
            h: Some(Box::new(h.clone())),
        }]);
        assert_eq!(
            query_data(&v, None),
            r#"{"resultType":"vector","result":[{"metric":{},"histogram":[1.5,{"count":"5","sum":"4.5","buckets":[[1,"-1","-0.5","1"],[3,"-0.001","0.001","1"],[0,"0.5","1","2"],[0,"2","4","1"]]}]}]}"#
        );
        let m = QueryValue::Matrix(vec![bongsu_promql::RangeSeries {
            labels: Labels::empty(),
            points: Vec::new(),
            histograms: vec![bongsu_promql::HistogramPoint {
                t: 0,
                h: Box::new(bongsu_model::FloatHistogram {
                    count: 0.0,
                    ..bongsu_model::FloatHistogram::default()
                }),
            }],
        }]);
        assert_eq!(
            query_data(&m, None),
            r#"{"resultType":"matrix","result":[{"metric":{},"histograms":[[0,{"count":"0","sum":"0"}]]}]}"#
        );
    }

    #[test]
    fn decimals_are_gos() {
        assert_eq!(format_decimal(-0.0), "-0");
        assert_eq!(format_decimal(1e-7), "0.0000001");
        assert_eq!(format_decimal(-1.5e-9), "-0.0000000015");
        assert_eq!(format_decimal(1.25e17), "125000000000000000");
        assert_eq!(format_decimal(123456.789), "123456.789");
        // -591853843766803.25, a tie between two shortest spellings: Go takes the even digit.
        assert_eq!(
            format_decimal(f64::from_bits(14_051_462_068_518_711_450)),
            "-591853843766803.2"
        );
    }

    /// Whether `text` is a shortest positional spelling of `v` (Rust's formatting finds the
    /// shortest digits too, though it breaks ties between two differently from Go).
    fn is_shortest_positional(text: &str, v: f64) -> bool {
        let digits = |s: &str| s.trim_start_matches(['-', '0', '.']).replace('.', "").len();
        !text.contains('e')
            && text.parse::<f64>() == Ok(v)
            && digits(text.trim_end_matches('0')) == digits(format!("{v}").trim_end_matches('0'))
    }

    proptest::proptest! {
        #[test]
        fn decimals_are_shortest_and_positional(bits: u64) {
            let v = f64::from_bits(bits);
            proptest::prop_assume!(v.is_finite());
            proptest::prop_assert!(is_shortest_positional(&format_decimal(v), v));
        }

        #[test]
        fn everyday_decimals_are_shortest_and_positional(
            m in -1_000_000_000_000i64..1_000_000_000_000,
            e in -12i32..6,
        ) {
            let v = m as f64 * 10f64.powi(e);
            proptest::prop_assert!(is_shortest_positional(&format_decimal(v), v));
            let w = v / 3.0;
            proptest::prop_assert!(is_shortest_positional(&format_decimal(w), w));
        }
    }
}
