//! Which vector selectors read histograms for their count and sum only (upstream's
//! `detectHistogramStatsDecoding` and `HistogramStatsIterator`): those under
//! `histogram_count`, `histogram_sum` or `histogram_avg` with no subquery, bucket-reading
//! function (`histogram_quantile(s)`, `histogram_fraction`) or trim on their path. Such a
//! selector drops the buckets and sets unknown counter-reset hints by comparing each sample
//! with the previous one it read, so aggregations can see (and warn about) resets.

use std::collections::HashSet;

use promql_parser::parser::{BinaryExpr, Expr, VectorSelector};

use bongsu_model::{CounterResetHint, FloatHistogram};

use super::function::Function;
use super::hist_ops;
use super::value::HistogramPoint;

/// The selectors (by address) that read stats only; `is_trim` tells trim operators apart.
pub(crate) fn stats_selectors(
    expr: &Expr,
    is_trim: &dyn Fn(&BinaryExpr) -> bool,
) -> HashSet<usize> {
    let mut out = HashSet::new();
    walk(expr, false, false, is_trim, &mut out);
    out
}

pub(crate) fn selector_key(vs: &VectorSelector) -> usize {
    vs as *const VectorSelector as usize
}

fn walk(
    e: &Expr,
    stats: bool,
    blocked: bool,
    is_trim: &dyn Fn(&BinaryExpr) -> bool,
    out: &mut HashSet<usize>,
) {
    let mut go = |e: &Expr, stats: bool, blocked: bool| walk(e, stats, blocked, is_trim, out);
    match e {
        Expr::VectorSelector(vs) => {
            if stats && !blocked {
                out.insert(selector_key(vs));
            }
        }
        Expr::MatrixSelector(ms) => {
            if stats && !blocked {
                out.insert(selector_key(&ms.vs));
            }
        }
        Expr::Subquery(sq) => go(&sq.expr, stats, true),
        Expr::Paren(p) => go(&p.expr, stats, blocked),
        Expr::Unary(u) => go(&u.expr, stats, blocked),
        Expr::Aggregate(a) => {
            go(&a.expr, stats, blocked);
            if let Some(p) = &a.param {
                go(p, stats, blocked);
            }
        }
        Expr::Binary(b) => {
            let blocked = blocked || is_trim(b);
            go(&b.lhs, stats, blocked);
            go(&b.rhs, stats, blocked);
        }
        Expr::Call(c) => {
            // Once per query, while the query is prepared.
            let f = Function::from_name(c.func.name);
            let stats = stats
                || matches!(
                    f,
                    Some(
                        Function::HistogramCount | Function::HistogramSum | Function::HistogramAvg
                    )
                );
            let blocked = blocked
                || matches!(
                    f,
                    Some(
                        Function::HistogramQuantile
                            | Function::HistogramQuantiles
                            | Function::HistogramFraction
                    )
                );
            for a in &c.args.args {
                go(a, stats, blocked);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// A series' histograms (in time order, as read) reduced to count and sum, unknown hints
/// replaced by what comparing with the previous sample says (the first stays unknown).
pub(crate) fn stats_only(hs: &mut [HistogramPoint]) {
    let mut prev: Option<FloatHistogram> = None;
    for p in hs.iter_mut() {
        let full = std::mem::take(&mut *p.h);
        let mut hint = full.counter_reset_hint;
        if hint == CounterResetHint::Unknown {
            if let Some(prev) = &prev {
                hint = if hist_ops::detect_reset(&full, prev) {
                    CounterResetHint::CounterReset
                } else {
                    CounterResetHint::NotCounterReset
                };
            }
        }
        *p.h = FloatHistogram {
            counter_reset_hint: hint,
            schema: full.schema,
            count: full.count,
            sum: full.sum,
            ..FloatHistogram::default()
        };
        prev = Some(full);
    }
}
