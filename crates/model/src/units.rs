//! Prometheus' duration strings (`1h30m`, `15s`, `100ms`), Go's (`1.5s`, `300us`), byte sizes
//! (`15MB`, base 1024), and the serde adapters that read them from YAML with Prometheus' error
//! messages.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// The units of Prometheus' `model.Duration` in decreasing order, in milliseconds.
pub const DURATION_UNITS: [(&str, u64); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
];

/// `[0-9]+(ms|s|m|h|d|w|y)` repeated, units in decreasing order, or `0`, as Prometheus'
/// `model.Duration`.
pub fn parse_prometheus_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() {
        return None;
    }
    let mut rest = s;
    let mut total: u64 = 0;
    let mut last_unit = usize::MAX;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (ui, (unit, ms)) = DURATION_UNITS
            .iter()
            .enumerate()
            .filter(|(_, (u, _))| rest.starts_with(u) && !(*u == "m" && rest.starts_with("ms")))
            .max_by_key(|(_, (u, _))| u.len())?;
        if last_unit != usize::MAX && ui <= last_unit {
            return None;
        }
        last_unit = ui;
        rest = &rest[unit.len()..];
        total = total.checked_add(n.checked_mul(*ms)?)?;
    }
    Some(Duration::from_millis(total))
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_go_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let int_len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            frac_part = &r[..n];
            rest = &r[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ns" => 1u64,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        let int: u64 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok()?
        };
        let mut v = int.checked_mul(unit)?;
        if !frac_part.is_empty() {
            let mut scale = 1f64;
            let mut f = 0f64;
            for c in frac_part.chars() {
                scale /= 10.0;
                f += f64::from(c.to_digit(10)?) * scale;
            }
            v = v.checked_add((f * unit as f64) as u64)?;
        }
        total = total.checked_add(v)?;
    }
    if neg {
        if total > 1 << 63 {
            return None;
        }
        Some((total as i128).wrapping_neg() as i64)
    } else {
        i64::try_from(total).ok()
    }
}

/// Prometheus' `model.Duration` text, whole milliseconds: `1h30m`, `5m`, `100ms`, `0s`.
pub fn format_prometheus_duration(d: Duration) -> String {
    // Durations past u64 milliseconds (half a billion years) print as the largest one.
    let mut ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in DURATION_UNITS {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

/// A byte size with base-1024 units (`B`, `KB`/`KiB`, … `EB`/`EiB`), possibly negative, as
/// Go's `units.ParseBase2Bytes` reads it; the error text is that library's.
pub fn parse_base2_bytes(s: &str) -> Result<i64, String> {
    const UNITS: [(&str, u32); 13] = [
        ("B", 0),
        ("KB", 10),
        ("KiB", 10),
        ("MB", 20),
        ("MiB", 20),
        ("GB", 30),
        ("GiB", 30),
        ("TB", 40),
        ("TiB", 40),
        ("PB", 50),
        ("PiB", 50),
        ("EB", 60),
        ("EiB", 60),
    ];
    if s == "0" {
        return Ok(0);
    }
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest.is_empty() {
        return Err(format!("units: invalid {s}"));
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_end]
            .parse()
            .map_err(|_| format!("units: invalid {s}"))?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        let shift = UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, shift)| *shift)
            .ok_or_else(|| format!("units: unknown unit {unit} in {s}"))?;
        rest = &rest[unit_end..];
        total += n * (1u64 << shift) as f64;
    }
    if total > i64::MAX as f64 {
        return Err(format!("units: overflow in {s}"));
    }
    let total = total as i64;
    Ok(if neg { -total } else { total })
}

/// Reads a duration string; absent or null stays `None`.
pub fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| {
            parse_prometheus_duration(&s).ok_or_else(|| {
                serde::de::Error::custom(format!("not a valid duration string: {s:?}"))
            })
        })
        .transpose()
}

/// Reads a duration string where zero means "not set" (Prometheus' `omitempty` durations).
pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    Ok(opt_duration(d)?.unwrap_or_default())
}

/// Reads a base-2 byte size that must not be negative.
pub fn size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let Some(n) = opt_size(d)? else {
        return Ok(0);
    };
    u64::try_from(n).map_err(|_| serde::de::Error::custom("size must not be negative"))
}

/// Reads a base-2 byte size, sign kept, so callers can word their own range errors.
pub fn opt_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| parse_base2_bytes(&s).map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1.5m"), Some(90_000_000_000));
        assert_eq!(parse_go_duration("-1h"), Some(-3_600_000_000_000));
        assert_eq!(parse_go_duration("1h30m0.5s"), Some(5_400_500_000_000));
        assert_eq!(parse_go_duration("0"), Some(0));
        assert_eq!(parse_go_duration("1"), None);
        assert_eq!(parse_go_duration("1d"), None);
    }

    #[test]
    fn prometheus_durations() {
        assert_eq!(
            parse_prometheus_duration("1h30m"),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(
            parse_prometheus_duration("100ms"),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            parse_prometheus_duration("15d"),
            Some(Duration::from_secs(15 * 86400))
        );
        assert_eq!(parse_prometheus_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_prometheus_duration("30m1h"), None);
        assert_eq!(parse_prometheus_duration("1.5h"), None);
        assert_eq!(parse_prometheus_duration("-1h"), None);
        assert_eq!(parse_prometheus_duration(""), None);
    }

    #[test]
    fn base2_sizes() {
        assert_eq!(parse_base2_bytes("15MB"), Ok(15 << 20));
        assert_eq!(parse_base2_bytes("1KiB"), Ok(1024));
        assert_eq!(parse_base2_bytes("1.5KB"), Ok(1536));
        assert_eq!(parse_base2_bytes("-1GB"), Ok(-(1 << 30)));
        assert_eq!(parse_base2_bytes("0"), Ok(0));
        assert_eq!(
            parse_base2_bytes("100"),
            Err("units: unknown unit  in 100".to_string())
        );
        assert!(parse_base2_bytes("10 apples").is_err());
    }
}
