//! The light syntax tree the grammar walk builds: node kinds, byte ranges and what
//! Prometheus' checks need (types, modifiers, matchers). It is never evaluated.

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

#[derive(Debug, Clone, Default)]
pub struct Modifiers {
    pub offset: bool,
    pub at: bool,
    pub anchored: bool,
    pub smoothed: bool,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Number(f64),
    Str,
    Vector {
        name: Option<String>,
        matchers: Vec<LabelMatcher>,
        modifiers: Modifiers,
        bypass_empty_check: bool,
    },
    Matrix(Box<Node>),
    Subquery {
        expr: Box<Node>,
        modifiers: Modifiers,
    },
    Call {
        name: String,
        args: Vec<Node>,
    },
    Aggregate {
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
        on: bool,
        matching: Vec<String>,
        include: Vec<String>,
        card: Card,
        fill: bool,
    },
    Paren(Box<Node>),
    Unary(Box<Node>),
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
            Kind::Str => ValueType::String,
            Kind::Vector { .. } | Kind::Aggregate { .. } => ValueType::Vector,
            Kind::Matrix(_) | Kind::Subquery { .. } => ValueType::Matrix,
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
            Kind::Paren(e) | Kind::Unary(e) => e.value_type(),
        }
    }
}
