//! A query parsed once for many evaluations: the text, its AST and the node positions
//! annotations cite. Rules hold one per expression, so each evaluation only evaluates.

use promql_parser::parser::Expr;

use super::parse::parse;
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
        let expr = Box::new(parse(query).map_err(|e| PromqlError::Parse(e.to_string()))?);
        let positions = Positions::locate(query, &expr);
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

    pub(crate) fn positions(&self) -> &Positions {
        &self.positions
    }
}
