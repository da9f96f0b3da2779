//! Prometheus' canonical `String()` of an expression. The crate's `Display` agrees except
//! that it drops an empty `ignoring ()` in front of `group_left`/`group_right`, which
//! Prometheus keeps; this printer walks the composite nodes itself so the fix reaches nested
//! expressions, and leaves the rest of the formatting to the crate.

use promql_parser::parser::{
    AggregateExpr, BinaryExpr, Expr, LabelModifier, NumberLiteral, SubqueryExpr,
    VectorMatchCardinality,
};

/// Prints `expr` as Prometheus' `String()` does.
pub fn to_string(expr: &Expr) -> String {
    match expr {
        Expr::Binary(b) => binary(b),
        Expr::Paren(p) => format!("({})", to_string(&p.expr)),
        Expr::Unary(u) => format!("-{}", to_string(&u.expr)),
        Expr::Call(c) => {
            let args: Vec<String> = c.args.args.iter().map(|a| to_string(a)).collect();
            format!("{}({})", c.func.name, args.join(", "))
        }
        Expr::Aggregate(a) => aggregate(a),
        Expr::Subquery(s) => subquery(s),
        leaf => leaf.to_string(),
    }
}

/// A stand-in child whose printed form is known, to cut a node's own text out of the
/// crate's rendering of it.
fn placeholder() -> Box<Expr> {
    Box::new(Expr::NumberLiteral(NumberLiteral::new(0.0)))
}

fn aggregate(a: &AggregateExpr) -> String {
    let mut bare = a.clone();
    bare.expr = placeholder();
    bare.param = None;
    let rendered = bare.to_string();
    let op = rendered.strip_suffix("(0)").unwrap_or(&rendered);
    match &a.param {
        Some(p) => format!("{op}({}, {})", to_string(p), to_string(&a.expr)),
        None => format!("{op}({})", to_string(&a.expr)),
    }
}

fn subquery(s: &SubqueryExpr) -> String {
    let mut bare = s.clone();
    bare.expr = placeholder();
    let rendered = bare.to_string();
    let suffix = rendered.strip_prefix('0').unwrap_or(&rendered);
    format!("{}{suffix}", to_string(&s.expr))
}

fn binary(b: &BinaryExpr) -> String {
    let mut op = b.op.to_string();
    if let Some(m) = &b.modifier {
        let mut modifiers = m.to_string();
        let grouped = matches!(
            m.card,
            VectorMatchCardinality::ManyToOne(_) | VectorMatchCardinality::OneToMany(_)
        );
        let shows_matching = match &m.matching {
            Some(LabelModifier::Include(_)) => true,
            Some(LabelModifier::Exclude(ls)) => !ls.is_empty(),
            None => false,
        };
        if grouped && !shows_matching {
            modifiers = modifiers.replacen(" group_", " ignoring () group_", 1);
        }
        op.push_str(&modifiers);
    }
    format!("{} {op} {}", to_string(&b.lhs), to_string(&b.rhs))
}
