//! The `timestamp` stage: sets the entry's time from an extracted value, with Go reference
//! layouts (`2006-01-02 15:04:05.000`), Go's named layouts (`RFC3339`, `ANSIC`, …) and
//! Promtail's `Unix`, `UnixMs`, `UnixUs`, `UnixNs`; `fallback_formats`, `location`, and
//! `action_on_failure` (`fudge`: one nanosecond after the stream's last good time; `skip`).
//!
//! Layout parsing is LogQL's (`bongsu_logpipeline::format::gotime`, Go's `time.Parse`).
//! As Go, a fraction after the seconds is read even when the layout has none, and a layout
//! without a year takes the current one (last year for a December time read in January,
//! next year for a January time read in December), as Promtail does.

use std::collections::HashMap;

use bongsu_logpipeline::format::gotime;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime as Zoned};
use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use super::item::Item;
use super::pipeline::{decode, Built, Context, Each, Processor};

/// Streams whose last good time `fudge` remembers (Promtail's LRU size).
const MAX_LAST_KNOWN: usize = 10_000;

#[derive(Deserialize, Default)]
#[serde(default)]
struct TimestampConfig {
    source: String,
    format: String,
    fallback_formats: Vec<String>,
    location: Option<String>,
    action_on_failure: Option<String>,
}

/// How one format reads a value.
enum Format {
    Unix,
    UnixMs,
    UnixUs,
    UnixNs,
    /// Go's named layouts: parsed as UTC whatever `location` says, as Promtail does.
    Named(&'static str),
    Layout {
        layout: String,
        has_year: bool,
    },
}

const NAMED: &[(&str, &str)] = &[
    ("ANSIC", "Mon Jan _2 15:04:05 2006"),
    ("UnixDate", "Mon Jan _2 15:04:05 MST 2006"),
    ("RubyDate", "Mon Jan 02 15:04:05 -0700 2006"),
    ("RFC822", "02 Jan 06 15:04 MST"),
    ("RFC822Z", "02 Jan 06 15:04 -0700"),
    ("RFC850", "Monday, 02-Jan-06 15:04:05 MST"),
    ("RFC1123", "Mon, 02 Jan 2006 15:04:05 MST"),
    ("RFC1123Z", "Mon, 02 Jan 2006 15:04:05 -0700"),
    ("RFC3339", "2006-01-02T15:04:05Z07:00"),
    ("RFC3339Nano", "2006-01-02T15:04:05.999999999Z07:00"),
];

impl Format {
    fn new(f: &str) -> Format {
        match f {
            "Unix" => Format::Unix,
            "UnixMs" => Format::UnixMs,
            "UnixUs" => Format::UnixUs,
            "UnixNs" => Format::UnixNs,
            _ => match NAMED.iter().find(|(n, _)| *n == f) {
                Some((_, l)) => Format::Named(l),
                None => Format::Layout {
                    has_year: f.contains("06"),
                    layout: f.to_string(),
                },
            },
        }
    }

    /// Unix nanoseconds of `v`; `now` is for year-less layouts (`None`: the clock's).
    fn parse(&self, v: &str, tz: Option<&TimeZone>, now: Option<&Zoned>) -> Option<i64> {
        let int = || v.parse::<i64>().ok();
        match self {
            Format::UnixNs => int(),
            Format::UnixUs => int().map(|i| i.wrapping_mul(1_000)),
            Format::UnixMs => int().map(|i| i.wrapping_mul(1_000_000)),
            Format::Unix => match v.split_once('.') {
                Some((s, f)) if !f.contains('.') => {
                    let sec: i64 = s.parse().ok()?;
                    let frac: i64 = f.parse().ok()?;
                    let nsec = (frac as f64 * 10f64.powi(9 - f.len() as i32)) as i64;
                    Some(sec.wrapping_mul(1_000_000_000).wrapping_add(nsec))
                }
                Some(_) => None,
                None => int().map(|i| i.wrapping_mul(1_000_000_000)),
            },
            Format::Named(l) => parse_layout(l, v, None, true, now),
            Format::Layout { layout, has_year } => parse_layout(layout, v, tz, *has_year, now),
        }
    }
}

/// Go's `time.ParseInLocation(layout, v, tz)` (UTC without `tz`), and Promtail's year
/// completion for year-less layouts.
fn parse_layout(
    layout: &str,
    v: &str,
    tz: Option<&TimeZone>,
    has_year: bool,
    now: Option<&Zoned>,
) -> Option<i64> {
    let p = gotime::parse(layout, v, 0).or_else(|| gotime::parse(&with_fraction(layout)?, v, 0))?;
    let ts = Timestamp::new(p.secs, p.nanos as i32).ok()?;
    if has_year {
        return match (p.offset, tz) {
            (None, Some(tz)) => {
                let civil = ts.to_zoned_datetime(TimeZone::UTC).datetime();
                unix_nanos(civil.to_zoned_datetime(tz.clone()).ok()?.timestamp())
            }
            _ => unix_nanos(ts),
        };
    }
    // The civil time as written (in the text's offset, if it had one), then a year.
    let written_tz = match p.offset {
        Some(off) => TimeZone::fixed(jiff::tz::Offset::from_seconds(off).ok()?),
        None => tz.cloned().unwrap_or(TimeZone::UTC),
    };
    let civil: DateTime = ts
        .to_zoned_datetime(match p.offset {
            Some(_) => written_tz.clone(),
            None => TimeZone::UTC,
        })
        .datetime();
    let clock;
    let now = match now {
        Some(n) => n,
        None => {
            clock = Zoned::now();
            &clock
        }
    };
    let year = match (civil.month(), now.month()) {
        (12, 1) => now.year() - 1,
        (1, 12) => now.year() + 1,
        _ => now.year(),
    };
    let dated = civil.with().year(year).build().ok()?;
    unix_nanos(dated.to_zoned_datetime(written_tz).ok()?.timestamp())
}

/// Unix nanoseconds of `ts`; `None` outside the years an entry's `i64` can hold
/// (1677–2262), where Go's `UnixNano` would give a wrapped value.
fn unix_nanos(ts: Timestamp) -> Option<i64> {
    i64::try_from(ts.as_nanosecond()).ok()
}

/// `layout` with an optional fraction after its seconds (`05` → `05.999999999`), for
/// values with a fraction the layout does not show, which Go's parser reads anyway.
fn with_fraction(layout: &str) -> Option<String> {
    let i = layout.find("05")?;
    let rest = &layout[i + 2..];
    if rest.starts_with(['.', ',']) {
        return None;
    }
    Some(format!("{}05.999999999{rest}", &layout[..i]))
}

struct TimestampStage {
    source: String,
    formats: Vec<Format>,
    tz: Option<TimeZone>,
    /// `fudge`: the last good time per stream (`labels.String()`); `None` for `skip`.
    last_known: Option<HashMap<u64, i64>>,
}

pub(crate) fn timestamp(v: &Yaml, _: &Context) -> Built {
    let c: TimestampConfig = decode(v, "timestamp stage config cannot be empty")?;
    if c.source.is_empty() {
        return Err("timestamp source value is required if timestamp is specified".into());
    }
    if c.format.is_empty() {
        return Err("timestamp format is required".into());
    }
    let tz = match c.location.as_deref() {
        None => None,
        Some("" | "UTC") => Some(TimeZone::UTC),
        Some("Local") => Some(TimeZone::system()),
        Some(name) => Some(
            TimeZone::get(name)
                .map_err(|_| format!("invalid location specified: unknown time zone {name}"))?,
        ),
    };
    let fudge = match c.action_on_failure.as_deref() {
        None | Some("fudge") => true,
        Some("skip") => false,
        Some(_) => {
            return Err("invalid action on failure (supported values are [skip fudge])".into())
        }
    };
    let formats = std::iter::once(&c.format)
        .chain(&c.fallback_formats)
        .map(|f| Format::new(f))
        .collect();
    Ok(Box::new(Each(TimestampStage {
        source: c.source,
        formats,
        tz,
        last_known: fudge.then(HashMap::new),
    })))
}

impl Processor for TimestampStage {
    fn apply(&mut self, item: &mut Item) {
        let parsed = item.extracted_string(&self.source).and_then(|v| {
            self.formats
                .iter()
                .find_map(|f| f.parse(&v, self.tz.as_ref(), None))
        });
        let Some(last_known) = &mut self.last_known else {
            if let Some(ts) = parsed {
                item.ts = ts;
            }
            return;
        };
        let key = item.stream_key();
        match parsed {
            Some(ts) => item.ts = ts,
            None => match last_known.get(&key) {
                Some(last) => item.ts = last + 1,
                None => return,
            },
        }
        if last_known.len() >= MAX_LAST_KNOWN && !last_known.contains_key(&key) {
            last_known.clear();
        }
        last_known.insert(key, item.ts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(rfc3339: &str) -> i64 {
        rfc3339.parse::<Timestamp>().unwrap().as_nanosecond() as i64
    }

    #[test]
    fn formats() {
        let now: Zoned = "2026-07-15T12:00:00Z[UTC]".parse().unwrap();
        let jan: Zoned = "2026-01-02T12:00:00Z[UTC]".parse().unwrap();
        let ny = TimeZone::get("America/New_York").unwrap();
        type Case<'a> = (
            &'a str,
            &'a str,
            Option<&'a TimeZone>,
            &'a Zoned,
            Option<&'a str>,
        );
        let cases: &[Case] = &[
            (
                "RFC3339",
                "2019-01-01T01:00:00.123456789Z",
                None,
                &now,
                Some("2019-01-01T01:00:00.123456789Z"),
            ),
            (
                "RFC3339Nano",
                "2019-01-01T01:00:00-05:00",
                None,
                &now,
                Some("2019-01-01T06:00:00Z"),
            ),
            (
                "ANSIC",
                "Mon Jan  2 15:04:05 2006",
                None,
                &now,
                Some("2006-01-02T15:04:05Z"),
            ),
            (
                "Unix",
                "1562708916",
                None,
                &now,
                Some("2019-07-09T21:48:36Z"),
            ),
            (
                "Unix",
                "1562708916.414123",
                None,
                &now,
                Some("2019-07-09T21:48:36.414123Z"),
            ),
            (
                "UnixMs",
                "1562708916414",
                None,
                &now,
                Some("2019-07-09T21:48:36.414Z"),
            ),
            (
                "UnixUs",
                "1562708916414123",
                None,
                &now,
                Some("2019-07-09T21:48:36.414123Z"),
            ),
            (
                "UnixNs",
                "1562708916000000123",
                None,
                &now,
                Some("2019-07-09T21:48:36.000000123Z"),
            ),
            (
                "2006-01-02 15:04:05",
                "2019-07-09 10:00:00",
                Some(&ny),
                &now,
                Some("2019-07-09T14:00:00Z"),
            ),
            (
                "Jan 02 15:04:05",
                "Jul 09 10:00:00",
                None,
                &now,
                Some("2026-07-09T10:00:00Z"),
            ),
            (
                "Jan 02 15:04:05",
                "Dec 31 23:00:00",
                None,
                &jan,
                Some("2025-12-31T23:00:00Z"),
            ),
            (
                "02/Jan/2006:15:04:05 -0700",
                "14/Nov/2023:22:13:46 +0000",
                None,
                &now,
                Some("2023-11-14T22:13:46Z"),
            ),
            ("UnixMs", "abc", None, &now, None),
            ("RFC3339", "2019-13-01T01:00:00Z", None, &now, None),
        ];
        for (f, v, tz, now, want) in cases {
            let got = Format::new(f).parse(v, *tz, Some(now));
            assert_eq!(got, want.map(ns), "{f} {v}");
        }
    }
}
