//! The time template functions (`now`, `date`, `toDate`, `toDateInZone`, `unixEpoch`,
//! `unixEpochMillis`, `unixEpochNanos`, `unixToTime`), and Go's `time.ParseInLocation` for
//! the layouts `toDate` and `toDateInZone` get: the
//! reference-time elements (`2006-01-02T15:04:05.000Z07:00`, `Jan`, `Monday`, `PM`, `_2`, …)
//! matched in order, other text literally. A zone abbreviation (`MST`) is read and ignored
//! (the time is then in the given location's offset), as Go does for unknown abbreviations.
//! `date` and `toDate` use UTC where Loki's process would use its local zone (UTC in Loki's
//! images).

use bongsu_gotmpl::funcs::{arity, str_arg, FuncError, FuncMap};
use bongsu_gotmpl::time::Time;
use bongsu_gotmpl::Value;

use super::funcs::time_arg;

/// A parsed instant: Unix seconds, nanoseconds, and the offset it was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    pub secs: i64,
    pub nanos: u32,
    /// Offset east of UTC in seconds, if the text had one.
    pub offset: Option<i32>,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Layout elements, longest first where one is a prefix of another.
const ELEMENTS: &[&str] = &[
    "January", "Monday", "2006", "Z07:00", "Z0700", "-07:00", "-0700", "Jan", "Mon", "MST", "Z07",
    "-07", "002", "_2", "01", "02", "03", "04", "05", "06", "15", "PM", "pm", "1", "2", "3", "4",
    "5",
];

/// Parses `value` with Go `layout`; `default_offset` is the location's offset.
pub fn parse(layout: &str, value: &str, default_offset: i32) -> Option<Parsed> {
    let (mut year, mut month, mut day) = (0i64, 1i64, 1i64);
    let (mut hour, mut min, mut sec, mut nanos) = (0i64, 0i64, 0i64, 0u32);
    let (mut pm, mut am) = (false, false);
    let mut offset: Option<i32> = None;
    let mut l = layout;
    let mut v = value;
    while !l.is_empty() {
        // Fractional seconds: `.000`/`,999` after a seconds element or anywhere.
        if let Some(n) = frac_len(l) {
            let (f, rest) = fraction(v, n, l.as_bytes()[1] == b'9')?;
            nanos = f;
            v = rest;
            l = &l[n + 1..];
            continue;
        }
        let Some(el) = ELEMENTS.iter().find(|e| l.starts_with(**e)) else {
            let c = l.chars().next()?;
            v = v.strip_prefix(c)?;
            l = &l[c.len_utf8()..];
            continue;
        };
        l = &l[el.len()..];
        match *el {
            "2006" => (year, v) = digits(v, 4, 4)?,
            "06" => {
                let (y, rest) = digits(v, 2, 2)?;
                year = if y >= 69 { 1900 + y } else { 2000 + y };
                v = rest;
            }
            "01" => (month, v) = digits(v, 2, 2)?,
            "1" => (month, v) = digits(v, 1, 2)?,
            "January" | "Jan" => {
                let i = MONTHS.iter().position(|m| {
                    let name = if *el == "Jan" { &m[..3] } else { m };
                    v.get(..name.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(name))
                })?;
                let len = if *el == "Jan" { 3 } else { MONTHS[i].len() };
                month = i as i64 + 1;
                v = &v[len..];
            }
            "Monday" | "Mon" => {
                let len = DAYS.iter().find_map(|d| {
                    let name = if *el == "Mon" { &d[..3] } else { d };
                    v.get(..name.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(name))
                        .then_some(name.len())
                })?;
                v = &v[len..];
            }
            "02" => (day, v) = digits(v, 2, 2)?,
            "2" => (day, v) = digits(v, 1, 2)?,
            "_2" => (day, v) = digits(v.strip_prefix(' ').unwrap_or(v), 1, 2)?,
            "002" => (_, v) = digits(v, 3, 3)?,
            "15" => (hour, v) = digits(v, 1, 2)?,
            "03" => (hour, v) = digits(v, 2, 2)?,
            "3" => (hour, v) = digits(v, 1, 2)?,
            "04" => (min, v) = digits(v, 2, 2)?,
            "4" => (min, v) = digits(v, 1, 2)?,
            "05" => (sec, v) = digits(v, 2, 2)?,
            "5" => (sec, v) = digits(v, 1, 2)?,
            "PM" | "pm" => {
                let p = v.get(..2)?;
                pm = p.eq_ignore_ascii_case("PM");
                am = p.eq_ignore_ascii_case("AM");
                if !pm && !am {
                    return None;
                }
                v = &v[2..];
            }
            "MST" => {
                let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                if n < 3 {
                    return None;
                }
                if &v[..n] == "UTC" {
                    offset = Some(0);
                }
                v = &v[n..];
            }
            zone => {
                if zone.starts_with('Z') && v.starts_with('Z') {
                    offset = Some(0);
                    v = &v[1..];
                    continue;
                }
                let (off, rest) = zone_offset(v, zone.trim_start_matches(['Z', '-']))?;
                offset = Some(off);
                v = rest;
            }
        }
    }
    if !v.is_empty() || !(1..=12).contains(&month) || hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let off = offset.unwrap_or(default_offset);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - i64::from(off);
    Some(Parsed {
        secs,
        nanos,
        offset,
    })
}

/// `.000`/`,999` at the start of a layout: the digit count.
fn frac_len(l: &str) -> Option<usize> {
    let b = l.as_bytes();
    if b.len() < 2 || !(b[0] == b'.' || b[0] == b',') || !(b[1] == b'0' || b[1] == b'9') {
        return None;
    }
    let n = b[1..].iter().take_while(|&&c| c == b[1]).count();
    // Go treats `.0`/`.9` runs as fractions only when not followed by another digit.
    (!b.get(n + 1).is_some_and(u8::is_ascii_digit)).then_some(n)
}

/// Reads a fraction: exactly `n` digits, or (with `optional`) up to any count or none.
fn fraction(v: &str, n: usize, optional: bool) -> Option<(u32, &str)> {
    let b = v.as_bytes();
    if !(b.first() == Some(&b'.') || b.first() == Some(&b',')) {
        return optional.then_some((0, v));
    }
    let count = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    if !optional && count != n {
        return None;
    }
    let digits = &v[1..1 + count];
    let mut nanos = 0u32;
    for (i, c) in digits.bytes().take(9).enumerate() {
        nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
    }
    Some((nanos, &v[1 + count..]))
}

fn digits(v: &str, min: usize, max: usize) -> Option<(i64, &str)> {
    let n = v.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n < min {
        return None;
    }
    Some((v[..n].parse().ok()?, &v[n..]))
}

/// `-0700`, `-07:00` or `-07` (as given by `kind`: `0700`, `07:00`, `07`).
fn zone_offset<'a>(v: &'a str, kind: &str) -> Option<(i32, &'a str)> {
    let sign = match v.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let v = &v[1..];
    let (h, rest) = digits(v, 2, 2)?;
    let (m, rest) = match kind {
        "07:00" => digits(rest.strip_prefix(':')?, 2, 2)?,
        "0700" => digits(rest, 2, 2)?,
        _ => (0, rest),
    };
    Some((sign * (h as i32 * 3600 + m as i32 * 60), rest))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn now() -> Time {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Time::utc(d.as_secs() as i64, d.subsec_nanos())
}

/// A time in the given zone (Go's `LoadLocation`; an unknown zone is UTC).
fn parse_in_zone(layout: &str, value: &str, zone: &str) -> Value {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    // Go resolves the offset at the parsed wall time; we use the zone's offset at that instant
    // computed as if UTC, which differs only within an hour of a transition.
    let Some(guess) = parse(layout, value, 0) else {
        return Value::Time(Time::zero());
    };
    let offset = jiff::Timestamp::from_second(guess.secs)
        .map(|ts| tz.to_offset(ts).seconds())
        .unwrap_or(0);
    match parse(layout, value, offset) {
        Some(p) => {
            let off = p.offset.unwrap_or(offset);
            Value::Time(Time {
                secs: p.secs,
                nanos: p.nanos,
                offset: off,
                zone: if off == 0 {
                    "UTC".into()
                } else {
                    String::new()
                },
            })
        }
        None => Value::Time(Time::zero()),
    }
}

pub(super) fn time_funcs(m: &mut FuncMap) {
    m.insert("now", |a| {
        arity("now", a, 0)?;
        Ok(Value::Time(now()))
    });
    m.insert("date", |a| {
        arity("date", a, 2)?;
        let layout = str_arg(&a[0])?;
        let t = match &a[1] {
            Value::Time(t) => t.clone(),
            Value::Int(secs) => Time::utc(*secs, 0),
            _ => now(),
        };
        Ok(Value::str(Time::utc(t.secs, t.nanos).format(layout)))
    });
    m.insert("toDate", |a| {
        arity("toDate", a, 2)?;
        Ok(parse_in_zone(str_arg(&a[0])?, str_arg(&a[1])?, "UTC"))
    });
    m.insert("toDateInZone", |a| {
        arity("toDateInZone", a, 3)?;
        Ok(parse_in_zone(
            str_arg(&a[0])?,
            str_arg(&a[2])?,
            str_arg(&a[1])?,
        ))
    });
    m.insert("unixEpoch", |a| {
        arity("unixEpoch", a, 1)?;
        Ok(Value::str(time_arg(&a[0])?.secs.to_string()))
    });
    m.insert("unixEpochMillis", |a| {
        arity("unixEpochMillis", a, 1)?;
        let t = time_arg(&a[0])?;
        Ok(Value::str(
            (t.secs * 1000 + i64::from(t.nanos / 1_000_000)).to_string(),
        ))
    });
    m.insert("unixEpochNanos", |a| {
        arity("unixEpochNanos", a, 1)?;
        let t = time_arg(&a[0])?;
        Ok(Value::str(
            (i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos)).to_string(),
        ))
    });
    m.insert("unixToTime", |a| {
        arity("unixToTime", a, 1)?;
        let s = str_arg(&a[0])?;
        let i: i64 = s.parse().map_err(|_| {
            FuncError::Call(format!(
                "unable to parse time '{s}': strconv.ParseInt: parsing {}: invalid syntax",
                crate::units::go_quote(s)
            ))
        })?;
        let nanos = match s.len() {
            5 => i128::from(i) * 86_400 * 1_000_000_000,
            10 => i128::from(i) * 1_000_000_000,
            13 => i128::from(i) * 1_000_000,
            16 => i128::from(i) * 1_000,
            19 => i128::from(i),
            _ => {
                return Err(FuncError::Call(format!(
                    "unable to parse time '{s}': %!w(<nil>)"
                )))
            }
        };
        Ok(Value::Time(Time::utc(
            nanos.div_euclid(1_000_000_000) as i64,
            nanos.rem_euclid(1_000_000_000) as u32,
        )))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let p = parse("2006-01-02", "2023-11-14", 0).unwrap();
        assert_eq!(p.secs, 1_699_920_000);
        let p = parse(
            "2006-01-02T15:04:05.000Z07:00",
            "2023-11-14T22:13:20.500+01:00",
            0,
        )
        .unwrap();
        assert_eq!((p.secs, p.nanos), (1_699_996_400, 500_000_000));
        let p = parse(
            "02/Jan/2006:15:04:05 -0700",
            "14/Nov/2023:22:13:20 +0000",
            0,
        )
        .unwrap();
        assert_eq!(p.secs, 1_700_000_000);
        assert_eq!(parse("2006-01-02", "2023-13-01", 0), None);
        assert_eq!(parse("2006-01-02", "x", 0), None);
        let p = parse("3:04PM", "1:05PM", 0).unwrap();
        assert_eq!(p.secs, -62_167_219_200 + 13 * 3600 + 5 * 60);
    }
}
