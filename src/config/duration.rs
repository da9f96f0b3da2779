//! Prometheus duration strings (`1h30m`, `15s`, `100ms`), as its `model.Duration` parses them.

use std::time::Duration;

/// `[0-9]+(ms|s|m|h|d|w|y)` repeated, units in decreasing order, as Prometheus' model.Duration.
pub fn parse_prometheus_duration(s: &str) -> Option<Duration> {
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
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
        let (ui, (unit, ms)) = UNITS
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(parse_prometheus_duration("30m1h"), None);
        assert_eq!(parse_prometheus_duration("1.5h"), None);
        assert_eq!(parse_prometheus_duration(""), None);
    }
}
