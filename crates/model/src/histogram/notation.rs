//! The test notation of a histogram, as PromQL test files and `promtool test rules` series
//! write it: `{{schema:1 sum:3 count:22 buckets:[5 10 7] offset:1 n_buckets:[1] n_offset:2
//! z_bucket:1 z_bucket_w:0.001 custom_values:[1 2] counter_reset_hint:gauge}}`.
//!
//! Parsing follows Prometheus' series grammar for one `{{…}}` item: keys are
//! case-insensitive and each at most once, `key:value` without spaces, items separated by
//! spaces, bucket lists `[n n …]` (no space after `[`), every bucket list one span starting at
//! `offset`. Formatting is upstream's `TestExpression`. The series expansions around items
//! (`{{…}}+{{…}}x3`, `{{…}}x2`) belong to the series parser, not here.

use std::collections::HashSet;

use super::fmt::go_g;
use super::{CounterResetHint, FloatHistogram, Span};

/// A parse error: byte offset in the input and upstream's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{msg}")]
pub struct NotationError {
    pub pos: usize,
    pub msg: String,
}

/// One parsed `{{…}}` item.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedNotation {
    pub histogram: FloatHistogram,
    /// Whether `counter_reset_hint` was written (PromQL tests then compare the hint).
    pub counter_reset_hint_set: bool,
    /// Bytes consumed, up to and including the closing `}}`.
    pub len: usize,
}

/// Parses exactly one `{{…}}` (surrounding whitespace not allowed).
pub fn parse_test_notation(s: &str) -> Result<FloatHistogram, String> {
    let p = parse_test_notation_prefix(s).map_err(|e| e.msg)?;
    if p.len != s.len() {
        return Err(format!("unexpected {:?} after histogram", &s[p.len..]));
    }
    Ok(p.histogram)
}

/// Parses the `{{…}}` at the start of `s` and says how far it went, for series parsers
/// that continue with `+`, `-`, `x` or further values.
pub fn parse_test_notation_prefix(s: &str) -> Result<ParsedNotation, NotationError> {
    let mut p = Parser {
        s: s.as_bytes(),
        src: s,
        i: 0,
    };
    p.parse()
}

/// The test notation of `h` (upstream's `TestExpression`): buckets of each side as one span
/// (gaps filled with zeros), fields at their default left out.
pub fn format_test_notation(h: &FloatHistogram) -> String {
    let mut m = h.clone();
    m.compact(usize::MAX);
    let mut res: Vec<String> = Vec::new();
    if m.schema != 0 {
        res.push(format!("schema:{}", m.schema));
    }
    if m.count != 0.0 {
        res.push(format!("count:{}", go_g(m.count)));
    }
    if m.sum != 0.0 {
        res.push(format!("sum:{}", go_g(m.sum)));
    }
    if m.zero_count != 0.0 {
        res.push(format!("z_bucket:{}", go_g(m.zero_count)));
    }
    if m.zero_threshold != 0.0 {
        res.push(format!("z_bucket_w:{}", go_g(m.zero_threshold)));
    }
    if m.uses_custom_buckets() {
        res.push(format!("custom_values:{}", list(&m.custom_values)));
    }
    match m.counter_reset_hint {
        CounterResetHint::Unknown => {}
        CounterResetHint::CounterReset => res.push("counter_reset_hint:reset".into()),
        CounterResetHint::NotCounterReset => res.push("counter_reset_hint:not_reset".into()),
        CounterResetHint::Gauge => res.push("counter_reset_hint:gauge".into()),
    }
    for (buckets, spans, bkey, okey) in [
        (&m.positive_buckets, &m.positive_spans, "buckets", "offset"),
        (
            &m.negative_buckets,
            &m.negative_spans,
            "n_buckets",
            "n_offset",
        ),
    ] {
        if let Some(first) = spans.first().filter(|s| s.offset != 0) {
            res.push(format!("{okey}:{}", first.offset));
        }
        if !buckets.is_empty() {
            res.push(format!("{bkey}:{}", list(buckets)));
        }
    }
    format!("{{{{{}}}}}", res.join(" "))
}

/// `[a b c]` with Go's `%g` for each number.
fn list(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| go_g(*x)).collect();
    format!("[{}]", items.join(" "))
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Schema,
    Sum,
    Count,
    ZBucket,
    ZBucketW,
    CustomValues,
    Buckets,
    Offset,
    NBuckets,
    NOffset,
    CounterResetHint,
}

impl Key {
    fn from_word(w: &str) -> Option<Key> {
        Some(match w.to_ascii_lowercase().as_str() {
            "schema" => Key::Schema,
            "sum" => Key::Sum,
            "count" => Key::Count,
            "z_bucket" => Key::ZBucket,
            "z_bucket_w" => Key::ZBucketW,
            "custom_values" => Key::CustomValues,
            "buckets" => Key::Buckets,
            "offset" => Key::Offset,
            "n_buckets" => Key::NBuckets,
            "n_offset" => Key::NOffset,
            "counter_reset_hint" => Key::CounterResetHint,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Key::Schema => "schema",
            Key::Sum => "sum",
            Key::Count => "count",
            Key::ZBucket => "z_bucket",
            Key::ZBucketW => "z_bucket_w",
            Key::CustomValues => "custom_values",
            Key::Buckets => "buckets",
            Key::Offset => "offset",
            Key::NBuckets => "n_buckets",
            Key::NOffset => "n_offset",
            Key::CounterResetHint => "counter_reset_hint",
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
}

fn is_alpha(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphabetic()
}

impl Parser<'_> {
    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> Result<T, NotationError> {
        Err(NotationError {
            pos,
            msg: msg.into(),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn at(&self, lit: &str) -> bool {
        self.s[self.i..].starts_with(lit.as_bytes())
    }

    fn unexpected<T>(&self) -> Result<T, NotationError> {
        match self.src[self.i..].chars().next() {
            None => self.err(self.i, "unexpected end of input in histogram description"),
            Some(c) if c.is_whitespace() => self.err(
                self.i,
                format!("unexpected {:?} in series values", c.to_string()),
            ),
            Some(c) => self.err(
                self.i,
                format!(
                    "histogram description incomplete unexpected: {:?}",
                    c.to_string()
                ),
            ),
        }
    }

    fn skip_spaces(&mut self) -> bool {
        let start = self.i;
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
        self.i > start
    }

    fn word(&mut self) -> &str {
        let start = self.i;
        while self.peek().is_some_and(is_alpha) {
            self.i += 1;
        }
        &self.src[start..self.i]
    }

    fn parse(&mut self) -> Result<ParsedNotation, NotationError> {
        if !self.at("{{") {
            return self.err(0, "histogram description must start with \"{{\"");
        }
        self.i = 2;
        let mut h = FloatHistogram::default();
        let mut seen: HashSet<Key> = HashSet::new();
        let mut hint_set = false;
        let (mut pos, mut neg) = ((Vec::new(), 0i32), (Vec::new(), 0i32));
        let mut first = true;
        loop {
            let spaced = self.skip_spaces();
            if self.at("}}") {
                self.i += 2;
                break;
            }
            if spaced && first {
                // `{{ }}` is allowed, `{{ schema:1}}` is not.
                return self.err(
                    self.i,
                    format!("unexpected {:?} in series values", self.word_at()),
                );
            }
            if !spaced && !first {
                return self.unexpected();
            }
            first = false;
            let key_pos = self.i;
            if !self.peek().is_some_and(is_alpha) {
                return self.unexpected();
            }
            let word = self.word().to_string();
            let Some(key) = Key::from_word(&word) else {
                return self.err(key_pos, format!("bad histogram descriptor found: {word:?}"));
            };
            if self.peek() != Some(b':') {
                return self.err(key_pos, "missing `:` for histogram descriptor");
            }
            self.i += 1;
            if !seen.insert(key) {
                return self.err(
                    key_pos,
                    format!("duplicate key {:?} in histogram", key.name()),
                );
            }
            match key {
                Key::Schema => h.schema = self.int()? as i32,
                Key::Offset => pos.1 = self.int()? as i32,
                Key::NOffset => neg.1 = self.int()? as i32,
                Key::Sum => h.sum = self.signed_number()?,
                Key::Count => h.count = self.signed_number()?,
                Key::ZBucket => h.zero_count = self.signed_number()?,
                Key::ZBucketW => h.zero_threshold = self.number()?,
                Key::Buckets => pos.0 = self.bucket_set()?,
                Key::NBuckets => neg.0 = self.bucket_set()?,
                Key::CustomValues => h.custom_values = self.bucket_set()?,
                Key::CounterResetHint => {
                    let at = self.i;
                    let w = self.word().to_ascii_lowercase();
                    h.counter_reset_hint = match w.as_str() {
                        "unknown" => CounterResetHint::Unknown,
                        "reset" => CounterResetHint::CounterReset,
                        "not_reset" => CounterResetHint::NotCounterReset,
                        "gauge" => CounterResetHint::Gauge,
                        _ if w.is_empty() => return self.unexpected(),
                        _ => {
                            return self.err(
                                at,
                                format!(
                                    "bad histogram descriptor found: {:?}",
                                    &self.src[at..self.i]
                                ),
                            )
                        }
                    };
                    hint_set = true;
                }
            }
        }
        if !pos.0.is_empty() {
            h.positive_spans = vec![Span {
                offset: pos.1,
                length: pos.0.len() as u32,
            }];
        }
        h.positive_buckets = pos.0;
        if !neg.0.is_empty() {
            h.negative_spans = vec![Span {
                offset: neg.1,
                length: neg.0.len() as u32,
            }];
        }
        h.negative_buckets = neg.0;
        Ok(ParsedNotation {
            histogram: h,
            counter_reset_hint_set: hint_set,
            len: self.i,
        })
    }

    /// The word (or character) at the cursor, for error messages.
    fn word_at(&self) -> String {
        let rest = &self.src[self.i..];
        let end = rest
            .find(|c: char| !(c == '_' || c.is_ascii_alphabetic()))
            .unwrap_or(rest.len());
        if end == 0 {
            rest.chars().next().map(String::from).unwrap_or_default()
        } else {
            rest[..end].to_string()
        }
    }

    /// `-`? digits, as an integer (schema and offsets).
    fn int(&mut self) -> Result<i64, NotationError> {
        let neg = self.peek() == Some(b'-');
        if neg {
            self.i += 1;
        }
        let at = self.i;
        let tok = self.number_token()?;
        let v: u64 = tok.parse().or_else(|_| {
            self.err(
                at,
                format!("invalid number {tok:?} in histogram description"),
            )
        })?;
        let v = v as i64;
        Ok(if neg { v.wrapping_neg() } else { v })
    }

    fn signed_number(&mut self) -> Result<f64, NotationError> {
        if self.peek() == Some(b'-') {
            self.i += 1;
            return Ok(-self.number()?);
        }
        self.number()
    }

    /// A number as PromQL's series values write it: decimal (a leading 0 means octal when
    /// that parses, as Go's `ParseInt(s, 0, 64)`), exponent, `Inf` or `NaN`.
    fn number(&mut self) -> Result<f64, NotationError> {
        let at = self.i;
        let tok = self.number_token()?;
        if tok.eq_ignore_ascii_case("inf") {
            return Ok(f64::INFINITY);
        }
        if tok.eq_ignore_ascii_case("nan") {
            return Ok(f64::NAN);
        }
        if tok.bytes().all(|c| c.is_ascii_digit()) {
            let parsed = if tok.len() > 1 && tok.starts_with('0') {
                i64::from_str_radix(&tok[1..], 8).ok()
            } else {
                tok.parse::<i64>().ok()
            };
            if let Some(v) = parsed {
                return Ok(v as f64);
            }
        }
        tok.parse::<f64>()
            .or_else(|_| self.err(at, format!("error parsing number: {tok:?}")))
    }

    /// The characters of one number (digits, `.`, exponent) or the words Inf/NaN; the next
    /// character must not continue a word.
    fn number_token(&mut self) -> Result<String, NotationError> {
        let start = self.i;
        if self.peek().is_some_and(is_alpha) {
            let w = self.word().to_string();
            if w.eq_ignore_ascii_case("inf") || w.eq_ignore_ascii_case("nan") {
                return Ok(w);
            }
            return self.err(start, format!("bad histogram descriptor found: {w:?}"));
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
        }
        if self.i > start && matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
        }
        if self.i == start {
            return self.unexpected();
        }
        if self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            return self.err(
                self.i,
                format!(
                    "bad number or duration syntax: {:?}",
                    &self.src[start..=self.i]
                ),
            );
        }
        Ok(self.src[start..self.i].to_string())
    }

    /// `[n n …]`: at least one number, single numbers may be negative, a space allowed before
    /// `]` but not after `[`.
    fn bucket_set(&mut self) -> Result<Vec<f64>, NotationError> {
        if self.peek() != Some(b'[') {
            return self.unexpected();
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            out.push(self.signed_number()?);
            let spaced = self.skip_spaces();
            if self.peek() == Some(b']') {
                self.i += 1;
                return Ok(out);
            }
            if !spaced {
                return self.unexpected();
            }
        }
    }
}
