//! RFC 5424 messages, parsed as strictly as Promtail's parser (go-syslog): a message with any
//! header error is an error, not a guess. The MSG part may be any bytes; bytes that are not
//! UTF-8 are replaced with U+FFFD.

use super::message::{
    ascii, print_us_ascii, utf8_lossy, Cursor, Message, ParseError, StructuredData,
};

const VERSION: &str = "expecting a version value in the range 1-999";
const TIMESTAMP: &str = "expecting a RFC3339MICRO timestamp or a nil value";
const HOSTNAME: &str =
    "expecting an hostname (from 1 to max 255 US-ASCII characters) or a nil value";
const APPNAME: &str = "expecting an app-name (from 1 to max 48 US-ASCII characters) or a nil value";
const PROCID: &str = "expecting a procid (from 1 to max 128 US-ASCII characters) or a nil value";
const MSGID: &str = "expecting a msgid (from 1 to max 32 US-ASCII characters) or a nil value";
const SD: &str = "expecting a structured data section containing one or more elements (`[id( key=\"value\")*]+`) or a nil value";
const SD_ID: &str = "expecting a structured data element id (from 1 to max 32 US-ASCII characters; except `=`, ` `, `]`, and `\"`";
const SD_DUPLICATE: &str = "duplicate structured data element id";
const SD_PARAM: &str = "expecting a structured data parameter (`key=\"value\"`, both part from 1 to max 32 US-ASCII characters; key cannot contain `=`, ` `, `]`, and `\"`, while value cannot contain `]`, backslash, and `\"` unless escaped)";
const SP: &str = "expecting a space";

/// The byte-order mark that opens a MSG declared as UTF-8.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses one RFC 5424 message (without framing).
pub fn parse(data: &[u8]) -> Result<Message, ParseError> {
    let mut c = Cursor::new(data);
    let priority = c.priority()?;
    version(&mut c)?;
    c.expect(b' ', SP)?;
    let timestamp = timestamp(&mut c)?;
    c.expect(b' ', SP)?;
    let hostname = field(&mut c, 255, HOSTNAME)?;
    c.expect(b' ', SP)?;
    let app_name = field(&mut c, 48, APPNAME)?;
    c.expect(b' ', SP)?;
    let proc_id = field(&mut c, 128, PROCID)?;
    c.expect(b' ', SP)?;
    let msg_id = field(&mut c, 32, MSGID)?;
    c.expect(b' ', SP)?;
    let structured_data = structured_data(&mut c)?;
    let message = match c.peek() {
        None => None,
        Some(b' ') => {
            c.pos += 1;
            let rest = c.rest();
            let rest = rest.strip_prefix(BOM).unwrap_or(rest);
            (!rest.is_empty()).then(|| utf8_lossy(rest))
        }
        Some(_) => return c.fail(SP),
    };
    Ok(Message {
        priority,
        timestamp,
        hostname,
        app_name,
        proc_id,
        msg_id,
        structured_data,
        message,
    })
}

fn version(c: &mut Cursor<'_>) -> Result<(), ParseError> {
    let start = c.pos;
    while c.peek().is_some_and(|b| b.is_ascii_digit()) && c.pos - start < 3 {
        c.pos += 1;
    }
    if c.pos == start || c.data[start] == b'0' {
        c.pos = start;
        return c.fail(VERSION);
    }
    Ok(())
}

/// `-` or a header field of 1..=`max` printable US-ASCII bytes.
fn field(
    c: &mut Cursor<'_>,
    max: usize,
    reason: &'static str,
) -> Result<Option<String>, ParseError> {
    let start = c.pos;
    let tok = c.token();
    if tok.is_empty() || tok.len() > max || !print_us_ascii(tok) {
        c.pos = start;
        return c.fail(reason);
    }
    Ok((tok != b"-").then(|| ascii(tok)))
}

/// `-` or `FULL-DATE "T" FULL-TIME` with at most six fraction digits, as Unix nanoseconds.
fn timestamp(c: &mut Cursor<'_>) -> Result<Option<i64>, ParseError> {
    let start = c.pos;
    let tok = c.token();
    if tok == b"-" {
        return Ok(None);
    }
    let parsed = rfc3339_micro(tok).and_then(|s| s.parse::<jiff::Timestamp>().ok());
    match parsed {
        Some(ts) => Ok(Some(ts.as_nanosecond() as i64)),
        None => {
            c.pos = start;
            c.fail(TIMESTAMP)
        }
    }
}

/// `tok` when its shape is RFC 3339 with an upper-case `T`, two-digit fields, 1 to 6 fraction
/// digits and `Z` or a `±hh:mm` offset; the values themselves are checked by `jiff`.
fn rfc3339_micro(tok: &[u8]) -> Option<&str> {
    let digits =
        |r: std::ops::Range<usize>| tok.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = digits(0..4)
        && tok.get(4) == Some(&b'-')
        && digits(5..7)
        && tok.get(7) == Some(&b'-')
        && digits(8..10)
        && tok.get(10) == Some(&b'T')
        && digits(11..13)
        && tok.get(13) == Some(&b':')
        && digits(14..16)
        && tok.get(16) == Some(&b':')
        && digits(17..19);
    if !shape {
        return None;
    }
    let mut i = 19;
    if tok.get(i) == Some(&b'.') {
        let frac = tok[i + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if !(1..=6).contains(&frac) {
            return None;
        }
        i += 1 + frac;
    }
    let offset_ok = match tok.get(i) {
        Some(b'Z') => tok.len() == i + 1,
        Some(b'+' | b'-') => {
            tok.len() == i + 6 && digits(i + 1..i + 3) && tok[i + 3] == b':' && digits(i + 4..i + 6)
        }
        _ => false,
    };
    offset_ok.then(|| std::str::from_utf8(tok).ok()).flatten()
}

/// `-` or one or more `[id param="value" …]` elements.
fn structured_data(c: &mut Cursor<'_>) -> Result<StructuredData, ParseError> {
    match c.peek() {
        Some(b'-') => {
            c.pos += 1;
            return Ok(Vec::new());
        }
        Some(b'[') => {}
        _ => return c.fail(SD),
    }
    let mut elements: StructuredData = Vec::new();
    while c.peek() == Some(b'[') {
        c.pos += 1;
        let id_at = c.pos;
        let id = sd_name(c, SD_ID)?;
        if elements.iter().any(|(seen, _)| *seen == id) {
            c.pos = id_at;
            return c.fail(SD_DUPLICATE);
        }
        let mut params = Vec::new();
        loop {
            match c.peek() {
                Some(b']') => {
                    c.pos += 1;
                    break;
                }
                Some(b' ') => {
                    c.pos += 1;
                    let name = sd_name(c, SD_PARAM)?;
                    c.expect(b'=', SD_PARAM)?;
                    let value = param_value(c)?;
                    params.push((name, value));
                }
                _ => return c.fail(SD_PARAM),
            }
        }
        elements.push((id, params));
    }
    Ok(elements)
}

/// SD-NAME: 1..=32 printable US-ASCII bytes other than `=`, space, `]` and `"`.
fn sd_name(c: &mut Cursor<'_>, reason: &'static str) -> Result<String, ParseError> {
    let start = c.pos;
    while c
        .peek()
        .is_some_and(|b| (33..=126).contains(&b) && !matches!(b, b'=' | b']' | b'"'))
    {
        c.pos += 1;
    }
    let name = &c.data[start..c.pos];
    if name.is_empty() || name.len() > 32 {
        c.pos = start;
        return c.fail(reason);
    }
    Ok(ascii(name))
}

/// `"value"` with `\"`, `\\` and `\]` unescaped; a backslash before anything else stays.
fn param_value(c: &mut Cursor<'_>) -> Result<String, ParseError> {
    c.expect(b'"', SD_PARAM)?;
    let mut value = Vec::new();
    loop {
        match c.peek() {
            Some(b'"') => {
                c.pos += 1;
                break;
            }
            Some(b'\\') => match c.data.get(c.pos + 1) {
                Some(&e @ (b'"' | b'\\' | b']')) => {
                    value.push(e);
                    c.pos += 2;
                }
                _ => {
                    value.push(b'\\');
                    c.pos += 1;
                }
            },
            Some(b']') | None => return c.fail(SD_PARAM),
            Some(b) => {
                value.push(b);
                c.pos += 1;
            }
        }
    }
    String::from_utf8(value).or_else(|_| c.fail(SD_PARAM))
}
