//! Query results in the shapes of Prometheus' HTTP API (`vector`, `matrix`, `scalar`, `string`).

use bongsu_model::{FloatHistogram, Labels};

use super::annotations::Annotations;

/// One value at one time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t: i64,
    pub v: f64,
}

/// One native histogram at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramPoint {
    pub t: i64,
    pub h: Box<FloatHistogram>,
}

/// A series of an instant vector: labels, evaluation time and value: a float `v`, or a
/// native histogram `h` (when `h` is set, `v` means nothing).
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
    pub h: Option<Box<FloatHistogram>>,
}

/// A series of a range vector: labels, its float points and its histogram points, each in
/// time order (no time is in both).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: Labels,
    pub points: Vec<Point>,
    pub histograms: Vec<HistogramPoint>,
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
