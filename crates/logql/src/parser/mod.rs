//! The recursive-descent parser: Loki's grammar (`pkg/logql/syntax/syntax.y`) with its
//! operator precedence, its conflict resolutions and its error messages.
//!
//! Loki reports three kinds of failure, in this order of discovery, and so do we:
//! - lexer and syntax errors (`parse error at line 1, col 13: syntax error: unexpected
//!   STRING`), with `, expecting A or B` where Loki's parser state has at most four
//!   choices — we give that list in the states listed by `expect_*` calls;
//! - checks made while a construct is built (a bad regex in a matcher, a `regexp` stage
//!   without named capture, a number filter's literal): at once, without position;
//! - checks Loki makes after the whole query parsed (range aggregation parameters, grouping
//!   and unwrap rules, binary operands, `topk`'s `k`, `label_replace`'s regex, the
//!   "at least one non-empty matcher" rule): the outermost failing node wins, then left
//!   before right. `Node` carries them up the tree for that reason.
//!
//! Not here: stages (`pipeline`), label filters (`label_filter`), printing.

mod label_filter;
mod metric;
mod pipeline;

use crate::ast::{Expr, LogExpr, MetricExpr};
use crate::error::ParseError;
use crate::lexer::{Tok, Token};

/// Deepest nesting of parentheses and sub-expressions accepted; deeper queries get an error,
/// not a stack overflow.
pub const MAX_DEPTH: usize = 256;

/// Loki's message when no matcher selects a specific set of streams.
pub const ERR_NO_SPECIFIC_MATCHER: &str = "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";

type PResult<T> = Result<T, ParseError>;

/// A parsed sub-expression, with a failure Loki reports after parsing still pending.
pub(crate) enum Node {
    Log(LogExpr),
    /// A metric expression or the first pending check that failed in it; whether it is a
    /// literal (Loki treats literal operands apart).
    Sample(Result<MetricExpr, ParseError>, bool),
}

pub(crate) struct Parser {
    toks: Vec<Token>,
    i: usize,
    depth: usize,
    /// Loki's validation (the matcher rule, `sort` grouping) on (`ParseExpr`) or off
    /// (`ParseExprWithoutValidation`).
    pub(crate) validate: bool,
}

/// Parses a whole query; `validate` applies Loki's matcher rule.
pub(crate) fn parse_tokens(toks: Vec<Token>, validate: bool) -> PResult<Expr> {
    let mut p = Parser {
        toks,
        i: 0,
        depth: 0,
        validate,
    };
    let node = p.expr(0)?;
    if p.peek()? != &Tok::Eof {
        return Err(p.unexpected(&[]));
    }
    match node {
        Node::Log(l) => {
            if validate {
                check_matchers(&l)?;
            }
            Ok(Expr::Log(l))
        }
        Node::Sample(res, _) => res.map(Expr::Metric),
    }
}

/// Loki's rule: some matcher must not match the empty string.
pub(crate) fn check_matchers(l: &LogExpr) -> PResult<()> {
    if l.matchers.iter().any(|m| !m.matches_empty()) {
        Ok(())
    } else {
        Err(ParseError::semantic(ERR_NO_SPECIFIC_MATCHER))
    }
}

impl Parser {
    /// The current token; the lexer's error when the query breaks here.
    pub(crate) fn peek(&self) -> PResult<&Tok> {
        let t = &self.toks[self.i.min(self.toks.len() - 1)];
        match &t.tok {
            Tok::Error(e) => Err(e.clone()),
            tok => Ok(tok),
        }
    }

    /// The token after the current one (`Eof` past the end).
    pub(crate) fn peek2(&self) -> PResult<&Tok> {
        if matches!(self.toks[self.i.min(self.toks.len() - 1)].tok, Tok::Eof) {
            return Ok(&Tok::Eof);
        }
        let t = &self.toks[(self.i + 1).min(self.toks.len() - 1)];
        match &t.tok {
            Tok::Error(e) => Err(e.clone()),
            tok => Ok(tok),
        }
    }

    pub(crate) fn advance(&mut self) -> Tok {
        let t = self.toks[self.i.min(self.toks.len() - 1)].tok.clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    pub(crate) fn at_kw(&self, kw: &str) -> bool {
        is_kw(&self.toks[self.i.min(self.toks.len() - 1)].tok, kw)
    }

    /// The syntax error at the current token (or the lexer's error there).
    pub(crate) fn unexpected(&self, expecting: &[&str]) -> ParseError {
        let t = &self.toks[self.i.min(self.toks.len() - 1)];
        if let Tok::Error(e) = &t.tok {
            return e.clone();
        }
        let mut msg = format!("syntax error: unexpected {}", t.tok.name());
        if !expecting.is_empty() {
            msg.push_str(", expecting ");
            msg.push_str(&expecting.join(" or "));
        }
        ParseError::at(msg, t.line, t.col)
    }

    /// Consumes keyword/punctuation `kw` or fails with Loki's list of expected tokens.
    pub(crate) fn expect_kw(&mut self, kw: &str, expecting: &[&str]) -> PResult<()> {
        if is_kw(self.peek()?, kw) {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected(expecting))
        }
    }

    pub(crate) fn expect_ident(&mut self, expecting: &[&str]) -> PResult<String> {
        match self.peek()? {
            Tok::Ident(s) => {
                let s = s.clone();
                self.advance();
                Ok(s)
            }
            _ => Err(self.unexpected(expecting)),
        }
    }

    pub(crate) fn expect_str(&mut self, expecting: &[&str]) -> PResult<String> {
        match self.peek()? {
            Tok::Str(s) => {
                let s = s.clone();
                self.advance();
                Ok(s)
            }
            _ => Err(self.unexpected(expecting)),
        }
    }

    /// Bounds recursion; every nesting construct calls it on the way in.
    pub(crate) fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let t = &self.toks[self.i.min(self.toks.len() - 1)];
            return Err(ParseError::at(
                format!("expression nests deeper than {MAX_DEPTH} levels"),
                t.line,
                t.col,
            ));
        }
        Ok(())
    }

    pub(crate) fn leave(&mut self) {
        self.depth -= 1;
    }

    /// `(a, b)` or `()` after `by`, `on`, `group_left`, …: label names.
    pub(crate) fn label_list(&mut self) -> PResult<Vec<String>> {
        self.expect_kw("(", &["("])?;
        let mut labels = Vec::new();
        if self.at_kw(")") {
            self.advance();
            return Ok(labels);
        }
        labels.push(self.expect_ident(&["IDENTIFIER", ")"])?);
        loop {
            match self.peek()? {
                Tok::Kw(",") => {
                    self.advance();
                    labels.push(self.expect_ident(&["IDENTIFIER"])?);
                }
                Tok::Kw(")") => {
                    self.advance();
                    return Ok(labels);
                }
                _ => return Err(self.unexpected(&[",", ")"])),
            }
        }
    }
}

/// Whether `tok` is the keyword or punctuation `kw`.
pub(crate) fn is_kw(tok: &Tok, kw: &str) -> bool {
    matches!(tok, Tok::Kw(k) if *k == kw)
}
