//! Parsing PromQL text with Prometheus' acceptance rules and error messages.
//!
//! A query is lexed once ([`lex`], where Prometheus' lexer splits it, with byte offsets),
//! walked once by the grammar ([`syntax`], building a syntax tree with byte ranges and the
//! first syntax error in Prometheus' words), checked as Prometheus' `checkAST` does
//! ([`check`]: types, argument counts, modifiers), and lowered ([`lower`]) to the
//! evaluator's tree, which uses `promql-parser`'s AST types. The crate's own parser is not
//! used: it accepts what Prometheus rejects, words errors differently and keeps no positions.

pub(crate) mod ast;
mod check;
pub(crate) mod lex;
mod lower;
mod printer;
mod quote;
mod regexp;
mod syntax;
mod values;

pub(crate) use ast::ValueType;
pub use printer::to_string;
use promql_parser::parser::Expr;
pub(crate) use quote::go_quoted_if_not_utf8;
use thiserror::Error;

/// A query Prometheus would reject, with its message and the byte range it points at.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{}: parse error: {message}", position(.query, *.start))]
pub struct ParseError {
    /// The message as Prometheus words it, without position.
    pub message: String,
    /// Byte offsets of the offending part of the query.
    pub start: usize,
    pub end: usize,
    query: String,
}

impl ParseError {
    fn new(query: &str, message: impl Into<String>, start: usize, end: usize) -> ParseError {
        ParseError {
            message: message.into(),
            start,
            end,
            query: query.to_string(),
        }
    }
}

/// `<line>:<col>` of a byte offset, both 1-based, as Prometheus prints it.
fn position(query: &str, pos: usize) -> String {
    if query.is_empty() {
        return "unknown position".to_string();
    }
    if pos > query.len() {
        return "invalid position".to_string();
    }
    let before = &query.as_bytes()[..pos];
    let line = 1 + before.iter().filter(|b| **b == b'\n').count();
    let col = match before.iter().rposition(|b| *b == b'\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    format!("{line}:{col}")
}

/// Parses `query` into the evaluator's tree, rejecting what Prometheus rejects with its
/// message.
pub fn parse(query: &str) -> Result<Expr, ParseError> {
    parse_with(query, true).map(|(expr, _)| expr)
}

/// As [`parse`], with the syntax tree the expression was lowered from (its byte ranges are
/// the node positions annotations cite).
pub(crate) fn parse_spanned(query: &str) -> Result<(Expr, ast::Node), ParseError> {
    parse_with(query, true)
}

/// Parses a series selector (`match[]`), as Prometheus' `ParseMetricSelector`: the grammar's
/// checks only, without the type checks (so `{}` parses; callers decide about empty
/// matchers).
pub fn parse_metric_selector(query: &str) -> Result<Expr, ParseError> {
    parse_with(query, false).map(|(expr, _)| expr)
}

fn parse_with(query: &str, check_types: bool) -> Result<(Expr, ast::Node), ParseError> {
    let (tokens, lex_error) = lex::lex(query);
    let outcome = syntax::walk(query, tokens, lex_error);
    let first = |problems: Vec<syntax::Problem>| {
        problems
            .into_iter()
            .next()
            .map(|p| ParseError::new(query, p.message, p.start, p.end))
    };
    if let Some(e) = first(outcome.problems) {
        return Err(e);
    }
    let Some(mut root) = outcome.root else {
        return Err(ParseError::new(query, "no expression found in input", 0, 0));
    };
    if check_types {
        let mut checker = check::Checker {
            input: query,
            problems: Vec::new(),
        };
        checker.check(&mut root);
        if let Some(e) = first(checker.problems) {
            return Err(e);
        }
    }
    if let Some(feature) = outcome.unsupported {
        let message = format!("{feature} are not supported yet");
        return Err(ParseError::new(query, message, 0, query.len()));
    }
    let expr = lower::lower(&root).map_err(|m| ParseError::new(query, m, 0, query.len()))?;
    Ok((expr, root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_render_as_prometheus() {
        let e = parse("sum(rate(x[5m])) by (job) +").unwrap_err();
        assert_eq!(e.to_string(), "1:28: parse error: unexpected end of input");
        let e = parse("foo +\n  bar{a=b}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "2:9: parse error: unexpected identifier \"b\" in label matching, expected string"
        );
        assert_eq!((e.start, e.end), (14, 15));
        let e = parse("rate(foo)").unwrap_err();
        assert_eq!(
            e.message,
            "expected type range vector in call to function \"rate\", got instant vector"
        );
    }

    #[test]
    fn accepts_what_the_crate_reads_differently() {
        // Escapes in backquoted strings are literal text.
        let e = parse(r"{`a\dos`='x'}").unwrap();
        assert_eq!(to_string(&e), r#"{"a\\dos"="x"}"#);
        // Constant duration expressions reach the crate as their value.
        let e = parse("rate(foo[1m+1m])").unwrap();
        assert_eq!(to_string(&e), "rate(foo[2m])");
        let e = parse("sum by (anchored) (anchored)").unwrap();
        assert!(matches!(e, Expr::Aggregate(_)));
    }

    #[test]
    fn unsupported_syntax_says_so() {
        let e = parse("foo[step()]").unwrap_err();
        assert_eq!(
            e.message,
            "step() and range() in durations are not supported yet"
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_a_crash() {
        let ok = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&ok).is_ok());
        let chain = vec!["a"; 900].join(" or ");
        assert!(parse(&chain).is_ok());
        for deep in [
            format!("{}1{}", "(".repeat(5000), ")".repeat(5000)),
            vec!["a"; 5000].join(" + "),
            format!("-{}", "-".repeat(5000)) + "1",
            format!("foo{}", "[1m:]".repeat(5000)),
            format!("foo[{}1{}]", "(".repeat(5000), ")".repeat(5000)),
            format!("{}1{}", "abs(".repeat(5000), ")".repeat(5000)),
        ] {
            let e = parse(&deep).unwrap_err();
            assert!(e.message.contains("nested too deeply"), "{}", e.message);
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_gets_an_answer_not_a_panic(
            q in "[a-z0-9_:{}()\\[\\]\"'`=~!<>+*/%^@,. \n#-]{0,40}"
        ) {
            if let Ok(e) = parse(&q) {
                let _ = to_string(&e);
            }
        }
    }
}
