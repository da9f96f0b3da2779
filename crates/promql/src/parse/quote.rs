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
/// already rejected bad escapes, so `None` only means a malformed token.
pub fn unquote(token: &str) -> Option<String> {
    let quote = token.chars().next()?;
    let body = token.get(1..token.len().checked_sub(1)?)?;
    if quote == '`' {
        return Some(body.replace('\r', ""));
    }
    let mut out = String::with_capacity(body.len());
    let mut bytes: Vec<u8> = Vec::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush(&mut bytes, &mut out);
            out.push(c);
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
            flush(&mut bytes, &mut out);
            out.push(s);
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
            flush(&mut bytes, &mut out);
            out.push(char::from_u32(v)?);
        } else {
            // Octal and \x escapes are single bytes that may form UTF-8 sequences together.
            bytes.push(u8::try_from(v).ok()?);
        }
    }
    flush(&mut bytes, &mut out);
    Some(out)
}

fn flush(bytes: &mut Vec<u8>, out: &mut String) {
    if !bytes.is_empty() {
        out.push_str(&String::from_utf8_lossy(bytes));
        bytes.clear();
    }
}
