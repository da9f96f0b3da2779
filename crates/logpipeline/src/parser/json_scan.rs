//! A borrowed, allocation-free JSON scanner with the leniency and error text of
//! `grafana/jsonparser`, which Loki's JSON stages use.
//!
//! It does not validate a document: it finds where values end (strings by their closing
//! quote, objects and arrays by counting brackets outside strings, other tokens at the next
//! delimiter) and types them by their first byte, exactly as jsonparser does, so a line is
//! accepted or rejected — and labels found before an error kept — as in Loki. Text after the
//! top-level object is ignored.

use std::borrow::Cow;

use thiserror::Error;

/// jsonparser's errors; their text becomes `__error_details__`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum JsonError {
    #[error("Malformed JSON error")]
    Malformed,
    #[error("Value is string, but can't find closing '\"' symbol")]
    String,
    #[error("Value is array, but can't find closing ']' symbol")]
    Array,
    #[error("Value looks like object, but can't find closing '}}' symbol")]
    Object,
    #[error("Unknown value type")]
    UnknownType,
    #[error("Encountered an invalid escape sequence in a string")]
    Escape,
}

/// A value's type, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Number,
    Object,
    Array,
    Bool,
    Null,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\r' | b'\t')
}

/// The offset of the first non-whitespace byte.
pub(crate) fn next_token(data: &[u8]) -> Option<usize> {
    // Compact JSON has no whitespace between tokens: answer that case at once.
    match data.first() {
        Some(&c) if !is_space(c) => Some(0),
        _ => data.iter().position(|&c| !is_space(c)),
    }
}

/// Given the bytes after an opening quote, the offset just past the closing quote (one
/// preceded by an even number of backslashes) and whether the string has escapes.
///
/// A backslash and the byte after it are skipped together, which leaves a quote closing
/// exactly when an even run of backslashes precedes it. Runs without either byte are
/// skipped eight bytes at a time (strings in log lines are too short for memchr's call to
/// pay off).
pub(crate) fn string_end(data: &[u8]) -> Option<(usize, bool)> {
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_ne_bytes([b'\\'; 8]);
    let mut escaped = false;
    let mut i = 0;
    loop {
        while let Some(chunk) = data.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let w = u64::from_le_bytes(word);
            let special = zero_bytes(w ^ QUOTES) | zero_bytes(w ^ BACKSLASHES);
            if special != 0 {
                i += (special.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        match *data.get(i)? {
            b'"' => return Some((i + 1, escaped)),
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
}

/// The high bit of each zero byte of `x` set, and maybe of bytes after the first zero byte
/// (a borrow): exact as to whether there is one, and where the first is.
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080
}

/// The offset just past the bracket closing the block `data` starts with.
fn block_end(data: &[u8], open: u8, close: u8) -> Option<usize> {
    block_end_from(data, 0, open, close)
}

/// Like [`block_end`], for a scan that starts `level` brackets deep (outside any string): the
/// offset just past the bracket that brings the level to 0.
pub(crate) fn block_end_from(data: &[u8], mut level: usize, open: u8, close: u8) -> Option<usize> {
    let mut i = 0;
    while let Some(&c) = data.get(i) {
        if c == b'"' {
            i += string_end(&data[i + 1..])?.0;
        } else if c == open {
            level += 1;
        } else if c == close {
            level = level.saturating_sub(1);
            if level == 0 {
                return Some(i + 1);
            }
        }
        i += 1;
    }
    None
}

/// Bytes that end a number, boolean or null.
const DELIMITER: [bool; 256] = {
    let mut t = [false; 256];
    let mut k = 0;
    let delimiters = *b" \n\r\t,}]";
    while k < delimiters.len() {
        t[delimiters[k] as usize] = true;
        k += 1;
    }
    t
};

/// The offset of the delimiter ending a number, boolean or null.
fn token_end(data: &[u8]) -> usize {
    data.iter()
        .position(|&c| DELIMITER[c as usize])
        .unwrap_or(data.len())
}

/// The first value in `data` (jsonparser's `Get` without keys): its bytes (a string's
/// without quotes, still escaped), its kind, and the offset just past it.
// Inlined into the member walk: returned through memory, its result was read back wider
// than it was written, a store-forwarding stall on every member.
#[inline(always)]
pub fn value(data: &[u8]) -> Result<(&[u8], Kind, usize), JsonError> {
    let start = next_token(data).ok_or(JsonError::Malformed)?;
    let rest = &data[start..];
    let (kind, len) = match rest[0] {
        b'"' => {
            let (end, _) = string_end(&rest[1..]).ok_or(JsonError::String)?;
            (Kind::String, end + 1)
        }
        b'[' => (
            Kind::Array,
            block_end(rest, b'[', b']').ok_or(JsonError::Array)?,
        ),
        b'{' => (
            Kind::Object,
            block_end(rest, b'{', b'}').ok_or(JsonError::Object)?,
        ),
        first => {
            let len = token_end(rest);
            let token = &rest[..len];
            let kind = match first {
                b't' | b'f' if token == b"true" || token == b"false" => Kind::Bool,
                b'n' | b'u' if token == b"null" => Kind::Null,
                b'0'..=b'9' | b'-' => Kind::Number,
                _ => return Err(JsonError::UnknownType),
            };
            (kind, len)
        }
    };
    let mut bytes = &rest[..len];
    if kind == Kind::String {
        bytes = &bytes[1..bytes.len() - 1];
    }
    Ok((bytes, kind, start + len))
}

/// The members of an object, as jsonparser's `ObjectEach` walks them: keys unescaped,
/// values as [`value`] returns them. Iteration stops after the first error.
pub struct Members<'a> {
    data: &'a [u8],
    offset: usize,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    /// At a member's key (or the closing brace).
    Member,
    /// After a member's value: a comma or the closing brace must follow.
    AfterValue,
    Done,
}

/// One member: key, value bytes, value kind.
pub type Member<'a> = (Cow<'a, [u8]>, &'a [u8], Kind);

impl<'a> Members<'a> {
    pub fn new(data: &'a [u8]) -> Members<'a> {
        Members {
            data,
            offset: 0,
            state: State::Start,
        }
    }

    fn fail(&mut self, e: JsonError) -> Option<Result<Member<'a>, JsonError>> {
        self.state = State::Done;
        Some(Err(e))
    }

    /// Skips whitespace; `None` at the end of the data.
    fn skip(&mut self) -> Option<u8> {
        let off = next_token(&self.data[self.offset..])?;
        self.offset += off;
        Some(self.data[self.offset])
    }
}

impl<'a> Iterator for Members<'a> {
    type Item = Result<Member<'a>, JsonError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.state {
            State::Done => return None,
            State::Start => {
                if self.skip() != Some(b'{') {
                    return self.fail(JsonError::Object);
                }
                self.offset += 1;
                match self.skip() {
                    None => return self.fail(JsonError::Malformed),
                    Some(b'}') => {
                        self.state = State::Done;
                        return None;
                    }
                    Some(_) => self.state = State::Member,
                }
            }
            State::AfterValue => match self.skip() {
                None => return self.fail(JsonError::Array),
                Some(b'}') => {
                    self.state = State::Done;
                    return None;
                }
                Some(b',') => {
                    self.offset += 1;
                    if self.skip().is_none() {
                        return self.fail(JsonError::Array);
                    }
                }
                Some(_) => return self.fail(JsonError::Object),
            },
            State::Member => {}
        }
        let data = self.data;
        match data.get(self.offset) {
            Some(b'"') => self.offset += 1,
            Some(b'}') => {
                self.state = State::Done;
                return None;
            }
            _ => return self.fail(JsonError::Object),
        }
        let Some((end, escaped)) = string_end(&data[self.offset..]) else {
            return self.fail(JsonError::Malformed);
        };
        let raw_key = &data[self.offset..self.offset + end - 1];
        self.offset += end;
        let key = if escaped {
            match unescape(raw_key) {
                Some(k) => Cow::Owned(k),
                None => return self.fail(JsonError::Escape),
            }
        } else {
            Cow::Borrowed(raw_key)
        };
        if self.skip() != Some(b':') {
            return self.fail(JsonError::Malformed);
        }
        self.offset += 1;
        let (v, kind, len) = match value(&data[self.offset..]) {
            Ok(v) => v,
            Err(e) => return self.fail(e),
        };
        self.offset += len;
        self.state = State::AfterValue;
        Some(Ok((key, v, kind)))
    }
}

/// The `index`th element of the array `data` starts with, if it has one.
pub fn array_element(data: &[u8], index: usize) -> Result<Option<(&[u8], Kind)>, JsonError> {
    let mut offset = next_token(data).ok_or(JsonError::Malformed)? + 1;
    let mut i = 0;
    loop {
        offset += match next_token(&data[offset.min(data.len())..]) {
            Some(o) => o,
            None => return Err(JsonError::Malformed),
        };
        if data[offset] == b']' {
            return Ok(None);
        }
        let (v, kind, len) = value(&data[offset..])?;
        if i == index {
            return Ok(Some((v, kind)));
        }
        i += 1;
        offset += len;
        offset += next_token(&data[offset..]).ok_or(JsonError::Array)?;
        match data[offset] {
            b',' => offset += 1,
            b']' => return Ok(None),
            _ => return Err(JsonError::Array),
        }
    }
}

/// jsonparser's `Unescape`: JSON escapes decoded (surrogate pairs joined); `None` on a bad
/// escape.
pub fn unescape(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    unescape_into(s, &mut out).then_some(out)
}

/// [`unescape`] appending to `out`; false on a bad escape (then `out` is partly written).
pub fn unescape_into(s: &[u8], out: &mut Vec<u8>) -> bool {
    let mut i = 0;
    while i < s.len() {
        let Some(off) = memchr::memchr(b'\\', &s[i..]) else {
            out.extend_from_slice(&s[i..]);
            return true;
        };
        out.extend_from_slice(&s[i..i + off]);
        i += off;
        let Some(&e) = s.get(i + 1) else {
            return false;
        };
        let simple = match e {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let Some((c, len)) = unicode_escape(&s[i..]) else {
                    return false;
                };
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += len;
                continue;
            }
            _ => return false,
        };
        out.push(simple);
        i += 2;
    }
    true
}

/// `\uXXXX` (or a surrogate pair of them) at the start of `s`: the character and the length.
fn unicode_escape(s: &[u8]) -> Option<(char, usize)> {
    let hex4 = |b: &[u8]| -> Option<u32> {
        let h = std::str::from_utf8(b.get(2..6)?).ok()?;
        if !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(h, 16).ok()
    };
    let r = hex4(s)?;
    if !(0xd800..=0xdfff).contains(&r) {
        return Some((char::from_u32(r)?, 6));
    }
    let tail = s.get(6..)?;
    if tail.first() != Some(&b'\\') {
        return None;
    }
    let r2 = hex4(tail)?;
    if r2 < 0xdc00 {
        return None;
    }
    // jsonparser combines without checking the ranges further; an impossible pair yields
    // the replacement character, as Go's utf8.EncodeRune writes for an invalid rune.
    let c = 0x10000 + ((r.wrapping_sub(0xd800)) << 10) + r2.wrapping_sub(0xdc00);
    Some((char::from_u32(c).unwrap_or('\u{fffd}'), 12))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(s: &str) -> Vec<Result<(String, String, Kind), JsonError>> {
        Members::new(s.as_bytes())
            .map(|m| {
                m.map(|(k, v, t)| {
                    (
                        String::from_utf8_lossy(&k).into(),
                        String::from_utf8_lossy(v).into(),
                        t,
                    )
                })
            })
            .collect()
    }

    #[test]
    fn walks_like_jsonparser() {
        assert_eq!(
            members(r#" {"a":"b\"c", "n": -1.5e3 ,"o":{"x":[1]},"t":true,"z":null}trailing"#),
            vec![
                Ok(("a".into(), "b\\\"c".into(), Kind::String)),
                Ok(("n".into(), "-1.5e3".into(), Kind::Number)),
                Ok(("o".into(), "{\"x\":[1]}".into(), Kind::Object)),
                Ok(("t".into(), "true".into(), Kind::Bool)),
                Ok(("z".into(), "null".into(), Kind::Null)),
            ]
        );
        assert_eq!(members("{n}"), vec![Err(JsonError::Object)]);
        assert_eq!(members("[1]"), vec![Err(JsonError::Object)]);
        assert_eq!(
            members(r#"{"a":1, "b":tru}"#),
            vec![
                Ok(("a".into(), "1".into(), Kind::Number)),
                Err(JsonError::UnknownType)
            ]
        );
        assert_eq!(members("{}"), vec![]);
        assert_eq!(members(r#"{"a":"x"#), vec![Err(JsonError::String)]);
    }

    /// The byte-at-a-time definitions the memchr jumps must agree with.
    mod reference {
        pub fn string_end(data: &[u8]) -> Option<(usize, bool)> {
            let mut escaped = false;
            for (i, &c) in data.iter().enumerate() {
                if c == b'"' {
                    let backslashes = data[..i].iter().rev().take_while(|&&b| b == b'\\').count();
                    if backslashes % 2 == 0 {
                        return Some((i + 1, escaped));
                    }
                } else if c == b'\\' {
                    escaped = true;
                }
            }
            None
        }

        pub fn block_end(data: &[u8], open: u8, close: u8) -> Option<usize> {
            let mut level = 0usize;
            let mut i = 0;
            while i < data.len() {
                match data[i] {
                    b'"' => i += string_end(&data[i + 1..])?.0,
                    c if c == open => level += 1,
                    c if c == close => {
                        level = level.saturating_sub(1);
                        if level == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
    }

    proptest::proptest! {
        #[test]
        fn scans_agree_with_the_byte_loops(
            data in proptest::collection::vec(
                proptest::sample::select(b"\"\\{}[]a ,\n".to_vec()), 0..40)
        ) {
            proptest::prop_assert_eq!(string_end(&data), reference::string_end(&data));
            proptest::prop_assert_eq!(
                block_end(&data, b'{', b'}'),
                reference::block_end(&data, b'{', b'}')
            );
            proptest::prop_assert_eq!(
                block_end(&data, b'[', b']'),
                reference::block_end(&data, b'[', b']')
            );
            let by_loop = data
                .iter()
                .position(|c| matches!(c, b' ' | b'\n' | b'\r' | b'\t' | b',' | b'}' | b']'))
                .unwrap_or(data.len());
            proptest::prop_assert_eq!(token_end(&data), by_loop);
            let first = data.iter().position(|c| !matches!(c, b' ' | b'\n' | b'\r' | b'\t'));
            proptest::prop_assert_eq!(next_token(&data), first);
        }
    }

    #[test]
    fn arrays_and_escapes() {
        assert_eq!(
            array_element(b"[1, {\"a\":2}, \"x\"]", 1).unwrap(),
            Some((&b"{\"a\":2}"[..], Kind::Object))
        );
        assert_eq!(array_element(b"[1]", 3).unwrap(), None);
        assert_eq!(
            unescape(br"a\u00e9\n\ud83d\ude00").unwrap(),
            "aé\n😀".as_bytes()
        );
        assert_eq!(unescape(br"\x"), None);
    }
}
