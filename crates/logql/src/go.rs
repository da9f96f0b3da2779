//! The Go library behaviour LogQL's text depends on, written for this crate: `strconv`
//! quoting and number parsing, `fmt`'s float layouts, `time.Duration` text and parsing,
//! Prometheus' duration errors, go-humanize's byte sizes and Go's `regexp` error wording.
//!
//! Not here: anything about LogQL's grammar.

use std::fmt::Write;

/// Go's `strconv.Quote`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_print(c) => out.push(c),
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint` (letters, marks, numbers, punctuation,
/// symbols and the ASCII space): Rust exposes no general category, so controls, non-ASCII
/// spaces and the common format characters are the ones escaped.
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF)
}

/// Prometheus' `strutil.Unquote` of a string token (`"…"`, `` `…` ``, `'…'`); the error is Go's
/// `strconv.ErrSyntax` text. Escapes that would produce bytes that are not UTF-8 (`"\xff"`)
/// are refused too: our strings are Rust strings.
pub fn unquote(s: &str) -> Result<String, &'static str> {
    const SYNTAX: &str = "invalid syntax";
    let bytes = s.as_bytes();
    if bytes.len() < 2 || bytes[0] != bytes[bytes.len() - 1] {
        return Err(SYNTAX);
    }
    let quote = bytes[0];
    let body = &s[1..s.len() - 1];
    if quote == b'`' {
        return if body.contains('`') {
            Err(SYNTAX)
        } else {
            Ok(body.to_string())
        };
    }
    if quote != b'"' && quote != b'\'' {
        return Err(SYNTAX);
    }
    if body.contains('\n') {
        return Err(SYNTAX);
    }
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c as u32 == quote as u32 && quote == b'\'' {
            return Err(SYNTAX);
        }
        if c as u32 == quote as u32 {
            return Err(SYNTAX);
        }
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = chars.next().ok_or(SYNTAX)?;
        let simple = match e {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '\'' | '"' => {
                if e as u32 != quote as u32 {
                    return Err(SYNTAX);
                }
                Some(e as u8)
            }
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let (digits, radix) = match e {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            '0'..='7' => (3, 8),
            _ => return Err(SYNTAX),
        };
        let mut text = String::new();
        if radix == 8 {
            text.push(e);
        }
        while text.len() < digits {
            text.push(chars.next().ok_or(SYNTAX)?);
        }
        let v = u32::from_str_radix(&text, radix).map_err(|_| SYNTAX)?;
        match e {
            'x' => out.push(v as u8),
            '0'..='7' => out.push(u8::try_from(v).map_err(|_| SYNTAX)?),
            _ => {
                let c = char::from_u32(v).ok_or(SYNTAX)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    String::from_utf8(out).map_err(|_| SYNTAX)
}

/// The shortest decimal digits of a finite, non-negative `x` and the decimal point's position
/// (`123.4` → `("1234", 3)`), from Rust's round-tripping `{:e}`.
fn shortest_digits(x: f64) -> (String, i32) {
    let s = format!("{x:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    if digits.chars().all(|c| c == '0') {
        return ("0".to_string(), 1);
    }
    (digits, exp + 1)
}

fn layout_fixed(digits: &str, dp: i32) -> String {
    if dp <= 0 {
        format!("0.{}{digits}", "0".repeat((-dp) as usize))
    } else if dp as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(dp as usize - digits.len()))
    } else {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    }
}

/// Go's `fmt.Sprint(x)` for a float64: `%g` with the shortest precision, which switches to an
/// exponent below 1e-4 and from 1e6 (`1e+06`).
pub fn format_float_v(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let (digits, dp) = shortest_digits(x.abs());
    let exp = dp - 1;
    if !(-4..6).contains(&exp) {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let (es, ea) = if exp < 0 { ('-', -exp) } else { ('+', exp) };
        return format!("{sign}{m}e{es}{ea:02}");
    }
    format!("{sign}{}", layout_fixed(&digits, dp))
}

/// Go's `strconv.FormatFloat(x, 'f', -1, 64)`.
pub fn format_float_f(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let (digits, dp) = shortest_digits(x.abs());
    format!("{sign}{}", layout_fixed(&digits, dp))
}

/// Go's `fmt.Sprintf("%f", x)`.
pub fn format_float_6(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    format!("{x:.6}")
}

/// Go's `strconv.ParseFloat(s, 64)` for the number tokens of Go's scanner, with its error
/// text (`strconv.ParseFloat: parsing "0x10": invalid syntax`).
pub fn parse_float(s: &str) -> Result<f64, String> {
    let syntax = || format!("strconv.ParseFloat: parsing {}: invalid syntax", quote(s));
    let lower = s.to_ascii_lowercase();
    let v = if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex).ok_or_else(syntax)?
    } else {
        // Underscores and the 0b/0o prefixes are Go literal syntax that ParseFloat refuses
        // without a base prefix it knows; a plain decimal is what remains.
        if s.contains('_') || lower.starts_with("0b") || lower.starts_with("0o") {
            return Err(syntax());
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        {
            return Err(syntax());
        }
        s.parse::<f64>().map_err(|_| syntax())?
    };
    if v.is_infinite() {
        return Err(format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            quote(s)
        ));
    }
    Ok(v)
}

/// A hexadecimal float body (after `0x`) with its mandatory `p` exponent, as Go reads it.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mantissa, exp) = s.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

/// Go's `strconv.Atoi` success (decimal, optional sign, fits in int64).
pub fn atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Go's `time.Duration.String` (`1h0m0s`, `1.5s`, `20ms`, `0s`).
pub fn duration_string(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let sign = if neg { "-" } else { "" };
    if u < 1_000_000_000 {
        // Under a second: the largest unit that keeps an integer part.
        let (unit, scale) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{sign}{}{unit}", fraction(u, scale));
    }
    let secs = u / 1_000_000_000;
    let frac = u % 1_000_000_000;
    let mut out = String::from(sign);
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if h > 0 || m > 0 {
        let _ = write!(out, "{m}m");
    }
    out.push_str(&fraction(s * 1_000_000_000 + frac, 1_000_000_000));
    out.push('s');
    out
}

/// `v / scale` with the fraction's trailing zeros dropped.
fn fraction(v: u64, scale: u64) -> String {
    let int = v / scale;
    let frac = v % scale;
    if frac == 0 {
        return int.to_string();
    }
    let width = scale.ilog10() as usize;
    let f = format!("{frac:0width$}");
    format!("{int}.{}", f.trim_end_matches('0'))
}

/// The error Prometheus' `model.ParseDuration` gives for a string it refuses.
pub fn prom_duration_error(s: &str) -> String {
    if s.is_empty() {
        return "empty duration string".into();
    }
    let invalid = || format!("not a valid duration string: {}", quote(s));
    const UNITS: [&str; 7] = ["y", "w", "d", "h", "m", "s", "ms"];
    let mut rest = s;
    let mut last = None;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if n == 0 {
            return invalid();
        }
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        if u == 0 {
            return invalid();
        }
        let unit = &rest[..u];
        rest = &rest[u..];
        let Some(pos) = UNITS.iter().position(|x| *x == unit) else {
            return format!("unknown unit {} in duration {}", quote(unit), quote(s));
        };
        if last.is_some_and(|l| pos <= l) {
            return invalid();
        }
        last = Some(pos);
    }
    "duration out of range".into()
}

/// go-humanize's `ParseBytes` (SI and IEC units, case-insensitive, `k` alone is 1000).
pub fn parse_bytes(s: &str) -> Option<u64> {
    let n = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let num: f64 = s[..n].parse().ok()?;
    let unit = s[n..].trim().to_ascii_lowercase();
    let mult: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "ki" | "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mi" | "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gi" | "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "ti" | "tib" => 1 << 40,
        "p" | "pb" => 1_000_000_000_000_000,
        "pi" | "pib" => 1 << 50,
        "e" | "eb" => 1_000_000_000_000_000_000,
        "ei" | "eib" => 1 << 60,
        _ => return None,
    };
    let v = num * mult as f64;
    if v >= u64::MAX as f64 {
        return None;
    }
    Some(v as u64)
}

/// go-humanize's `Bytes` (SI units, one decimal under ten) with the spaces removed, as Loki
/// prints a bytes label filter: `20MB`, `1.5kB`, `3B`.
pub fn format_bytes(v: u64) -> String {
    const SIZES: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if v < 10 {
        return format!("{v}B");
    }
    let f = v as f64;
    let e = (f.ln() / 1000f64.ln()).floor();
    let suffix = SIZES[(e as usize).min(SIZES.len() - 1)];
    let val = (f / 1000f64.powf(e) * 10.0 + 0.5).floor() / 10.0;
    if val < 10.0 {
        format!("{val:.1}{suffix}")
    } else {
        format!("{val:.0}{suffix}")
    }
}

/// Go's `regexp` error text for a pattern the `regex` crate refuses: `error parsing regexp:
/// <what>: `<fragment>``. `compiled` is the text handed to the compiler (with any anchoring
/// wrapper), whose fragment Go quotes. The kinds are matched on the `regex` crate's words;
/// anything unknown keeps that crate's description.
pub fn regex_error(err: &regex::Error, compiled: &str) -> String {
    let text = err.to_string();
    let what_rust = text
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .unwrap_or(text.trim())
        .to_string();
    // The span is drawn under the pattern as carets on the line after it.
    let lines: Vec<&str> = text.lines().collect();
    let span = lines.iter().enumerate().find_map(|(i, l)| {
        let start = l.find('^')?;
        if i == 0 || !l.trim().chars().all(|c| c == '^') {
            return None;
        }
        let end = start + l.trim().chars().count();
        let pattern_line = lines[i - 1];
        let fragment: String = pattern_line.chars().skip(start).take(end - start).collect();
        let tail: String = pattern_line.chars().skip(start).collect();
        Some((fragment, tail))
    });
    let (fragment, tail) = span.unwrap_or_default();
    let (what, frag) = match what_rust.as_str() {
        "unclosed group" => ("missing closing )", compiled.to_string()),
        "unopened group" => ("unexpected )", compiled.to_string()),
        "unclosed character class" => ("missing closing ]", tail),
        "repetition operator missing expression" => {
            ("missing argument to repetition operator", fragment)
        }
        w if w.contains("escape") => ("invalid escape sequence", fragment),
        w if w.contains("class range") => ("invalid character class range", fragment),
        w if w.contains("repetition") || w.contains("decimal") => {
            ("invalid repeat count", fragment)
        }
        w => return format!("error parsing regexp: {w}"),
    };
    format!("error parsing regexp: {what}: `{frag}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_layouts() {
        assert_eq!(quote("a\"b\\\n\u{1}é"), r#""a\"b\\\n\x01é""#);
        assert_eq!(format_float_v(123.0), "123");
        assert_eq!(format_float_v(0.00001), "1e-05");
        assert_eq!(format_float_v(1e6), "1e+06");
        assert_eq!(format_float_v(123456.0), "123456");
        assert_eq!(format_float_v(-1.5), "-1.5");
        assert_eq!(format_float_f(0.99), "0.99");
        assert_eq!(format_float_6(5.0), "5.000000");
        assert_eq!(duration_string(3_600_000_000_000), "1h0m0s");
        assert_eq!(duration_string(20_000_000), "20ms");
        assert_eq!(duration_string(90_500_000_000), "1m30.5s");
        assert_eq!(duration_string(-1_500), "-1.5µs");
        assert_eq!(parse_bytes("20.5MB"), Some(20_500_000));
        assert_eq!(parse_bytes("1KiB"), Some(1024));
        assert_eq!(format_bytes(20_000_000), "20MB");
        assert_eq!(format_bytes(1024), "1.0kB");
        assert_eq!(format_bytes(3), "3B");
        assert_eq!(
            prom_duration_error("5minutes"),
            r#"unknown unit "minutes" in duration "5minutes""#
        );
        assert_eq!(
            parse_float("0x10").unwrap_err(),
            r#"strconv.ParseFloat: parsing "0x10": invalid syntax"#
        );
        assert_eq!(parse_float("0x1p3"), Ok(8.0));
        assert_eq!(unquote(r#""a\"b""#).as_deref(), Ok("a\"b"));
        assert_eq!(unquote(r#""\u00e9\101""#).as_deref(), Ok("éA"));
    }
}
