//! A query parsed once for many evaluations: the text, its AST and the node positions
//! annotations cite. Rules hold one per expression, so each evaluation only evaluates.

use promql_parser::parser::Expr;

use super::parse::parse_spanned;
use super::position::Positions;
use super::PromqlError;

/// A parsed query, ready to evaluate.
#[derive(Debug)]
pub struct PreparedQuery {
    text: String,
    /// Boxed so the nodes keep their addresses, which `positions` is keyed by, when the
    /// prepared query moves.
    expr: Box<Expr>,
    positions: Positions,
}

impl PreparedQuery {
    /// Parses `query` with Prometheus' checks and messages.
    pub fn new(query: &str) -> Result<PreparedQuery, PromqlError> {
        let (expr, tree) = parse_spanned(query).map_err(|e| PromqlError::Parse(e.to_string()))?;
        let expr = Box::new(expr);
        let positions = Positions::of(query, &expr, &tree);
        Ok(PreparedQuery {
            text: query.to_string(),
            expr,
            positions,
        })
    }

    /// The query as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parsed expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Whether the query uses the histogram trim operators `</` or `>/`, which the AST holds
    /// as the comparisons `<` and `>` (printing it would show those).
    pub fn uses_trim_operators(&self) -> bool {
        self.positions.has_trims()
    }

    pub(crate) fn positions(&self) -> &Positions {
        &self.positions
    }
}
