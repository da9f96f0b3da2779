//! Turns the walk's syntax tree into the evaluator's tree, node for node.
//!
//! The evaluator's tree uses `promql-parser`'s AST types (the evaluator, the printer and the
//! API's AST JSON are written against them), but the crate's own parser never runs: the
//! query is lexed and parsed once, by [`super::lex`] and [`super::syntax`], and only a tree
//! that passed every check is lowered. The byte ranges stay on the syntax tree, which
//! [`crate::position`] walks beside the lowered one.

use std::time::Duration;

use promql_parser::label::{Labels, MatchOp as ParserOp, Matcher, Matchers};
use promql_parser::parser::token::{self, TokenId, TokenType};
use promql_parser::parser::value::ValueType as ParserType;
use promql_parser::parser::{
    AggregateExpr, AtModifier, BinModifier, BinaryExpr, Call, Expr, Function, FunctionArgs,
    LabelModifier, MatrixSelector, NumberLiteral, Offset, ParenExpr, StringLiteral, SubqueryExpr,
    UnaryExpr, VectorMatchCardinality, VectorMatchFillValues, VectorSelector,
};
use regex::Regex;

use super::ast::{At, Card, Grouping, Kind, LabelMatcher, MatchOp, Modifiers, Node, ValueType};
use super::lex::Tok;
use crate::function::Function as Registered;

/// Lowers a tree the walk and the checks accepted. `Err` carries a message for the few
/// values only the evaluator's types reject (a regex Rust cannot hold at all), and for
/// trees that did not pass the walk (a bug, reported rather than a panic).
pub fn lower(node: &Node) -> Result<Expr, String> {
    // Each kind is lowered out of line so that this function's frame, on the stack once per
    // level of the query, stays small (chains like `a or b or …` are deep).
    match &node.kind {
        Kind::Binary { .. } => binary(node),
        Kind::Paren(e) => Ok(Expr::Paren(ParenExpr {
            expr: Box::new(lower(e)?),
        })),
        Kind::Unary { neg: false, expr } => lower(expr),
        Kind::Unary { neg: true, expr } => Ok(Expr::Unary(UnaryExpr {
            expr: Box::new(lower(expr)?),
        })),
        _ => leaf_or_call(node),
    }
}

#[inline(never)]
fn leaf_or_call(node: &Node) -> Result<Expr, String> {
    Ok(match &node.kind {
        Kind::Number(v) => Expr::NumberLiteral(NumberLiteral::new(*v)),
        Kind::Str(s) => Expr::StringLiteral(StringLiteral { val: s.clone() }),
        Kind::Vector {
            name,
            matchers,
            modifiers,
            ..
        } => Expr::VectorSelector(vector_selector(name, matchers, modifiers)?),
        Kind::Matrix { selector, range } => {
            let Kind::Vector {
                name,
                matchers,
                modifiers,
                ..
            } = &selector.kind
            else {
                return Err("ranges only allowed for vector selectors".into());
            };
            Expr::MatrixSelector(MatrixSelector {
                vs: vector_selector(name, matchers, modifiers)?,
                range: range.ok_or("range selector without a range")?,
            })
        }
        Kind::Subquery {
            expr,
            range,
            step,
            modifiers,
        } => Expr::Subquery(SubqueryExpr {
            expr: Box::new(lower(expr)?),
            offset: offset(modifiers),
            at: at(modifiers)?,
            range: range.ok_or("subquery without a range")?,
            step: *step,
        }),
        Kind::Call { name, args } => Expr::Call(Call {
            func: function(name)?,
            args: FunctionArgs {
                args: args
                    .iter()
                    .map(|a| lower(a).map(Box::new))
                    .collect::<Result<_, _>>()?,
            },
        }),
        Kind::Aggregate {
            op,
            grouping,
            param,
            expr,
            ..
        } => Expr::Aggregate(AggregateExpr {
            op: TokenType::new(aggregator(op)?),
            expr: Box::new(lower(
                expr.as_deref().ok_or("aggregation without argument")?,
            )?),
            param: param.as_deref().map(lower).transpose()?.map(Box::new),
            modifier: grouping.as_ref().map(label_modifier),
        }),
        Kind::Binary { .. } | Kind::Paren(_) | Kind::Unary { .. } => lower(node)?,
    })
}

fn vector_selector(
    name: &Option<String>,
    matchers: &[LabelMatcher],
    modifiers: &Modifiers,
) -> Result<VectorSelector, String> {
    Ok(VectorSelector {
        name: name.clone(),
        matchers: Matchers::new(matchers.iter().map(matcher).collect::<Result<_, _>>()?),
        offset: offset(modifiers),
        at: at(modifiers)?,
    })
}

fn matcher(m: &LabelMatcher) -> Result<Matcher, String> {
    let op = match m.op {
        MatchOp::Equal => ParserOp::Equal,
        MatchOp::NotEqual => ParserOp::NotEqual,
        MatchOp::Regex => ParserOp::Re(regex(&m.value)?),
        MatchOp::NotRegex => ParserOp::NotRe(regex(&m.value)?),
    };
    Ok(Matcher::new(op, &m.name, &m.value))
}

/// The compiled form the AST type carries. The evaluator matches with its own matchers
/// (`bongsu_model::Matcher`, which reports what Rust's regex cannot express when the query
/// runs), so a Go regex Rust rejects is kept here as the literal text it escapes to.
fn regex(value: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?s:{value})$"))
        .or_else(|_| Regex::new(&format!("^{}$", regex::escape(value))))
        .map_err(|e| format!("invalid regular expression {value:?}: {e}"))
}

fn offset(m: &Modifiers) -> Option<Offset> {
    m.offset_ms.map(|ms| {
        let d = Duration::from_millis(ms.unsigned_abs());
        if ms < 0 {
            Offset::Neg(d)
        } else {
            Offset::Pos(d)
        }
    })
}

fn at(m: &Modifiers) -> Result<Option<AtModifier>, String> {
    m.at.map(|at| match at {
        At::Start => Ok(AtModifier::Start),
        At::End => Ok(AtModifier::End),
        At::Seconds(s) => AtModifier::try_from(s),
    })
    .transpose()
}

fn function(name: &str) -> Result<Function, String> {
    let f = Registered::from_name(name)
        .ok_or_else(|| format!("unknown function with name {name:?}"))?;
    let sig = f.signature();
    let arg_types = (0..sig.args.len())
        .map(|i| parser_type(sig.arg_type(i)))
        .collect();
    Ok(Function::new(
        f.name(),
        arg_types,
        sig.variadic,
        parser_type(sig.ret),
        false,
    ))
}

fn parser_type(t: ValueType) -> ParserType {
    match t {
        ValueType::Scalar => ParserType::Scalar,
        ValueType::Vector => ParserType::Vector,
        ValueType::Matrix => ParserType::Matrix,
        ValueType::String => ParserType::String,
    }
}

fn aggregator(op: &str) -> Result<TokenId, String> {
    Ok(match op {
        "sum" => token::T_SUM,
        "avg" => token::T_AVG,
        "count" => token::T_COUNT,
        "min" => token::T_MIN,
        "max" => token::T_MAX,
        "group" => token::T_GROUP,
        "stddev" => token::T_STDDEV,
        "stdvar" => token::T_STDVAR,
        "topk" => token::T_TOPK,
        "bottomk" => token::T_BOTTOMK,
        "count_values" => token::T_COUNT_VALUES,
        "quantile" => token::T_QUANTILE,
        "limitk" => token::T_LIMITK,
        "limit_ratio" => token::T_LIMIT_RATIO,
        other => return Err(format!("unknown aggregation {other:?}")),
    })
}

fn label_modifier(g: &Grouping) -> LabelModifier {
    let labels = labels(&g.labels);
    if g.without {
        LabelModifier::Exclude(labels)
    } else {
        LabelModifier::Include(labels)
    }
}

fn labels(names: &[String]) -> Labels {
    Labels {
        labels: names.to_vec(),
    }
}

/// The operator's token. The AST type has no histogram trim operators: `</` and `>/` become
/// the comparison of the same precedence, and [`crate::position`] marks them as trims.
fn operator(op: Tok) -> Result<TokenId, String> {
    Ok(match op {
        Tok::Add => token::T_ADD,
        Tok::Sub => token::T_SUB,
        Tok::Mul => token::T_MUL,
        Tok::Div => token::T_DIV,
        Tok::Mod => token::T_MOD,
        Tok::Pow => token::T_POW,
        Tok::Atan2 => token::T_ATAN2,
        Tok::Eqlc => token::T_EQLC,
        Tok::Neq => token::T_NEQ,
        Tok::Lss | Tok::TrimUpper => token::T_LSS,
        Tok::Lte => token::T_LTE,
        Tok::Gtr | Tok::TrimLower => token::T_GTR,
        Tok::Gte => token::T_GTE,
        Tok::Land => token::T_LAND,
        Tok::Lor => token::T_LOR,
        Tok::Lunless => token::T_LUNLESS,
        other => return Err(format!("not a binary operator: {other:?}")),
    })
}

/// A binary expression with its modifier as Prometheus' grammar builds it: none unless one
/// is written, and set operators always many-to-many.
///
/// Left-associative chains (`a or b or …`, up to [`super::syntax::MAX_HEIGHT`] levels) are
/// lowered along their left spine in a loop, so the stack grows with nesting only.
fn binary(node: &Node) -> Result<Expr, String> {
    let mut spine = Vec::new();
    let mut leftmost = node;
    while let Kind::Binary { lhs, .. } = &leftmost.kind {
        spine.push(leftmost);
        leftmost = lhs;
    }
    let mut lowered = lower(leftmost)?;
    for b in spine.into_iter().rev() {
        let Kind::Binary { rhs, .. } = &b.kind else {
            return Err("not a binary expression".into());
        };
        let (op, modifier) = operator_and_modifier(b)?;
        lowered = Expr::Binary(BinaryExpr {
            op,
            lhs: Box::new(lowered),
            rhs: Box::new(lower(rhs)?),
            modifier,
        });
    }
    Ok(lowered)
}

#[inline(never)]
fn operator_and_modifier(node: &Node) -> Result<(TokenType, Option<BinModifier>), String> {
    let Kind::Binary {
        op,
        return_bool,
        on,
        matching_set,
        matching,
        include,
        card,
        fill,
        fill_lhs,
        fill_rhs,
        ..
    } = &node.kind
    else {
        return Err("not a binary expression".into());
    };
    let op = TokenType::new(operator(*op)?);
    let written = *return_bool || *matching_set || *card != Card::OneToOne || *fill;
    let mut modifier = written.then(|| BinModifier {
        card: match card {
            Card::OneToOne => VectorMatchCardinality::OneToOne,
            Card::ManyToOne => VectorMatchCardinality::ManyToOne(labels(include)),
            Card::OneToMany => VectorMatchCardinality::OneToMany(labels(include)),
        },
        matching: matching_set.then(|| {
            if *on {
                LabelModifier::Include(labels(matching))
            } else {
                LabelModifier::Exclude(labels(matching))
            }
        }),
        return_bool: *return_bool,
        fill_values: VectorMatchFillValues {
            lhs: *fill_lhs,
            rhs: *fill_rhs,
        },
    });
    if op.is_set_operator() {
        let m = modifier.get_or_insert_with(BinModifier::default);
        if m.card == VectorMatchCardinality::OneToOne {
            m.card = VectorMatchCardinality::ManyToMany;
        }
    }
    Ok((op, modifier))
}
