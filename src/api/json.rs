//! Prometheus' JSON encoding of API responses: the `status`/`data` envelope, sample values as
//! strings (`"NaN"`, `"+Inf"`), timestamps as Unix seconds with millisecond precision.

use std::fmt::Write;

use crate::model::Labels;
use crate::promql::{Point, QueryValue};

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

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest decimal form, never an exponent.
pub fn format_decimal(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v}")
    }
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
    if ms == 0 {
        let _ = write!(out, "{secs}");
    } else if secs < 0 {
        // Go prints e.g. -0.5 for -500 ms: use the float form for negatives.
        let _ = write!(out, "{}", t as f64 / 1000.0);
    } else {
        let frac = format!("{ms:03}");
        let _ = write!(out, "{secs}.{}", frac.trim_end_matches('0'));
    }
}

pub fn write_str(out: &mut String, s: &str) {
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
    out.push_str(&format_value(p.v));
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
                out.push_str(",\"value\":");
                write_point(&mut out, &Point { t: s.t, v: s.v });
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
                out.push_str(",\"values\":[");
                for (j, p) in s.points.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_point(&mut out, p);
                }
                out.push_str("]}");
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
        let mut s = String::new();
        write_timestamp(&mut s, 1_435_781_451_781);
        s.push(' ');
        write_timestamp(&mut s, 1_435_781_451_000);
        s.push(' ');
        write_timestamp(&mut s, 1_435_781_451_500);
        assert_eq!(s, "1435781451.781 1435781451 1435781451.5");
    }
}
