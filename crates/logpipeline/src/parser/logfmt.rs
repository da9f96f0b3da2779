//! `| logfmt` (`--strict`, `--keep-empty`, and with parameters), on Loki's logfmt decoder.
//!
//! The decoder is go-logfmt's as Loki modified it: a key runs to `=` or a space, a value to a
//! space (or is quoted, with JSON escapes), a bare key has no value. Without `--strict` a bad
//! pair is skipped and scanning goes on; with it scanning stops and the line gets
//! `__error__="LogfmtParserErr"` and `logfmt syntax error at pos N : …` as details. Empty
//! values are dropped unless `--keep-empty`.

use super::{append_sanitized, push_value, set_parsed_once};
use crate::labels::LabelsBuilder;
use crate::{StageError, ERR_LOGFMT};

/// A syntax error, in go-logfmt's words.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SyntaxError {
    msg: String,
    /// 1-based.
    pos: usize,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "logfmt syntax error at pos {} : {}", self.pos, self.msg)
    }
}

/// Loki's logfmt decoder over one line.
struct Decoder<'a> {
    line: &'a [u8],
    pos: usize,
    err: Option<SyntaxError>,
}

/// A scanned pair: the key and the value (unquoted and unescaped into `buf` if needed).
enum Value<'a> {
    None,
    Raw(&'a [u8]),
    Unescaped,
}

impl<'a> Decoder<'a> {
    fn new(line: &'a [u8]) -> Decoder<'a> {
        Decoder {
            line,
            pos: 0,
            err: None,
        }
    }

    fn eol(&self) -> bool {
        self.pos >= self.line.len()
    }

    fn error(&mut self, msg: String) {
        self.err = Some(SyntaxError {
            msg,
            pos: self.pos + 1,
        });
    }

    fn unexpected(&mut self, c: u8) {
        self.error(format!("unexpected {}", go_quote_byte(c)));
    }

    /// Skips to the next space after a bad pair.
    fn skip_value(&mut self) {
        self.pos += self.line[self.pos..]
            .iter()
            .position(|&c| c <= b' ')
            .unwrap_or(self.line.len() - self.pos);
    }

    /// Scans one pair: `Some((key, value))`, or `None` when it was bad (or only spaces were
    /// left). An invalid UTF-8 key is an error.
    fn scan(&mut self, buf: &mut Vec<u8>) -> Option<(&'a [u8], Value<'a>)> {
        let line = self.line;
        let Some(start) = line[self.pos..].iter().position(|&c| c > b' ') else {
            self.pos = line.len();
            return None;
        };
        self.pos += start;
        let key_start = self.pos;
        let key_end = key_start
            + line[key_start..]
                .iter()
                .position(|&c| c == b'=' || c == b'"' || c <= b' ')
                .unwrap_or(line.len() - key_start);
        self.pos = key_end;
        let key = &line[key_start..key_end];
        let bad_key = std::str::from_utf8(key).is_err();
        match line.get(key_end) {
            Some(b'"') => {
                self.unexpected(b'"');
                self.skip_value();
                return None;
            }
            Some(b'=') => {}
            // A bare key at a space or the end of the line.
            _ => {
                if bad_key {
                    self.error("invalid key".into());
                    return None;
                }
                return Some((key, Value::None));
            }
        }
        if key.is_empty() {
            self.unexpected(b'=');
            self.skip_value();
            return None;
        }
        if bad_key {
            self.error("invalid key".into());
            self.skip_value();
            return None;
        }
        self.pos += 1;
        match line.get(self.pos) {
            None => return Some((key, Value::None)),
            Some(&c) if c <= b' ' => return Some((key, Value::None)),
            Some(b'"') => return self.quoted(key, buf),
            Some(_) => {}
        }
        let value_start = self.pos;
        for (p, &c) in line[value_start..].iter().enumerate() {
            if c == b'=' || c == b'"' {
                self.pos = value_start + p;
                self.unexpected(c);
                self.skip_value();
                return None;
            }
            if c <= b' ' {
                self.pos = value_start + p;
                return Some((key, Value::Raw(&line[value_start..self.pos])));
            }
        }
        self.pos = line.len();
        Some((key, Value::Raw(&line[value_start..])))
    }

    fn quoted(&mut self, key: &'a [u8], buf: &mut Vec<u8>) -> Option<(&'a [u8], Value<'a>)> {
        let line = self.line;
        let start = self.pos;
        let (mut has_esc, mut esc) = (false, false);
        for (p, &c) in line[start + 1..].iter().enumerate() {
            if esc {
                esc = false;
            } else if c == b'\\' {
                has_esc = true;
                esc = true;
            } else if c == b'"' {
                self.pos = start + p + 2;
                let inner = &line[start + 1..self.pos - 1];
                if !has_esc {
                    return Some((key, Value::Raw(inner)));
                }
                buf.clear();
                if !unquote_into(inner, buf) {
                    self.error("invalid quoted value".into());
                    return None;
                }
                return Some((key, Value::Unescaped));
            }
        }
        self.pos = line.len();
        self.error("unterminated quoted value".into());
        None
    }
}

/// The pairs of a logfmt line in order, keys as written and values unquoted (empty for a bare
/// key), as Loki's pattern tokenizer reads them with this decoder; `None` at the first
/// syntax error (that tokenizer then skips the line).
pub fn pairs(line: &[u8]) -> Option<Vec<(String, String)>> {
    let mut dec = Decoder::new(line);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    while !dec.eol() {
        let scanned = dec.scan(&mut buf);
        if dec.err.is_some() {
            return None;
        }
        let Some((key, value)) = scanned else {
            continue;
        };
        let value = match value {
            Value::None => String::new(),
            Value::Raw(v) => String::from_utf8_lossy(v).into_owned(),
            Value::Unescaped => String::from_utf8_lossy(&buf).into_owned(),
        };
        out.push((String::from_utf8_lossy(key).into_owned(), value));
    }
    Some(out)
}

/// Go's `%q` of a byte (as a rune).
fn go_quote_byte(c: u8) -> String {
    match c {
        b'"' => "'\"'".into(),
        b'=' => "'='".into(),
        c => format!("'{}'", c as char),
    }
}

/// go-logfmt's `unquoteBytes` body: JSON-style escapes plus `\'`; false on a bad one.
fn unquote_into(s: &[u8], out: &mut Vec<u8>) -> bool {
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'"' {
            return false;
        }
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let Some(&e) = s.get(i + 1) else {
            return false;
        };
        let simple = match e {
            b'"' | b'\\' | b'/' | b'\'' => e,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hex = |at: usize| -> Option<u32> {
                    let h = std::str::from_utf8(s.get(at..at + 4)?).ok()?;
                    u32::from_str_radix(h, 16).ok()
                };
                let Some(r) = hex(i + 2) else {
                    return false;
                };
                i += 6;
                let mut c = char::from_u32(r);
                if (0xd800..0xe000).contains(&r) {
                    let pair = (s.get(i) == Some(&b'\\') && s.get(i + 1) == Some(&b'u'))
                        .then(|| hex(i + 2))
                        .flatten()
                        .filter(|r2| (0xdc00..0xe000).contains(r2) && r < 0xdc00);
                    c = match pair {
                        Some(r2) => {
                            i += 6;
                            char::from_u32(0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00))
                        }
                        None => Some('\u{fffd}'),
                    };
                }
                let mut b = [0u8; 4];
                out.extend_from_slice(c.unwrap_or('\u{fffd}').encode_utf8(&mut b).as_bytes());
                continue;
            }
            _ => return false,
        };
        out.push(simple);
        i += 2;
    }
    true
}

/// The `logfmt` parser stage.
#[derive(Debug, Clone)]
pub struct LogfmtParser {
    strict: bool,
    keep_empty: bool,
    /// `(label, key)` for the parameter form; empty for the plain one.
    exprs: Vec<(String, String)>,
    key: String,
    name: String,
    value: String,
    buf: Vec<u8>,
}

impl LogfmtParser {
    /// `| logfmt [--strict] [--keep-empty]`.
    pub fn new(strict: bool, keep_empty: bool) -> LogfmtParser {
        LogfmtParser {
            strict,
            keep_empty,
            exprs: Vec::new(),
            key: String::new(),
            name: String::new(),
            value: String::new(),
            buf: Vec::new(),
        }
    }

    /// `| logfmt [--strict] label="key", …` (`--keep-empty` has no effect there, as in
    /// Loki).
    pub fn with_expressions(
        strict: bool,
        exprs: &[(&str, &str)],
    ) -> Result<LogfmtParser, StageError> {
        if exprs.is_empty() {
            return Err(StageError::Expression(
                "no logfmt expression provided".into(),
            ));
        }
        let mut p = LogfmtParser::new(strict, false);
        for (label, expr) in exprs {
            let key = parse_key_expression(expr).map_err(|e| {
                StageError::Expression(format!("cannot parse expression [{expr}]: {e}"))
            })?;
            p.exprs.push((label.to_string(), key));
        }
        Ok(p)
    }

    pub fn process(&mut self, line: &[u8], lb: &mut LabelsBuilder) {
        if !self.exprs.is_empty() {
            return self.process_expressions(line, lb);
        }
        let mut dec = Decoder::new(line);
        while !dec.eol() {
            let Some((key, value)) = dec.scan(&mut self.buf) else {
                if self.strict {
                    break;
                }
                continue;
            };
            self.key.clear();
            append_sanitized(&mut self.key, key);
            if self.key.is_empty() {
                continue;
            }
            self.value.clear();
            match value {
                Value::None => {}
                Value::Raw(v) => push_value(&mut self.value, v),
                Value::Unescaped => push_value(&mut self.value, &self.buf),
            }
            if !self.keep_empty && self.value.is_empty() {
                continue;
            }
            set_parsed_once(lb, &self.key, &self.value, &mut self.name);
        }
        if self.strict {
            if let Some(e) = dec.err {
                lb.set_error(ERR_LOGFMT, &e.to_string());
            }
        }
    }

    fn process_expressions(&mut self, line: &[u8], lb: &mut LabelsBuilder) {
        // Loki first gives every label not already a stream or metadata label an empty value.
        for (label, _) in &self.exprs {
            if !lb.base_has(label) && !lb.has_metadata(label) {
                lb.set_parsed(label, "");
            }
        }
        let mut dec = Decoder::new(line);
        while !dec.eol() {
            let Some((key, value)) = dec.scan(&mut self.buf) else {
                if self.strict {
                    break;
                }
                continue;
            };
            self.key.clear();
            append_sanitized(&mut self.key, key);
            if self.key.is_empty() {
                continue;
            }
            self.value.clear();
            let raw: &[u8] = match value {
                Value::None => b"",
                Value::Raw(v) => v,
                Value::Unescaped => &self.buf,
            };
            // Loki empties a value with invalid UTF-8 here (the plain form replaces it).
            if let Ok(s) = std::str::from_utf8(raw) {
                if !s.contains('\u{fffd}') {
                    self.value.push_str(s);
                }
            }
            // Loki maps a key to its label, and also takes a key that is itself a label.
            let Some((label, _)) = self
                .exprs
                .iter()
                .find(|(_, k)| *k == self.key)
                .or_else(|| self.exprs.iter().find(|(l, _)| *l == self.key))
            else {
                continue;
            };
            let name = lb.parsed_name(label, &mut self.name);
            if name.len() != label.len() && lb.extracted(name) {
                // Loki stops scanning at a second `_extracted` duplicate.
                break;
            }
            lb.set_parsed(name, &self.value);
        }
        if self.strict {
            if let Some(e) = dec.err {
                lb.set_error(ERR_LOGFMT, &e.to_string());
            }
        }
    }
}

/// A logfmt parameter: a key identifier or a quoted string, as Loki's `logfmtexpr` reads it.
fn parse_key_expression(expr: &str) -> Result<String, String> {
    let t = expr.trim_matches([' ', '\t', '\n']);
    if let Some(inner) = t.strip_prefix('"') {
        let end = inner.find('"').unwrap_or(inner.len());
        return Ok(inner[..end].to_string());
    }
    match t.chars().next() {
        None => Err("syntax error: unexpected $end, expecting KEY or STRING".into()),
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            match t.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                None => Ok(t.to_string()),
                Some(i) => Err(format!(
                    "unexpected char {}",
                    t[i..].chars().next().unwrap_or(' ')
                )),
            }
        }
        Some(c) => Err(format!("unexpected char {c}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::Labels;

    fn parse(p: &mut LogfmtParser, base: &[(&str, &str)], line: &str) -> String {
        let mut lb = LabelsBuilder::new(Labels::from_pairs(base).unwrap());
        p.process(line.as_bytes(), &mut lb);
        lb.result().to_string()
    }

    #[test]
    fn plain() {
        let mut p = LogfmtParser::new(false, false);
        assert_eq!(
            parse(
                &mut p,
                &[("app", "x")],
                r#"app=foo level=info msg="a \"b\" c" empty= bare"#
            ),
            r#"{app="x", app_extracted="foo", level="info", msg="a \"b\" c"}"#
        );
        assert_eq!(
            parse(&mut p, &[], "a=1 =x b=2 c\"=3 d=4"),
            r#"{a="1", b="2", d="4"}"#
        );
        let mut keep = LogfmtParser::new(false, true);
        assert_eq!(parse(&mut keep, &[], "a= b"), r#"{a="", b=""}"#);
    }

    #[test]
    fn strict() {
        let mut p = LogfmtParser::new(true, false);
        assert_eq!(
            parse(&mut p, &[], "a=1 b==2 c=3"),
            r#"{__error__="LogfmtParserErr", __error_details__="logfmt syntax error at pos 7 : unexpected '='", a="1"}"#
        );
        assert_eq!(
            parse(&mut p, &[], r#"a="x"#),
            r#"{__error__="LogfmtParserErr", __error_details__="logfmt syntax error at pos 5 : unterminated quoted value"}"#
        );
    }

    #[test]
    fn expressions() {
        let mut p =
            LogfmtParser::with_expressions(false, &[("lvl", "level"), ("x", "nope")]).unwrap();
        assert_eq!(
            parse(&mut p, &[], "level=info msg=hi"),
            r#"{lvl="info", x=""}"#
        );
        assert!(LogfmtParser::with_expressions(false, &[("a", "b c")]).is_err());
    }
}
