//! `ParseError`: every way a query can fail to parse, printed in Loki's shape
//! (`parse error at line L, col C: …`, or `parse error : …` for checks that have no position).
//!
//! Not here: which message is chosen (the lexer, parser and checks do that).

use thiserror::Error;

/// A query Loki would refuse, with Loki's words. `line == 0 && col == 0` marks an error without
/// a position (Loki's semantic checks); Loki also reports `line 0` with a real column for a
/// token that its lexer completed with look-ahead (`|=`, `[5m]`, `5s`): we keep that quirk.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", render(.msg, *.line, *.col))]
pub struct ParseError {
    pub msg: String,
    pub line: usize,
    pub col: usize,
}

fn render(msg: &str, line: usize, col: usize) -> String {
    if line == 0 && col == 0 {
        format!("parse error : {msg}")
    } else {
        format!("parse error at line {line}, col {col}: {msg}")
    }
}

impl ParseError {
    pub(crate) fn at(msg: impl Into<String>, line: usize, col: usize) -> ParseError {
        ParseError {
            msg: msg.into(),
            line,
            col,
        }
    }

    /// An error of Loki's semantic checks, which carry no position.
    pub(crate) fn semantic(msg: impl Into<String>) -> ParseError {
        ParseError::at(msg, 0, 0)
    }
}
