//! Prometheus' JSON encoding of API responses: the `status`/`data` envelope, sample values as
//! strings (`"NaN"`, `"+Inf"`), timestamps as Unix seconds with millisecond precision.

use std::fmt::Write;

use crate::model::Labels;
use crate::promql::{Point, QueryOutput, QueryValue};

/// Appends a sample value as Prometheus writes it (Go's `strconv.FormatFloat(v, 'f', -1, 64)`).
pub fn write_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        // Rust's shortest round-trip digits without exponent, as Go's 'f' with precision -1.
        let _ = write!(out, "{v}");
    }
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
        let _ = write!(out, "{secs}.");
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

/// `{"status":"success","data":<data>}`.
pub fn success(data: &str) -> String {
    format!("{{\"status\":\"success\",\"data\":{data}}}")
}

/// Most warnings and infos a query response lists, each; the rest are counted, as Prometheus.
const MAX_ANNOTATIONS: usize = 10;

/// A whole query response: `data`, then `warnings` and `infos` when there are any.
pub fn query_success(out: &QueryOutput) -> String {
    let mut s = String::from("{\"status\":\"success\",\"data\":");
    write_query_data(&mut s, &out.value);
    for (key, list, kind) in [
        ("warnings", &out.warnings, "warning"),
        ("infos", &out.infos, "info"),
    ] {
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

/// Appends the `data` of a query response.
fn write_query_data(out: &mut String, v: &QueryValue) {
    out.push_str("{\"resultType\":\"");
    out.push_str(v.result_type());
    out.push_str("\",\"result\":");
    match v {
        QueryValue::Scalar(p) => write_point(out, p),
        QueryValue::String { t, s } => {
            out.push('[');
            write_timestamp(out, *t);
            out.push(',');
            write_str(out, s);
            out.push(']');
        }
        QueryValue::Vector(samples) => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(out, &s.labels);
                out.push_str(",\"value\":");
                write_point(out, &Point { t: s.t, v: s.v });
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
                write_labels(out, &s.labels);
                out.push_str(",\"values\":[");
                for (j, p) in s.points.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_point(out, p);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format_value(v: f64) -> String {
        let mut s = String::new();
        write_value(&mut s, v);
        s
    }

    #[test]
    fn values_and_times_match_prometheus() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(1e21), "1000000000000000000000");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
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
}
