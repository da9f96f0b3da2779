//! Follows Prometheus' PromQL grammar over the tokens of [`super::lex`], building the light
//! tree of [`super::ast`] and recording the errors Prometheus' grammar actions raise, in the
//! order it raises them. A syntax error is worded as Prometheus' "unexpected …" messages: the
//! innermost construct that has an error rule upstream (aggregation, grouping, label matching,
//! offset, `@`, range/subquery brackets) names the context.

use super::ast::{Card, Kind, Node};
use super::lex::{LexError, Tok, Token};
use super::quote::unquote;
use super::values::{go_number, prometheus_duration};

/// Deepest nesting of expressions the walk follows; deeper queries are refused rather than
/// risking the stack (the walk, the crate and the evaluator all recurse).
pub const MAX_NESTING: usize = 128;

/// Most levels the tree of a query may have (chains like `a or b or …` add levels without
/// nesting the walk).
pub const MAX_HEIGHT: usize = 1000;

/// A recorded error: message and byte range.
#[derive(Debug, Clone)]
pub struct Problem {
    pub message: String,
    pub start: usize,
    pub end: usize,
}

/// Parsing stopped at a syntax or lexer error (already recorded).
struct Abort;

type R<T> = Result<T, Abort>;

/// Constructs with their own error rule upstream, innermost last.
#[derive(Clone, Copy)]
enum Ctx {
    Aggregation,
    Grouping(&'static str),
    LabelMatching(&'static str),
    Offset,
    At,
    Brackets(&'static str, &'static str),
}

/// What the walk learnt about a query.
pub struct Outcome {
    pub root: Option<Node>,
    pub problems: Vec<Problem>,
    /// A syntax feature the evaluator does not support yet, if the query uses one.
    pub unsupported: Option<&'static str>,
}

pub fn walk(input: &str, tokens: Vec<Token<'_>>, lex_error: Option<LexError>) -> Outcome {
    let mut p = Walker {
        input,
        tokens,
        lex_error,
        i: 0,
        ctx: Vec::new(),
        problems: Vec::new(),
        unsupported: None,
        last_end: 0,
        depth: 0,
    };
    let root = p.start().ok();
    Outcome {
        root,
        problems: p.problems,
        unsupported: p.unsupported,
    }
}

struct Walker<'a> {
    input: &'a str,
    tokens: Vec<Token<'a>>,
    lex_error: Option<LexError>,
    i: usize,
    ctx: Vec<Ctx>,
    problems: Vec<Problem>,
    unsupported: Option<&'static str>,
    /// End of the last token consumed.
    last_end: usize,
    depth: usize,
}

/// A duration expression inside brackets or after `offset`: a literal keeps its value and
/// range; anything else is an expression, constant (`Some`) or not (`step()`, `range()`).
#[derive(Clone, Copy)]
enum Dur {
    Literal { val: f64, start: usize, end: usize },
    Expr { val: Option<f64> },
}

impl Dur {
    fn value(self) -> Option<f64> {
        match self {
            Dur::Literal { val, .. } => Some(val),
            Dur::Expr { val } => val,
        }
    }
}

fn out_of_range(seconds: f64) -> bool {
    !(-9_223_372_036.854_775..=9_223_372_036.854_775).contains(&seconds)
}

/// Binary operator precedence (higher binds tighter) and right-associativity.
fn binary_precedence(t: Tok) -> Option<(u8, bool)> {
    use Tok::*;
    Some(match t {
        Lor => (1, false),
        Land | Lunless => (2, false),
        Eqlc | Neq | Lss | Lte | Gtr | Gte | TrimUpper | TrimLower => (3, false),
        Add | Sub => (4, false),
        Mul | Div | Mod | Atan2 => (5, false),
        Pow => (6, true),
        _ => return None,
    })
}

const MUL_PRECEDENCE: u8 = 5;

/// Tokens that may name a metric in an expression.
fn is_metric_identifier(t: Tok) -> bool {
    use Tok::*;
    matches!(
        t,
        Ident
            | MetricIdent
            | Aggr
            | By
            | Fill
            | FillLeft
            | FillRight
            | Land
            | Lor
            | Lunless
            | Offset
            | Without
            | Start
            | End
            | Step
            | Range
            | Anchored
            | Smoothed
            | MaxOf
            | MinOf
    )
}

/// Tokens that may be a label name in `by (…)` and friends.
fn is_grouping_label(t: Tok) -> bool {
    use Tok::*;
    is_metric_identifier(t) || matches!(t, Bool | GroupLeft | GroupRight | Ignoring | On | Atan2)
}

impl<'a> Walker<'a> {
    fn peek(&self) -> Token<'a> {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> Token<'a> {
        match self.tokens.get(self.i + n) {
            Some(t) => *t,
            None => Token {
                // Past the last token there is only the lexer error (or the end).
                tok: Tok::Eof,
                start: self.input.len(),
                text: "",
            },
        }
    }

    fn at_lex_error(&self) -> bool {
        self.i >= self.tokens.len() && self.lex_error.is_some()
    }

    fn advance(&mut self) -> Token<'a> {
        let t = self.peek();
        if self.i < self.tokens.len() {
            self.i += 1;
            self.last_end = t.end();
        }
        t
    }

    fn problem(&mut self, message: impl Into<String>, start: usize, end: usize) {
        self.problems.push(Problem {
            message: message.into(),
            start,
            end,
        });
    }

    /// Records the syntax error at the current token (or the pending lexer error) and stops.
    fn unexpected<T>(&mut self) -> R<T> {
        if self.at_lex_error() {
            return self.lex_failure();
        }
        let t = self.peek();
        let mut msg = format!("unexpected {}", t.desc());
        let (context, expected) = match self.ctx.last() {
            None => ("", ""),
            Some(Ctx::Aggregation) => ("aggregation", ""),
            Some(Ctx::Grouping(e)) => ("grouping opts", *e),
            Some(Ctx::LabelMatching(e)) => ("label matching", *e),
            Some(Ctx::Offset) => ("offset", "number, duration, step(), or range()"),
            Some(Ctx::At) => ("@", "timestamp"),
            Some(Ctx::Brackets(c, e)) => (*c, *e),
        };
        if !context.is_empty() {
            msg.push_str(" in ");
            msg.push_str(context);
        }
        if !expected.is_empty() {
            msg.push_str(", expected ");
            msg.push_str(expected);
        }
        self.problem(msg, t.start, t.end());
        Err(Abort)
    }

    fn lex_failure<T>(&mut self) -> R<T> {
        if let Some(e) = self.lex_error.take() {
            let end = self.input.len();
            self.problem(e.message, e.start, end);
        }
        Err(Abort)
    }

    fn expect(&mut self, tok: Tok) -> R<Token<'a>> {
        if self.peek().tok == tok && !self.at_lex_error() {
            Ok(self.advance())
        } else {
            self.unexpected()
        }
    }

    fn set_context(&mut self, ctx: Ctx) {
        if let Some(last) = self.ctx.last_mut() {
            *last = ctx;
        }
    }

    fn start(&mut self) -> R<Node> {
        if self.peek().tok == Tok::Eof && !self.at_lex_error() {
            self.problem("no expression found in input", 0, 0);
            return Err(Abort);
        }
        let e = self.expr(0)?;
        if self.at_lex_error() {
            return self.lex_failure();
        }
        if self.peek().tok != Tok::Eof {
            return self.unexpected();
        }
        Ok(e)
    }

    /// Refuses to recurse deeper than [`MAX_NESTING`].
    fn nest(&mut self) -> R<()> {
        if self.depth <= MAX_NESTING {
            return Ok(());
        }
        self.too_deep(MAX_NESTING)
    }

    /// Refuses trees higher than [`MAX_HEIGHT`].
    fn check_height(&mut self, node: &Node) -> R<()> {
        if node.height <= MAX_HEIGHT {
            return Ok(());
        }
        self.too_deep(MAX_HEIGHT)
    }

    fn too_deep<T>(&mut self, limit: usize) -> R<T> {
        let t = self.peek();
        self.problem(
            format!("query is nested too deeply (more than {limit} levels)"),
            t.start,
            t.end(),
        );
        Err(Abort)
    }

    fn expr(&mut self, min_precedence: u8) -> R<Node> {
        self.depth += 1;
        let result = self.expr_inner(min_precedence);
        self.depth -= 1;
        result
    }

    fn expr_inner(&mut self, min_precedence: u8) -> R<Node> {
        self.nest()?;
        let mut lhs = self.unary()?;
        self.check_height(&lhs)?;
        loop {
            let op = self.peek();
            if self.at_lex_error() {
                return Ok(lhs);
            }
            let Some((prec, right)) = binary_precedence(op.tok) else {
                return Ok(lhs);
            };
            if prec < min_precedence {
                return Ok(lhs);
            }
            self.advance();
            let mut kind = self.binary_modifiers(op)?;
            let rhs = self.expr(if right { prec } else { prec + 1 })?;
            let (start, end) = (lhs.start, rhs.end);
            let height = 1 + lhs.height.max(rhs.height);
            if let Kind::Binary { lhs: l, rhs: r, .. } = &mut kind {
                **l = lhs;
                **r = rhs;
            }
            lhs = Node {
                kind,
                start,
                end,
                height,
            };
            self.check_height(&lhs)?;
        }
    }

    /// `bool`, `on`/`ignoring (…)`, `group_left`/`group_right [(…)]`, `fill…(n)`.
    fn binary_modifiers(&mut self, op: Token<'a>) -> R<Kind> {
        let placeholder = || {
            Box::new(Node {
                kind: Kind::Str(String::new()),
                start: 0,
                end: 0,
                height: 1,
            })
        };
        let mut return_bool = false;
        let mut matching_set = false;
        let mut on = false;
        let mut matching = Vec::new();
        let mut include = Vec::new();
        let mut card = Card::OneToOne;
        let mut fill = false;
        let (mut fill_lhs, mut fill_rhs) = (None, None);
        if self.peek().tok == Tok::Bool {
            self.advance();
            return_bool = true;
        }
        if matches!(self.peek().tok, Tok::On | Tok::Ignoring) {
            on = self.advance().tok == Tok::On;
            matching_set = true;
            matching = self.grouping_labels()?;
            if matches!(self.peek().tok, Tok::GroupLeft | Tok::GroupRight) {
                card = if self.advance().tok == Tok::GroupLeft {
                    Card::ManyToOne
                } else {
                    Card::OneToMany
                };
                if self.peek().tok == Tok::LParen {
                    include = self.grouping_labels()?;
                }
            }
        }
        while matches!(self.peek().tok, Tok::Fill | Tok::FillLeft | Tok::FillRight) {
            let side = self.advance().tok;
            fill = true;
            self.expect(Tok::LParen)?;
            let mut sign = 1.0;
            if matches!(self.peek().tok, Tok::Add | Tok::Sub) && self.advance().tok == Tok::Sub {
                sign = -1.0;
            }
            if !matches!(self.peek().tok, Tok::Number | Tok::Duration) {
                return self.unexpected();
            }
            let lit = self.advance();
            let value = sign * self.literal_value(lit);
            if side != Tok::FillRight {
                fill_lhs = Some(value);
            }
            if side != Tok::FillLeft {
                fill_rhs = Some(value);
            }
            self.expect(Tok::RParen)?;
        }
        Ok(Kind::Binary {
            op: op.tok,
            op_text: op.text.to_ascii_lowercase(),
            lhs: placeholder(),
            rhs: placeholder(),
            return_bool,
            matching_set,
            on,
            matching,
            include,
            card,
            fill,
            fill_lhs,
            fill_rhs,
        })
    }

    fn unary(&mut self) -> R<Node> {
        let t = self.peek();
        if matches!(t.tok, Tok::Add | Tok::Sub) && !self.at_lex_error() {
            self.advance();
            let inner = self.expr(MUL_PRECEDENCE + 1)?;
            let end = inner.end;
            return Ok(match inner.kind {
                Kind::Number(v) => Node {
                    kind: Kind::Number(if t.tok == Tok::Sub { -v } else { v }),
                    start: t.start,
                    end,
                    height: 1,
                },
                _ => Node {
                    height: inner.height + 1,
                    kind: Kind::Unary {
                        neg: t.tok == Tok::Sub,
                        expr: Box::new(inner),
                    },
                    start: t.start,
                    end,
                },
            });
        }
        let primary = self.primary()?;
        self.postfix(primary)
    }

    fn primary(&mut self) -> R<Node> {
        if self.at_lex_error() {
            return self.lex_failure();
        }
        let t = self.peek();
        let next = self.peek_at(1).tok;
        match t.tok {
            Tok::Number | Tok::Duration => {
                self.advance();
                let val = self.literal_value(t);
                Ok(Node {
                    kind: Kind::Number(val),
                    start: t.start,
                    end: t.end(),
                    height: 1,
                })
            }
            Tok::Str => {
                self.advance();
                Ok(Node {
                    kind: Kind::Str(self.string_value(t)),
                    start: t.start,
                    end: t.end(),
                    height: 1,
                })
            }
            Tok::LParen => {
                self.advance();
                let inner = self.expr(0)?;
                let close = self.expect(Tok::RParen)?;
                Ok(Node {
                    height: inner.height + 1,
                    kind: Kind::Paren(Box::new(inner)),
                    start: t.start,
                    end: close.end(),
                })
            }
            Tok::LBrace => self.vector_selector(None),
            Tok::Aggr if matches!(next, Tok::LParen | Tok::By | Tok::Without) => self.aggregate(),
            Tok::Ident
            | Tok::Start
            | Tok::End
            | Tok::Step
            | Tok::Range
            | Tok::MaxOf
            | Tok::MinOf
                if next == Tok::LParen =>
            {
                self.call()
            }
            tok if is_metric_identifier(tok) => {
                self.advance();
                self.vector_selector(Some(t))
            }
            _ => self.unexpected(),
        }
    }

    fn literal_value(&mut self, t: Token<'a>) -> f64 {
        if t.tok == Tok::Duration {
            return match prometheus_duration(t.text) {
                Ok(ms) => ms as f64 / 1000.0,
                Err(e) => {
                    self.problem(e, t.start, t.end());
                    0.0
                }
            };
        }
        match go_number(t.text) {
            Ok(v) => v,
            Err(e) => {
                self.problem(format!("error parsing number: {e}"), t.start, t.end());
                0.0
            }
        }
    }

    fn string_value(&self, t: Token<'a>) -> String {
        unquote(t.text).unwrap_or_default()
    }
}

mod calls;
mod postfix;
mod selectors;
