//! Loki's JSON push bodies, decoded with typed serde visitors straight into log entries (no
//! `serde_json::Value` tree; label names and values are borrowed from the body where they have
//! no escapes).
//!
//! - v1 (`/loki/api/v1/push`): `{"streams":[{"stream":{"a":"b"},"values":[["<ns>","line",
//!   {"k":"v"}]]}]}`, read as Loki's `loghttp.PushRequest`: the timestamp is a string of
//!   integer nanoseconds, the optional third element structured metadata with string values,
//!   further elements and unknown keys ignored, `null` entries skipped.
//! - legacy (`/api/prom/push`): `{"streams":[{"labels":"{a=\"b\"}","entries":[{"ts":
//!   "<RFC 3339>","line":"…"}]}]}`, Loki's `logproto.PushRequest` in Go's JSON.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use bongsu_model::log::LogEntry;

/// A v1 body.
#[derive(Deserialize)]
pub struct PushV1<'a> {
    #[serde(borrow, default)]
    pub streams: Option<Vec<StreamV1<'a>>>,
}

/// A v1 stream: its labels as given (duplicates resolved, last wins) and its entries.
#[derive(Deserialize)]
pub struct StreamV1<'a> {
    #[serde(borrow, default)]
    pub stream: Option<LabelMap<'a>>,
    #[serde(default)]
    pub values: Option<Entries>,
}

/// The `stream` object, in the order given; a repeated name keeps its last value (Go map).
pub struct LabelMap<'a>(pub Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'de: 'a, 'a> Deserialize<'de> for LabelMap<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = LabelMap<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of label names to string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::new();
                while let Some(name) = map.next_key::<Cow<'a, str>>()? {
                    let value = map.next_value::<Cow<'a, str>>()?;
                    match pairs.iter_mut().find(|(n, _)| *n == name) {
                        Some(p) => p.1 = value,
                        None => pairs.push((name, value)),
                    }
                }
                Ok(LabelMap(pairs))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// The `values` array, decoded into entries.
pub struct Entries(pub Vec<LogEntry>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of [timestamp, line, metadata?] entries")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(e) = seq.next_element::<Option<EntryV1>>()? {
                    if let Some(e) = e {
                        out.push(e.0);
                    }
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_seq(V)
    }
}

struct EntryV1(LogEntry);

impl<'de> Deserialize<'de> for EntryV1 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EntryV1;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an entry [\"<unix ns>\", \"<line>\", {metadata}?]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut entry = LogEntry {
                    ts: 0,
                    line: String::new(),
                    metadata: Vec::new(),
                };
                if let Some(ts) = seq.next_element::<Cow<'de, str>>()? {
                    entry.ts = parse_int(&ts).map_err(de::Error::custom)?;
                }
                if let Some(line) = seq.next_element::<String>()? {
                    entry.line = line;
                }
                seq.next_element_seed(MetadataSeed(&mut entry.metadata))?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(EntryV1(entry))
            }
        }
        d.deserialize_seq(V)
    }
}

/// Structured metadata `{"name":"value",…}` in the order given.
struct MetadataSeed<'m>(&'m mut Vec<(String, String)>);

impl<'de> DeserializeSeed<'de> for MetadataSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MetadataSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("structured metadata: an object of string values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<String>()? {
            let value = map.next_value::<String>()?;
            self.0.push((name, value));
        }
        Ok(())
    }
}

/// `jsonparser.ParseInt`: an optional `-` and decimal digits, nothing else.
fn parse_int(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("Value is not a number: {s:?}"));
    }
    s.parse::<i64>()
        .map_err(|_| format!("Value is number, but overflowed while parsing: {s:?}"))
}

/// A legacy body.
#[derive(Deserialize)]
pub struct PushLegacy<'a> {
    #[serde(borrow, default)]
    pub streams: Option<Vec<StreamLegacy<'a>>>,
}

/// A legacy stream: the label string and entries with RFC 3339 timestamps.
#[derive(Deserialize)]
pub struct StreamLegacy<'a> {
    #[serde(borrow, default)]
    pub labels: Cow<'a, str>,
    #[serde(default)]
    pub entries: Option<Vec<EntryLegacy<'a>>>,
}

#[derive(Deserialize)]
pub struct EntryLegacy<'a> {
    #[serde(borrow)]
    pub ts: Cow<'a, str>,
    #[serde(default)]
    pub line: String,
}

/// Go's `time.Time` JSON: RFC 3339 with optional fraction and a `Z` or `±hh:mm` offset, as
/// Unix nanoseconds.
pub fn parse_rfc3339(s: &str) -> Result<i64, String> {
    let bad = || format!("parsing time {s:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse");
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        let part = s.get(r).ok_or_else(bad)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return Err(bad());
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut frac_ns = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let digits = &s[start..i];
        if digits.is_empty() || digits.len() > 9 {
            return Err(bad());
        }
        frac_ns = format!("{digits:0<9}").parse().map_err(|_| bad())?;
    }
    let offset_s = match &s[i..] {
        "Z" | "z" => 0,
        o if o.len() == 6 && matches!(o.as_bytes()[0], b'+' | b'-') && o.as_bytes()[3] == b':' => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60)
        }
        _ => return Err(bad()),
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 59 {
        return Err(bad());
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    secs.checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(frac_ns))
        .ok_or_else(bad)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_as_go() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20.5Z"),
            Ok(1_700_000_000_500_000_000)
        );
        assert_eq!(
            parse_rfc3339("2023-11-15T00:13:20.000000001+02:00"),
            Ok(1_700_000_000_000_000_001)
        );
        assert!(parse_rfc3339("2023-11-14 22:13:20Z").is_err());
        assert!(parse_rfc3339("yesterday").is_err());
    }

    #[test]
    fn ints_as_jsonparser() {
        assert_eq!(parse_int("-12"), Ok(-12));
        assert!(parse_int("1.5").is_err());
        assert!(parse_int("+1").is_err());
        assert!(parse_int("99999999999999999999").is_err());
    }
}
