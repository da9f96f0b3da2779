//! Prometheus' `checkAST`: the type and modifier checks made on a tree that parsed without
//! errors, in upstream's order, so the first problem found is the one Prometheus reports.

use super::ast::{Card, Kind, MatchOp, Node, ValueType};
use super::lex::go_quote;
use super::syntax::Problem;
use crate::function::Function;

pub struct Checker<'a> {
    pub input: &'a str,
    pub problems: Vec<Problem>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Whether a label matcher accepts the empty string (a missing label).
fn matches_empty(op: MatchOp, value: &str) -> bool {
    let re = || {
        regex::Regex::new(&format!("^(?s:{value})$"))
            .map(|r| r.is_match(""))
            .unwrap_or(false)
    };
    match op {
        MatchOp::Equal => value.is_empty(),
        MatchOp::NotEqual => !value.is_empty(),
        MatchOp::Regex => re(),
        MatchOp::NotRegex => !re(),
    }
}

impl Checker<'_> {
    fn problem(&mut self, message: impl Into<String>, start: usize, end: usize) {
        self.problems.push(Problem {
            message: message.into(),
            start,
            end,
        });
    }

    fn expect_type(&mut self, node: &mut Node, want: ValueType, context: &str) {
        let t = self.check(node);
        if t != want {
            self.problem(
                format!(
                    "expected type {} in {context}, got {}",
                    want.documented(),
                    t.documented()
                ),
                node.start,
                node.end,
            );
        }
    }

    pub fn check(&mut self, node: &mut Node) -> ValueType {
        // Types come up from the children as they are checked, so a long chain of operators
        // is not re-typed at every level.
        let mut typ = match &node.kind {
            Kind::Binary { .. } | Kind::Paren(_) | Kind::Unary { .. } => ValueType::Scalar,
            _ => node.value_type(),
        };
        let (start, end) = (node.start, node.end);
        match &mut node.kind {
            Kind::Aggregate {
                param,
                expr,
                needs_param,
                ..
            } => {
                if let Some(e) = expr {
                    self.expect_type(e, ValueType::Vector, "aggregation expression");
                }
                if let (Some(p), Some(want)) = (param, *needs_param) {
                    self.expect_type(p, want, "aggregation parameter");
                }
            }
            Kind::Binary {
                op,
                op_text,
                lhs,
                rhs,
                return_bool,
                on,
                matching,
                include,
                card,
                fill,
                ..
            } => {
                let lt = self.check(lhs);
                let rt = self.check(rhs);
                if lt != ValueType::Scalar || rt != ValueType::Scalar {
                    typ = ValueType::Vector;
                }
                let bytes = self.input.as_bytes();
                let mut op_start = lhs.end;
                while op_start < bytes.len() && is_space(bytes[op_start]) {
                    op_start += 1;
                }
                let mut op_end = rhs.start.saturating_sub(1);
                while op_end > 0 && is_space(bytes[op_end]) {
                    op_end -= 1;
                }
                if *return_bool && !op.is_comparison() {
                    self.problem(
                        "bool modifier can only be used on comparison operators",
                        op_start,
                        op_end,
                    );
                }
                if op.is_comparison()
                    && !*return_bool
                    && lt == ValueType::Scalar
                    && rt == ValueType::Scalar
                {
                    self.problem(
                        "comparisons between scalars must use BOOL modifier",
                        op_start,
                        op_end,
                    );
                }
                let many_to_many = op.is_set_operator() && *card == Card::OneToOne;
                if *on {
                    for l in matching.iter().filter(|l| include.contains(l)) {
                        self.problem(
                            format!(
                                "label {} must not occur in ON and GROUP clause at once",
                                go_quote(l)
                            ),
                            op_start,
                            op_end,
                        );
                    }
                }
                for (t, n) in [(lt, &**lhs), (rt, &**rhs)] {
                    if t != ValueType::Scalar && t != ValueType::Vector {
                        self.problem(
                            "binary expression must contain only scalar and instant vector types",
                            n.start,
                            n.end,
                        );
                    }
                }
                if lt != ValueType::Vector || rt != ValueType::Vector {
                    if !matching.is_empty() {
                        self.problem(
                            "vector matching only allowed between instant vectors",
                            start,
                            end,
                        );
                    }
                    if *fill {
                        self.problem(
                            "filling in missing series only allowed between instant vectors",
                            start,
                            end,
                        );
                    }
                } else if op.is_set_operator() {
                    if *card != Card::OneToOne {
                        self.problem(
                            format!("no grouping allowed for {} operation", go_quote(op_text)),
                            start,
                            end,
                        );
                    }
                    if !many_to_many {
                        self.problem("set operations must always be many-to-many", start, end);
                    }
                    if *fill {
                        self.problem(
                            "filling in missing series not allowed for set operators",
                            start,
                            end,
                        );
                    }
                }
                if (lt == ValueType::Scalar || rt == ValueType::Scalar) && op.is_set_operator() {
                    self.problem(
                        format!(
                            "set operator {} not allowed in binary scalar expression",
                            go_quote(op_text)
                        ),
                        start,
                        end,
                    );
                }
            }
            Kind::Call { name, args } => self.check_call(name, args, start, end),
            Kind::Paren(e) => typ = self.check(e),
            Kind::Matrix { selector: e, .. } => {
                self.check(e);
            }
            Kind::Unary { expr: e, .. } => {
                let t = self.check(e);
                typ = t;
                if t != ValueType::Scalar && t != ValueType::Vector {
                    self.problem(
                        format!(
                            "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                            go_quote(t.documented())
                        ),
                        start,
                        end,
                    );
                }
            }
            Kind::Subquery { expr, .. } => {
                let t = self.check(expr);
                if t != ValueType::Vector {
                    self.problem(
                        format!(
                            "subquery is only allowed on instant vector, got {} instead",
                            t.name()
                        ),
                        start,
                        end,
                    );
                }
            }
            Kind::Vector {
                name,
                matchers,
                bypass_empty_check,
                ..
            } => {
                if let Some(name) = name {
                    for m in matchers.iter().filter(|m| m.name == "__name__") {
                        self.problem(
                            format!(
                                "metric name must not be set twice: {} or {}",
                                go_quote(name),
                                go_quote(&m.value)
                            ),
                            start,
                            end,
                        );
                    }
                } else if !*bypass_empty_check
                    && matchers.iter().all(|m| matches_empty(m.op, &m.value))
                {
                    self.problem(
                        "vector selector must contain at least one non-empty matcher",
                        start,
                        end,
                    );
                }
            }
            Kind::Number(_) | Kind::Str(_) => {}
        }
        typ
    }

    fn check_call(&mut self, name: &str, args: &mut [Node], start: usize, end: usize) {
        let Some(f) = Function::from_name(name) else {
            return;
        };
        let sig = f.signature();
        let nargs = sig.args.len();
        let quoted = go_quote(name);
        if sig.variadic == 0 {
            if nargs != args.len() {
                self.problem(
                    format!(
                        "expected {nargs} argument(s) in call to {quoted}, got {}",
                        args.len()
                    ),
                    start,
                    end,
                );
            }
        } else {
            let na = nargs - 1;
            if na > args.len() {
                self.problem(
                    format!(
                        "expected at least {na} argument(s) in call to {quoted}, got {}",
                        args.len()
                    ),
                    start,
                    end,
                );
            } else if sig.variadic > 0 && na + (sig.variadic as usize) < args.len() {
                self.problem(
                    format!(
                        "expected at most {} argument(s) in call to {quoted}, got {}",
                        na + sig.variadic as usize,
                        args.len()
                    ),
                    start,
                    end,
                );
            }
        }
        if f == Function::Info && args.len() > 1 {
            let second = &mut args[1];
            let t = second.value_type();
            if t != ValueType::Vector {
                self.problem(
                    format!(
                        "expected type instant vector in call to function {quoted}, got {}",
                        t.documented()
                    ),
                    start,
                    end,
                );
            }
            let (s, e) = (second.start, second.end);
            match &mut second.kind {
                Kind::Vector { name: Some(_), .. } => self.problem(
                    "expected label selectors only, got vector selector instead",
                    s,
                    e,
                ),
                Kind::Vector {
                    bypass_empty_check, ..
                } => *bypass_empty_check = true,
                _ => self.problem("expected label selectors only", s, e),
            }
        }
        for (i, arg) in args.iter_mut().enumerate() {
            let i = if i >= nargs {
                if sig.variadic == 0 {
                    break;
                }
                nargs - 1
            } else {
                i
            };
            let want = sig.arg_type(i);
            let t = self.check(arg);
            if t != want {
                self.problem(
                    format!(
                        "expected type {} in call to function {quoted}, got {}",
                        want.documented(),
                        t.documented()
                    ),
                    arg.start,
                    arg.end,
                );
            }
        }
    }
}
