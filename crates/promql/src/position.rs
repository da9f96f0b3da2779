//! What evaluation needs to know about the nodes of a parsed query beyond the AST types
//! hold: where each node starts in the query text (for the "(line:col)" Prometheus appends to
//! annotations), string literals that are not UTF-8, histogram trim operators, and selectors
//! that read histograms' count and sum only. It is taken from the syntax tree the parser
//! lowered the AST from, walked beside it once per query.

use std::collections::{HashMap, HashSet};

use promql_parser::parser::{BinaryExpr, Call, Expr, VectorSelector};

use crate::parse::ast::{Kind, Node};
use crate::parse::lex::Tok;

use super::function::{Function, ResolvedCalls};

/// Start offsets (bytes) of the nodes of one AST, keyed by node address. The AST must not
/// move while the map is used (the evaluator borrows it for the whole query).
#[derive(Debug, Default)]
pub(crate) struct Positions {
    starts: HashMap<usize, usize>,
    /// String literals whose escapes (`\xff`, octal) make bytes that are not UTF-8, as Go
    /// quotes them. Upstream keeps those bytes, so e.g. such a label name is invalid; the
    /// decoded value holds U+FFFD there, so only the source text tells.
    not_utf8: HashMap<usize, String>,
    /// Binary expressions written with a histogram trim operator (`</`: true, `>/`: false),
    /// which the AST holds as `<` / `>`.
    trims: HashMap<usize, bool>,
    /// Vector selectors that read histograms' count and sum only (see `hist_stats`).
    stats_selectors: HashSet<usize>,
    /// The function of every call, resolved once per query (see `function`).
    functions: ResolvedCalls,
}

impl Positions {
    /// The table of `expr`, lowered from `tree`, a tree of `query`.
    pub(crate) fn of(query: &str, expr: &Expr, tree: &Node) -> Positions {
        let mut out = Positions::default();
        out.visit(query, expr, tree);
        let trims = &out.trims;
        out.stats_selectors = super::hist_stats::stats_selectors(expr, &|b| {
            trims.contains_key(&(b as *const BinaryExpr as usize))
        });
        out
    }

    fn visit(&mut self, query: &str, expr: &Expr, node: &Node) {
        let mut node = node;
        // A unary plus leaves no node behind.
        while let Kind::Unary { neg: false, expr } = &node.kind {
            node = expr;
        }
        self.starts.insert(key(expr), node.start);
        match (expr, &node.kind) {
            (Expr::StringLiteral(_), Kind::Str(_)) => {
                let token = query.get(node.start..node.end).unwrap_or_default();
                if let Some(quoted) = crate::parse::go_quoted_if_not_utf8(token) {
                    self.not_utf8.insert(key(expr), quoted);
                }
            }
            (Expr::Paren(p), Kind::Paren(inner)) => self.visit(query, &p.expr, inner),
            (Expr::Unary(u), Kind::Unary { expr: inner, .. }) => self.visit(query, &u.expr, inner),
            (Expr::Subquery(s), Kind::Subquery { expr: inner, .. }) => {
                self.visit(query, &s.expr, inner)
            }
            (Expr::Call(c), Kind::Call { args, .. }) => {
                if let Some(f) = Function::from_name(c.func.name) {
                    self.functions.insert(c, f);
                }
                for (e, n) in c.args.args.iter().zip(args) {
                    self.visit(query, e, n);
                }
            }
            (Expr::Aggregate(a), Kind::Aggregate { param, expr: e, .. }) => {
                if let (Some(p), Some(n)) = (&a.param, param) {
                    self.visit(query, p, n);
                }
                if let Some(n) = e {
                    self.visit(query, &a.expr, n);
                }
            }
            (Expr::Binary(_), Kind::Binary { .. }) => self.visit_chain(query, expr, node),
            _ => {}
        }
    }

    /// A chain of binary expressions, along its left spine in a loop (chains are deep, see
    /// `parse::lower`).
    fn visit_chain(&mut self, query: &str, mut expr: &Expr, mut node: &Node) {
        while let (Expr::Binary(b), Kind::Binary { op, lhs, rhs, .. }) = (expr, &node.kind) {
            self.starts.insert(key(expr), node.start);
            if matches!(op, Tok::TrimUpper | Tok::TrimLower) {
                self.trims
                    .insert(b as *const BinaryExpr as usize, *op == Tok::TrimUpper);
            }
            self.visit(query, &b.rhs, rhs);
            expr = &b.lhs;
            node = lhs;
        }
        self.visit(query, expr, node);
    }

    /// Whether `expr` is a string literal that upstream would decode to invalid UTF-8.
    pub(crate) fn is_not_utf8(&self, expr: &Expr) -> bool {
        self.not_utf8.contains_key(&key(expr))
    }

    /// Such a literal as Go's `%q` prints its bytes (`"a\xc5z"`).
    pub(crate) fn go_quoted(&self, expr: &Expr) -> Option<&str> {
        self.not_utf8.get(&key(expr)).map(String::as_str)
    }

    /// Whether any binary expression is a histogram trim.
    pub(crate) fn has_trims(&self) -> bool {
        !self.trims.is_empty()
    }

    /// `Some(true)` for `</`, `Some(false)` for `>/`, if `b` is written with one.
    pub(crate) fn trim(&self, b: &BinaryExpr) -> Option<bool> {
        self.trims.get(&(b as *const BinaryExpr as usize)).copied()
    }

    /// Whether `vs` reads histograms' count and sum only (see `hist_stats`).
    pub(crate) fn stats_only(&self, vs: &VectorSelector) -> bool {
        self.stats_selectors
            .contains(&super::hist_stats::selector_key(vs))
    }

    /// The function `call` calls; `None` for a name the registry lacks.
    pub(crate) fn function(&self, call: &Call) -> Option<Function> {
        self.functions.get(call)
    }

    /// The start offset of `expr`, if known.
    pub(crate) fn start(&self, expr: &Expr) -> Option<usize> {
        self.starts.get(&key(expr)).copied()
    }
}

fn key(expr: &Expr) -> usize {
    expr as *const Expr as usize
}

/// `line:col` of a byte offset, both 1-based, columns counted in bytes as upstream does.
pub(crate) fn line_col(query: &str, pos: usize) -> String {
    let before = query.get(..pos).unwrap_or(query).as_bytes();
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let col = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    format!("{line}:{col}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'e>(e: &'e Expr, pred: &dyn Fn(&Expr) -> bool) -> Option<&'e Expr> {
        if pred(e) {
            return Some(e);
        }
        match e {
            Expr::Paren(p) => find(&p.expr, pred),
            Expr::Unary(u) => find(&u.expr, pred),
            Expr::Subquery(s) => find(&s.expr, pred),
            Expr::Call(c) => c.args.args.iter().find_map(|a| find(a, pred)),
            Expr::Aggregate(a) => a
                .param
                .as_deref()
                .and_then(|p| find(p, pred))
                .or_else(|| find(&a.expr, pred)),
            Expr::Binary(b) => find(&b.lhs, pred).or_else(|| find(&b.rhs, pred)),
            _ => None,
        }
    }

    fn pos_of(q: &str, pred: &dyn Fn(&Expr) -> bool) -> String {
        let (e, tree) = crate::parse::parse_spanned(q).expect("valid query");
        let p = Positions::of(q, &e, &tree);
        let node = find(&e, pred).expect("node");
        line_col(q, p.start(node).expect("located"))
    }

    fn is_call(name: &'static str) -> impl Fn(&Expr) -> bool {
        move |e| matches!(e, Expr::Call(c) if c.func.name == name)
    }

    #[test]
    fn calls_selectors_and_params() {
        assert_eq!(pos_of("sort(foo)", &is_call("sort")), "1:1");
        assert_eq!(pos_of("-1 * sort_desc(foo)", &is_call("sort_desc")), "1:6");
        assert_eq!(
            pos_of("histogram_quantile(0.8, series)", &|e| matches!(
                e,
                Expr::VectorSelector(_)
            )),
            "1:25"
        );
        assert_eq!(
            pos_of(
                "sum by (x) (rate(foo{a=\"(\"}[5m] offset 1m @ start()))\n + rate(bar_total[1m])",
                &|e| matches!(e, Expr::MatrixSelector(m) if m.vs.name.as_deref() == Some("bar_total"))
            ),
            "2:9"
        );
        assert_eq!(
            pos_of("quantile without(point)(NaN, data)", &|e| matches!(
                e,
                Expr::NumberLiteral(_)
            )),
            "1:25"
        );
        assert_eq!(
            pos_of(
                "foo / on(a) group_left(b) -bar + max_over_time(bar[1m:10s])",
                &|e| { matches!(e, Expr::Call(_)) }
            ),
            "1:34"
        );
        assert_eq!(pos_of("+ -(foo)", &|e| matches!(e, Expr::Unary(_))), "1:3");
    }

    #[test]
    fn every_call_is_resolved() {
        let q = "sum(rate(a[5m])) + clamp(abs(b), 0, scalar(c)) or label_replace(d, \"x\", \"\", \"y\", \"\")";
        let (e, tree) = crate::parse::parse_spanned(q).expect("valid query");
        let p = Positions::of(q, &e, &tree);
        for name in ["abs", "clamp", "label_replace", "rate", "scalar"] {
            let Some(Expr::Call(c)) = find(&e, &is_call(name)) else {
                panic!("{name} not found")
            };
            assert_eq!(p.function(c).map(Function::name), Some(name));
        }
    }

    #[test]
    fn trims_and_bytes_are_marked() {
        let q = r#"label_replace(a </ b, "x\xff", "", "", "") >/ c"#;
        let (e, tree) = crate::parse::parse_spanned(q).expect("valid query");
        let p = Positions::of(q, &e, &tree);
        let Expr::Binary(outer) = &e else {
            panic!("binary expected")
        };
        assert_eq!(p.trim(outer), Some(false));
        let call = find(&e, &|e| matches!(e, Expr::Call(_))).expect("call");
        let Expr::Call(c) = call else { unreachable!() };
        let Expr::Binary(inner) = &*c.args.args[0] else {
            panic!("binary expected")
        };
        assert_eq!(p.trim(inner), Some(true));
        assert_eq!(p.go_quoted(&c.args.args[1]), Some(r#""x\xff""#));
        assert!(!p.is_not_utf8(&c.args.args[2]));
    }
}
