//! The value conversions of label filters, `unwrap` and template functions, with the Go
//! functions' grammar and error text (they end up in `__error_details__`):
//! `strconv.ParseFloat`, `time.ParseDuration` and go-humanize's `ParseBytes`.

/// Go's `time.Duration` range: nanoseconds in an `i64`.
const MAX_DURATION_NANOS: u64 = 1 << 63;

/// Go's `strconv.ParseFloat(s, 64)`: decimal numbers, `inf`/`infinity` (signed) and `nan`
/// in any case. Hexadecimal floats and `_` separators are not accepted (Go accepts them).
pub fn parse_float(s: &str) -> Result<f64, String> {
    let syntax = || {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            go_quote(s)
        )
    };
    if let Some(f) = special_float(s) {
        return Ok(f);
    }
    if !is_decimal_float(s.as_bytes()) {
        return Err(syntax());
    }
    let f: f64 = s.parse().map_err(|_| syntax())?;
    if f.is_infinite() {
        return Err(format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            go_quote(s)
        ));
    }
    Ok(f)
}

/// Go's `special`: `[+-]inf`, `[+-]infinity`, `nan`, case-insensitively.
fn special_float(s: &str) -> Option<f64> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1.0, &s[1..]),
        b'-' => (-1.0, &s[1..]),
        _ => {
            if s.eq_ignore_ascii_case("nan") {
                return Some(f64::NAN);
            }
            (1.0, s)
        }
    };
    if rest.eq_ignore_ascii_case("inf") || rest.eq_ignore_ascii_case("infinity") {
        return Some(sign * f64::INFINITY);
    }
    None
}

/// `[+-]?(digits[.digits?] | .digits)([eE][+-]?digits)?`
fn is_decimal_float(b: &[u8]) -> bool {
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i > int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits |= i > frac_start;
    }
    if !digits {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(orig));
    let mut s = orig.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first() {
        if c == b'-' || c == b'+' {
            neg = c == b'-';
            s = &s[1..];
        }
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let before = s.len();
        let (v, rest) = leading_int(s).ok_or_else(invalid)?;
        s = rest;
        let pre = before != s.len();
        let (mut f, mut scale, mut post) = (0u64, 1f64, false);
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let before = s.len();
            let (ff, sc, rest) = leading_fraction(s);
            (f, scale, s) = (ff, sc, rest);
            post = before != s.len();
        }
        if !pre && !post {
            return Err(invalid());
        }
        let unit_len = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", go_quote(orig)));
        }
        let unit_bytes = &s[..unit_len];
        s = &s[unit_len..];
        let unit = duration_unit(unit_bytes).ok_or_else(|| {
            format!(
                "time: unknown unit {} in duration {}",
                go_quote(&String::from_utf8_lossy(unit_bytes)),
                go_quote(orig)
            )
        })?;
        if v > MAX_DURATION_NANOS / unit {
            return Err(invalid());
        }
        let mut v = v * unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > MAX_DURATION_NANOS {
                return Err(invalid());
            }
        }
        total += v;
        if total > MAX_DURATION_NANOS {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((total as i64).wrapping_neg());
    }
    if total > MAX_DURATION_NANOS - 1 {
        return Err(invalid());
    }
    Ok(total as i64)
}

fn duration_unit(u: &[u8]) -> Option<u64> {
    Some(match u {
        b"ns" => 1,
        b"us" | b"\xc2\xb5s" | b"\xce\xbcs" => 1_000,
        b"ms" => 1_000_000,
        b"s" => 1_000_000_000,
        b"m" => 60_000_000_000,
        b"h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Go's `leadingInt`: digits as a `u64`, `None` on overflow past 2^63.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut x: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if x > MAX_DURATION_NANOS / 10 {
            return None;
        }
        x = x * 10 + u64::from(s[i] - b'0');
        if x > MAX_DURATION_NANOS {
            return None;
        }
        i += 1;
    }
    Some((x, &s[i..]))
}

/// Go's `leadingFraction`: digits after the point, keeping what fits.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let (mut x, mut scale, mut overflow) = (0u64, 1f64, false);
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if !overflow {
            if x > (MAX_DURATION_NANOS - 1) / 10 {
                overflow = true;
            } else {
                let y = x * 10 + u64::from(s[i] - b'0');
                if y > MAX_DURATION_NANOS {
                    overflow = true;
                } else {
                    x = y;
                    scale *= 10.0;
                }
            }
        }
        i += 1;
    }
    (x, scale, &s[i..])
}

/// Go's `Duration.Seconds()`: whole seconds plus the fraction, each converted on its own
/// (not `nanos / 1e9`, which can differ in the last bit).
pub fn duration_seconds(nanos: i64) -> f64 {
    let (sec, nsec) = (nanos / 1_000_000_000, nanos % 1_000_000_000);
    sec as f64 + nsec as f64 / 1e9
}

/// go-humanize's `ParseBytes`: `42`, `42 MB`, `1.5KiB`, `1,000 kb` (SI and IEC units, any
/// case, optional space).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let num_len: usize = s
        .char_indices()
        .find(|(_, c)| !(c.is_numeric() || *c == '.' || *c == ','))
        .map_or(s.len(), |(i, _)| i);
    let num: String = s[..num_len].chars().filter(|c| *c != ',').collect();
    let f = parse_float(&num)?;
    let extra = s[num_len..].trim().to_lowercase();
    let Some(mult) = byte_unit(&extra) else {
        return Err(format!("unhandled size name: {extra}"));
    };
    let f = f * mult as f64;
    if f >= u64::MAX as f64 {
        return Err(format!("too large: {s}"));
    }
    // Go's float-to-uint64 conversion of a negative value is undefined; Rust's saturates.
    Ok(f as u64)
}

fn byte_unit(u: &str) -> Option<u64> {
    const K: u64 = 1000;
    const KI: u64 = 1024;
    Some(match u {
        "" | "b" => 1,
        "k" | "kb" => K,
        "ki" | "kib" => KI,
        "m" | "mb" => K.pow(2),
        "mi" | "mib" => KI.pow(2),
        "g" | "gb" => K.pow(3),
        "gi" | "gib" => KI.pow(3),
        "t" | "tb" => K.pow(4),
        "ti" | "tib" => KI.pow(4),
        "p" | "pb" => K.pow(5),
        "pi" | "pib" => KI.pow(5),
        "e" | "eb" => K.pow(6),
        "ei" | "eib" => KI.pow(6),
        _ => return None,
    })
}

/// Go's `strconv.Quote`, which `strconv` errors use.
pub(crate) fn go_quote(s: &str) -> String {
    bongsu_gotmpl::fmt::quote(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_go() {
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("850µs"), Ok(850_000));
        assert_eq!(parse_duration("-2ms"), Ok(-2_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(
            parse_duration("12"),
            Err("time: missing unit in duration \"12\"".into())
        );
        assert_eq!(
            parse_duration("3x"),
            Err("time: unknown unit \"x\" in duration \"3x\"".into())
        );
        assert_eq!(
            parse_duration("abc"),
            Err("time: invalid duration \"abc\"".into())
        );
        assert!(parse_duration("9999999999h").is_err());
    }

    #[test]
    fn floats_as_go() {
        assert_eq!(parse_float("1.5e3"), Ok(1500.0));
        assert_eq!(parse_float("-Inf"), Ok(f64::NEG_INFINITY));
        assert!(parse_float("NaN").unwrap().is_nan());
        assert_eq!(
            parse_float("12a"),
            Err("strconv.ParseFloat: parsing \"12a\": invalid syntax".into())
        );
        assert_eq!(
            parse_float("1e400"),
            Err("strconv.ParseFloat: parsing \"1e400\": value out of range".into())
        );
        assert!(parse_float("+nan").is_err());
        assert!(parse_float(".").is_err());
    }

    #[test]
    fn bytes_as_humanize() {
        assert_eq!(parse_bytes("42 MB"), Ok(42_000_000));
        assert_eq!(parse_bytes("42 mib"), Ok(44_040_192));
        assert_eq!(parse_bytes("1KiB"), Ok(1024));
        assert_eq!(parse_bytes("1,000"), Ok(1000));
        assert_eq!(parse_bytes("1.5kb"), Ok(1500));
        assert_eq!(
            parse_bytes("12 parsecs"),
            Err("unhandled size name: parsecs".into())
        );
        assert_eq!(
            parse_bytes("abc"),
            Err("strconv.ParseFloat: parsing \"\": invalid syntax".into())
        );
    }
}
