//! Splits template text into tokens, as Go's `text/template/parse` lexer does.
//!
//! Text between actions is one token; inside `{{ }}` come identifiers, fields, variables,
//! literals and punctuation, with runs of spaces kept as tokens because the parser needs them
//! (`$x .F` is two operands, `$x.F` one). Trim markers (`{{- `, ` -}}`) remove the adjacent
//! whitespace from the text here; comments produce no token.

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Text(String),
    LeftDelim,
    RightDelim,
    Space,
    Ident(String),
    Keyword(&'static str),
    /// `.Name` (the name without the dot).
    Field(String),
    /// `$` or `$name` (with the dollar).
    Variable(String),
    Dot,
    /// A quoted or raw string: its source text and its value.
    Str(String, String),
    /// A character constant: its source text and its code point.
    Char(String, u32),
    Number(String),
    Bool(bool),
    Nil,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
    /// Other printable ASCII, which no rule of the grammar accepts.
    Punct(char),
    Eof,
}

#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    /// Byte offset in the source.
    pub pos: usize,
}

const KEYWORDS: [&str; 10] = [
    "block", "break", "continue", "define", "else", "end", "if", "range", "template", "with",
];

/// A lexing error: the byte offset it happened at and Go's message.
pub struct LexError {
    pub pos: usize,
    pub msg: String,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Tokenizes `src`.
pub fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    Lexer {
        src,
        b: src.as_bytes(),
        pos: 0,
        out: Vec::new(),
    }
    .run()
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    out: Vec<Token>,
}

impl Lexer<'_> {
    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> Result<T, LexError> {
        Err(LexError {
            pos,
            msg: msg.into(),
        })
    }

    fn push(&mut self, tok: Tok, pos: usize) {
        self.out.push(Token { tok, pos });
    }

    fn run(mut self) -> Result<Vec<Token>, LexError> {
        let mut trim_next_text = false;
        loop {
            let start = self.pos;
            let next = self.src[start..].find("{{").map(|i| start + i);
            let end = next.unwrap_or(self.src.len());
            let mut text = &self.src[start..end];
            if trim_next_text {
                text = text.trim_start_matches([' ', '\t', '\r', '\n']);
            }
            let Some(open) = next else {
                if !text.is_empty() {
                    self.push(Tok::Text(text.to_string()), start);
                }
                self.push(Tok::Eof, self.src.len());
                return Ok(self.out);
            };
            let left_trim =
                self.b.len() >= open + 4 && self.b[open + 2] == b'-' && is_space(self.b[open + 3]);
            if left_trim {
                text = text.trim_end_matches([' ', '\t', '\r', '\n']);
            }
            if !text.is_empty() {
                self.push(Tok::Text(text.to_string()), start);
            }
            self.pos = open + 2 + if left_trim { 2 } else { 0 };
            trim_next_text = self.action(open)?;
        }
    }

    /// At a right delimiter: its length and whether it trims.
    fn at_right_delim(&self) -> Option<(usize, bool)> {
        let rest = &self.b[self.pos..];
        if rest.len() >= 4 && is_space(rest[0]) && rest[1] == b'-' && &rest[2..4] == b"}}" {
            return Some((4, true));
        }
        if rest.starts_with(b"}}") {
            return Some((2, false));
        }
        None
    }

    /// Lexes one action starting at `open` (its `{{`); returns whether it ends with a trim marker.
    fn action(&mut self, open: usize) -> Result<bool, LexError> {
        // A comment must sit right against the delimiters.
        if self.src[self.pos..].starts_with("/*") {
            let Some(end) = self.src[self.pos + 2..].find("*/") else {
                return self.err(open, "unclosed comment");
            };
            self.pos += 2 + end + 2;
            return match self.at_right_delim() {
                Some((n, trim)) => {
                    self.pos += n;
                    Ok(trim)
                }
                None => self.err(open, "comment ends before closing delimiter"),
            };
        }
        self.push(Tok::LeftDelim, open);
        let mut depth = 0usize;
        loop {
            if let Some((n, trim)) = self.at_right_delim() {
                if depth > 0 {
                    return self.err(self.pos, "unclosed left paren");
                }
                self.push(Tok::RightDelim, self.pos);
                self.pos += n;
                return Ok(trim);
            }
            let Some(c) = self.src[self.pos..].chars().next() else {
                return self.err(self.pos, "unclosed action");
            };
            let start = self.pos;
            match c {
                ' ' | '\t' | '\r' | '\n' => {
                    while self.pos < self.b.len() && is_space(self.b[self.pos]) {
                        if self.at_right_delim().is_some_and(|(n, _)| n == 4) {
                            break;
                        }
                        self.pos += 1;
                    }
                    self.push(Tok::Space, start);
                }
                '=' => {
                    self.pos += 1;
                    self.push(Tok::Assign, start);
                }
                ':' => {
                    if self.b.get(self.pos + 1) != Some(&b'=') {
                        return self.err(start, "expected :=");
                    }
                    self.pos += 2;
                    self.push(Tok::Declare, start);
                }
                '|' => {
                    self.pos += 1;
                    self.push(Tok::Pipe, start);
                }
                ',' => {
                    self.pos += 1;
                    self.push(Tok::Comma, start);
                }
                '(' => {
                    depth += 1;
                    self.pos += 1;
                    self.push(Tok::LParen, start);
                }
                ')' => {
                    // An unbalanced one is left for the parser to report, as Go does.
                    depth = depth.saturating_sub(1);
                    self.pos += 1;
                    self.push(Tok::RParen, start);
                }
                '"' => self.quoted(start)?,
                '`' => {
                    let Some(end) = self.src[start + 1..].find('`') else {
                        return self.err(start, "unterminated raw quoted string");
                    };
                    let value = self.src[start + 1..start + 1 + end].replace('\r', "");
                    self.pos = start + end + 2;
                    self.push(
                        Tok::Str(self.src[start..self.pos].to_string(), value),
                        start,
                    );
                }
                '\'' => self.char_constant(start)?,
                '$' => {
                    self.pos += 1;
                    self.word();
                    self.check_end_of_word()?;
                    self.push(Tok::Variable(self.src[start..self.pos].to_string()), start);
                }
                '.' => {
                    if self.b.get(self.pos + 1).is_some_and(u8::is_ascii_digit) {
                        self.number(start)?;
                    } else {
                        self.pos += 1;
                        let name_start = self.pos;
                        self.word();
                        if self.pos == name_start {
                            self.push(Tok::Dot, start);
                        } else {
                            self.check_end_of_word()?;
                            self.push(
                                Tok::Field(self.src[name_start..self.pos].to_string()),
                                start,
                            );
                        }
                    }
                }
                '+' | '-' | '0'..='9' => self.number(start)?,
                c if is_alnum(c) => {
                    self.word();
                    self.check_end_of_word()?;
                    let word = &self.src[start..self.pos];
                    let tok = match word {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        w => match KEYWORDS.iter().find(|k| **k == w) {
                            Some(k) => Tok::Keyword(k),
                            None => Tok::Ident(w.to_string()),
                        },
                    };
                    self.push(tok, start);
                }
                c if c.is_ascii_graphic() => {
                    self.pos += 1;
                    self.push(Tok::Punct(c), start);
                }
                c => {
                    return self.err(
                        start,
                        format!("unrecognized character in action: {}", go_char(c)),
                    )
                }
            }
        }
    }

    fn word(&mut self) {
        while let Some(c) = self.src[self.pos..].chars().next() {
            if !is_alnum(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    fn check_end_of_word(&self) -> Result<(), LexError> {
        let Some(c) = self.src[self.pos..].chars().next() else {
            return Ok(());
        };
        if matches!(
            c,
            ' ' | '\t' | '\r' | '\n' | '.' | ',' | '|' | ':' | ')' | '(' | '='
        ) || self.at_right_delim().is_some()
        {
            return Ok(());
        }
        self.err(self.pos, format!("bad character {}", go_char(c)))
    }

    fn number(&mut self, start: usize) -> Result<(), LexError> {
        let b = self.b;
        let mut i = self.pos;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let mut digits: &[u8] = b"0123456789_";
        if b.get(i) == Some(&b'0') {
            match b.get(i + 1) {
                Some(b'x' | b'X') => {
                    i += 2;
                    digits = b"0123456789abcdefABCDEF_";
                }
                Some(b'o' | b'O') => {
                    i += 2;
                    digits = b"01234567_";
                }
                Some(b'b' | b'B') => {
                    i += 2;
                    digits = b"01_";
                }
                _ => {}
            }
        }
        let run = |i: &mut usize, set: &[u8]| {
            while *i < b.len() && set.contains(&b[*i]) {
                *i += 1;
            }
        };
        run(&mut i, digits);
        if b.get(i) == Some(&b'.') {
            i += 1;
            run(&mut i, digits);
        }
        let exp: &[u8] = if digits.len() > 12 { b"pP" } else { b"eEpP" };
        if b.get(i).is_some_and(|c| exp.contains(c)) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            run(&mut i, b"0123456789_");
        }
        if b.get(i) == Some(&b'i') {
            i += 1;
        }
        let end_ok = match self.src[i..].chars().next() {
            None => true,
            Some(c) => !is_alnum(c) && c != '.',
        };
        if !end_ok || i == start {
            let mut j = i;
            while let Some(c) = self.src[j..].chars().next() {
                if !(is_alnum(c) || c == '.') {
                    break;
                }
                j += c.len_utf8();
            }
            return self.err(
                start,
                format!("bad number syntax: \"{}\"", &self.src[start..j]),
            );
        }
        self.pos = i;
        self.push(Tok::Number(self.src[start..i].to_string()), start);
        Ok(())
    }

    fn quoted(&mut self, start: usize) -> Result<(), LexError> {
        let mut i = start + 1;
        loop {
            match self.b.get(i) {
                None | Some(b'\n') => return self.err(start, "unterminated quoted string"),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        let raw = &self.src[start..=i];
        let value = unquote(&raw[1..raw.len() - 1]).ok_or_else(|| LexError {
            pos: start,
            msg: format!("invalid syntax: {raw}"),
        })?;
        self.pos = i + 1;
        self.push(Tok::Str(raw.to_string(), value), start);
        Ok(())
    }

    fn char_constant(&mut self, start: usize) -> Result<(), LexError> {
        let mut i = start + 1;
        loop {
            match self.b.get(i) {
                None | Some(b'\n') => return self.err(start, "unterminated character constant"),
                Some(b'\\') => i += 2,
                Some(b'\'') => break,
                Some(_) => i += 1,
            }
        }
        let raw = &self.src[start..=i];
        let inner = if &raw[1..raw.len() - 1] == "\\'" {
            "'".to_string()
        } else {
            unquote(&raw[1..raw.len() - 1]).unwrap_or_default()
        };
        let mut chars = inner.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return self.err(start, format!("malformed character constant: {raw}"));
        };
        self.pos = i + 1;
        self.push(Tok::Char(raw.to_string(), c as u32), start);
        Ok(())
    }
}

/// `U+0023 '#'`, as Go's `%#U` prints a rune.
pub fn go_char(c: char) -> String {
    format!("U+{:04X} '{c}'", c as u32)
}

/// Go string-literal escapes; `None` on a bad escape.
fn unquote(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next()?;
        let hex = |chars: &mut std::str::Chars, n: usize| -> Option<u32> {
            let digits: String = chars.by_ref().take(n).collect();
            if digits.len() != n {
                return None;
            }
            u32::from_str_radix(&digits, 16).ok()
        };
        match e {
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            'x' => out.push(char::from_u32(hex(&mut chars, 2)?)?),
            'u' => out.push(char::from_u32(hex(&mut chars, 4)?)?),
            'U' => out.push(char::from_u32(hex(&mut chars, 8)?)?),
            '0'..='7' => {
                let rest: String = chars.by_ref().take(2).collect();
                let v = u32::from_str_radix(&format!("{e}{rest}"), 8).ok()?;
                out.push(char::from_u32(v)?);
            }
            _ => return None,
        }
    }
    Some(out)
}
