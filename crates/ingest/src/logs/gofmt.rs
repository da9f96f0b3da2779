//! Text as Loki's Go code prints it, so that error messages read byte for byte like Loki's:
//! `strconv.Quote`, Prometheus' `labels.Labels.String()`, `time.Time.Format(time.RFC3339)` and
//! `time.Time.String()` (both in UTC, as Loki runs in containers), and OTLP's float formatting.
//!
//! Only formatting lives here; nothing parses.

use std::fmt::Write as _;

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// Go's `strconv.Quote`: double quotes, `\"` and `\\`, Go's short escapes, `\x`/`\u`/`\U` for
/// what Go does not print. Go's `unicode.IsPrint` is approximated by "not a control character
/// and not a space other than U+0020", which agrees with it on all text seen in practice.
pub fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0b}' => out.push_str("\\v"),
            c if is_print(c) => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
}

fn is_print(c: char) -> bool {
    c == ' ' || !(c.is_control() || c.is_whitespace() || c == '\u{feff}')
}

/// Prometheus' legacy label name rule, `[a-zA-Z_][a-zA-Z0-9_]*`: names printed without quotes.
pub fn is_legacy_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Prometheus' `labels.Labels.String()` of sorted pairs: `{a="b", "c.d"="e"}`.
pub fn labels_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if is_legacy_label_name(name) {
            out.push_str(name);
        } else {
            quote(name, &mut out);
        }
        out.push('=');
        quote(value, &mut out);
    }
    out.push('}');
    out
}

/// Civil date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn write_date_time(out: &mut String, secs: i64, sep: char) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}{sep}{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
}

/// `time.Unix(0, ns).UTC().Format(time.RFC3339)`: whole seconds, `Z`.
pub fn rfc3339(ns: i64) -> String {
    let mut out = String::with_capacity(20);
    write_date_time(&mut out, ns.div_euclid(NANOS_PER_SECOND), 'T');
    out.push('Z');
    out
}

/// `time.Unix(0, ns).UTC().String()`: `2023-11-14 22:13:20.000000001 +0000 UTC`, the
/// fraction without trailing zeros and absent when zero.
pub fn go_time_string(ns: i64) -> String {
    let mut out = String::with_capacity(40);
    write_date_time(&mut out, ns.div_euclid(NANOS_PER_SECOND), ' ');
    let frac = ns.rem_euclid(NANOS_PER_SECOND);
    if frac != 0 {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

/// A double as OTLP's `pcommon.Value.AsString` prints it (ES6 number-to-string, as Go's
/// `encoding/json`): plain decimal, exponent form below 1e-6 and from 1e21, `NaN`/`Infinity`.
pub fn otlp_double(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust prints `1e21` / `1.5e-7`; Go prints `1e+21` / `1.5e-07`, then trims the
        // exponent's leading zero for negative one-digit exponents: `1.5e-7`.
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        if sign == '+' && digits.len() < 2 {
            return format!("{mantissa}e+0{digits}");
        }
        return format!("{mantissa}e{sign}{digits}");
    }
    // Shortest round-trip decimal without exponent, as Go's 'f' with precision -1.
    let s = format!("{f}");
    if s == "-0" {
        return "-0".into();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_as_go() {
        let q = |s: &str| {
            let mut out = String::new();
            quote(s, &mut out);
            out
        };
        assert_eq!(q("plain"), r#""plain""#);
        assert_eq!(q("a\"b\\c\n\t"), r#""a\"b\\c\n\t""#);
        assert_eq!(q("\u{0}\u{7f}"), r#""\x00\x7f""#);
        assert_eq!(q("é µ 日本"), "\"é µ 日本\"");
        assert_eq!(q("\u{a0}"), r#""\u00a0""#);
    }

    #[test]
    fn labels_as_prometheus() {
        assert_eq!(
            labels_string([("a", "b"), ("c.d", "e\"")]),
            r#"{a="b", "c.d"="e\""}"#
        );
        assert_eq!(labels_string([]), "{}");
    }

    #[test]
    fn times_as_go() {
        assert_eq!(rfc3339(1_700_000_000_123_456_789), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(
            go_time_string(1_700_000_000_000_000_001),
            "2023-11-14 22:13:20.000000001 +0000 UTC"
        );
        assert_eq!(
            go_time_string(1_700_000_000_500_000_000),
            "2023-11-14 22:13:20.5 +0000 UTC"
        );
        assert_eq!(
            go_time_string(1_700_000_000_000_000_000),
            "2023-11-14 22:13:20 +0000 UTC"
        );
    }

    #[test]
    fn doubles_as_otlp() {
        assert_eq!(otlp_double(1.5), "1.5");
        assert_eq!(otlp_double(100.0), "100");
        assert_eq!(otlp_double(1e21), "1e+21");
        assert_eq!(otlp_double(1.5e-7), "1.5e-7");
        assert_eq!(otlp_double(1e-10), "1e-10");
        assert_eq!(otlp_double(123e30), "1.23e+32");
        assert_eq!(otlp_double(f64::NAN), "NaN");
        assert_eq!(otlp_double(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(otlp_double(0.000001), "0.000001");
    }
}
