//! Expressions and metric queries: binary operators with Loki's precedence (`or` < `and`
//! `unless` < comparisons < `+ -` < `* / %` < `^`, the last right-associative), literals and
//! their folding (`1 + 1` is `2`), range and vector aggregations, `vector()` and
//! `label_replace()`, and the checks Loki makes on them after parsing.

use regex::Regex;

use super::{check_matchers, is_kw, Node, PResult, Parser};
use crate::ast::{
    BinaryExpr, BinaryOp, Cardinality, Grouping, LabelReplace, LogRange, MetricExpr,
    RangeAggregation, RangeOp, VectorAggregation, VectorMatching, VectorOp,
};
use crate::error::ParseError;
use crate::go;
use crate::lexer::Tok;

/// A binary operator token: the operator, its precedence and whether it is right-associative.
fn binary_op(tok: &Tok) -> Option<(BinaryOp, u8, bool)> {
    let Tok::Kw(k) = tok else { return None };
    Some(match *k {
        "or" => (BinaryOp::Or, 1, false),
        "and" => (BinaryOp::And, 2, false),
        "unless" => (BinaryOp::Unless, 2, false),
        "==" => (BinaryOp::Eq, 3, false),
        "!=" => (BinaryOp::Ne, 3, false),
        ">" => (BinaryOp::Gt, 3, false),
        ">=" => (BinaryOp::Ge, 3, false),
        "<" => (BinaryOp::Lt, 3, false),
        "<=" => (BinaryOp::Le, 3, false),
        "+" => (BinaryOp::Add, 4, false),
        "-" => (BinaryOp::Sub, 4, false),
        "*" => (BinaryOp::Mul, 5, false),
        "/" => (BinaryOp::Div, 5, false),
        "%" => (BinaryOp::Mod, 5, false),
        "^" => (BinaryOp::Pow, 6, true),
        _ => return None,
    })
}

impl Parser {
    /// An expression whose binary operators bind at least as tightly as `min_prec`.
    pub(crate) fn expr(&mut self, min_prec: u8) -> PResult<Node> {
        self.enter()?;
        let mut lhs = self.primary()?;
        while let Some((op, prec, right)) = binary_op(self.peek()?) {
            if prec < min_prec {
                break;
            }
            self.advance();
            let (return_bool, matching) = self.bin_modifiers()?;
            let rhs = self.expr(if right { prec } else { prec + 1 })?;
            lhs = binary(op, return_bool, matching, lhs, rhs);
        }
        self.leave();
        Ok(lhs)
    }

    /// `[bool] [on|ignoring (…) [group_left|group_right [(…)]]]`.
    fn bin_modifiers(&mut self) -> PResult<(bool, VectorMatching)> {
        let return_bool = self.at_kw("bool");
        if return_bool {
            self.advance();
        }
        let mut m = VectorMatching::default();
        let on = self.at_kw("on");
        if on || self.at_kw("ignoring") {
            self.advance();
            m.on = on;
            m.labels = self.label_list()?;
            let card = if self.at_kw("group_left") {
                Some(Cardinality::ManyToOne)
            } else if self.at_kw("group_right") {
                Some(Cardinality::OneToMany)
            } else {
                None
            };
            if let Some(card) = card {
                self.advance();
                m.card = card;
                // Loki's grammar shifts here: a `(` after group_x is its label list.
                if self.at_kw("(") {
                    m.include = self.label_list()?;
                }
            }
        }
        Ok((return_bool, m))
    }

    /// An operand: a log query, a parenthesised expression, a literal or a function.
    fn primary(&mut self) -> PResult<Node> {
        match self.peek()?.clone() {
            Tok::Kw("{") => Ok(Node::Log(self.log_expr(false)?)),
            Tok::Kw("(") => {
                self.advance();
                let inner = self.expr(0)?;
                self.expect_kw(")", &[])?;
                Ok(inner)
            }
            Tok::Number(n) => {
                self.advance();
                Ok(literal(&n, false))
            }
            Tok::Kw(sign @ ("+" | "-")) => {
                self.advance();
                match self.peek()?.clone() {
                    Tok::Number(n) => {
                        self.advance();
                        Ok(literal(&n, sign == "-"))
                    }
                    _ => Err(self.unexpected(&["NUMBER"])),
                }
            }
            Tok::Fun("vector") => self.vector(),
            Tok::Fun("label_replace") => self.label_replace(),
            Tok::Fun(f) => {
                if let Some(op) = RangeOp::from_name(f) {
                    self.range_aggregation(op)
                } else if let Some(op) = VectorOp::from_name(f) {
                    self.vector_aggregation(op)
                } else {
                    Err(self.unexpected(&[]))
                }
            }
            _ => Err(self.unexpected(&[])),
        }
    }

    /// A metric expression where Loki's grammar wants one (not a bare log query): a log
    /// query is refused at the token after it, where Loki's parser notices.
    fn metric_arg(&mut self) -> PResult<(Result<MetricExpr, ParseError>, bool)> {
        match self.expr(0)? {
            Node::Log(_) => Err(self.unexpected(&[])),
            Node::Sample(res, lit) => Ok((res, lit)),
        }
    }

    fn grouping(&mut self) -> PResult<Option<Grouping>> {
        let without = self.at_kw("without");
        if !without && !self.at_kw("by") {
            return Ok(None);
        }
        self.advance();
        let labels = self.label_list()?;
        Ok(Some(Grouping { without, labels }))
    }

    fn range_aggregation(&mut self, op: RangeOp) -> PResult<Node> {
        self.advance();
        self.expect_kw("(", &["("])?;
        let mut param = None;
        if let Tok::Number(n) = self.peek()?.clone() {
            self.advance();
            self.expect_kw(",", &[","])?;
            param = Some(n);
        } else if !self.at_kw("{") && !self.at_kw("(") {
            return Err(self.unexpected(&["NUMBER", "{", "("]));
        }
        if param.is_some() && !self.at_kw("{") && !self.at_kw("(") {
            return Err(self.unexpected(&["{", "("]));
        }
        let range = self.log_range()?;
        self.expect_kw(")", &[])?;
        let grouping = self.grouping()?;
        let res = range_aggregation(op, param.as_deref(), range, grouping).and_then(|r| {
            if self.validate {
                check_matchers(&r.range.log)?;
            }
            Ok(MetricExpr::Range(r))
        });
        Ok(Node::Sample(res, false))
    }

    fn vector_aggregation(&mut self, op: VectorOp) -> PResult<Node> {
        self.advance();
        let before = self.grouping()?;
        self.expect_kw("(", &["("])?;
        let mut param = None;
        if let Tok::Number(n) = self.peek()?.clone() {
            if is_kw(self.peek2()?, ",") {
                self.advance();
                self.advance();
                param = Some(n);
            }
        }
        let (inner, _) = self.metric_arg()?;
        self.expect_kw(")", &[])?;
        let grouping = match before {
            Some(g) => Some(g),
            None => self.grouping()?,
        };
        let validate = self.validate;
        let res =
            vector_aggregation(op, param.as_deref(), grouping, validate).and_then(|(param, g)| {
                Ok(MetricExpr::Vector(VectorAggregation {
                    op,
                    param,
                    expr: Box::new(inner?),
                    grouping: g,
                }))
            });
        Ok(Node::Sample(res, false))
    }

    fn vector(&mut self) -> PResult<Node> {
        self.advance();
        self.expect_kw("(", &["("])?;
        let Tok::Number(n) = self.peek()?.clone() else {
            return Err(self.unexpected(&["NUMBER"]));
        };
        self.advance();
        self.expect_kw(")", &[")"])?;
        let res = go::parse_float(&n)
            .map(MetricExpr::VectorLiteral)
            .map_err(|e| {
                ParseError::semantic(format!("unable to parse vectorExpr as a float: {e}"))
            });
        Ok(Node::Sample(res, false))
    }

    fn label_replace(&mut self) -> PResult<Node> {
        self.advance();
        self.expect_kw("(", &["("])?;
        let (inner, _) = self.metric_arg()?;
        let mut args = Vec::with_capacity(4);
        for _ in 0..4 {
            self.expect_kw(",", &[","])?;
            args.push(self.expect_str(&["STRING"])?);
        }
        self.expect_kw(")", &[")"])?;
        let [dst, replacement, src, regex_source]: [String; 4] =
            args.try_into().unwrap_or_default();
        let compiled = format!("^(?:{regex_source})$");
        let res = match Regex::new(&compiled) {
            Err(e) => Err(ParseError::semantic(format!(
                "invalid regex in label_replace: {}",
                go::regex_error(&e, &compiled)
            ))),
            Ok(regex) => inner.map(|expr| {
                MetricExpr::LabelReplace(LabelReplace {
                    expr: Box::new(expr),
                    dst,
                    replacement,
                    src,
                    regex_source,
                    regex,
                })
            }),
        };
        Ok(Node::Sample(res, false))
    }
}

fn literal(text: &str, negative: bool) -> Node {
    let res = go::parse_float(text)
        .map(|v| MetricExpr::Literal(if negative { -v } else { v }))
        .map_err(|e| ParseError::semantic(format!("unable to parse literal as a float: {e}")));
    Node::Sample(res, true)
}

/// Loki's `mustNewBinOpExpr`: operand types, literal rules, then folding of two literals.
fn binary(op: BinaryOp, return_bool: bool, matching: VectorMatching, lhs: Node, rhs: Node) -> Node {
    let sym = op.symbol();
    let err = |m: String| Node::Sample(Err(ParseError::semantic(m)), false);
    let (l, l_lit) = match lhs {
        Node::Log(l) => {
            return err(format!(
                "unexpected type for left leg of binary operation ({sym}): {}",
                go_type(&l)
            ))
        }
        Node::Sample(r, lit) => (r, lit),
    };
    let (r, r_lit) = match rhs {
        Node::Log(r) => {
            return err(format!(
                "unexpected type for right leg of binary operation ({sym}): {}",
                go_type(&r)
            ))
        }
        Node::Sample(r, lit) => (r, lit),
    };
    // A literal that failed to parse fails the operation with its own error.
    if l_lit {
        if let Err(e) = &l {
            return Node::Sample(Err(e.clone()), false);
        }
    }
    if r_lit {
        if let Err(e) = &r {
            return Node::Sample(Err(e.clone()), false);
        }
    }
    let value = |x: &Result<MetricExpr, ParseError>| match x {
        Ok(MetricExpr::Literal(v)) => *v,
        _ => 0.0,
    };
    if op.is_set_op() {
        if l_lit {
            return err(format!(
                "unexpected literal for left leg of logical/set binary operation ({sym}): {}",
                go::format_float_6(value(&l))
            ));
        }
        if r_lit {
            return err(format!(
                "unexpected literal for right leg of logical/set binary operation ({sym}): {}",
                go::format_float_6(value(&r))
            ));
        }
    }
    if l_lit && r_lit {
        return Node::Sample(
            Ok(MetricExpr::Literal(fold(op, value(&l), value(&r)))),
            true,
        );
    }
    let res = l.and_then(|l| {
        r.map(|r| {
            MetricExpr::Binary(BinaryExpr {
                op,
                lhs: Box::new(l),
                rhs: Box::new(r),
                return_bool,
                matching,
            })
        })
    });
    Node::Sample(res, false)
}

/// The Go type Loki names in operand errors.
fn go_type(l: &crate::ast::LogExpr) -> &'static str {
    if l.stages.is_empty() {
        "*syntax.MatchersExpr"
    } else {
        "*syntax.PipelineExpr"
    }
}

/// Loki's `MergeBinOp` on two numbers (division and modulo by zero give NaN; comparisons
/// give 0 or 1).
fn fold(op: BinaryOp, l: f64, r: f64) -> f64 {
    let b = |c: bool| if c { 1.0 } else { 0.0 };
    match op {
        BinaryOp::Add => l + r,
        BinaryOp::Sub => l - r,
        BinaryOp::Mul => l * r,
        BinaryOp::Div | BinaryOp::Mod if r == 0.0 => f64::NAN,
        BinaryOp::Div => l / r,
        BinaryOp::Mod => l % r,
        BinaryOp::Pow => l.powf(r),
        BinaryOp::Eq => b(l == r),
        BinaryOp::Ne => b(l != r),
        BinaryOp::Gt => b(l > r),
        BinaryOp::Ge => b(l >= r),
        BinaryOp::Lt => b(l < r),
        BinaryOp::Le => b(l <= r),
        // Set operations on literals are refused before folding.
        BinaryOp::Or | BinaryOp::And | BinaryOp::Unless => f64::NAN,
    }
}

/// Loki's `newRangeAggregationExpr` and its `validate`.
fn range_aggregation(
    op: RangeOp,
    param: Option<&str>,
    range: LogRange,
    grouping: Option<Grouping>,
) -> Result<RangeAggregation, ParseError> {
    let name = op.name();
    let param = match param {
        Some(p) if op != RangeOp::QuantileOverTime => {
            return Err(ParseError::semantic(format!(
                "parameter {p} not supported for operation {name}"
            )))
        }
        Some(p) => Some(go::parse_float(p).map_err(|e| {
            ParseError::semantic(format!("invalid parameter for operation {name}: {e}"))
        })?),
        None if op == RangeOp::QuantileOverTime => {
            return Err(ParseError::semantic(format!(
                "parameter required for operation {name}"
            )))
        }
        None => None,
    };
    use RangeOp::*;
    if grouping.is_some()
        && !matches!(
            op,
            AvgOverTime
                | StddevOverTime
                | StdvarOverTime
                | QuantileOverTime
                | MaxOverTime
                | MinOverTime
                | FirstOverTime
                | LastOverTime
        )
    {
        return Err(ParseError::semantic(format!(
            "grouping not allowed for {name} aggregation"
        )));
    }
    let ok = if range.unwrap.is_some() {
        !matches!(op, CountOverTime | BytesRate | BytesOverTime)
    } else {
        matches!(
            op,
            BytesOverTime | BytesRate | CountOverTime | Rate | AbsentOverTime
        )
    };
    if !ok {
        let with = if range.unwrap.is_some() {
            "with"
        } else {
            "without"
        };
        return Err(ParseError::semantic(format!(
            "invalid aggregation {name} {with} unwrap"
        )));
    }
    Ok(RangeAggregation {
        op,
        param,
        range,
        grouping,
    })
}

/// Loki's `mustNewVectorAggregationExpr` checks and the `sort` grouping rule: the `k` and
/// the grouping (absent grouping: `by ()`).
fn vector_aggregation(
    op: VectorOp,
    param: Option<&str>,
    grouping: Option<Grouping>,
    validate: bool,
) -> Result<(i64, Grouping), ParseError> {
    let name = op.name();
    let mut k = 0;
    if op.takes_param() {
        let Some(p) = param else {
            return Err(ParseError::semantic(format!(
                "parameter required for operation {name}"
            )));
        };
        k = go::atoi(p)
            .ok_or_else(|| ParseError::semantic(format!("invalid parameter {name}({p},")))?;
        if k <= 0 {
            return Err(ParseError::semantic(format!(
                "invalid parameter (must be greater than 0) {name}({p}"
            )));
        }
        if op == VectorOp::ApproxTopk && grouping.is_some() {
            return Err(ParseError::semantic(format!(
                "grouping not allowed for {name} aggregation"
            )));
        }
    } else if let Some(p) = param {
        return Err(ParseError::semantic(format!(
            "unsupported parameter for operation {name}({p},"
        )));
    }
    let grouping = grouping.unwrap_or_default();
    if validate && matches!(op, VectorOp::Sort | VectorOp::SortDesc) && !grouping.labels.is_empty()
    {
        return Err(ParseError::semantic(
            "sort and sort_desc doesn't allow grouping by ",
        ));
    }
    Ok((k, grouping))
}
