//! Go's quoting (`%q`, `strconv.Unquote`) as Prometheus' messages and printer use it.

/// One character inside a Go `%q` literal delimited by `quote`.
pub fn go_unicode(c: char, quote: char) -> String {
    match c {
        '\x07' => "\\a".into(),
        '\x08' => "\\b".into(),
        '\x0c' => "\\f".into(),
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        '\t' => "\\t".into(),
        '\x0b' => "\\v".into(),
        c if c == quote || c == '\\' => format!("\\{c}"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => format!("\\x{:02x}", c as u32),
        c if c.is_control() => {
            if (c as u32) < 0x10000 {
                format!("\\u{:04x}", c as u32)
            } else {
                format!("\\U{:08x}", c as u32)
            }
        }
        c => c.to_string(),
    }
}

/// Go's `%q` of a rune; `None` (end of input) prints as the replacement character.
pub fn go_quote_rune(c: Option<char>) -> String {
    let c = c.unwrap_or('\u{FFFD}');
    format!("'{}'", go_unicode(c, '\''))
}

/// Decodes a PromQL string token (quotes included) as Go's `strconv.Unquote`; the lexer has
/// already rejected bad escapes, so `None` only means a malformed token. Bytes that are not
/// UTF-8 (from `\x` and octal escapes) become U+FFFD; [`go_quoted_if_not_utf8`] tells.
pub fn unquote(token: &str) -> Option<String> {
    unquote_bytes(token).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// A string token whose decoded bytes are not UTF-8, as Go's `%q` prints them (`"a\xc5z"`);
/// `None` for every other token. Upstream keeps such bytes, so e.g. a label name made of
/// them is invalid and its error message shows them.
pub fn go_quoted_if_not_utf8(token: &str) -> Option<String> {
    let bytes = unquote_bytes(token)?;
    if std::str::from_utf8(&bytes).is_ok() {
        return None;
    }
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            out.push_str(&go_unicode(c, '"'));
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    Some(out)
}

/// The bytes Go's `strconv.Unquote` makes of a string token.
fn unquote_bytes(token: &str) -> Option<Vec<u8>> {
    let quote = token.chars().next()?;
    let body = token.get(1..token.len().checked_sub(1)?)?;
    if quote == '`' {
        return Some(body.replace('\r', "").into_bytes());
    }
    let mut out = Vec::with_capacity(body.len());
    let push = |out: &mut Vec<u8>, c: char| {
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    };
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            push(&mut out, c);
            continue;
        }
        let e = chars.next()?;
        let simple = match e {
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            '\\' | '"' | '\'' => Some(e),
            _ => None,
        };
        if let Some(s) = simple {
            push(&mut out, s);
            continue;
        }
        let (n, base) = match e {
            '0'..='7' => (2, 8),
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            _ => return None,
        };
        let mut v = if base == 8 { e.to_digit(8)? } else { 0 };
        for _ in 0..n {
            v = v * base + chars.next()?.to_digit(base)?;
        }
        if matches!(e, 'u' | 'U') {
            push(&mut out, char::from_u32(v)?);
        } else {
            // Octal and \x escapes are single bytes that may form UTF-8 sequences together.
            out.push(u8::try_from(v).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_as_go() {
        assert_eq!(unquote(r#""a\tb\u00e9""#).as_deref(), Some("a\tbé"));
        assert_eq!(unquote(r#""\xc3\xa9""#).as_deref(), Some("é"));
        assert_eq!(unquote(r"`a\d`").as_deref(), Some(r"a\d"));
        assert_eq!(unquote(r#""\xff""#).as_deref(), Some("\u{fffd}"));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_quoted_as_go() {
        assert_eq!(go_quoted_if_not_utf8(r#""plain""#), None);
        assert_eq!(go_quoted_if_not_utf8(r#""\xc3\xbf""#), None);
        assert_eq!(go_quoted_if_not_utf8(r#""\u00ff\n""#), None);
        assert_eq!(go_quoted_if_not_utf8(r"`\xff`"), None);
        assert_eq!(
            go_quoted_if_not_utf8(r#""a\xc5z""#).as_deref(),
            Some(r#""a\xc5z""#)
        );
        assert_eq!(
            go_quoted_if_not_utf8(r#""\xff\n\"""#).as_deref(),
            Some(r#""\xff\n\"""#)
        );
        assert_eq!(
            go_quoted_if_not_utf8(r#"'\303\251\377'"#).as_deref(),
            Some(r#""é\xff""#)
        );
    }
}
