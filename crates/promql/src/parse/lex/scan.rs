//! The lexer's state machine: Prometheus' `lexStatements`, `lexInsideBraces`,
//! `lexDurationExpr`, number, duration, string and escape scanning.

use super::{go_quote, LexError, Tok, Token, DURATION_KEYWORDS, KEYWORDS};
use crate::parse::quote::go_quote_rune;

#[derive(Clone, Copy, PartialEq)]
enum State {
    Statements,
    InsideBraces,
    DurationExpr,
}

/// Splits `input` into tokens, ending with `Eof`, or the tokens before the first lexer error
/// and that error.
pub fn lex(input: &str) -> (Vec<Token<'_>>, Option<LexError>) {
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        width: 0,
        paren_depth: 0,
        brace_open: false,
        bracket_open: false,
        got_colon: false,
        got_duration: false,
        state: State::Statements,
        tokens: Vec::new(),
    };
    match l.run() {
        Ok(()) => (l.tokens, None),
        Err(message) => {
            let start = l.start;
            (l.tokens, Some(LexError { message, start }))
        }
    }
}

const EOF: Option<char> = None;

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    width: usize,
    paren_depth: i64,
    brace_open: bool,
    bracket_open: bool,
    got_colon: bool,
    got_duration: bool,
    state: State,
    tokens: Vec<Token<'a>>,
}

fn is_space(c: Option<char>) -> bool {
    matches!(c, Some(' ' | '\t' | '\n' | '\r'))
}

fn is_alpha(c: Option<char>) -> bool {
    matches!(c, Some(c) if c == '_' || c.is_ascii_alphabetic())
}

fn is_digit(c: Option<char>) -> bool {
    matches!(c, Some(c) if c.is_ascii_digit())
}

fn is_alnum(c: Option<char>) -> bool {
    is_alpha(c) || is_digit(c)
}

fn in_set(c: Option<char>, set: &str) -> bool {
    matches!(c, Some(c) if set.contains(c))
}

impl<'a> Lexer<'a> {
    fn next(&mut self) -> Option<char> {
        match self.input[self.pos..].chars().next() {
            None => {
                self.width = 0;
                None
            }
            Some(c) => {
                self.width = c.len_utf8();
                self.pos += self.width;
                Some(c)
            }
        }
    }

    fn peek(&mut self) -> Option<char> {
        let c = self.next();
        self.backup();
        c
    }

    fn backup(&mut self) {
        self.pos -= self.width;
    }

    fn emit(&mut self, tok: Tok) {
        self.tokens.push(Token {
            tok,
            start: self.start,
            text: &self.input[self.start..self.pos],
        });
        self.start = self.pos;
    }

    fn accept(&mut self, valid: &str) -> bool {
        let c = self.next();
        if in_set(c, valid) {
            return true;
        }
        self.backup();
        false
    }

    fn accept_run(&mut self, valid: &str) {
        while in_set(self.next(), valid) {}
        self.backup();
    }

    fn skip_spaces(&mut self) {
        while is_space(self.peek()) {
            self.next();
        }
        self.start = self.pos;
    }

    fn run(&mut self) -> Result<(), String> {
        loop {
            if self.input[self.pos..].starts_with('#') && self.state != State::DurationExpr {
                self.line_comment();
                continue;
            }
            let done = match self.state {
                State::Statements => self.statements()?,
                State::InsideBraces => self.inside_braces()?,
                State::DurationExpr => self.duration_expr()?,
            };
            if done {
                return Ok(());
            }
        }
    }

    fn line_comment(&mut self) {
        self.pos += 1;
        loop {
            let c = self.next();
            if matches!(c, None | Some('\r' | '\n')) {
                break;
            }
        }
        self.backup();
        // Comments are not tokens for the grammar.
        self.start = self.pos;
    }

    fn statements(&mut self) -> Result<bool, String> {
        let r = self.next();
        match r {
            None => {
                if self.paren_depth != 0 {
                    return Err("unclosed left parenthesis".into());
                }
                if self.bracket_open {
                    return Err("unclosed left bracket".into());
                }
                self.emit(Tok::Eof);
                return Ok(true);
            }
            Some(',') => self.emit(Tok::Comma),
            c if is_space(c) => self.skip_spaces(),
            Some('*') => self.emit(Tok::Mul),
            Some('/') => self.emit(Tok::Div),
            Some('%') => self.emit(Tok::Mod),
            Some('+') => self.emit(Tok::Add),
            Some('-') => self.emit(Tok::Sub),
            Some('^') => self.emit(Tok::Pow),
            Some('=') => match self.peek() {
                Some('=') => {
                    self.next();
                    self.emit(Tok::Eqlc);
                }
                Some('~') => return Err("unexpected character after '=': '~'".into()),
                _ => self.emit(Tok::Eql),
            },
            Some('!') => {
                let t = self.next();
                if t != Some('=') {
                    return Err(format!(
                        "unexpected character after '!': {}",
                        go_quote_rune(t)
                    ));
                }
                self.emit(Tok::Neq);
            }
            Some(c @ ('<' | '>')) => {
                let (eq, trim, plain) = if c == '<' {
                    (Tok::Lte, Tok::TrimUpper, Tok::Lss)
                } else {
                    (Tok::Gte, Tok::TrimLower, Tok::Gtr)
                };
                match self.peek() {
                    Some('=') => {
                        self.next();
                        self.emit(eq);
                    }
                    Some('/') => {
                        self.next();
                        self.emit(trim);
                    }
                    _ => self.emit(plain),
                }
            }
            c if is_digit(c) || (c == Some('.') && is_digit(self.peek())) => {
                self.backup();
                self.number_or_duration()?;
            }
            Some(q @ ('"' | '\'')) => self.string(q)?,
            Some('`') => self.raw_string()?,
            c if is_alpha(c) || c == Some(':') => {
                if !self.bracket_open {
                    self.backup();
                    self.keyword_or_identifier();
                    return Ok(false);
                }
                if c == Some(':') {
                    if self.got_colon {
                        return Err("unexpected colon ':'".into());
                    }
                    self.emit(Tok::Colon);
                    self.got_colon = true;
                    return Ok(false);
                }
                if self.is_duration_keyword_start(c) && self.scan_duration_keyword() {
                    return Ok(false);
                }
                return Err(format!(
                    "unexpected character: {}, expected ':'",
                    go_quote_rune(c)
                ));
            }
            Some('(') => {
                self.emit(Tok::LParen);
                self.paren_depth += 1;
            }
            Some(')') => {
                self.emit(Tok::RParen);
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    self.tokens.pop();
                    return Err("unexpected right parenthesis ')'".into());
                }
            }
            Some('{') => {
                self.emit(Tok::LBrace);
                self.brace_open = true;
                self.state = State::InsideBraces;
            }
            Some('[') => {
                if self.bracket_open {
                    return Err("unexpected left bracket '['".into());
                }
                self.got_colon = false;
                self.emit(Tok::LBracket);
                if is_space(self.peek()) {
                    self.skip_spaces();
                }
                self.bracket_open = true;
                self.state = State::DurationExpr;
            }
            Some(']') => {
                if !self.bracket_open {
                    return Err("unexpected right bracket ']'".into());
                }
                self.emit(Tok::RBracket);
                self.bracket_open = false;
            }
            Some('@') => self.emit(Tok::At),
            c => return Err(format!("unexpected character: {}", go_quote_rune(c))),
        }
        Ok(false)
    }

    fn inside_braces(&mut self) -> Result<bool, String> {
        let r = self.next();
        match r {
            None => return Err("unexpected end of input inside braces".into()),
            c if is_space(c) => self.skip_spaces(),
            c if is_alpha(c) => {
                self.backup();
                while is_alnum(self.next()) {}
                self.backup();
                self.emit(Tok::Ident);
            }
            Some(',') => self.emit(Tok::Comma),
            Some(q @ ('"' | '\'')) => self.string(q)?,
            Some('`') => self.raw_string()?,
            Some('=') => {
                if self.next() == Some('~') {
                    self.emit(Tok::EqlRegex);
                } else {
                    self.backup();
                    self.emit(Tok::Eql);
                }
            }
            Some('!') => match self.next() {
                Some('~') => self.emit(Tok::NeqRegex),
                Some('=') => self.emit(Tok::Neq),
                nr => {
                    return Err(format!(
                        "unexpected character after '!' inside braces: {}",
                        go_quote_rune(nr)
                    ))
                }
            },
            Some('{') => return Err("unexpected left brace '{'".into()),
            Some('}') => {
                self.emit(Tok::RBrace);
                self.brace_open = false;
                self.state = State::Statements;
            }
            c => {
                return Err(format!(
                    "unexpected character inside braces: {}",
                    go_quote_rune(c)
                ))
            }
        }
        Ok(false)
    }

    fn duration_expr(&mut self) -> Result<bool, String> {
        let r = self.next();
        match r {
            None => return Err("unexpected end of input in duration expression".into()),
            Some(']') => {
                self.emit(Tok::RBracket);
                self.bracket_open = false;
                self.got_colon = false;
                self.state = State::Statements;
            }
            Some(':') => {
                self.emit(Tok::Colon);
                if !self.got_duration {
                    self.tokens.pop();
                    return Err("unexpected colon before duration in duration expression".into());
                }
                if self.got_colon {
                    self.tokens.pop();
                    return Err("unexpected repeated colon in duration expression".into());
                }
                self.got_colon = true;
            }
            Some('(') => {
                self.emit(Tok::LParen);
                self.paren_depth += 1;
            }
            Some(')') => {
                self.emit(Tok::RParen);
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    self.tokens.pop();
                    return Err("unexpected right parenthesis ')'".into());
                }
            }
            c if is_space(c) => self.skip_spaces(),
            Some('+') => self.emit(Tok::Add),
            Some('-') => self.emit(Tok::Sub),
            Some('*') => self.emit(Tok::Mul),
            Some('/') => self.emit(Tok::Div),
            Some('%') => self.emit(Tok::Mod),
            Some('^') => self.emit(Tok::Pow),
            Some(',') => self.emit(Tok::Comma),
            c if self.is_duration_keyword_start(c) => {
                if !self.scan_duration_keyword() {
                    return Err(format!(
                        "unexpected character in duration expression: {}",
                        go_quote_rune(c)
                    ));
                }
            }
            c if is_digit(c) || (c == Some('.') && is_digit(self.peek())) => {
                self.backup();
                self.got_duration = true;
                self.number_or_duration()?;
                self.state = State::Statements;
            }
            c => {
                return Err(format!(
                    "unexpected character in duration expression: {}",
                    go_quote_rune(c)
                ))
            }
        }
        Ok(false)
    }

    fn is_duration_keyword_start(&self, c: Option<char>) -> bool {
        matches!(c, Some(c) if DURATION_KEYWORDS.iter().any(|(k, _)| k.starts_with(c.to_ascii_lowercase())))
    }

    fn scan_duration_keyword(&mut self) -> bool {
        while is_alpha(self.next()) {}
        self.backup();
        let word = self.input[self.start..self.pos].to_ascii_lowercase();
        match DURATION_KEYWORDS.iter().find(|(k, _)| *k == word) {
            Some((_, tok)) => {
                self.emit(*tok);
                true
            }
            None => false,
        }
    }

    fn keyword_or_identifier(&mut self) {
        loop {
            let c = self.next();
            if !(is_alnum(c) || c == Some(':')) {
                break;
            }
        }
        self.backup();
        let word = &self.input[self.start..self.pos];
        let lower = word.to_ascii_lowercase();
        let tok = match KEYWORDS.iter().find(|(k, _)| *k == lower) {
            Some((_, kw @ (Tok::Fill | Tok::FillLeft | Tok::FillRight))) => {
                if self.input[self.pos..]
                    .trim_start_matches([' ', '\t', '\n', '\r'])
                    .starts_with('(')
                {
                    *kw
                } else {
                    Tok::Ident
                }
            }
            Some((_, kw)) => *kw,
            None if word.contains(':') => Tok::MetricIdent,
            None => Tok::Ident,
        };
        self.emit(tok);
    }

    fn number_or_duration(&mut self) -> Result<(), String> {
        if self.scan_number() {
            self.emit(Tok::Number);
            return Ok(());
        }
        if self.accept_remaining_duration() {
            self.backup();
            self.emit(Tok::Duration);
            return Ok(());
        }
        Err(format!(
            "bad number or duration syntax: {}",
            go_quote(&self.input[self.start..self.pos])
        ))
    }

    fn accept_remaining_duration(&mut self) -> bool {
        if !self.accept("smhdwy") {
            return false;
        }
        self.accept("s");
        while self.accept("0123456789") {
            while self.accept("0123456789") {}
            if !self.accept("smhdw") {
                return false;
            }
            self.accept("s");
        }
        !is_alnum(self.next())
    }

    /// Prometheus' `scanNumber`: consumes what may be a number; whether it really is one is
    /// decided when its value is parsed.
    fn scan_number(&mut self) -> bool {
        let initial = self.pos;
        let mut digits = "0123456789";
        if self.accept("0") && self.accept("xX") {
            self.accept("_");
            digits = "0123456789abcdefABCDEF";
        }
        self.accept(".");
        self.accept(digits);
        let mut dot = false;
        let mut exp = false;
        loop {
            let c = self.peek();
            if !(in_set(c, digits) || in_set(c, "._eE")) {
                break;
            }
            if c == Some('.') && dot {
                self.accept(".");
                return false;
            }
            if in_set(c, "eE") && exp {
                self.accept("eE");
                return false;
            }
            if self.accept(".") {
                dot = true;
                if self.accept("_.") {
                    return false;
                }
                if digits.len() > 10 {
                    return false;
                }
                continue;
            }
            if self.accept("eE") {
                exp = true;
                self.accept("+-");
                if self.accept("._eE") || self.peek() == EOF {
                    return false;
                }
                continue;
            }
            if self.accept("_") {
                if self.accept("._eE") || self.peek() == EOF {
                    return false;
                }
                continue;
            }
            self.accept_run(digits);
        }
        if self.pos == initial {
            return false;
        }
        !is_alnum(self.peek())
    }

    fn string(&mut self, quote: char) -> Result<(), String> {
        loop {
            match self.next() {
                Some('\\') => self.escape(quote)?,
                None | Some('\n') => return Err("unterminated quoted string".into()),
                Some(c) if c == quote => break,
                Some(_) => {}
            }
        }
        self.emit(Tok::Str);
        Ok(())
    }

    fn escape(&mut self, quote: char) -> Result<(), String> {
        let mut ch = self.next();
        let (mut n, base, max): (u32, u32, u32) = match ch {
            Some('a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\') => return Ok(()),
            Some(c) if c == quote => return Ok(()),
            Some('0'..='7') => (3, 8, 255),
            Some('x') => {
                ch = self.next();
                (2, 16, 255)
            }
            Some('u') => {
                ch = self.next();
                (4, 16, 0x10FFFF)
            }
            Some('U') => {
                ch = self.next();
                (8, 16, 0x10FFFF)
            }
            None => return Err("escape sequence not terminated".into()),
            Some(c) => return Err(format!("unknown escape sequence {}", go_unicode_sharp(c))),
        };
        let mut x: u32 = 0;
        while n > 0 {
            let d = ch.and_then(|c| c.to_digit(16)).unwrap_or(16);
            if d >= base {
                return Err(match ch {
                    None => "escape sequence not terminated".into(),
                    Some(c) => format!(
                        "illegal character {} in escape sequence",
                        go_unicode_sharp(c)
                    ),
                });
            }
            x = x.wrapping_mul(base).wrapping_add(d);
            n -= 1;
            if n > 0 {
                ch = self.next();
            }
        }
        if x > max || (0xD800..0xE000).contains(&x) {
            return Err("escape sequence is an invalid Unicode code point".into());
        }
        Ok(())
    }

    fn raw_string(&mut self) -> Result<(), String> {
        loop {
            match self.next() {
                None => return Err("unterminated raw string".into()),
                Some('`') => break,
                Some(_) => {}
            }
        }
        self.emit(Tok::Str);
        Ok(())
    }
}

/// Go's `%#U`: `U+0063 'c'`.
fn go_unicode_sharp(c: char) -> String {
    format!("U+{:04X} '{c}'", c as u32)
}
