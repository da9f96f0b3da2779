//! Function calls, aggregations and grouping label lists, with Prometheus' argument checks
//! for aggregations.

use super::{is_grouping_label, Ctx, Walker, R};
use crate::function::Function;
use crate::parse::ast::{Grouping, Kind, Node, ValueType};
use crate::parse::lex::{go_quote, Tok, Token};

impl<'a> Walker<'a> {
    pub(super) fn call(&mut self) -> R<Node> {
        let name = self.advance();
        let (args, _) = self.call_body()?;
        if Function::from_name(name.text).is_none() {
            self.problem(
                format!("unknown function with name {}", go_quote(name.text)),
                name.start,
                name.end(),
            );
        }
        Ok(Node {
            height: 1 + args.iter().map(|a| a.height).max().unwrap_or(0),
            kind: Kind::Call {
                name: name.text.to_string(),
                args,
            },
            start: name.start,
            end: self.last_end,
        })
    }

    /// `( args )`; the arguments and the closing parenthesis.
    fn call_body(&mut self) -> R<(Vec<Node>, Token<'a>)> {
        self.expect(Tok::LParen)?;
        let mut args = Vec::new();
        if self.peek().tok == Tok::RParen && !self.at_lex_error() {
            return Ok((args, self.advance()));
        }
        loop {
            args.push(self.expr(0)?);
            if self.at_lex_error() {
                return self.lex_failure();
            }
            match self.peek().tok {
                Tok::RParen => return Ok((args, self.advance())),
                Tok::Comma => {
                    let comma = self.advance();
                    if self.peek().tok == Tok::RParen && !self.at_lex_error() {
                        self.problem(
                            "trailing commas not allowed in function call args",
                            comma.start,
                            comma.end(),
                        );
                        return Ok((args, self.advance()));
                    }
                }
                _ => return self.unexpected(),
            }
        }
    }

    pub(super) fn aggregate(&mut self) -> R<Node> {
        let op = self.advance();
        self.ctx.push(Ctx::Aggregation);
        let result = self.aggregate_rest(op);
        self.ctx.pop();
        result
    }

    fn aggregate_rest(&mut self, op: Token<'a>) -> R<Node> {
        let mut grouping = None;
        if matches!(self.peek().tok, Tok::By | Tok::Without) {
            grouping = Some(self.aggregate_grouping()?);
        }
        if self.peek().tok != Tok::LParen {
            return self.unexpected();
        }
        let (args, _) = self.call_body()?;
        if grouping.is_none() && matches!(self.peek().tok, Tok::By | Tok::Without) {
            grouping = Some(self.aggregate_grouping()?);
        }
        let (start, end) = (op.start, self.last_end);
        let name = op.text.to_ascii_lowercase();
        let needs_param = match name.as_str() {
            "topk" | "bottomk" | "quantile" | "limitk" | "limit_ratio" => Some(ValueType::Scalar),
            "count_values" => Some(ValueType::String),
            _ => None,
        };
        let mut node = Node {
            kind: Kind::Aggregate {
                op: name.clone(),
                grouping: grouping.clone(),
                param: None,
                expr: None,
                needs_param,
            },
            start,
            end,
            height: 1 + args.iter().map(|a| a.height).max().unwrap_or(0),
        };
        if args.is_empty() {
            self.problem("no arguments for aggregate expression provided", start, end);
            return Ok(node);
        }
        let want = if needs_param.is_some() { 2 } else { 1 };
        if args.len() != want {
            self.problem(
                format!(
                    "wrong number of arguments for aggregate expression provided, expected {want}, got {}",
                    args.len()
                ),
                start,
                end,
            );
            return Ok(node);
        }
        let mut args = args.into_iter();
        let param = if want == 2 { args.next() } else { None };
        node.kind = Kind::Aggregate {
            op: name,
            grouping,
            param: param.map(Box::new),
            expr: args.next().map(Box::new),
            needs_param,
        };
        Ok(node)
    }

    /// `by (…)` or `without (…)`.
    fn aggregate_grouping(&mut self) -> R<Grouping> {
        let without = self.advance().tok == Tok::Without;
        let labels = self.grouping_labels()?;
        Ok(Grouping { without, labels })
    }

    /// `( label, … )` after `by`, `without`, `on`, `ignoring`, `group_left`, `group_right`.
    pub(super) fn grouping_labels(&mut self) -> R<Vec<String>> {
        self.ctx.push(Ctx::Grouping("\"(\""));
        let result = self.grouping_labels_inner();
        self.ctx.pop();
        result
    }

    fn grouping_labels_inner(&mut self) -> R<Vec<String>> {
        self.expect(Tok::LParen)?;
        let mut labels = Vec::new();
        if self.peek().tok == Tok::RParen && !self.at_lex_error() {
            self.advance();
            return Ok(labels);
        }
        loop {
            self.set_context(Ctx::Grouping("label"));
            let t = self.peek();
            if self.at_lex_error() {
                return self.lex_failure();
            }
            if t.tok == Tok::Str {
                self.advance();
                let name = self.string_value(t);
                if name.is_empty() {
                    self.problem(
                        format!("invalid label name for grouping: {}", go_quote(&name)),
                        t.start,
                        t.end(),
                    );
                }
                labels.push(name);
            } else if is_grouping_label(t.tok) {
                self.advance();
                labels.push(t.text.to_string());
            } else {
                return self.unexpected();
            }
            self.set_context(Ctx::Grouping("\",\" or \")\""));
            if self.at_lex_error() {
                return self.lex_failure();
            }
            match self.peek().tok {
                Tok::RParen => {
                    self.advance();
                    return Ok(labels);
                }
                Tok::Comma => {
                    self.advance();
                    if self.peek().tok == Tok::RParen && !self.at_lex_error() {
                        self.advance();
                        return Ok(labels);
                    }
                }
                _ => return self.unexpected(),
            }
        }
    }
}
