//! Lexing shared by both formats: names, quoted strings and their escapes, label sets, numbers.
//!
//! Everything here works on one line that has already been checked to be UTF-8, and reports
//! errors as bare messages; the [`Parser`](super::Parser) adds the line number.

use std::borrow::Cow;

/// Most labels one sample may carry; a guard against hostile input (it also bounds the
/// quadratic duplicate check), far above real use.
pub(super) const MAX_LABELS_PER_SAMPLE: usize = 512;

/// The labels of one sample, in input order, values unescaped.
pub(super) type LabelPairs<'a> = Vec<(&'a str, Cow<'a, str>)>;

fn is_metric_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

fn is_metric_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

fn is_label_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_label_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Removes the escapes `\\`, `\n` and (if `quote`) `\"`; any other backslash stays as written,
/// as both Prometheus and the OpenMetrics reference parser leave unknown escapes alone.
pub(super) fn unescape(raw: &str, quote: bool) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quote => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// A float as both formats write it: decimal with optional exponent, or `NaN`/`Inf`/`Infinity`
/// with optional sign, in any case. Rust's parser accepts exactly this and rejects what the
/// formats forbid (hex, `_` separators, surrounding whitespace).
pub(super) fn parse_float(s: &str) -> Option<f64> {
    s.parse::<f64>().ok()
}

/// Label-set syntax differences between the formats.
#[derive(Debug, Clone, Copy)]
pub(super) struct LabelSyntax {
    /// Spaces and tabs may surround names, `=`, values and commas (text format).
    pub spaces: bool,
    /// `{a="b",}` is allowed (text format).
    pub trailing_comma: bool,
    /// A lone quoted string may give the metric name (`{"my.metric"}`); not in exemplars.
    pub quoted_metric_name: bool,
}

/// A position in one line.
#[derive(Debug)]
pub(super) struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(s: &'a str) -> Cursor<'a> {
        Cursor { s, pos: 0 }
    }

    pub fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// The unread rest of the line.
    pub fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    /// Consumes `b` if it is next.
    pub fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `prefix` if the rest starts with it.
    pub fn eat_str(&mut self, prefix: &str) -> bool {
        if self.rest().starts_with(prefix) {
            self.pos += prefix.len();
            true
        } else {
            false
        }
    }

    /// Skips spaces and tabs; returns how many.
    pub fn skip_spaces(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// The run of ASCII bytes satisfying `f`. Only ASCII predicates are used, so the slice
    /// boundaries are always character boundaries.
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    /// Everything up to the next space or tab (or the end).
    pub fn token(&mut self) -> &'a str {
        self.take_while(|b| b != b' ' && b != b'\t')
    }

    /// A classic metric name, or `None` (consuming nothing) if none starts here.
    pub fn metric_name(&mut self) -> Option<&'a str> {
        if !self.peek().is_some_and(is_metric_name_start) {
            return None;
        }
        Some(self.take_while(is_metric_name_char))
    }

    fn label_name(&mut self) -> Option<&'a str> {
        if !self.peek().is_some_and(is_label_name_start) {
            return None;
        }
        Some(self.take_while(is_label_name_char))
    }

    /// A double-quoted string, returned raw (escapes still in place). The cursor must be at `"`.
    pub fn quoted_raw(&mut self) -> Result<&'a str, String> {
        if !self.eat(b'"') {
            return Err("expected '\"'".into());
        }
        let bytes = self.s.as_bytes();
        let start = self.pos;
        let mut i = start;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => {
                    self.pos = i + 1;
                    return Ok(&self.s[start..i]);
                }
                _ => i += 1,
            }
        }
        self.pos = bytes.len();
        Err("unterminated quoted string".into())
    }

    /// A quoted metric or label name; escapes are refused because names are returned as
    /// slices of the input.
    pub fn quoted_name(&mut self) -> Result<&'a str, String> {
        let raw = self.quoted_raw()?;
        if raw.contains('\\') {
            return Err(format!(
                "escape sequences in quoted name \"{raw}\" are not supported"
            ));
        }
        if raw.is_empty() {
            return Err("empty quoted name".into());
        }
        Ok(raw)
    }

    /// A metric name as metadata lines write it: classic or quoted.
    pub fn metadata_name(&mut self) -> Result<&'a str, String> {
        if self.peek() == Some(b'"') {
            return self.quoted_name();
        }
        self.metric_name()
            .ok_or_else(|| "expected a metric name".to_string())
    }

    /// The label set after its `{` up to and including `}`, appended to `out`. Returns the
    /// metric name if the set gave one as a lone quoted string.
    pub fn label_set(
        &mut self,
        syntax: LabelSyntax,
        out: &mut LabelPairs<'a>,
    ) -> Result<Option<&'a str>, String> {
        let mut metric_name = None;
        let mut after_comma = false;
        loop {
            self.spaces(syntax);
            if self.eat(b'}') {
                if after_comma && !syntax.trailing_comma {
                    return Err("trailing comma in label set".into());
                }
                return Ok(metric_name);
            }
            let quoted = self.peek() == Some(b'"');
            let name = if quoted {
                self.quoted_name()?
            } else {
                self.label_name()
                    .ok_or_else(|| format!("expected a label name, got {}", self.describe()))?
            };
            self.spaces(syntax);
            if quoted && syntax.quoted_metric_name && matches!(self.peek(), Some(b',' | b'}')) {
                if metric_name.is_some() {
                    return Err("metric name given twice in label set".into());
                }
                metric_name = Some(name);
            } else {
                if !self.eat(b'=') {
                    return Err(format!(
                        "expected '=' after label name {name:?}, got {}",
                        self.describe()
                    ));
                }
                self.spaces(syntax);
                if self.peek() != Some(b'"') {
                    return Err(format!(
                        "expected a quoted value for label {name:?}, got {}",
                        self.describe()
                    ));
                }
                let value = unescape(self.quoted_raw()?, true);
                if out.iter().any(|(n, _)| *n == name) {
                    return Err(format!("duplicate label name {name:?}"));
                }
                if out.len() >= MAX_LABELS_PER_SAMPLE {
                    return Err(format!(
                        "more than {MAX_LABELS_PER_SAMPLE} labels on one sample"
                    ));
                }
                out.push((name, value));
            }
            self.spaces(syntax);
            after_comma = self.eat(b',');
            if !after_comma && self.peek() != Some(b'}') {
                return Err(format!(
                    "expected ',' or '}}' in label set, got {}",
                    self.describe()
                ));
            }
        }
    }

    fn spaces(&mut self, syntax: LabelSyntax) {
        if syntax.spaces {
            self.skip_spaces();
        }
    }

    /// The next character, for error messages.
    pub fn describe(&self) -> String {
        match self.rest().chars().next() {
            Some(c) => format!("{c:?}"),
            None => "end of line".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OM: LabelSyntax = LabelSyntax {
        spaces: false,
        trailing_comma: false,
        quoted_metric_name: true,
    };

    fn labels(s: &str, syntax: LabelSyntax) -> Result<(Option<&str>, LabelPairs<'_>), String> {
        let mut c = Cursor::new(s);
        assert!(c.eat(b'{'));
        let mut out = Vec::new();
        let name = c.label_set(syntax, &mut out)?;
        Ok((name, out))
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r"plain", true), Cow::Borrowed("plain"));
        assert_eq!(unescape(r#"a\\b\nc\"d\ze\"#, true), "a\\b\nc\"d\\ze\\");
        assert_eq!(unescape(r#"\""#, false), "\\\"");
    }

    #[test]
    fn floats() {
        for (s, v) in [
            ("1", 1.0),
            ("-1.5e3", -1500.0),
            ("+Inf", f64::INFINITY),
            (".5", 0.5),
        ] {
            assert_eq!(parse_float(s), Some(v), "{s}");
        }
        assert!(parse_float("NaN").is_some_and(f64::is_nan));
        for s in ["", "0x1", "1_0", " 1", "1 ", "0x1p-3", "a"] {
            assert_eq!(parse_float(s), None, "{s}");
        }
    }

    #[test]
    fn label_sets() {
        let (name, ls) = labels(r#"{a="1",b="x\"y"}"#, OM).unwrap();
        assert_eq!(name, None);
        assert_eq!(ls, vec![("a", "1".into()), ("b", "x\"y".into())]);
        let (name, ls) = labels(r#"{"my.metric","la.bel"="v"}"#, OM).unwrap();
        assert_eq!(name, Some("my.metric"));
        assert_eq!(ls, vec![("la.bel", "v".into())]);
        assert!(labels(r#"{a="1",}"#, OM).is_err());
        assert!(labels(r#"{a="1",a="2"}"#, OM).is_err());
        assert!(labels(r#"{a="1" , b="2"}"#, OM).is_err());
        let text = LabelSyntax {
            spaces: true,
            trailing_comma: true,
            quoted_metric_name: true,
        };
        let (_, ls) = labels(r#"{ a = "1" , b="2", }"#, text).unwrap();
        assert_eq!(ls.len(), 2);
        assert!(labels(r#"{,}"#, text).is_err());
        assert!(labels(r#"{a="1"#, text).is_err());
        assert!(labels(r#"{"a\"b"="1"}"#, text).is_err());
    }
}
