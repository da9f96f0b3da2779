//! RFC 3164 (BSD) messages, read as Promtail's parser (go-syslog's `rfc3164`) reads them:
//! `<PRI>Mmm dd hh:mm:ss [HOSTNAME ][TAG[[PID]]: ]MSG`, extra spaces tolerated between the
//! header parts, a first word holding no `:` taken as the hostname.
//!
//! The BSD timestamp has no year and no zone: it is read in UTC in the current year, or the
//! previous one when that would put it more than a day in the future (go-syslog, as Promtail
//! uses it, leaves the year at 0).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use super::message::{print_us_ascii, utf8_lossy, Cursor, Message, ParseError};

const TIMESTAMP: &str = "expecting a Stamp timestamp";
const CONTENT: &str = "expecting a content part composed by visible characters only";

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Parses one RFC 3164 message (without framing); `now` is Unix nanoseconds, for the year.
pub fn parse(data: &[u8], now: i64) -> Result<Message, ParseError> {
    let mut c = Cursor::new(data);
    let priority = c.priority()?;
    skip_spaces(&mut c);
    let timestamp = stamp(&mut c, now)?;
    if c.peek() != Some(b' ') {
        return c.fail(TIMESTAMP);
    }
    skip_spaces(&mut c);
    let mut msg = Message {
        priority,
        timestamp: Some(timestamp),
        ..Message::default()
    };
    let first = Cursor::new(c.rest()).token();
    if !first.is_empty()
        && first.len() <= 255
        && print_us_ascii(first)
        && !first.contains(&b':')
        && c.rest().len() > first.len()
    {
        msg.hostname = Some(utf8_lossy(first));
        c.pos += first.len();
        skip_spaces(&mut c);
    }
    let rest = c.rest();
    if let Some(bad) = rest.iter().position(|b| *b < 0x20 || *b == 0x7f) {
        c.pos += bad;
        return c.fail(CONTENT);
    }
    let text = match tag(rest) {
        Some(Tag { tag, pid, text }) => {
            msg.app_name = Some(utf8_lossy(tag));
            msg.proc_id = pid.map(utf8_lossy);
            text
        }
        None => rest,
    };
    msg.message = (!text.is_empty()).then(|| utf8_lossy(text));
    Ok(msg)
}

fn skip_spaces(c: &mut Cursor<'_>) {
    while c.peek() == Some(b' ') {
        c.pos += 1;
    }
}

/// The parts of `TAG[PID]: text`.
struct Tag<'a> {
    tag: &'a [u8],
    pid: Option<&'a [u8]>,
    text: &'a [u8],
}

/// `TAG[PID]: text` or `TAG: text` at the start of `rest`: the tag (1..=48 printable bytes
/// other than space, `:` and `[`), the bracketed content and the text after `": "`.
fn tag(rest: &[u8]) -> Option<Tag<'_>> {
    let tag_len = rest
        .iter()
        .take_while(|b| (0x21..=0x7e).contains(*b) && !matches!(b, b':' | b'['))
        .count();
    if tag_len == 0 || tag_len > 48 {
        return None;
    }
    let (tag, mut after) = rest.split_at(tag_len);
    let mut pid = None;
    if after.first() == Some(&b'[') {
        let inner = after[1..]
            .iter()
            .take_while(|b| (0x21..=0x7e).contains(*b) && !matches!(b, b'[' | b']'))
            .count();
        if after.get(1 + inner) != Some(&b']') {
            return None;
        }
        pid = Some(&after[1..1 + inner]);
        after = &after[2 + inner..];
    }
    let text = after.strip_prefix(b": ")?;
    Some(Tag { tag, pid, text })
}

/// Go's `time.Stamp`, `Jan _2 15:04:05` (the day may also be written `02`).
fn stamp(c: &mut Cursor<'_>, now: i64) -> Result<i64, ParseError> {
    let start = c.pos;
    let rest = c.rest();
    let fail = |c: &mut Cursor<'_>| {
        c.pos = start;
        c.fail(TIMESTAMP)
    };
    if rest.len() < 15 {
        return fail(c);
    }
    let Some(month) = MONTHS.iter().position(|m| &rest[..3] == *m) else {
        return fail(c);
    };
    let num = |b: &[u8]| -> Option<i8> {
        let s = std::str::from_utf8(b).ok()?.trim_start();
        (!s.is_empty() && s.bytes().all(|d| d.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let parts = (
        rest[3] == b' ' && rest[6] == b' ' && rest[9] == b':' && rest[12] == b':',
        num(&rest[4..6]),
        num(&rest[7..9]),
        num(&rest[10..12]),
        num(&rest[13..15]),
    );
    let (true, Some(day), Some(h), Some(m), Some(s)) = parts else {
        return fail(c);
    };
    let now =
        jiff::Timestamp::from_nanosecond(i128::from(now)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let year = now.to_zoned_datetime(TimeZone::UTC).year();
    let at = |year: i16| {
        DateTime::new(year, month as i8 + 1, day, h, m, s, 0)
            .ok()?
            .to_zoned_datetime(TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    };
    let Some(ts) = at(year) else {
        return fail(c);
    };
    let day_ahead = now + jiff::SignedDuration::from_hours(24);
    let ts = if ts > day_ahead {
        at(year - 1).unwrap_or(ts)
    } else {
        ts
    };
    c.pos += 15;
    Ok(ts.as_nanosecond() as i64)
}
