//! Go's `time.Time` and `time.Duration` as templates print and format them.
//!
//! Only what templates reach: `Time.String()`, `Time.Format(layout)` with Go's reference-time
//! layouts, Unix conversions, and `Duration.String()`. A time carries the fixed offset and
//! abbreviation of its zone at that instant (`tz` looks them up in the zoneinfo database).

use std::fmt::Write;

/// An instant with the fixed zone it is shown in.
#[derive(Clone, Debug, PartialEq)]
pub struct Time {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second, `0..1e9`.
    pub nanos: u32,
    /// Offset east of UTC in seconds.
    pub offset: i32,
    /// Zone abbreviation (`UTC`); empty prints the numeric offset instead.
    pub zone: String,
}

/// Go's `time.Duration`: nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duration(pub i64);

/// `Time.String()`'s layout.
pub const STRING_LAYOUT: &str = "2006-01-02 15:04:05.999999999 -0700 MST";

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

impl Time {
    /// A UTC time from seconds and nanoseconds since the epoch.
    pub fn utc(secs: i64, nanos: u32) -> Time {
        Time {
            secs,
            nanos,
            offset: 0,
            zone: "UTC".to_string(),
        }
    }

    /// A UTC time from milliseconds since the epoch (Prometheus' timestamps).
    pub fn from_millis(ms: i64) -> Time {
        Time::utc(
            ms.div_euclid(1000),
            (ms.rem_euclid(1000) * 1_000_000) as u32,
        )
    }

    /// Unix seconds as a float, for `humanize*` and comparisons.
    pub fn unix_f64(&self) -> f64 {
        self.secs as f64 + self.nanos as f64 / 1e9
    }

    /// Go's zero `time.Time` (January 1, year 1, 00:00:00 UTC).
    pub fn zero() -> Time {
        Time::utc(-62_135_596_800, 0)
    }

    pub fn is_zero(&self) -> bool {
        self.secs == -62_135_596_800 && self.nanos == 0
    }

    /// `Time.Format(layout)`.
    pub fn format(&self, layout: &str) -> String {
        let local = self.secs + i64::from(self.offset);
        let days = local.div_euclid(86_400);
        let sod = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let (hour, min, sec) = (sod / 3600, (sod / 60) % 60, sod % 60);
        let weekday = (days + 4).rem_euclid(7) as usize;
        let yday = days - days_from_civil(year, 1, 1) + 1;
        let mut out = String::new();
        let b = layout.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let rest = &layout[i..];
            let (len, done) = match chunk(rest) {
                Some((n, c)) => (n, Some(c)),
                None => (rest.chars().next().map_or(1, char::len_utf8), None),
            };
            match done {
                None => out.push_str(&rest[..len]),
                Some(c) => {
                    let _ = match c {
                        Chunk::LongMonth => write!(out, "{}", MONTHS[month as usize - 1]),
                        Chunk::Month => write!(out, "{}", &MONTHS[month as usize - 1][..3]),
                        Chunk::NumMonth => write!(out, "{month}"),
                        Chunk::ZeroMonth => write!(out, "{month:02}"),
                        Chunk::LongWeekDay => write!(out, "{}", DAYS[weekday]),
                        Chunk::WeekDay => write!(out, "{}", &DAYS[weekday][..3]),
                        Chunk::Day => write!(out, "{day}"),
                        Chunk::UnderDay => write!(out, "{day:>2}"),
                        Chunk::ZeroDay => write!(out, "{day:02}"),
                        Chunk::UnderYearDay => write!(out, "{yday:>3}"),
                        Chunk::ZeroYearDay => write!(out, "{yday:03}"),
                        Chunk::Hour => write!(out, "{hour:02}"),
                        Chunk::Hour12 => write!(out, "{}", hour12(hour)),
                        Chunk::ZeroHour12 => write!(out, "{:02}", hour12(hour)),
                        Chunk::Minute => write!(out, "{min}"),
                        Chunk::ZeroMinute => write!(out, "{min:02}"),
                        Chunk::Second => write!(out, "{sec}"),
                        Chunk::ZeroSecond => write!(out, "{sec:02}"),
                        Chunk::LongYear => write!(out, "{year:04}"),
                        Chunk::Year => write!(out, "{:02}", year.rem_euclid(100)),
                        Chunk::PM => write!(out, "{}", if hour >= 12 { "PM" } else { "AM" }),
                        Chunk::Pm => write!(out, "{}", if hour >= 12 { "pm" } else { "am" }),
                        Chunk::Tz => {
                            if self.zone.is_empty() {
                                write_offset(&mut out, self.offset, false, false, false, true)
                            } else {
                                write!(out, "{}", self.zone)
                            }
                        }
                        Chunk::Offset {
                            z,
                            colon,
                            secs,
                            hours_only,
                        } => {
                            if z && self.offset == 0 {
                                write!(out, "Z")
                            } else {
                                write_offset(&mut out, self.offset, colon, secs, hours_only, false)
                            }
                        }
                        Chunk::Frac { sep, digits, trim } => {
                            write_frac(&mut out, self.nanos, sep, digits, trim)
                        }
                    };
                }
            }
            i += len;
        }
        out
    }
}

impl std::fmt::Display for Time {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.format(STRING_LAYOUT))
    }
}

impl std::fmt::Display for Duration {
    /// Go's `Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let neg = self.0 < 0;
        let u = self.0.unsigned_abs();
        let sign = if neg { "-" } else { "" };
        if u == 0 {
            return f.write_str("0s");
        }
        if u < 1_000_000_000 {
            let (unit, scale) = if u < 1_000 {
                ("ns", 1)
            } else if u < 1_000_000 {
                ("µs", 1_000)
            } else {
                ("ms", 1_000_000)
            };
            return write!(f, "{sign}{}{unit}", decimal(u, scale));
        }
        let secs = u / 1_000_000_000;
        let frac = u % 1_000_000_000;
        let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
        let sec_text = decimal(s * 1_000_000_000 + frac, 1_000_000_000);
        if h > 0 {
            write!(f, "{sign}{h}h{m}m{sec_text}s")
        } else if m > 0 {
            write!(f, "{sign}{m}m{sec_text}s")
        } else {
            write!(f, "{sign}{sec_text}s")
        }
    }
}

/// `v / scale` with the fraction's trailing zeros trimmed.
fn decimal(v: u64, scale: u64) -> String {
    let (int, frac) = (v / scale, v % scale);
    if frac == 0 {
        return int.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{int}.{}", digits.trim_end_matches('0'))
}

fn hour12(hour: i64) -> i64 {
    match hour % 12 {
        0 => 12,
        h => h,
    }
}

fn write_offset(
    out: &mut String,
    offset: i32,
    colon: bool,
    secs: bool,
    hours_only: bool,
    tz_name: bool,
) -> std::fmt::Result {
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.unsigned_abs();
    let (h, m, s) = (abs / 3600, (abs / 60) % 60, abs % 60);
    if tz_name {
        // An unnamed zone prints as -07, or -0730 when minutes are set.
        write!(out, "{sign}{h:02}")?;
        if m != 0 {
            write!(out, "{m:02}")?;
        }
        return Ok(());
    }
    write!(out, "{sign}{h:02}")?;
    if hours_only {
        return Ok(());
    }
    let sep = if colon { ":" } else { "" };
    write!(out, "{sep}{m:02}")?;
    if secs {
        write!(out, "{sep}{s:02}")?;
    }
    Ok(())
}

fn write_frac(
    out: &mut String,
    nanos: u32,
    sep: char,
    digits: usize,
    trim: bool,
) -> std::fmt::Result {
    let all = format!("{nanos:09}");
    let mut part = &all[..digits.min(9)];
    if trim {
        part = part.trim_end_matches('0');
        if part.is_empty() {
            return Ok(());
        }
    }
    write!(out, "{sep}{part}")
}

#[derive(Clone, Copy, Debug)]
enum Chunk {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    Tz,
    Offset {
        z: bool,
        colon: bool,
        secs: bool,
        hours_only: bool,
    },
    Frac {
        sep: char,
        digits: usize,
        trim: bool,
    },
}

/// The layout element at the start of `s`, with its length, following Go's `nextStdChunk`.
fn chunk(s: &str) -> Option<(usize, Chunk)> {
    let starts = |p: &str| s.starts_with(p);
    let c = s.as_bytes()[0];
    match c {
        b'J' if starts("January") => Some((7, Chunk::LongMonth)),
        b'J' if starts("Jan") => Some((3, Chunk::Month)),
        b'M' if starts("Monday") => Some((6, Chunk::LongWeekDay)),
        b'M' if starts("Mon") => Some((3, Chunk::WeekDay)),
        b'M' if starts("MST") => Some((3, Chunk::Tz)),
        b'0' if starts("002") => Some((3, Chunk::ZeroYearDay)),
        b'0' => match s.as_bytes().get(1) {
            Some(b'1') => Some((2, Chunk::ZeroMonth)),
            Some(b'2') => Some((2, Chunk::ZeroDay)),
            Some(b'3') => Some((2, Chunk::ZeroHour12)),
            Some(b'4') => Some((2, Chunk::ZeroMinute)),
            Some(b'5') => Some((2, Chunk::ZeroSecond)),
            Some(b'6') => Some((2, Chunk::Year)),
            _ => None,
        },
        b'1' if starts("15") => Some((2, Chunk::Hour)),
        b'1' => Some((1, Chunk::NumMonth)),
        b'2' if starts("2006") => Some((4, Chunk::LongYear)),
        b'2' => Some((1, Chunk::Day)),
        b'_' if starts("__2") => Some((3, Chunk::UnderYearDay)),
        b'_' if starts("_2") && !starts("_2006") => Some((2, Chunk::UnderDay)),
        b'3' => Some((1, Chunk::Hour12)),
        b'4' => Some((1, Chunk::Minute)),
        b'5' => Some((1, Chunk::Second)),
        b'P' if starts("PM") => Some((2, Chunk::PM)),
        b'p' if starts("pm") => Some((2, Chunk::Pm)),
        b'-' | b'Z' => {
            let z = c == b'Z';
            let forms: [(&str, bool, bool, bool); 5] = [
                ("070000", false, true, false),
                ("07:00:00", true, true, false),
                ("0700", false, false, false),
                ("07:00", true, false, false),
                ("07", false, false, true),
            ];
            forms.iter().find(|(f, ..)| s[1..].starts_with(f)).map(
                |&(f, colon, secs, hours_only)| {
                    (
                        f.len() + 1,
                        Chunk::Offset {
                            z,
                            colon,
                            secs,
                            hours_only,
                        },
                    )
                },
            )
        }
        b'.' | b',' => {
            let bytes = s.as_bytes();
            let digit = *bytes.get(1)?;
            if digit != b'0' && digit != b'9' {
                return None;
            }
            let mut j = 1;
            while j < bytes.len() && bytes[j] == digit {
                j += 1;
            }
            if bytes.get(j).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            Some((
                j,
                Chunk::Frac {
                    sep: c as char,
                    digits: j - 1,
                    trim: digit == b'9',
                },
            ))
        }
        _ => None,
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_and_layouts() {
        let t = Time::utc(1_435_065_584, 128_000_000);
        assert_eq!(t.to_string(), "2015-06-23 13:19:44.128 +0000 UTC");
        assert_eq!(
            t.format("2006-01-02T15:04:05Z07:00"),
            "2015-06-23T13:19:44Z"
        );
        assert_eq!(t.format("Mon Jan _2 3:04PM .000"), "Tue Jun 23 1:19PM .128");
        assert_eq!(
            t.format("Monday, 02-Jan-06 15:04:05 MST"),
            "Tuesday, 23-Jun-15 13:19:44 UTC"
        );
        assert_eq!(
            Time::utc(-1, 0).to_string(),
            "1969-12-31 23:59:59 +0000 UTC"
        );
        assert_eq!(Time::zero().format("2006-01-02"), "0001-01-01");
        let east = Time {
            offset: 5 * 3600 + 1800,
            zone: String::new(),
            ..Time::utc(0, 0)
        };
        assert_eq!(east.format("15:04 -07:00 MST"), "05:30 +05:30 +0530");
    }

    #[test]
    fn durations() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (1_500_000, "1.5ms"),
            (3_500_000_000, "3.5s"),
            (3_723_000_000_000, "1h2m3s"),
            (-60_000_000_000, "-1m0s"),
        ];
        for (ns, want) in cases {
            assert_eq!(Duration(ns).to_string(), want);
        }
    }
}
