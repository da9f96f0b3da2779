//! Time intervals (`time_intervals` / legacy `mute_time_intervals`): when a route is muted or
//! active. An interval holds optional lists of times of day, weekdays, days of the month
//! (negative = from the end), months and years, and a location; a time is in it when it falls
//! in every list given (and in any range of each list). Parsing applies Alertmanager's checks
//! and messages.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Deserialize;

/// One interval as written in the configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeInterval {
    #[serde(default)]
    times: Option<Vec<RawTimeRange>>,
    #[serde(default)]
    weekdays: Option<Vec<String>>,
    #[serde(default)]
    days_of_month: Option<Vec<String>>,
    #[serde(default)]
    months: Option<Vec<String>>,
    #[serde(default)]
    years: Option<Vec<String>>,
    #[serde(default)]
    location: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeRange {
    #[serde(default)]
    start_time: String,
    #[serde(default)]
    end_time: String,
}

/// `[begin, end]`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InclusiveRange {
    pub begin: i32,
    pub end: i32,
}

/// Minutes of the day: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start_minute: i32,
    pub end_minute: i32,
}

/// A parsed interval. `None` for a list means "any".
#[derive(Debug, Clone, Default)]
pub struct TimeInterval {
    pub times: Option<Vec<TimeRange>>,
    /// 0 = Sunday … 6 = Saturday.
    pub weekdays: Option<Vec<InclusiveRange>>,
    pub days_of_month: Option<Vec<InclusiveRange>>,
    pub months: Option<Vec<InclusiveRange>>,
    pub years: Option<Vec<InclusiveRange>>,
    /// The zone the other fields are read in; UTC when not given.
    pub location: Option<(String, TimeZone)>,
}

/// Weekday names as the configuration writes them, Sunday (0) first.
pub(crate) const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Go's `strconv.Atoi` error wording, as Alertmanager passes it through.
fn atoi(s: &str) -> Result<i32, String> {
    s.parse::<i32>()
        .map_err(|_| format!("strconv.Atoi: parsing {s:?}: invalid syntax"))
}

/// `a` or `a:b`, lower-cased, each side read by `member`.
fn range(
    input: &str,
    member: impl Fn(&str) -> Result<i32, String>,
) -> Result<InclusiveRange, String> {
    let lower = input.to_lowercase();
    if lower.contains(':') {
        let parts: Vec<&str> = lower.split(':').collect();
        if parts.len() != 2 {
            return Err(format!("couldn't parse range {lower}, invalid format"));
        }
        return Ok(InclusiveRange {
            begin: member(parts[0])?,
            end: member(parts[1])?,
        });
    }
    let v = member(&lower)?;
    Ok(InclusiveRange { begin: v, end: v })
}

fn weekday_range(s: &str) -> Result<InclusiveRange, String> {
    let r = range(s, |d| {
        WEEKDAYS
            .iter()
            .position(|w| *w == d)
            .map(|i| i as i32)
            .ok_or_else(|| format!("{d} is not a valid weekday"))
    })?;
    if r.begin > r.end {
        return Err("start day cannot be before end day".into());
    }
    Ok(r)
}

fn day_of_month_range(s: &str) -> Result<InclusiveRange, String> {
    let r = range(s, atoi)?;
    for d in [r.begin, r.end] {
        if d == 0 || !(-31..=31).contains(&d) {
            return Err(format!("{d} is not a valid day of the month: out of range"));
        }
    }
    if r.begin < 0 && r.end > 0 {
        return Err("end day must be negative if start day is negative".into());
    }
    // Compare as if in the shortest month, so "-3:27" style ranges that are always empty fail.
    let norm = |d: i32| if d < 0 { 28 + d } else { d };
    if norm(r.begin) > norm(r.end) {
        return Err(format!(
            "end day {} is always before start day {}",
            r.end, r.begin
        ));
    }
    Ok(r)
}

fn month_range(s: &str) -> Result<InclusiveRange, String> {
    let r = range(s, |m| match MONTHS.iter().position(|n| *n == m) {
        Some(i) => Ok(i as i32 + 1),
        None => m
            .parse::<i32>()
            .map_err(|_| format!("{m} is not a valid month")),
    })?;
    if r.begin > r.end {
        let name = |m: i32| {
            MONTHS
                .get((m - 1) as usize)
                .copied()
                .unwrap_or("")
                .to_string()
        };
        return Err(format!(
            "end month {} is before start month {}",
            name(r.end),
            name(r.begin)
        ));
    }
    Ok(r)
}

fn year_range(s: &str) -> Result<InclusiveRange, String> {
    let r = range(s, atoi)?;
    if r.begin > r.end {
        return Err(format!(
            "end year {} is before start year {}",
            r.end, r.begin
        ));
    }
    Ok(r)
}

/// `HH:MM` (00:00–23:59, or 24:00) → minutes of the day.
fn minutes(s: &str) -> Result<i32, String> {
    let invalid = || format!("couldn't parse timestamp {s}, invalid format");
    if s == "24:00" {
        return Ok(24 * 60);
    }
    let (h, m) = s.split_once(':').ok_or_else(invalid)?;
    let two_digits = |x: &str| x.len() == 2 && x.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(h) || !two_digits(m) {
        return Err(invalid());
    }
    let (h, m) = (atoi(h)?, atoi(m)?);
    if h > 23 || m > 59 {
        return Err(invalid());
    }
    Ok(h * 60 + m)
}

/// A zone by IANA name; `Local` is the machine's zone, as in Go.
fn location(name: &str) -> Result<TimeZone, String> {
    if name == "Local" {
        return Ok(TimeZone::system());
    }
    if name.is_empty() || name == "UTC" {
        return Ok(TimeZone::UTC);
    }
    TimeZone::get(name).map_err(|_| format!("unknown time zone {name}"))
}

fn each<T>(
    list: Option<Vec<String>>,
    f: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<Vec<T>>, String> {
    list.map(|l| l.iter().map(|s| f(s)).collect()).transpose()
}

impl TryFrom<RawTimeInterval> for TimeInterval {
    type Error = String;

    fn try_from(raw: RawTimeInterval) -> Result<TimeInterval, String> {
        let times =
            raw.times
                .map(|ts| {
                    ts.iter()
                        .map(|t| {
                            if t.start_time.is_empty() || t.end_time.is_empty() {
                                return Err("both start and end times must be provided".to_string());
                            }
                            let (start, end) = (minutes(&t.start_time)?, minutes(&t.end_time)?);
                            if start >= end {
                                return Err("start time cannot be equal or greater than end time"
                                    .to_string());
                            }
                            Ok(TimeRange {
                                start_minute: start,
                                end_minute: end,
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?;
        Ok(TimeInterval {
            times,
            weekdays: each(raw.weekdays, weekday_range)?,
            days_of_month: each(raw.days_of_month, day_of_month_range)?,
            months: each(raw.months, month_range)?,
            years: each(raw.years, year_range)?,
            location: raw
                .location
                .map(|name| location(&name).map(|tz| (name, tz)))
                .transpose()?,
        })
    }
}

fn any_contains(list: &Option<Vec<InclusiveRange>>, v: i32) -> bool {
    list.as_ref()
        .is_none_or(|rs| rs.iter().any(|r| r.begin <= v && v <= r.end))
}

impl TimeInterval {
    /// Whether `t` falls in the interval, read in its location (UTC if none).
    pub fn contains(&self, t: Timestamp) -> bool {
        let tz = self
            .location
            .as_ref()
            .map_or(TimeZone::UTC, |(_, tz)| tz.clone());
        let z = t.to_zoned_datetime(tz);
        let minute = i32::from(z.hour()) * 60 + i32::from(z.minute());
        if let Some(times) = &self.times {
            if !times
                .iter()
                .any(|r| r.start_minute <= minute && minute < r.end_minute)
            {
                return false;
            }
        }
        if let Some(days) = &self.days_of_month {
            let in_month = i32::from(z.days_in_month());
            let day = i32::from(z.day());
            let found = days.iter().any(|r| {
                let resolve = |d: i32| if d < 0 { in_month + d + 1 } else { d };
                let (begin, end) = (resolve(r.begin), resolve(r.end));
                // A range starting after this month's last day does not apply to it.
                begin <= in_month && begin <= day && day <= end.min(in_month)
            });
            if !found {
                return false;
            }
        }
        any_contains(&self.months, i32::from(z.month()))
            && any_contains(
                &self.weekdays,
                i32::from(z.weekday().to_sunday_zero_offset()),
            )
            && any_contains(&self.years, i32::from(z.year()))
    }
}

/// Whether `t` is in any of `intervals`.
pub fn any_contains_time(intervals: &[TimeInterval], t: Timestamp) -> bool {
    intervals.iter().any(|i| i.contains(t))
}

/// Of the interval `names` a route lists, those that contain `t`, in the route's order: the
/// route is muted (or active) now when this is non-empty. A name missing from `known` is an
/// error, as upstream (a loaded configuration never has one).
pub fn containing<'a>(
    known: &BTreeMap<String, Vec<TimeInterval>>,
    names: &'a [String],
    t: Timestamp,
) -> Result<Vec<&'a str>, String> {
    let mut hits = Vec::new();
    for name in names {
        let intervals = known
            .get(name)
            .ok_or_else(|| format!("time interval {name} doesn't exist in config"))?;
        if any_contains_time(intervals, t) {
            hits.push(name.as_str());
        }
    }
    Ok(hits)
}

#[cfg(test)]
mod tests;
