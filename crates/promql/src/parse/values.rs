//! Number and duration literals read as Prometheus reads them (Go's `strconv` rules for
//! numbers, Prometheus' duration syntax), with their error messages.

use super::lex::go_quote;

/// A number token's value: an integer in Go's base-prefix syntax (`0x1f`, `0755`), else a
/// float; the error text is Go's `strconv` message.
pub fn go_number(s: &str) -> Result<f64, String> {
    if let Some(v) = go_int(s) {
        return Ok(v as f64);
    }
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "+inf" | "infinity" => return Ok(f64::INFINITY),
        "-inf" => return Ok(f64::NEG_INFINITY),
        "nan" => return Ok(f64::NAN),
        _ => {}
    }
    let invalid = || {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            go_quote(s)
        )
    };
    if lower.starts_with("0x") || !underscores_ok(s) {
        return Err(invalid());
    }
    let v: f64 = s.replace('_', "").parse().map_err(|_| invalid())?;
    if v.is_infinite() {
        return Err(format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            go_quote(s)
        ));
    }
    Ok(v)
}

/// Underscores only between digits (or after a base prefix), as Go requires.
fn underscores_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().all(|(i, c)| {
        *c != b'_'
            || (i > 0
                && i + 1 < b.len()
                && b[i - 1].is_ascii_alphanumeric()
                && b[i + 1].is_ascii_alphanumeric())
    })
}

fn go_int(s: &str) -> Option<i64> {
    if !underscores_ok(s) {
        return None;
    }
    let lower = s.to_ascii_lowercase().replace('_', "");
    let (digits, radix) = if let Some(h) = lower.strip_prefix("0x") {
        (h.to_string(), 16)
    } else if let Some(o) = lower.strip_prefix("0o") {
        (o.to_string(), 8)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (b.to_string(), 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (lower[1..].to_string(), 8)
    } else {
        (lower, 10)
    };
    if digits.is_empty() {
        return None;
    }
    i64::from_str_radix(&digits, radix).ok()
}

/// A Prometheus duration (`1h30m`, `5m1s`, `300ms`) in milliseconds, with Prometheus'
/// messages for bad ones.
pub fn prometheus_duration(s: &str) -> Result<u64, String> {
    const UNITS: &[(&str, u64)] = &[
        ("y", 365 * 24 * 3_600_000),
        ("w", 7 * 24 * 3_600_000),
        ("d", 24 * 3_600_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    if s == "0" {
        return Ok(0);
    }
    let invalid = || format!("not a valid duration string: {}", go_quote(s));
    if s.is_empty() {
        return Err("empty duration string".into());
    }
    let mut rest = s;
    let mut total: u128 = 0;
    let mut last_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let v: u128 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        if unit_len == 0 {
            return Err(invalid());
        }
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let Some(pos) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(format!(
                "unknown unit {} in duration {}",
                go_quote(unit),
                go_quote(s)
            ));
        };
        if pos < last_unit {
            return Err(invalid());
        }
        last_unit = pos + 1;
        // Nanoseconds must fit an int64, as Go's time.Duration.
        total += v * u128::from(UNITS[pos].1) * 1_000_000;
        if total > i64::MAX as u128 {
            return Err("duration out of range".into());
        }
    }
    Ok((total / 1_000_000) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(go_number("0755"), Ok(493.0));
        assert_eq!(go_number("0xc"), Ok(12.0));
        assert_eq!(go_number("5."), Ok(5.0));
        assert_eq!(go_number("1_000"), Ok(1000.0));
        assert!(go_number("1e999")
            .unwrap_err()
            .ends_with("value out of range"));
    }

    #[test]
    fn durations() {
        assert_eq!(prometheus_duration("1h30m"), Ok(5_400_000));
        assert_eq!(prometheus_duration("1m30ms"), Ok(60_030));
        assert_eq!(
            prometheus_duration("5m1h").unwrap_err(),
            "not a valid duration string: \"5m1h\""
        );
        assert_eq!(
            prometheus_duration("5y1hs").unwrap_err(),
            "unknown unit \"hs\" in duration \"5y1hs\""
        );
    }
}
