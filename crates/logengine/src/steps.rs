//! A metric expression's value at every step of a query: a scalar (the same at every step),
//! or series that have a value at some steps.

use bongsu_model::Labels;

use crate::{QueryError, MAX_STEPS};

/// The evaluation times of a metric query: `start, start + step, …, ≤ end` (nanoseconds).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Steps {
    pub start: i64,
    pub step: i64,
    pub count: usize,
}

impl Steps {
    pub fn new(start: i64, end: i64, step: i64) -> Result<Steps, QueryError> {
        let step = step.max(1);
        if end < start {
            return Err(QueryError::BadQuery(
                "invalid parameter: end timestamp must not be before start time".into(),
            ));
        }
        let count = (end - start) / step + 1;
        if count > MAX_STEPS {
            return Err(QueryError::BadQuery(format!(
                "exceeded maximum resolution of {MAX_STEPS} points per timeseries. Try decreasing the query resolution (?step=XX)"
            )));
        }
        Ok(Steps {
            start,
            step,
            count: count as usize,
        })
    }

    pub fn t(&self, i: usize) -> i64 {
        self.start + self.step * i as i64
    }

    pub fn end(&self) -> i64 {
        self.t(self.count.saturating_sub(1))
    }
}

/// One series: its labels and its value at each step (`None`: no value there).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StepSeries {
    pub labels: Labels,
    pub values: Vec<Option<f64>>,
}

/// A metric expression's value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StepValue {
    Scalar(f64),
    Series(Vec<StepSeries>),
}
