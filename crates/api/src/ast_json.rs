//! `parse_query`'s answer: a PromQL syntax tree as the JSON objects Prometheus' UI tree view
//! reads (node `type`s, operators as written, durations in milliseconds, matchers with the
//! metric name last). Duration expressions, anchored and smoothed selectors are not parsed
//! by bongsu, so their fields are always `null`/`false`.

use std::time::{Duration, UNIX_EPOCH};

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{
    AtModifier, Expr, LabelModifier, Offset, VectorMatchCardinality, VectorSelector,
};
use serde_json::{json, Value};

/// The JSON tree of `expr`.
pub fn translate(expr: &Expr) -> Value {
    match expr {
        Expr::Aggregate(a) => {
            let (grouping, without) = match &a.modifier {
                None => (Vec::new(), false),
                Some(LabelModifier::Include(l)) => (l.labels.clone(), false),
                Some(LabelModifier::Exclude(l)) => (l.labels.clone(), true),
            };
            json!({
                "type": "aggregation",
                "op": a.op.to_string(),
                "expr": translate(&a.expr),
                "param": a.param.as_deref().map_or(Value::Null, translate),
                "grouping": grouping,
                "without": without,
            })
        }
        Expr::Binary(b) => {
            let vectors =
                b.lhs.value_type() == ValueType::Vector && b.rhs.value_type() == ValueType::Vector;
            let matching = match &b.modifier {
                Some(m) if vectors || m.matching.is_some() => {
                    let (card, include) = match &m.card {
                        VectorMatchCardinality::OneToOne => ("one-to-one", Vec::new()),
                        VectorMatchCardinality::ManyToOne(l) => ("many-to-one", l.labels.clone()),
                        VectorMatchCardinality::OneToMany(l) => ("one-to-many", l.labels.clone()),
                        VectorMatchCardinality::ManyToMany => ("many-to-many", Vec::new()),
                    };
                    let (labels, on) = match &m.matching {
                        None => (Vec::new(), false),
                        Some(LabelModifier::Include(l)) => (l.labels.clone(), true),
                        Some(LabelModifier::Exclude(l)) => (l.labels.clone(), false),
                    };
                    matching(
                        card,
                        labels,
                        on,
                        include,
                        m.fill_values.lhs,
                        m.fill_values.rhs,
                    )
                }
                _ if vectors => {
                    let card = if b.op.is_set_operator() {
                        "many-to-many"
                    } else {
                        "one-to-one"
                    };
                    matching(card, Vec::new(), false, Vec::new(), None, None)
                }
                _ => Value::Null,
            };
            json!({
                "type": "binaryExpr",
                "op": b.op.to_string(),
                "lhs": translate(&b.lhs),
                "rhs": translate(&b.rhs),
                "matching": matching,
                "bool": b.modifier.as_ref().is_some_and(|m| m.return_bool),
            })
        }
        Expr::Call(c) => json!({
            "type": "call",
            "func": {
                "name": c.func.name,
                "argTypes": c.func.arg_types.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                "variadic": c.func.variadic,
                "returnType": c.func.return_type.to_string(),
            },
            "args": c.args.args.iter().map(|a| translate(a)).collect::<Vec<_>>(),
        }),
        Expr::MatrixSelector(m) => {
            let mut v = selector(&m.vs, "matrixSelector");
            v["range"] = json!(ms(&m.range));
            v["rangeExpr"] = Value::Null;
            v
        }
        Expr::Subquery(s) => {
            let (timestamp, start_or_end) = at(&s.at);
            json!({
                "type": "subquery",
                "expr": translate(&s.expr),
                "range": ms(&s.range),
                "rangeExpr": null,
                "offset": offset(&s.offset),
                "offsetExpr": null,
                "step": s.step.as_ref().map_or(0, ms),
                "stepExpr": null,
                "timestamp": timestamp,
                "startOrEnd": start_or_end,
            })
        }
        Expr::NumberLiteral(n) => json!({
            "type": "numberLiteral",
            "val": super::json::format_decimal(n.val),
        }),
        Expr::Paren(p) => json!({"type": "parenExpr", "expr": translate(&p.expr)}),
        Expr::StringLiteral(s) => json!({"type": "stringLiteral", "val": s.val}),
        Expr::Unary(u) => json!({"type": "unaryExpr", "op": "-", "expr": translate(&u.expr)}),
        Expr::VectorSelector(vs) => selector(vs, "vectorSelector"),
        Expr::Extension(_) => Value::Null,
    }
}

fn matching(
    card: &str,
    labels: Vec<String>,
    on: bool,
    include: Vec<String>,
    lhs: Option<f64>,
    rhs: Option<f64>,
) -> Value {
    json!({
        "card": card,
        "labels": labels,
        "on": on,
        "include": include,
        "fillValues": {"lhs": lhs, "rhs": rhs},
    })
}

fn selector(vs: &VectorSelector, kind: &str) -> Value {
    let mut matchers: Vec<Value> = vs.matchers.matchers.iter().map(matcher).collect();
    if let Some(name) = &vs.name {
        matchers.push(json!({"name": "__name__", "value": name, "type": "="}));
    }
    let (timestamp, start_or_end) = at(&vs.at);
    json!({
        "type": kind,
        "name": vs.name.clone().unwrap_or_default(),
        "offset": offset(&vs.offset),
        "offsetExpr": null,
        "matchers": matchers,
        "timestamp": timestamp,
        "startOrEnd": start_or_end,
        "anchored": false,
        "smoothed": false,
    })
}

fn matcher(m: &Matcher) -> Value {
    let op = match m.op {
        MatchOp::Equal => "=",
        MatchOp::NotEqual => "!=",
        MatchOp::Re(_) => "=~",
        MatchOp::NotRe(_) => "!~",
    };
    json!({"name": m.name, "value": m.value, "type": op})
}

fn ms(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn offset(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => ms(d),
        Some(Offset::Neg(d)) => -ms(d),
    }
}

/// `timestamp` (ms) and `startOrEnd` of an `@` modifier.
fn at(a: &Option<AtModifier>) -> (Value, Value) {
    match a {
        None => (Value::Null, Value::Null),
        Some(AtModifier::Start) => (Value::Null, json!("start")),
        Some(AtModifier::End) => (Value::Null, json!("end")),
        Some(AtModifier::At(t)) => {
            let t = match t.duration_since(UNIX_EPOCH) {
                Ok(d) => ms(&d),
                Err(e) => -ms(&e.duration()),
            };
            (json!(t), Value::Null)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(q: &str) -> Value {
        translate(&promql_parser::parser::parse(q).unwrap())
    }

    #[test]
    fn shapes_as_prometheus() {
        let v = tree("sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m] offset 1m))");
        assert_eq!(v["type"], "aggregation");
        assert_eq!(v["op"], "sum");
        assert_eq!(v["grouping"], json!(["job"]));
        assert_eq!(v["without"], false);
        assert_eq!(v["param"], Value::Null);
        let call = &v["expr"];
        assert_eq!(call["func"]["name"], "rate");
        assert_eq!(call["func"]["argTypes"], json!(["matrix"]));
        assert_eq!(call["func"]["returnType"], "vector");
        let m = &call["args"][0];
        assert_eq!(m["type"], "matrixSelector");
        assert_eq!(m["range"], 300_000);
        assert_eq!(m["offset"], 60_000);
        assert_eq!(
            m["matchers"],
            json!([
                {"name": "code", "value": "5..", "type": "=~"},
                {"name": "__name__", "value": "http_requests_total", "type": "="}
            ])
        );
        let b = tree("a / on(x) group_left(y) b");
        assert_eq!(b["matching"]["card"], "many-to-one");
        assert_eq!(b["matching"]["on"], true);
        assert_eq!(b["matching"]["labels"], json!(["x"]));
        assert_eq!(b["matching"]["include"], json!(["y"]));
        assert_eq!(tree("a and b")["matching"]["card"], "many-to-many");
        assert_eq!(tree("a > bool 1")["bool"], true);
        assert_eq!(tree("1 + 2")["matching"], Value::Null);
        let sq = tree("max_over_time(up[1h:5m] @ 100)");
        assert_eq!(sq["args"][0]["step"], 300_000);
        assert_eq!(sq["args"][0]["timestamp"], 100_000);
        assert_eq!(tree("up @ end()")["startOrEnd"], "end");
    }
}
