//! A PromQL lexer that splits a query into tokens exactly where Prometheus' lexer does and
//! fails with its messages, so errors can name the same token and byte offsets.
//!
//! It only classifies and positions tokens; values (numbers, strings) are decoded by the
//! grammar walk in [`super::syntax`].

use super::quote::go_unicode;

/// Token kinds, named after Prometheus' item types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    Eof,
    Comma,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Colon,
    Eql,
    Number,
    Duration,
    Str,
    Ident,
    MetricIdent,
    // Operators.
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eqlc,
    Neq,
    Lss,
    Lte,
    Gtr,
    Gte,
    TrimUpper,
    TrimLower,
    EqlRegex,
    NeqRegex,
    At,
    Land,
    Lor,
    Lunless,
    Atan2,
    /// An aggregation operator (`sum`, `topk`, …).
    Aggr,
    // Keywords.
    Bool,
    By,
    GroupLeft,
    GroupRight,
    Fill,
    FillLeft,
    FillRight,
    Ignoring,
    Offset,
    Smoothed,
    Anchored,
    On,
    Without,
    // Preprocessors.
    Start,
    End,
    Step,
    Range,
    MaxOf,
    MinOf,
}

impl Tok {
    pub fn is_operator(self) -> bool {
        use Tok::*;
        matches!(
            self,
            Add | Sub
                | Mul
                | Div
                | Mod
                | Pow
                | Eqlc
                | Neq
                | Lss
                | Lte
                | Gtr
                | Gte
                | TrimUpper
                | TrimLower
                | EqlRegex
                | NeqRegex
                | At
                | Land
                | Lor
                | Lunless
                | Atan2
        )
    }

    fn is_keyword(self) -> bool {
        use Tok::*;
        matches!(
            self,
            Bool | By
                | GroupLeft
                | GroupRight
                | Fill
                | FillLeft
                | FillRight
                | Ignoring
                | Offset
                | Smoothed
                | Anchored
                | On
                | Without
        )
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            Tok::Eqlc | Tok::Neq | Tok::Lte | Tok::Lss | Tok::Gte | Tok::Gtr
        )
    }

    pub fn is_set_operator(self) -> bool {
        matches!(self, Tok::Land | Tok::Lor | Tok::Lunless)
    }
}

/// One token: its kind and byte range; `text` is the input slice.
#[derive(Debug, Clone, Copy)]
pub struct Token<'a> {
    pub tok: Tok,
    pub start: usize,
    pub text: &'a str,
}

impl Token<'_> {
    pub fn end(&self) -> usize {
        self.start + self.text.len()
    }

    /// How Prometheus names the token in "unexpected …" messages.
    pub fn desc(&self) -> String {
        let t = self.tok;
        match t {
            Tok::Eof => "end of input".to_string(),
            Tok::Ident => format!("identifier {}", go_quote(self.text)),
            Tok::MetricIdent => format!("metric identifier {}", go_quote(self.text)),
            Tok::Number => format!("number {}", short_quote(self.text)),
            Tok::Duration => format!("duration {}", short_quote(self.text)),
            Tok::Str => format!("string {}", short_quote(self.text)),
            _ if t.is_keyword() => format!("<{}>", self.text),
            _ if t.is_operator() => format!("<op:{}>", self.text),
            Tok::Aggr => format!("<aggr:{}>", self.text),
            _ => short_quote(self.text),
        }
    }
}

/// Go's `%q` of a string.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push_str(&go_unicode(c, '"')),
        }
    }
    out.push('"');
    out
}

/// Go's `%q`, but `%.10q...` for text longer than ten bytes, as Prometheus' `Item.String`.
fn short_quote(s: &str) -> String {
    if s.len() > 10 {
        let head: String = s.chars().take(10).collect();
        format!("{}...", go_quote(&head))
    } else {
        go_quote(s)
    }
}

/// A lexer failure: the message and the offset of the token being read.
#[derive(Debug, Clone)]
pub struct LexError {
    pub message: String,
    pub start: usize,
}

const KEYWORDS: &[(&str, Tok)] = &[
    ("and", Tok::Land),
    ("or", Tok::Lor),
    ("unless", Tok::Lunless),
    ("atan2", Tok::Atan2),
    ("sum", Tok::Aggr),
    ("avg", Tok::Aggr),
    ("count", Tok::Aggr),
    ("min", Tok::Aggr),
    ("max", Tok::Aggr),
    ("group", Tok::Aggr),
    ("stddev", Tok::Aggr),
    ("stdvar", Tok::Aggr),
    ("topk", Tok::Aggr),
    ("bottomk", Tok::Aggr),
    ("count_values", Tok::Aggr),
    ("quantile", Tok::Aggr),
    ("limitk", Tok::Aggr),
    ("limit_ratio", Tok::Aggr),
    ("offset", Tok::Offset),
    ("smoothed", Tok::Smoothed),
    ("anchored", Tok::Anchored),
    ("by", Tok::By),
    ("without", Tok::Without),
    ("on", Tok::On),
    ("ignoring", Tok::Ignoring),
    ("group_left", Tok::GroupLeft),
    ("group_right", Tok::GroupRight),
    ("fill", Tok::Fill),
    ("fill_left", Tok::FillLeft),
    ("fill_right", Tok::FillRight),
    ("bool", Tok::Bool),
    ("start", Tok::Start),
    ("end", Tok::End),
    ("step", Tok::Step),
    ("range", Tok::Range),
    ("max_of", Tok::MaxOf),
    ("min_of", Tok::MinOf),
    ("inf", Tok::Number),
    ("nan", Tok::Number),
];

const DURATION_KEYWORDS: &[(&str, Tok)] = &[
    ("step", Tok::Step),
    ("range", Tok::Range),
    ("max_of", Tok::MaxOf),
    ("min_of", Tok::MinOf),
];

mod scan;
pub use scan::lex;
