//! LogQL, Loki's query language: the AST ([`ast`]), [`parse`] with Loki's grammar, checks and
//! error messages, and the printer (`Display`) giving Loki's canonical text (what
//! `/loki/api/v1/format_query` answers).
//!
//! Compatibility is the point: a query Loki accepts parses, one it refuses fails with Loki's
//! message (`parse error at line 1, col 13: syntax error: unexpected STRING`), and printing
//! a parsed query gives Loki's `String()`. Where Loki accepts a query but fails it when the
//! pipeline is built (a bad `|~` regex, a bad `ip("…")`), the AST carries that error for the
//! evaluator (`ast::LineMatcher::Invalid`, `LabelFilter::Ip::pattern`).
//!
//! Limits: [`MAX_QUERY_LEN`] bytes (Loki's), [`MAX_DEPTH`] levels of nesting (ours; Loki's
//! generated parser grows its stack instead).
//!
//! Not here: evaluation, the store, HTTP, Go templates (`line_format`/`label_format` texts
//! are kept unparsed for the evaluator).

pub mod ast;
mod error;
mod go;
pub mod ip;
mod lexer;
mod parser;
pub mod pattern;
mod print;
mod simplify;

pub use ast::{Expr, LogExpr, MetricExpr};
pub use error::ParseError;
pub use parser::{ERR_NO_SPECIFIC_MATCHER, MAX_DEPTH};

/// Longest query accepted, in bytes (Loki's `maxInputSize`; it refuses this length too).
pub const MAX_QUERY_LEN: usize = 131_072;

/// Parses a query as Loki's `syntax.ParseExpr`: grammar, the checks made while building,
/// and validation (including "at least one matcher that does not match the empty string").
pub fn parse(query: &str) -> Result<Expr, ParseError> {
    parse_with(query, true)
}

/// As [`parse`] without Loki's validation step (Loki's `ParseExprWithoutValidation`, used
/// where a query's matchers are completed later): the stream-selector rule and the `sort`
/// grouping rule are skipped. Loki's other post-parse checks still apply, where Loki would
/// return a tree with a broken node: this AST cannot hold one.
pub fn parse_without_validation(query: &str) -> Result<Expr, ParseError> {
    parse_with(query, false)
}

fn parse_with(query: &str, validate: bool) -> Result<Expr, ParseError> {
    if query.len() >= MAX_QUERY_LEN {
        return Err(ParseError {
            msg: format!("input size too long ({} > {MAX_QUERY_LEN})", query.len()),
            line: 0,
            col: 0,
        });
    }
    parser::parse_tokens(lexer::tokenize(query), validate)
}
