//! Query rewriting and inspection for the runner: which selectors a query has (to skip evals
//! touching series the runner cannot load) and the `@` variants upstream's runner also runs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::label::MatchOp as ParserOp;
use promql_parser::parser::{AtModifier, Expr, VectorSelector};

use bongsu_model::{MatchOp, Matcher};

use super::script::SeriesLabels;

pub fn collect_selectors<'e>(e: &'e Expr, out: &mut Vec<&'e VectorSelector>) {
    match e {
        Expr::VectorSelector(vs) => out.push(vs),
        Expr::MatrixSelector(ms) => out.push(&ms.vs),
        Expr::Paren(p) => collect_selectors(&p.expr, out),
        Expr::Unary(u) => collect_selectors(&u.expr, out),
        Expr::Subquery(sq) => collect_selectors(&sq.expr, out),
        Expr::Call(c) => c.args.args.iter().for_each(|a| collect_selectors(a, out)),
        Expr::Aggregate(a) => {
            collect_selectors(&a.expr, out);
            if let Some(p) = &a.param {
                collect_selectors(p, out);
            }
        }
        Expr::Binary(b) => {
            collect_selectors(&b.lhs, out);
            collect_selectors(&b.rhs, out);
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Whether `vs` selects a series with these labels (any `or` alternative counts).
pub fn selector_matches(vs: &VectorSelector, labels: &SeriesLabels) -> bool {
    let get = |name: &str| {
        labels
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    };
    if vs.name.as_deref().is_some_and(|n| n != get("__name__")) {
        return false;
    }
    let all = |ms: &[promql_parser::label::Matcher]| {
        ms.iter().all(|m| {
            let op = match m.op {
                ParserOp::Equal => MatchOp::Equal,
                ParserOp::NotEqual => MatchOp::NotEqual,
                ParserOp::Re(_) => MatchOp::Regex,
                ParserOp::NotRe(_) => MatchOp::NotRegex,
            };
            Matcher::new(op, &m.name, &m.value).is_ok_and(|m| m.matches(get(&m.name)))
        })
    };
    all(&vs.matchers.matchers) || vs.matchers.or_matchers.iter().any(|ms| all(ms))
}

/// Functions whose result depends on the evaluation time even with `@` on every selector.
const AT_UNSAFE_FUNCTIONS: &[&str] = &[
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "end",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "range",
    "start",
    "step",
    "time",
    "timestamp",
];

/// Upstream's first check of an instant eval: with `@ <t>` on every selector and subquery
/// that has none (not inside a subquery that has one), the query must give the same result
/// at other evaluation times.
pub fn at_modifier_variants(q: &str, t: i64) -> Vec<(String, i64)> {
    // promql-parser decodes a byte escape such as `\xff` into a code point, and so prints
    // another query than the one written; upstream prints the byte escape back.
    if q.contains("\\x") {
        return Vec::new();
    }
    let Ok(mut expr) = promql_parser::parser::parse(q) else {
        return Vec::new();
    };
    let at = if t >= 0 {
        UNIX_EPOCH + Duration::from_millis(t.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_millis(t.unsigned_abs())
    };
    if !add_at(&mut expr, at) {
        return Vec::new();
    }
    let times = if t == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * t, 0, t / 5, t, 10 * t]
    };
    let text = go_infinities(&expr.to_string());
    times.into_iter().map(|et| (text.clone(), et)).collect()
}

/// Sets `@ at` where missing; false if the query calls an `@`-unsafe function.
fn add_at(e: &mut Expr, at: SystemTime) -> bool {
    match e {
        Expr::VectorSelector(vs) => {
            vs.at.get_or_insert(AtModifier::At(at));
            true
        }
        Expr::MatrixSelector(ms) => {
            ms.vs.at.get_or_insert(AtModifier::At(at));
            true
        }
        Expr::Subquery(sq) => {
            if sq.at.is_some() {
                // Selectors inside keep their times, but unsafe calls still count.
                return !calls_unsafe(&sq.expr);
            }
            sq.at = Some(AtModifier::At(at));
            !calls_unsafe(&sq.expr)
        }
        Expr::Paren(p) => add_at(&mut p.expr, at),
        Expr::Unary(u) => add_at(&mut u.expr, at),
        Expr::Call(c) => {
            let safe = !AT_UNSAFE_FUNCTIONS.contains(&c.func.name);
            c.args
                .args
                .iter_mut()
                .fold(safe, |ok, a| add_at(a, at) && ok)
        }
        Expr::Aggregate(a) => {
            let ok = a.param.as_mut().is_none_or(|p| add_at(p, at));
            add_at(&mut a.expr, at) && ok
        }
        Expr::Binary(b) => {
            let ok = add_at(&mut b.lhs, at);
            add_at(&mut b.rhs, at) && ok
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => true,
    }
}

fn calls_unsafe(e: &Expr) -> bool {
    match e {
        Expr::Call(c) => {
            AT_UNSAFE_FUNCTIONS.contains(&c.func.name)
                || c.args.args.iter().any(|a| calls_unsafe(a))
        }
        Expr::Paren(p) => calls_unsafe(&p.expr),
        Expr::Unary(u) => calls_unsafe(&u.expr),
        Expr::Subquery(sq) => calls_unsafe(&sq.expr),
        Expr::Aggregate(a) => calls_unsafe(&a.expr) || a.param.as_deref().is_some_and(calls_unsafe),
        Expr::Binary(b) => calls_unsafe(&b.lhs) || calls_unsafe(&b.rhs),
        _ => false,
    }
}

/// Upstream prints a positive infinite number literal as `+Inf` (Go's `FormatFloat`), the
/// parser crate as `Inf`; positions in annotations depend on it.
fn go_infinities(text: &str) -> String {
    let re = regex::Regex::new(r#"(^|[^\w"'+\-.])Inf\b"#).expect("valid regex");
    re.replace_all(text, "${1}+Inf").into_owned()
}
