//! LogQL's tokens, cut as Loki's lexer cuts them (Go's `text/scanner` under a LogQL layer):
//! keywords are case-insensitive; function names (`rate`, `sum`, `ip`, `bytes`, …) are
//! keywords only when `(` or `by (`/`without (` follows, otherwise identifiers; a number
//! directly followed by a unit is a duration (`5m`, `1.5h`, `-3s`) or a byte size (`20MB`);
//! `[…]` is one range token; `#`, `//` and `/* */` start comments; any other character is an
//! identifier of its own, which the parser then refuses.
//!
//! Positions are Loki's: line and column (in characters) of the token's start, and line `0`
//! for tokens the lexer completed by look-ahead (two-character operators, durations, byte
//! sizes, flags, ranges), because Go's scanner forgets the line there. Users see these
//! numbers in error messages.
//!
//! Not here: what a token may follow (the parser).

use std::time::Duration;

use crate::error::ParseError;
use crate::go;

mod number;

/// One token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Str(String),
    /// The number's text, parsed where the grammar says what it is (float, count).
    Number(String),
    /// `--strict` or `--keep-empty`.
    Flag(&'static str),
    /// Nanoseconds; may be negative (`-5m`).
    Duration(i64),
    /// `[5m]`.
    Range(Duration),
    Bytes(u64),
    /// Punctuation and operators (`{`, `|=`, `>=`, …) and the keywords that are always
    /// keywords (`by`, `or`, `json`, …), by their lower-case text.
    Kw(&'static str),
    /// A function name followed by `(` (or `by (`/`without (`), by its lower-case text.
    Fun(&'static str),
    Eof,
    /// The lexer's first error; nothing after it is read.
    Error(ParseError),
}

/// Punctuation, operators and keywords: always tokens.
const KEYWORDS: &[&str] = &[
    ",",
    ".",
    "{",
    "}",
    "=",
    "!=",
    "=~",
    "!~",
    "!>",
    "|=",
    "|~",
    "|>",
    "|",
    "unwrap",
    "(",
    ")",
    "by",
    "without",
    "bool",
    "[",
    "]",
    "label_replace",
    "offset",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "or",
    "and",
    "unless",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "==",
    ">",
    ">=",
    "<",
    "<=",
    "json",
    "regexp",
    "logfmt",
    "unpack",
    "pattern",
    "label_format",
    "line_format",
    "ip",
    "decolorize",
    "drop",
    "keep",
];

/// Names that are tokens only in call position.
const FUNCTIONS: &[&str] = &[
    "rate",
    "rate_counter",
    "count_over_time",
    "bytes_rate",
    "bytes_over_time",
    "avg_over_time",
    "sum_over_time",
    "min_over_time",
    "max_over_time",
    "stdvar_over_time",
    "stddev_over_time",
    "quantile_over_time",
    "first_over_time",
    "last_over_time",
    "absent_over_time",
    "vector",
    "sum",
    "avg",
    "max",
    "min",
    "count",
    "stddev",
    "stdvar",
    "bottomk",
    "topk",
    "sort",
    "sort_desc",
    "label_replace",
    "approx_topk",
    "bytes",
    "duration",
    "duration_seconds",
    "ip",
];

impl Tok {
    /// The token's name in a syntax error, as Loki's generated parser names it.
    pub(crate) fn name(&self) -> String {
        match self {
            Tok::Ident(_) => "IDENTIFIER".into(),
            Tok::Str(_) => "STRING".into(),
            Tok::Number(_) => "NUMBER".into(),
            Tok::Flag(_) => "FUNCTION_FLAG".into(),
            Tok::Duration(_) => "DURATION".into(),
            Tok::Range(_) => "RANGE".into(),
            Tok::Bytes(_) => "BYTES".into(),
            Tok::Kw(k) => (*k).into(),
            // `ip` and `label_replace` are also in the keyword table, which names them.
            Tok::Fun(f @ ("ip" | "label_replace")) => (*f).into(),
            Tok::Fun("bytes") => "BYTES_CONV".into(),
            Tok::Fun("duration") => "DURATION_CONV".into(),
            Tok::Fun("duration_seconds") => "DURATION_SECONDS_CONV".into(),
            Tok::Fun(f) => f.to_ascii_uppercase(),
            Tok::Eof | Tok::Error(_) => "$end".into(),
        }
    }
}

/// Cuts `input` into tokens; the last is `Eof` or the first lexer error.
pub(crate) fn tokenize(input: &str) -> Vec<Token> {
    let mut lx = Lexer {
        s: input.chars().collect(),
        i: 0,
        line_starts: vec![0],
    };
    let mut out = Vec::new();
    loop {
        let t = lx.next_token();
        let end = matches!(t.tok, Tok::Eof | Tok::Error(_));
        out.push(t);
        if end {
            return out;
        }
    }
}

struct Lexer {
    s: Vec<char>,
    i: usize,
    /// Index of the first character of each line seen so far.
    line_starts: Vec<usize>,
}

/// What Go's scanner returned before LogQL's layer looks at it.
enum Raw {
    Number,
    Str,
    Char,
    Ident,
    Other(char),
    Eof,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line_starts.push(self.i);
        }
        Some(c)
    }

    /// Line and column (1-based, in characters) of the character at index `i`.
    fn pos(&self, i: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&s| s <= i);
        let start = self.line_starts[line - 1];
        (line, i - start + 1)
    }

    fn text(&self, from: usize) -> String {
        self.s[from..self.i].iter().collect()
    }

    fn err(&self, msg: impl Into<String>, line: usize, col: usize) -> Token {
        Token {
            tok: Tok::Error(ParseError::at(msg, line, col)),
            line,
            col,
        }
    }

    fn next_token(&mut self) -> Token {
        loop {
            while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
                self.bump();
            }
            // Go comments are skipped by the scanner itself.
            if self.peek() == Some('/') && matches!(self.peek_at(1), Some('/' | '*')) {
                let (line, col) = self.pos(self.i);
                self.bump();
                if self.bump() == Some('/') {
                    while !matches!(self.peek(), None | Some('\n')) {
                        self.bump();
                    }
                } else {
                    loop {
                        match self.bump() {
                            None => return self.err("comment not terminated", line, col),
                            Some('*') if self.peek() == Some('/') => {
                                self.bump();
                                break;
                            }
                            Some(_) => {}
                        }
                    }
                }
                continue;
            }
            if self.peek() == Some('#') {
                while !matches!(self.peek(), None | Some('\n')) {
                    self.bump();
                }
                continue;
            }
            break;
        }
        let start = self.i;
        let (line, col) = self.pos(start);
        let tok = |tok: Tok, line_kept: bool| Token {
            tok,
            line: if line_kept { line } else { 0 },
            col,
        };
        let raw = match self.scan(line, col) {
            Ok(raw) => raw,
            Err(e) => return e,
        };
        match raw {
            Raw::Eof => return tok(Tok::Eof, true),
            Raw::Number => {
                let text = self.text(start);
                if let Some(d) = self.try_duration(&text) {
                    return tok(Tok::Duration(d), false);
                }
                if let Some(b) = self.try_bytes(&text) {
                    return tok(Tok::Bytes(b), false);
                }
                return tok(Tok::Number(text), true);
            }
            Raw::Str => {
                return match go::unquote(&self.text(start)) {
                    Ok(s) => tok(Tok::Str(s), true),
                    Err(e) => self.err(e, line, col),
                }
            }
            Raw::Other('-') => {
                if self.peek() == Some('-') {
                    if let Some(flag) = self.try_flag() {
                        return tok(Tok::Flag(flag), false);
                    }
                }
                if let Some(d) = self.try_duration("-") {
                    return tok(Tok::Duration(d), false);
                }
            }
            Raw::Other('[') => {
                let mut body = String::new();
                loop {
                    match self.bump() {
                        None => return self.err("missing closing ']' in duration", 0, col),
                        Some(']') => break,
                        Some(c) => body.push(c),
                    }
                }
                return match bongsu_model::parse_prometheus_duration(&body) {
                    Some(d) => tok(Tok::Range(d), false),
                    None => self.err(go::prom_duration_error(&body), 0, col),
                };
            }
            Raw::Char | Raw::Ident | Raw::Other(_) => {}
        }
        let text = self.text(start);
        let lower = text.to_lowercase();
        if let Some(f) = FUNCTIONS.iter().find(|f| **f == lower) {
            return if self.is_function() {
                tok(Tok::Fun(f), true)
            } else {
                tok(Tok::Ident(text), true)
            };
        }
        if let Some(next) = self.peek() {
            let two = format!("{lower}{next}");
            if let Some(k) = KEYWORDS.iter().find(|k| **k == two) {
                self.bump();
                return tok(Tok::Kw(k), false);
            }
        }
        if let Some(k) = KEYWORDS.iter().find(|k| **k == lower) {
            return tok(Tok::Kw(k), true);
        }
        tok(Tok::Ident(text), true)
    }

    /// Go's `Scanner.Scan` for one token, errors at the token's start.
    fn scan(&mut self, line: usize, col: usize) -> Result<Raw, Token> {
        let Some(c) = self.peek() else {
            return Ok(Raw::Eof);
        };
        if c == '_' || c.is_alphabetic() {
            self.bump();
            while self
                .peek()
                .is_some_and(|c| c == '_' || c.is_alphabetic() || c.is_numeric())
            {
                self.bump();
            }
            return Ok(Raw::Ident);
        }
        if c.is_ascii_digit() || (c == '.' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())) {
            return self
                .scan_number()
                .map(|()| Raw::Number)
                .map_err(|m| self.err(m, line, col));
        }
        match c {
            '"' | '\'' => {
                self.bump();
                let mut n = 0;
                loop {
                    match self.peek() {
                        None | Some('\n') => {
                            return Err(self.err("literal not terminated", line, col));
                        }
                        Some(q) if q == c => {
                            self.bump();
                            break;
                        }
                        Some('\\') => {
                            self.bump();
                            self.scan_escape(c).map_err(|m| self.err(m, line, col))?;
                        }
                        Some(_) => {
                            self.bump();
                        }
                    }
                    n += 1;
                }
                if c == '\'' {
                    if n != 1 {
                        return Err(self.err("invalid char literal", line, col));
                    }
                    return Ok(Raw::Char);
                }
                Ok(Raw::Str)
            }
            '`' => {
                self.bump();
                loop {
                    match self.bump() {
                        None => return Err(self.err("literal not terminated", line, col)),
                        Some('`') => return Ok(Raw::Str),
                        Some(_) => {}
                    }
                }
            }
            c => {
                self.bump();
                Ok(Raw::Other(c))
            }
        }
    }

    /// Go's escape check inside a quoted literal (after the backslash).
    fn scan_escape(&mut self, quote: char) -> Result<(), &'static str> {
        let digits = |lx: &mut Lexer, n: usize, radix: u32| {
            for _ in 0..n {
                match lx.peek() {
                    Some(d) if d.is_digit(radix) => {
                        lx.bump();
                    }
                    _ => return Err("invalid char escape"),
                }
            }
            Ok(())
        };
        match self.peek() {
            Some(c) if "abfnrtv\\".contains(c) || c == quote => {
                self.bump();
                Ok(())
            }
            Some('0'..='7') => digits(self, 3, 8),
            Some('x') => {
                self.bump();
                digits(self, 2, 16)
            }
            Some('u') => {
                self.bump();
                digits(self, 4, 16)
            }
            Some('U') => {
                self.bump();
                digits(self, 8, 16)
            }
            _ => Err("invalid char escape"),
        }
    }

    /// Loki's `tryScanDuration`: the characters up to the next space that can belong to a
    /// duration, kept only if `prefix` + them parse (Prometheus' syntax, then Go's).
    fn try_duration(&mut self, prefix: &str) -> Option<i64> {
        let n = self.run_len(|c| c.is_numeric() || "numµshdwy.".contains(c));
        if n == 0 {
            return None;
        }
        let text: String = prefix
            .chars()
            .chain(self.s[self.i..self.i + n].iter().copied())
            .collect();
        let nanos = match bongsu_model::parse_prometheus_duration(&text) {
            Some(d) => i64::try_from(d.as_nanos()).ok()?,
            None => bongsu_model::units::parse_go_duration(&text)?,
        };
        self.i += n;
        Some(nanos)
    }

    /// Loki's `tryScanBytes`, as `try_duration` for go-humanize's sizes.
    fn try_bytes(&mut self, prefix: &str) -> Option<u64> {
        let n = self.run_len(|c| c.is_numeric() || "BikKMGTP.".contains(c));
        if n == 0 {
            return None;
        }
        let text: String = prefix
            .chars()
            .chain(self.s[self.i..self.i + n].iter().copied())
            .collect();
        let b = go::parse_bytes(&text)?;
        self.i += n;
        Some(b)
    }

    /// How many characters from here, up to a space or the end, satisfy `ok`.
    fn run_len(&self, ok: impl Fn(char) -> bool) -> usize {
        self.s[self.i..]
            .iter()
            .take_while(|c| !c.is_whitespace() && ok(**c))
            .count()
    }

    /// `--strict` / `--keep-empty` after a `-`.
    fn try_flag(&mut self) -> Option<&'static str> {
        let n = self.s[self.i..]
            .iter()
            .take_while(|c| c.is_alphabetic() || **c == '-')
            .count();
        let text: String = std::iter::once('-')
            .chain(self.s[self.i..self.i + n].iter().copied())
            .collect();
        let flag = ["--strict", "--keep-empty"]
            .into_iter()
            .find(|f| *f == text)?;
        self.i += n;
        Some(flag)
    }

    /// Loki's `isFunction`: `(` comes next, or `by`/`without` and then `(`.
    fn is_function(&self) -> bool {
        let rest = &self.s[self.i..];
        let skip_space = |from: usize| {
            from + rest[from..]
                .iter()
                .take_while(|c| c.is_whitespace())
                .count()
        };
        let at = skip_space(0);
        if rest.get(at) == Some(&'(') {
            return true;
        }
        for word in ["by", "without"] {
            let end = at + word.len();
            let matches = rest
                .get(at..end)
                .is_some_and(|w| w.iter().collect::<String>().to_lowercase() == word);
            if matches {
                return rest.get(skip_space(end)) == Some(&'(');
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn units_and_functions() {
        assert_eq!(
            toks("rate ( x > 5m y < 20MB --strict"),
            vec![
                Tok::Fun("rate"),
                Tok::Kw("("),
                Tok::Ident("x".into()),
                Tok::Kw(">"),
                Tok::Duration(300_000_000_000),
                Tok::Ident("y".into()),
                Tok::Kw("<"),
                Tok::Bytes(20_000_000),
                Tok::Flag("--strict"),
                Tok::Eof
            ]
        );
        assert_eq!(toks("ip"), vec![Tok::Ident("ip".into()), Tok::Eof]);
        assert_eq!(
            toks("sum by (a)"),
            vec![
                Tok::Fun("sum"),
                Tok::Kw("by"),
                Tok::Kw("("),
                Tok::Ident("a".into()),
                Tok::Kw(")"),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn positions() {
        let t = tokenize("{a=\"b\"} |= \"x\"");
        assert_eq!((t[5].line, t[5].col), (0, 9));
        assert_eq!((t[6].line, t[6].col), (1, 12));
        let t = tokenize("a\n  b");
        assert_eq!((t[1].line, t[1].col), (2, 3));
        assert_eq!((t[2].line, t[2].col), (2, 4));
    }
}
