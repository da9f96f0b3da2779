//! Label filters (`| status >= 500 and level="error"`): string matchers, numbers,
//! durations, byte sizes and `ip()`, joined by `or`, `and`, `,` or nothing, grouped as
//! Loki's grammar groups them.

use bongsu_model::MatchOp;

use super::pipeline::{match_op, new_matcher};
use super::{is_kw, PResult, Parser};
use crate::ast::{CmpOp, LabelFilter};
use crate::error::ParseError;
use crate::lexer::Tok;
use crate::{go, ip};

/// How label filters combine (`,` and juxtaposition are `and` with no precedence).
#[derive(Clone, Copy, PartialEq)]
enum FilterOp {
    Or,
    And,
    Comma,
    Juxtaposed,
}

/// Loki's grammar resolves `a OP1 b OP2 c` by precedence only between `or` and `and`
/// (`or` binds looser, both left-associative); every other pair shifts, i.e. groups right.
fn reduces_before(stacked: FilterOp, incoming: FilterOp) -> bool {
    use FilterOp::*;
    matches!((stacked, incoming), (And, And) | (And, Or) | (Or, Or))
}

impl Parser {
    /// A label filter expression: operands joined by `or`, `and`, `,` or nothing.
    pub(crate) fn label_filter(&mut self) -> PResult<LabelFilter> {
        self.enter()?;
        let mut operands = vec![self.label_filter_operand()?];
        let mut ops: Vec<FilterOp> = Vec::new();
        loop {
            let op = match self.peek()? {
                Tok::Kw("or") => FilterOp::Or,
                Tok::Kw("and") => FilterOp::And,
                Tok::Kw(",") => FilterOp::Comma,
                Tok::Ident(_) | Tok::Kw("(") => FilterOp::Juxtaposed,
                _ => break,
            };
            if op != FilterOp::Juxtaposed {
                self.advance();
            }
            while ops.last().is_some_and(|top| reduces_before(*top, op)) {
                reduce(&mut operands, &mut ops);
            }
            ops.push(op);
            operands.push(self.label_filter_operand()?);
        }
        while !ops.is_empty() {
            reduce(&mut operands, &mut ops);
        }
        self.leave();
        // One operand is left: every reduction turns two into one.
        operands.pop().ok_or_else(|| self.unexpected(&[]))
    }

    fn label_filter_operand(&mut self) -> PResult<LabelFilter> {
        let name = match self.peek()?.clone() {
            Tok::Kw("(") => {
                self.advance();
                let f = self.label_filter()?;
                self.expect_kw(")", &[])?;
                return Ok(f);
            }
            Tok::Ident(name) => name,
            _ => return Err(self.unexpected(&[])),
        };
        self.advance();
        let op_tok = self.peek()?.clone();
        let op = match op_tok {
            Tok::Kw("=~") | Tok::Kw("!~") => {
                self.advance();
                let op = match_op(&op_tok).unwrap_or(MatchOp::Regex);
                let value = self.expect_str(&["STRING"])?;
                return Ok(LabelFilter::String(new_matcher(op, &name, &value)?));
            }
            Tok::Kw("=") => CmpOp::Eq,
            Tok::Kw("!=") => CmpOp::Ne,
            Tok::Kw("==") => CmpOp::Eq,
            Tok::Kw(">") => CmpOp::Gt,
            Tok::Kw(">=") => CmpOp::Ge,
            Tok::Kw("<") => CmpOp::Lt,
            Tok::Kw("<=") => CmpOp::Le,
            _ => return Err(self.unexpected(&[])),
        };
        self.advance();
        let string_op = matches!(op_tok, Tok::Kw("=") | Tok::Kw("!="));
        let value = self.peek()?.clone();
        let filter = match value {
            Tok::Str(v) if string_op => {
                self.advance();
                let mop = if op == CmpOp::Eq {
                    MatchOp::Equal
                } else {
                    MatchOp::NotEqual
                };
                LabelFilter::String(new_matcher(mop, &name, &v)?)
            }
            Tok::Fun("ip") if string_op => {
                let text = self.ip_call()?;
                LabelFilter::Ip {
                    name,
                    equal: op == CmpOp::Eq,
                    pattern: ip::parse(&text),
                    text,
                }
            }
            Tok::Duration(d) => {
                self.advance();
                LabelFilter::Duration { name, op, value: d }
            }
            Tok::Bytes(b) => {
                self.advance();
                LabelFilter::Bytes { name, op, value: b }
            }
            Tok::Number(_) | Tok::Kw("+") | Tok::Kw("-") => {
                let negative = is_kw(&value, "-");
                if !matches!(value, Tok::Number(_)) {
                    self.advance();
                }
                let Tok::Number(n) = self.peek()?.clone() else {
                    return Err(self.unexpected(&["NUMBER"]));
                };
                self.advance();
                let v = go::parse_float(&n).map_err(|e| {
                    ParseError::semantic(format!("unable to parse literal as a float: {e}"))
                })?;
                LabelFilter::Number {
                    name,
                    op,
                    value: if negative { -v } else { v },
                }
            }
            _ => return Err(self.unexpected(&[])),
        };
        Ok(filter)
    }
}

fn reduce(operands: &mut Vec<LabelFilter>, ops: &mut Vec<FilterOp>) {
    let (Some(op), Some(rhs), Some(lhs)) = (ops.pop(), operands.pop(), operands.pop()) else {
        return;
    };
    let (l, r) = (Box::new(lhs), Box::new(rhs));
    operands.push(match op {
        FilterOp::Or => LabelFilter::Or(l, r),
        _ => LabelFilter::And(l, r),
    });
}
