//! The syntax tree the grammar walk builds: node kinds, byte ranges, values, and what
//! Prometheus' checks need (types, modifiers, matchers). [`super::lower`] turns it into the
//! evaluator's tree; the byte ranges become the positions annotations cite.

use std::time::Duration;

use super::lex::Tok;
use crate::function::Function;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Scalar,
    Vector,
    Matrix,
    String,
}

impl ValueType {
    /// Go's `ValueType` string (`matrix`, `vector`, …).
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "vector",
            ValueType::Matrix => "matrix",
            ValueType::String => "string",
        }
    }

    /// Prometheus' `DocumentedType` (`range vector`, `instant vector`, …).
    pub fn documented(self) -> &'static str {
        match self {
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
            t => t.name(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

#[derive(Debug, Clone)]
pub struct LabelMatcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Card {
    OneToOne,
    ManyToOne,
    OneToMany,
}

/// The time an `@` modifier pins evaluation to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum At {
    Start,
    End,
    /// Seconds since the epoch.
    Seconds(f64),
}

#[derive(Debug, Clone, Default)]
pub struct Modifiers {
    /// Whether a non-zero offset is set (what upstream's "set multiple times" checks see).
    pub offset: bool,
    /// The offset as written, in signed milliseconds (zero included).
    pub offset_ms: Option<i64>,
    pub at: Option<At>,
    pub anchored: bool,
    pub smoothed: bool,
}

/// `by (…)` (`without: false`) or `without (…)` after an aggregation.
#[derive(Debug, Clone)]
pub struct Grouping {
    pub without: bool,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Number(f64),
    /// A string literal, decoded.
    Str(String),
    Vector {
        name: Option<String>,
        matchers: Vec<LabelMatcher>,
        modifiers: Modifiers,
        bypass_empty_check: bool,
    },
    /// A range selector; `range` is `None` only when the query was refused.
    Matrix {
        selector: Box<Node>,
        range: Option<Duration>,
    },
    Subquery {
        expr: Box<Node>,
        range: Option<Duration>,
        step: Option<Duration>,
        modifiers: Modifiers,
    },
    Call {
        name: String,
        args: Vec<Node>,
    },
    Aggregate {
        /// The operator, lower case.
        op: String,
        grouping: Option<Grouping>,
        param: Option<Box<Node>>,
        expr: Option<Box<Node>>,
        needs_param: Option<ValueType>,
    },
    Binary {
        op: Tok,
        op_text: String,
        lhs: Box<Node>,
        rhs: Box<Node>,
        return_bool: bool,
        /// Whether `on (…)` or `ignoring (…)` is written, and which (`on`).
        matching_set: bool,
        on: bool,
        matching: Vec<String>,
        include: Vec<String>,
        card: Card,
        fill: bool,
        /// `fill`/`fill_left` and `fill`/`fill_right` values.
        fill_lhs: Option<f64>,
        fill_rhs: Option<f64>,
    },
    Paren(Box<Node>),
    /// A unary minus (`neg`) or plus; on a number literal the sign is folded into it.
    Unary {
        neg: bool,
        expr: Box<Node>,
    },
}

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    /// Levels of the tree from here down (a leaf is 1).
    pub height: usize,
}

impl Node {
    pub fn value_type(&self) -> ValueType {
        match &self.kind {
            Kind::Number(_) => ValueType::Scalar,
            Kind::Str(_) => ValueType::String,
            Kind::Vector { .. } | Kind::Aggregate { .. } => ValueType::Vector,
            Kind::Matrix { .. } | Kind::Subquery { .. } => ValueType::Matrix,
            Kind::Call { name, .. } => Function::from_name(name)
                .map(|f| f.signature().ret)
                .unwrap_or(ValueType::Vector),
            Kind::Binary { lhs, rhs, .. } => {
                if lhs.value_type() == ValueType::Scalar && rhs.value_type() == ValueType::Scalar {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            Kind::Paren(e) | Kind::Unary { expr: e, .. } => e.value_type(),
        }
    }
}
