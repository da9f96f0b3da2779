//! Postfix modifiers (`[range]`, `[range:step]`, `offset`, `@`, `anchored`, `smoothed`) and
//! the duration expressions inside them, with the checks Prometheus' grammar actions make.

use super::{out_of_range, Ctx, Dur, Walker, MUL_PRECEDENCE, R};
use std::time::Duration;

use crate::parse::ast::{At, Kind, Modifiers, Node};
use crate::parse::lex::{Tok, Token};

/// What a modifier may be attached to.
enum Target<'n> {
    Modifiers(&'n mut Modifiers),
    /// A range over something that is not a selector (already reported).
    BadRange,
    Other,
}

fn target(node: &mut Node) -> Target<'_> {
    match &mut node.kind {
        Kind::Vector { modifiers, .. } | Kind::Subquery { modifiers, .. } => {
            Target::Modifiers(modifiers)
        }
        Kind::Matrix {
            selector: inner, ..
        } => match &mut inner.kind {
            Kind::Vector { modifiers, .. } => Target::Modifiers(modifiers),
            _ => Target::BadRange,
        },
        _ => Target::Other,
    }
}

/// A duration of `seconds` (finite, not negative): whole milliseconds exactly, anything
/// finer as the nearest nanosecond.
fn duration(seconds: f64) -> Duration {
    let ms = seconds * 1000.0;
    if (ms - ms.round()).abs() < 1e-6 {
        Duration::from_millis(ms.round() as u64)
    } else {
        Duration::from_secs_f64(seconds)
    }
}

/// Go's `%f` of a float64.
fn go_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v:.6}")
    }
}

impl<'a> Walker<'a> {
    pub(super) fn postfix(&mut self, mut node: Node) -> R<Node> {
        loop {
            self.check_height(&node)?;
            if self.at_lex_error() {
                return Ok(node);
            }
            node = match self.peek().tok {
                Tok::LBracket => self.brackets(node)?,
                Tok::Offset => self.offset(node)?,
                Tok::At => self.at(node)?,
                Tok::Anchored | Tok::Smoothed => self.extended_range(node),
                _ => return Ok(node),
            };
        }
    }

    fn brackets(&mut self, node: Node) -> R<Node> {
        let open = self.advance();
        self.ctx.push(Ctx::Brackets(
            "subquery or range selector",
            "number, duration, step(), or range()",
        ));
        let result = self.brackets_inner(node, open);
        self.ctx.pop();
        result
    }

    fn brackets_inner(&mut self, node: Node, open: Token<'a>) -> R<Node> {
        let range = self.duration_expr(0)?;
        self.positive(range);
        self.set_context(Ctx::Brackets("subquery or range", "\":\" or \"]\""));
        if self.at_lex_error() {
            return self.lex_failure();
        }
        match self.peek().tok {
            Tok::RBracket => {
                let range = self.range_duration(range, open.end(), self.peek().start);
                let close = self.advance();
                let problem = match &node.kind {
                    Kind::Vector { modifiers, .. } if modifiers.offset => {
                        Some("no offset modifiers allowed before range")
                    }
                    Kind::Vector { modifiers, .. } if modifiers.at.is_some() => {
                        Some("no @ modifiers allowed before range")
                    }
                    Kind::Vector { .. } => None,
                    _ => Some("ranges only allowed for vector selectors"),
                };
                if let Some(p) = problem {
                    self.problem(p, open.start, close.end());
                }
                Ok(Node {
                    start: node.start,
                    height: node.height + 1,
                    kind: Kind::Matrix {
                        selector: Box::new(node),
                        range,
                    },
                    end: close.end(),
                })
            }
            Tok::Colon => {
                let colon = self.advance();
                let range = self.range_duration(range, open.end(), colon.start);
                self.set_context(Ctx::Brackets(
                    "subquery selector",
                    "number, duration, step(), range(), or \"]\"",
                ));
                let mut step = None;
                if self.peek().tok != Tok::RBracket || self.at_lex_error() {
                    let d = self.duration_expr(0)?;
                    self.positive(d);
                    self.set_context(Ctx::Brackets("subquery selector", "\"]\""));
                    if self.peek().tok == Tok::RBracket {
                        step = self.range_duration(d, colon.end(), self.peek().start);
                    }
                }
                let close = self.expect(Tok::RBracket)?;
                Ok(Node {
                    start: node.start,
                    height: node.height + 1,
                    kind: Kind::Subquery {
                        expr: Box::new(node),
                        range,
                        step,
                        modifiers: Modifiers::default(),
                    },
                    end: close.end(),
                })
            }
            _ => self.unexpected(),
        }
    }

    /// Prometheus' `positive_duration_expr`: a literal range or step must be above zero.
    fn positive(&mut self, d: Dur) {
        if let Dur::Literal { val, start, end } = d {
            if val <= 0.0 {
                self.problem("duration must be greater than 0", start, end);
            }
        }
    }

    /// The value of a range or step: a duration expression must be constant (`step()` and
    /// `range()` are not supported yet) and above zero. `None` when it is refused.
    fn range_duration(&mut self, d: Dur, start: usize, end: usize) -> Option<Duration> {
        let seconds = self.constant_duration(d, start, end)?;
        if seconds <= 0.0 {
            if matches!(d, Dur::Expr { .. }) {
                // Prometheus fails such a range when evaluating it; here it fails at once.
                self.problem("duration must be greater than 0", start, end);
            }
            return None;
        }
        Some(duration(seconds))
    }

    /// The seconds a duration expression amounts to, if it is constant and finite.
    fn constant_duration(&mut self, d: Dur, start: usize, end: usize) -> Option<f64> {
        match d.value() {
            Some(v) if !out_of_range(v) => Some(v),
            Some(_) => {
                self.problem("duration out of range", start, end);
                None
            }
            None => {
                self.unsupported
                    .get_or_insert("step() and range() in durations");
                None
            }
        }
    }

    fn offset(&mut self, mut node: Node) -> R<Node> {
        let kw = self.advance();
        self.ctx.push(Ctx::Offset);
        let result = self.offset_duration();
        self.ctx.pop();
        let d = result?;
        let offset_ms = self
            .constant_duration(d, kw.end(), self.last_end)
            .map(|s| (s * 1000.0).round() as i64);
        let range = (node.start, node.end);
        let counts = !matches!(d, Dur::Literal { val, .. } if val == 0.0);
        match target(&mut node) {
            Target::Modifiers(m) => {
                if m.offset {
                    self.problem("offset may not be set multiple times", range.0, range.1);
                } else {
                    m.offset = counts;
                    m.offset_ms = offset_ms;
                }
            }
            Target::BadRange => {
                self.problem("ranges only allowed for vector selectors", range.0, range.1);
                return Ok(node);
            }
            Target::Other => {
                self.problem(
                    "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                    range.0,
                    range.1,
                );
                return Ok(node);
            }
        }
        node.end = self.last_end;
        Ok(node)
    }

    /// Prometheus' `offset_duration_expr`: a signed literal, `step()`, `range()`,
    /// `max_of`/`min_of`, or a parenthesised duration expression, without binary operators
    /// (`foo offset 5s - 8` subtracts 8 from the selector).
    fn offset_duration(&mut self) -> R<Dur> {
        if self.at_lex_error() {
            return self.lex_failure();
        }
        let t = self.peek();
        match t.tok {
            Tok::Number | Tok::Duration => self.duration_literal(),
            Tok::Add | Tok::Sub => {
                self.advance();
                let sign = if t.tok == Tok::Sub { -1.0 } else { 1.0 };
                if self.at_lex_error() {
                    return self.lex_failure();
                }
                match self.peek().tok {
                    Tok::Number | Tok::Duration => {
                        let lit = self.advance();
                        let val = sign * self.literal_value(lit);
                        if out_of_range(val) {
                            self.problem("duration out of range", t.start, t.end());
                            return Ok(Dur::Literal {
                                val: 0.0,
                                start: 0,
                                end: 0,
                            });
                        }
                        Ok(Dur::Literal {
                            val,
                            start: t.start,
                            end: lit.end(),
                        })
                    }
                    Tok::Step | Tok::Range | Tok::MaxOf | Tok::MinOf | Tok::LParen => {
                        let d = self.duration_atom()?;
                        Ok(Dur::Expr {
                            val: d.value().map(|v| sign * v),
                        })
                    }
                    _ => self.unexpected(),
                }
            }
            Tok::Step | Tok::Range | Tok::MaxOf | Tok::MinOf | Tok::LParen => self.duration_atom(),
            _ => self.unexpected(),
        }
    }

    fn at(&mut self, mut node: Node) -> R<Node> {
        self.advance();
        self.ctx.push(Ctx::At);
        let result = self.at_value();
        self.ctx.pop();
        let at = result?;
        let range = (node.start, node.end);
        if let At::Seconds(ts) = at {
            if !ts.is_finite() || ts >= 9.223_372_036_854_776e18 || ts <= -9.223_372_036_854_776e18
            {
                self.problem(
                    format!("timestamp out of bounds for @ modifier: {}", go_f(ts)),
                    range.0,
                    range.1,
                );
            }
        }
        match target(&mut node) {
            Target::Modifiers(m) => {
                if m.at.is_some() {
                    self.problem(
                        "@ <timestamp> may not be set multiple times",
                        range.0,
                        range.1,
                    );
                    return Ok(node);
                }
                m.at = Some(at);
            }
            Target::BadRange => {
                self.problem("ranges only allowed for vector selectors", range.0, range.1);
                return Ok(node);
            }
            Target::Other => {
                self.problem(
                    "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                    range.0,
                    range.1,
                );
                return Ok(node);
            }
        }
        node.end = self.last_end;
        Ok(node)
    }

    /// The time after `@`.
    fn at_value(&mut self) -> R<At> {
        if self.at_lex_error() {
            return self.lex_failure();
        }
        let t = self.peek();
        let sign = match t.tok {
            Tok::Add | Tok::Sub => {
                self.advance();
                if t.tok == Tok::Sub {
                    -1.0
                } else {
                    1.0
                }
            }
            Tok::Start | Tok::End => {
                let start = self.advance().tok == Tok::Start;
                self.expect(Tok::LParen)?;
                self.expect(Tok::RParen)?;
                return Ok(if start { At::Start } else { At::End });
            }
            _ => 1.0,
        };
        if self.at_lex_error() {
            return self.lex_failure();
        }
        let lit = self.peek();
        if !matches!(lit.tok, Tok::Number | Tok::Duration) {
            return self.unexpected();
        }
        self.advance();
        Ok(At::Seconds(sign * self.literal_value(lit)))
    }

    fn extended_range(&mut self, mut node: Node) -> Node {
        let kw = self.advance();
        let anchored = kw.tok == Tok::Anchored;
        let name = if anchored { "anchored" } else { "smoothed" };
        self.unsupported
            .get_or_insert("anchored and smoothed range selectors");
        let range = (node.start, node.end);
        match &mut node.kind {
            Kind::Subquery { .. } => self.problem(
                format!("{name} modifier is not supported for subqueries"),
                range.0,
                range.1,
            ),
            Kind::Vector { .. } | Kind::Matrix { .. } => {
                if let Target::Modifiers(m) = target(&mut node) {
                    let clash = if anchored { m.smoothed } else { m.anchored };
                    if anchored {
                        m.anchored = true;
                    } else {
                        m.smoothed = true;
                    }
                    if clash {
                        self.problem(
                            "anchored and smoothed modifiers cannot be used together",
                            range.0,
                            range.1,
                        );
                    }
                }
            }
            _ => self.problem(format!("{name} modifier not implemented"), range.0, range.1),
        }
        node
    }

    /// A duration expression: `+ - * / % ^`, unary signs, literals, `step()`, `range()`,
    /// `max_of`/`min_of` and parentheses.
    fn duration_expr(&mut self, min_precedence: u8) -> R<Dur> {
        self.depth += 1;
        let result = self.duration_expr_inner(min_precedence);
        self.depth -= 1;
        result
    }

    fn duration_expr_inner(&mut self, min_precedence: u8) -> R<Dur> {
        self.nest()?;
        let mut lhs = self.duration_unary()?;
        loop {
            if self.at_lex_error() {
                return Ok(lhs);
            }
            let op = self.peek();
            let (prec, right) = match op.tok {
                Tok::Add | Tok::Sub => (4, false),
                Tok::Mul | Tok::Div | Tok::Mod => (5, false),
                Tok::Pow => (6, true),
                _ => return Ok(lhs),
            };
            if prec < min_precedence {
                return Ok(lhs);
            }
            self.advance();
            let rhs = self.duration_expr(if right { prec } else { prec + 1 })?;
            let zero_rhs = matches!(rhs, Dur::Literal { val, .. } if val == 0.0);
            if zero_rhs && matches!(op.tok, Tok::Div | Tok::Mod) {
                let msg = if op.tok == Tok::Div {
                    "division by zero"
                } else {
                    "modulo by zero"
                };
                self.problem(msg, op.start, op.end());
                lhs = Dur::Literal {
                    val: 0.0,
                    start: 0,
                    end: 0,
                };
                continue;
            }
            let val = match (lhs.value(), rhs.value()) {
                (Some(a), Some(b)) => Some(match op.tok {
                    Tok::Add => a + b,
                    Tok::Sub => a - b,
                    Tok::Mul => a * b,
                    Tok::Div => a / b,
                    Tok::Mod => a % b,
                    _ => a.powf(b),
                }),
                _ => None,
            };
            lhs = Dur::Expr { val };
        }
    }

    fn duration_unary(&mut self) -> R<Dur> {
        let t = self.peek();
        if !matches!(t.tok, Tok::Add | Tok::Sub) || self.at_lex_error() {
            return self.duration_atom();
        }
        self.advance();
        let inner = self.duration_expr(MUL_PRECEDENCE + 1)?;
        let sign = if t.tok == Tok::Sub { -1.0 } else { 1.0 };
        Ok(match inner {
            Dur::Literal { val, end, .. } => {
                let val = sign * val;
                if out_of_range(val) {
                    self.problem("duration out of range", t.start, t.end());
                    Dur::Literal {
                        val: 0.0,
                        start: 0,
                        end: 0,
                    }
                } else {
                    Dur::Literal {
                        val,
                        start: t.start,
                        end,
                    }
                }
            }
            Dur::Expr { val } => Dur::Expr {
                val: val.map(|v| sign * v),
            },
        })
    }

    fn duration_literal(&mut self) -> R<Dur> {
        let t = self.advance();
        let val = self.literal_value(t);
        if out_of_range(val) {
            self.problem("duration out of range", t.start, t.end());
            return Ok(Dur::Literal {
                val: 0.0,
                start: 0,
                end: 0,
            });
        }
        Ok(Dur::Literal {
            val,
            start: t.start,
            end: t.end(),
        })
    }

    fn duration_atom(&mut self) -> R<Dur> {
        if self.at_lex_error() {
            return self.lex_failure();
        }
        match self.peek().tok {
            Tok::Number | Tok::Duration => self.duration_literal(),
            Tok::Step | Tok::Range => {
                self.advance();
                self.expect(Tok::LParen)?;
                self.expect(Tok::RParen)?;
                Ok(Dur::Expr { val: None })
            }
            Tok::MaxOf | Tok::MinOf => {
                let max = self.advance().tok == Tok::MaxOf;
                self.expect(Tok::LParen)?;
                let a = self.duration_expr(0)?;
                self.expect(Tok::Comma)?;
                let b = self.duration_expr(0)?;
                self.expect(Tok::RParen)?;
                let val = match (a.value(), b.value()) {
                    (Some(a), Some(b)) => Some(if max { a.max(b) } else { a.min(b) }),
                    _ => None,
                };
                Ok(Dur::Expr { val })
            }
            Tok::LParen => {
                self.advance();
                let d = self.duration_expr(0)?;
                self.expect(Tok::RParen)?;
                Ok(Dur::Expr { val: d.value() })
            }
            _ => self.unexpected(),
        }
    }
}
