//! Query results in the shapes of Prometheus' HTTP API (`vector`, `matrix`, `scalar`, `string`).

use bongsu_model::Labels;

use super::annotations::Annotations;

/// One value at one time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t: i64,
    pub v: f64,
}

/// A series of an instant vector: labels, evaluation time and value.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
}

/// A series of a range vector: labels and points in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: Labels,
    pub points: Vec<Point>,
}

/// The result of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValue {
    Scalar(Point),
    String { t: i64, s: String },
    Vector(Vec<VectorSample>),
    Matrix(Vec<RangeSeries>),
}

impl QueryValue {
    /// Prometheus' `resultType`.
    pub fn result_type(&self) -> &'static str {
        match self {
            QueryValue::Scalar(_) => "scalar",
            QueryValue::String { .. } => "string",
            QueryValue::Vector(_) => "vector",
            QueryValue::Matrix(_) => "matrix",
        }
    }
}

/// A query's value with the annotations Prometheus would return next to it (rendered, with
/// positions; the API's `warnings` and `infos`).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutput {
    pub value: QueryValue,
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

impl QueryOutput {
    pub(super) fn new(value: QueryValue, annotations: &Annotations, query: &str) -> QueryOutput {
        let (warnings, infos) = annotations.render(query);
        QueryOutput {
            value,
            warnings,
            infos,
        }
    }
}
