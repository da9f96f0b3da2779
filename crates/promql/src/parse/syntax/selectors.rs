//! Vector selectors: metric name and label matchers, with Prometheus' label-matching errors.

use super::{Ctx, Walker, R};
use crate::parse::ast::{Kind, LabelMatcher, MatchOp, Modifiers, Node};
use crate::parse::lex::{Tok, Token};

impl<'a> Walker<'a> {
    pub(super) fn vector_selector(&mut self, name: Option<Token<'a>>) -> R<Node> {
        let start = name.map_or(self.peek().start, |n| n.start);
        let mut end = name.map_or(start, |n| n.end());
        let mut matchers = Vec::new();
        if self.peek().tok == Tok::LBrace && !self.at_lex_error() {
            self.advance();
            self.ctx.push(Ctx::LabelMatching(""));
            let result = self.label_matchers();
            self.ctx.pop();
            let (m, close) = result?;
            matchers = m;
            end = close;
        }
        Ok(Node {
            kind: Kind::Vector {
                name: name.map(|n| n.text.to_string()),
                matchers,
                modifiers: Modifiers::default(),
                bypass_empty_check: false,
            },
            start,
            end,
            height: 1,
        })
    }

    /// After `{`: matchers up to `}`; the matchers and the end of `}`.
    fn label_matchers(&mut self) -> R<(Vec<LabelMatcher>, usize)> {
        let mut out = Vec::new();
        if self.peek().tok == Tok::RBrace && !self.at_lex_error() {
            return Ok((out, self.advance().end()));
        }
        loop {
            self.set_context(Ctx::LabelMatching("identifier or \"}\""));
            if self.at_lex_error() {
                return self.lex_failure();
            }
            let label = self.peek();
            match label.tok {
                Tok::Ident | Tok::Str => {
                    self.advance();
                }
                _ => return self.unexpected(),
            }
            let name = if label.tok == Tok::Str {
                self.string_value(label)
            } else {
                label.text.to_string()
            };
            let op = match self.peek().tok {
                Tok::Eql => Some(MatchOp::Equal),
                Tok::Neq => Some(MatchOp::NotEqual),
                Tok::EqlRegex => Some(MatchOp::Regex),
                Tok::NeqRegex => Some(MatchOp::NotRegex),
                _ => None,
            };
            match op {
                Some(op) if !self.at_lex_error() => {
                    self.advance();
                    self.set_context(Ctx::LabelMatching("string"));
                    let value = self.peek();
                    if value.tok != Tok::Str || self.at_lex_error() {
                        return self.unexpected();
                    }
                    self.advance();
                    let v = self.string_value(value);
                    if matches!(op, MatchOp::Regex | MatchOp::NotRegex) {
                        if let Some(msg) = crate::parse::regexp::check(&v) {
                            self.problem(msg, label.start, value.end());
                        }
                    }
                    out.push(LabelMatcher { name, op, value: v });
                }
                _ if label.tok == Tok::Str => out.push(LabelMatcher {
                    name: "__name__".into(),
                    op: MatchOp::Equal,
                    value: name,
                }),
                _ => {
                    self.set_context(Ctx::LabelMatching("label matching operator"));
                    return self.unexpected();
                }
            }
            self.set_context(Ctx::LabelMatching("\",\" or \"}\""));
            if self.at_lex_error() {
                return self.lex_failure();
            }
            match self.peek().tok {
                Tok::RBrace => return Ok((out, self.advance().end())),
                Tok::Comma => {
                    self.advance();
                    if self.peek().tok == Tok::RBrace && !self.at_lex_error() {
                        return Ok((out, self.advance().end()));
                    }
                }
                _ => return self.unexpected(),
            }
        }
    }
}
