//! Stream label strings as Loki reads them: `{job="app", host="web-01"}`, parsed as Loki's
//! `syntax.ParseLabels` does, which is Prometheus' `ParseMetric` (an optional metric name, a
//! label set, Go string literals, UTF-8 label names in quotes) followed by dropping empty
//! values. Errors carry Prometheus' position and words (`1:3: parse error: unexpected
//! character inside braces: '.'`), because Loki answers a push with them.
//!
//! Inside the braces the lexer and the grammar's error rules are followed exactly. Before the
//! braces only names, strings and end of input are told apart; other input gets a
//! Prometheus-shaped message that may word the token differently.
//!
//! Not here: label count and length limits (`distributor`).

use super::gofmt::quote;

/// Bytes of a label string Loki parses at most (`maxStreamLabelsSize`, 16 MiB).
pub const MAX_LABELS_STRING_BYTES: usize = 1 << 24;

/// A parse error, worded as Prometheus' parser (`line:column: parse error: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(String);

fn error_at(input: &str, pos: usize, message: String) -> SelectorError {
    // Prometheus' `StartPosInput`: 1-based line, and byte column from the last line break.
    let before = &input[..pos.min(input.len())];
    let line = 1 + before.matches('\n').count();
    let column = match before.rfind('\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    SelectorError(format!("{line}:{column}: parse error: {message}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ident,
    /// A name outside braces that is not an identifier to the grammar (`on`, `bool`, …).
    Keyword,
    Str,
    Eql,
    EqlRegex,
    Neq,
    NeqRegex,
    Comma,
    LeftBrace,
    RightBrace,
    Eof,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    pos: usize,
    text: &'a str,
}

impl Token<'_> {
    /// Prometheus' `Item.desc()`.
    fn desc(&self) -> String {
        let quoted = |s: &str| {
            let mut out = String::new();
            quote(s, &mut out);
            out
        };
        match self.kind {
            Kind::Eof => "end of input".into(),
            Kind::Ident => format!("identifier {}", quoted(self.text)),
            Kind::Keyword => format!("<{}>", self.text),
            Kind::Str if self.text.len() > 10 => {
                let head: String = self.text.chars().take(10).collect();
                format!("string {}...", quoted(&head))
            }
            Kind::Str => format!("string {}", quoted(self.text)),
            Kind::EqlRegex | Kind::Neq | Kind::NeqRegex => format!("<op:{}>", self.text),
            _ => quoted(self.text),
        }
    }
}

/// Words the grammar accepts as a metric name besides plain identifiers are all identifiers
/// here; these are the ones it does not (keywords of binary operators and modifiers).
const NOT_METRIC_NAMES: &[&str] = &["on", "ignoring", "group_left", "group_right", "bool"];

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    in_braces: bool,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    fn err(&self, pos: usize, message: String) -> SelectorError {
        error_at(self.input, pos, message)
    }

    fn skip_space_and_comments(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\n' | '\r') => self.pos += 1,
                Some('#') => {
                    let rest = &self.input[self.pos..];
                    self.pos += rest.find(['\n', '\r']).unwrap_or(rest.len());
                }
                _ => return,
            }
        }
    }

    fn token(&mut self, kind: Kind, start: usize) -> Token<'a> {
        Token {
            kind,
            pos: start,
            text: &self.input[start..self.pos],
        }
    }

    fn next(&mut self) -> Result<Token<'a>, SelectorError> {
        self.skip_space_and_comments();
        let start = self.pos;
        let Some(c) = self.peek() else {
            if self.in_braces {
                return Err(self.err(start, "unexpected end of input inside braces".into()));
            }
            return Ok(self.token(Kind::Eof, start));
        };
        self.pos += c.len_utf8();
        let kind = match c {
            '"' | '\'' => return self.string(c, start),
            '`' => return self.raw_string(start),
            ',' => Kind::Comma,
            '}' if self.in_braces => {
                self.in_braces = false;
                Kind::RightBrace
            }
            '{' if self.in_braces => {
                return Err(self.err(start, "unexpected left brace '{'".into()));
            }
            '{' => {
                self.in_braces = true;
                Kind::LeftBrace
            }
            '=' if self.peek() == Some('~') => {
                self.pos += 1;
                Kind::EqlRegex
            }
            '=' => Kind::Eql,
            '!' if self.in_braces => match self.peek() {
                Some('=') => {
                    self.pos += 1;
                    Kind::Neq
                }
                Some('~') => {
                    self.pos += 1;
                    Kind::NeqRegex
                }
                other => {
                    let shown = other.map_or("'\\x00'".to_string(), go_rune);
                    return Err(self.err(
                        start,
                        format!("unexpected character after '!' inside braces: {shown}"),
                    ));
                }
            },
            c if is_alpha(c) || (!self.in_braces && c == ':') => {
                let colon = !self.in_braces;
                let len = self.input[self.pos..]
                    .find(|c: char| !(is_alpha(c) || c.is_ascii_digit() || (colon && c == ':')))
                    .unwrap_or(self.input.len() - self.pos);
                self.pos += len;
                let word = &self.input[start..self.pos];
                if !self.in_braces && NOT_METRIC_NAMES.contains(&word.to_ascii_lowercase().as_str())
                {
                    Kind::Keyword
                } else {
                    Kind::Ident
                }
            }
            c if self.in_braces => {
                return Err(self.err(
                    start,
                    format!("unexpected character inside braces: {}", go_rune(c)),
                ));
            }
            c => {
                return Err(self.err(start, format!("unexpected character: {}", go_rune(c))));
            }
        };
        Ok(self.token(kind, start))
    }

    /// A `"…"` or `'…'` literal, checked as Prometheus' `lexString`/`lexEscape`.
    fn string(&mut self, open: char, start: usize) -> Result<Token<'a>, SelectorError> {
        let mut chars = self.input[self.pos..].char_indices();
        let base = self.pos;
        loop {
            let Some((i, c)) = chars.next() else {
                return Err(self.err(start, "unterminated quoted string".into()));
            };
            match c {
                '\n' => return Err(self.err(start, "unterminated quoted string".into())),
                // Go's lexer sees U+FFFD as a decoding error, whether literal or not.
                '\u{fffd}' => return Err(self.err(start, "invalid UTF-8 rune".into())),
                '\\' => self.escape(open, start, &mut chars)?,
                c if c == open => {
                    self.pos = base + i + 1;
                    return Ok(self.token(Kind::Str, start));
                }
                _ => {}
            }
        }
    }

    fn escape(
        &self,
        open: char,
        start: usize,
        chars: &mut std::str::CharIndices<'_>,
    ) -> Result<(), SelectorError> {
        let not_terminated = || self.err(start, "escape sequence not terminated".into());
        let (_, c) = chars.next().ok_or_else(not_terminated)?;
        let (digits, base, max) = match c {
            'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' => return Ok(()),
            c if c == open => return Ok(()),
            '0'..='7' => (3, 8, 255),
            'x' => (2, 16, 255),
            'u' => (4, 16, 0x10_ffff),
            'U' => (8, 16, 0x10_ffff),
            c => return Err(self.err(start, format!("unknown escape sequence {}", go_rune_u(c)))),
        };
        let mut value: u32 = if base == 8 { c as u32 - '0' as u32 } else { 0 };
        let remaining = if base == 8 { digits - 1 } else { digits };
        for _ in 0..remaining {
            let (_, d) = chars.next().ok_or_else(not_terminated)?;
            let Some(v) = d.to_digit(16).filter(|v| *v < base) else {
                return Err(self.err(
                    start,
                    format!("illegal character {} in escape sequence", go_rune_u(d)),
                ));
            };
            value = value * base + v;
        }
        if value > max || (0xd800..0xe000).contains(&value) {
            return Err(self.err(
                start,
                "escape sequence is an invalid Unicode code point".into(),
            ));
        }
        Ok(())
    }

    fn raw_string(&mut self, start: usize) -> Result<Token<'a>, SelectorError> {
        let rest = &self.input[self.pos..];
        match rest.find('`') {
            Some(end) if !rest[..end].contains('\u{fffd}') => {
                self.pos += end + 1;
                Ok(self.token(Kind::Str, start))
            }
            Some(_) => Err(self.err(start, "invalid UTF-8 rune".into())),
            None => Err(self.err(start, "unterminated raw string".into())),
        }
    }
}

fn is_alpha(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

/// Go's `%q` of a rune.
fn go_rune(c: char) -> String {
    let mut s = String::new();
    quote(c.encode_utf8(&mut [0; 4]), &mut s);
    let inner = &s[1..s.len() - 1];
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\"'".into(),
        _ => format!("'{inner}'"),
    }
}

/// Go's `%#U` of a rune: `U+0071 'q'`.
fn go_rune_u(c: char) -> String {
    format!("U+{:04X} {}", c as u32, go_rune(c))
}

/// The value of a string token checked by the lexer (Go's `strconv.Unquote`; `\x` and octal
/// escapes are bytes, and a result that is not UTF-8 is read lossily).
fn unquote(token: &str) -> String {
    if let Some(raw) = token.strip_prefix('`') {
        return raw.strip_suffix('`').unwrap_or(raw).to_string();
    }
    let inner = &token[1..token.len().saturating_sub(1).max(1)];
    if !inner.contains('\\') {
        return inner.to_string();
    }
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            continue;
        }
        let Some(e) = chars.next() else { break };
        let simple = match e {
            'a' => Some(0x07),
            'b' => Some(0x08),
            'f' => Some(0x0c),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(0x0b),
            '\\' | '\'' | '"' => Some(e as u8),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let (n, base) = match e {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            _ => (2, 8),
        };
        let mut v = if base == 8 {
            e.to_digit(8).unwrap_or(0)
        } else {
            0
        };
        for _ in 0..n {
            v = v * base + chars.next().and_then(|d| d.to_digit(base)).unwrap_or(0);
        }
        match e {
            'u' | 'U' => {
                let c = char::from_u32(v).unwrap_or('\u{fffd}');
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            }
            _ => out.push(v as u8),
        }
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Parses a stream's label string as Loki's `syntax.ParseLabels`: pairs sorted by name (as
/// Prometheus' `labels.New`; duplicates kept, for the distributor to report), empty values
/// dropped. A metric name becomes the `__name__` label.
pub fn parse_labels(input: &str) -> Result<Vec<(String, String)>, SelectorError> {
    if input.len() > MAX_LABELS_STRING_BYTES {
        return Err(SelectorError(format!(
            "labels size {} MiB exceeds limit of {}",
            input.len() >> 20,
            MAX_LABELS_STRING_BYTES >> 20
        )));
    }
    let mut lexer = Lexer {
        input,
        pos: 0,
        in_braces: false,
    };
    let mut pairs = Vec::new();
    let unexpected = |t: &Token<'_>, expected: &str| {
        let mut msg = format!("unexpected {}", t.desc());
        if !expected.is_empty() {
            msg.push_str(" in label set, expected ");
            msg.push_str(expected);
        }
        error_at(input, t.pos, msg)
    };
    let mut t = lexer.next()?;
    if t.kind == Kind::Ident {
        pairs.push(("__name__".to_string(), t.text.to_string()));
        t = lexer.next()?;
    }
    match t.kind {
        Kind::Eof => return Ok(finish(pairs)),
        Kind::LeftBrace => {}
        _ => return Err(unexpected(&t, "")),
    }
    // Inside the braces: `item (, item)* ,? }` or `}`.
    let mut t = lexer.next()?;
    loop {
        match t.kind {
            Kind::RightBrace => break,
            Kind::Ident | Kind::Str => {
                let name = t;
                let mut next = lexer.next()?;
                if next.kind == Kind::Eql {
                    let value = lexer.next()?;
                    if value.kind != Kind::Str {
                        return Err(unexpected(&value, "string"));
                    }
                    let name = if name.kind == Kind::Str {
                        unquote(name.text)
                    } else {
                        name.text.to_string()
                    };
                    pairs.push((name, unquote(value.text)));
                    next = lexer.next()?;
                } else if name.kind == Kind::Ident {
                    return Err(unexpected(&next, "\"=\""));
                } else {
                    // A quoted name alone is a metric name (Prometheus 3's `{"metric"}`).
                    pairs.push(("__name__".to_string(), unquote(name.text)));
                }
                match next.kind {
                    Kind::RightBrace => break,
                    Kind::Comma => t = lexer.next()?,
                    _ => return Err(unexpected(&next, "\",\" or \"}\"")),
                }
            }
            _ => return Err(unexpected(&t, "identifier or \"}\"")),
        }
    }
    let end = lexer.next()?;
    if end.kind != Kind::Eof {
        return Err(unexpected(&end, ""));
    }
    Ok(finish(pairs))
}

fn finish(mut pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs.retain(|(_, v)| !v.is_empty());
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Vec<(String, String)> {
        parse_labels(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        match parse_labels(s) {
            Ok(l) => panic!("{s}: parsed as {l:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_label_sets() {
        assert_eq!(
            ok(r#"{job="app", host="web-01"}"#),
            pairs(&[("host", "web-01"), ("job", "app")])
        );
        assert_eq!(ok(r#"{a="b",}"#), pairs(&[("a", "b")]));
        assert_eq!(ok("{}"), pairs(&[]));
        assert_eq!(ok(""), pairs(&[]));
        assert_eq!(ok(r#"  { a = 'x\'y' , b=`raw\n` }  "#), {
            pairs(&[("a", "x'y"), ("b", "raw\\n")])
        });
        assert_eq!(
            ok(r#"{a="\x41\u00e9\101\n", b=""}"#),
            pairs(&[("a", "AéA\n")])
        );
        assert_eq!(
            ok(r#"up{job="x"}"#),
            pairs(&[("__name__", "up"), ("job", "x")])
        );
        assert_eq!(ok(r#"{"a.b"="c"}"#), pairs(&[("a.b", "c")]));
        assert_eq!(ok("{a=\"b\" # comment\n}"), pairs(&[("a", "b")]));
    }

    #[test]
    fn errors_as_prometheus() {
        assert_eq!(
            err(r#"{a.b="c"}"#),
            "1:3: parse error: unexpected character inside braces: '.'"
        );
        assert_eq!(
            err(r#"{a="b""#),
            "1:7: parse error: unexpected end of input inside braces"
        );
        assert_eq!(
            err("{a=b}"),
            "1:4: parse error: unexpected identifier \"b\" in label set, expected string"
        );
        assert_eq!(
            err(r#"{a "b"}"#),
            r#"1:4: parse error: unexpected string "\"b\"" in label set, expected "=""#
        );
        assert_eq!(
            err(r#"{="b"}"#),
            r#"1:2: parse error: unexpected "=" in label set, expected identifier or "}""#
        );
        assert_eq!(
            err(r#"{a="b" c="d"}"#),
            r#"1:8: parse error: unexpected identifier "c" in label set, expected "," or "}""#
        );
        assert_eq!(
            err(r#"{a=~"b"}"#),
            r#"1:3: parse error: unexpected <op:=~> in label set, expected "=""#
        );
        assert_eq!(
            err(r#"{a="b}"#),
            "1:4: parse error: unterminated quoted string"
        );
        assert_eq!(
            err(r#"{a="\q"}"#),
            "1:4: parse error: unknown escape sequence U+0071 'q'"
        );
        assert_eq!(
            err(r#"{a="b"} x"#),
            r#"1:9: parse error: unexpected identifier "x""#
        );
        assert_eq!(
            err("{a=\"0123456789abc\" b}"),
            "1:20: parse error: unexpected identifier \"b\" in label set, expected \",\" or \"}\""
        );
        assert_eq!(
            err("{a 'long string here'}"),
            r#"1:4: parse error: unexpected string "'long stri"... in label set, expected "=""#
        );
        assert_eq!(
            err("{\n1}"),
            "2:1: parse error: unexpected character inside braces: '1'"
        );
    }
}
