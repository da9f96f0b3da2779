//! The native-histogram annotations of Prometheus' `util/annotations`, with its texts.

use super::annotations::Annotations;

/// `maybeAddMetricName`: ` for metric name "x"` unless the name is empty.
fn for_metric(msg: &str, metric: &str) -> String {
    if metric.is_empty() {
        msg.to_string()
    } else {
        format!("{msg} for metric name {metric:?}")
    }
}

/// Which histogram operation an annotation is about.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HistOp {
    Add,
    Sub,
    Agg,
}

impl HistOp {
    fn name(self) -> &'static str {
        match self {
            HistOp::Add => "addition",
            HistOp::Sub => "subtraction",
            HistOp::Agg => "aggregation",
        }
    }
}

impl Annotations {
    pub(crate) fn mixed_floats_histograms(&mut self, metric: &str, pos: Option<usize>) {
        self.warn(
            format_args!("encountered a mix of histograms and floats for metric name {metric:?}"),
            pos,
        );
    }

    pub(crate) fn mixed_floats_histograms_agg(&mut self, pos: Option<usize>) {
        self.warn(
            "encountered a mix of histograms and floats for aggregation",
            pos,
        );
    }

    pub(crate) fn mixed_classic_native(&mut self, metric: &str, pos: Option<usize>) {
        self.warn(
            for_metric(
                "vector contains a mix of classic and native histograms",
                metric,
            ),
            pos,
        );
    }

    pub(crate) fn not_counter(&mut self, metric: &str, pos: Option<usize>) {
        self.warn(
            format_args!("this native histogram metric is not a counter: {metric:?}"),
            pos,
        );
    }

    pub(crate) fn not_gauge(&mut self, metric: &str, pos: Option<usize>) {
        self.warn(
            format_args!("this native histogram metric is not a gauge: {metric:?}"),
            pos,
        );
    }

    pub(crate) fn mixed_exponential_custom(&mut self, metric: &str, pos: Option<usize>) {
        self.warn(
            format_args!("vector contains a mix of histograms with exponential and custom buckets schemas for metric name {metric:?}"),
            pos,
        );
    }

    pub(crate) fn incompatible_bucket_layout(&mut self, op: &str, pos: Option<usize>) {
        self.warn(
            format_args!("incompatible bucket layout encountered for binary operator {op}"),
            pos,
        );
    }

    pub(crate) fn incompatible_types(
        &mut self,
        lhs: &str,
        op: &str,
        rhs: &str,
        pos: Option<usize>,
    ) {
        self.info(
            format_args!(
                "incompatible sample types encountered for binary operator {op:?}: {lhs} {op} {rhs}"
            ),
            pos,
        );
    }

    pub(crate) fn histogram_ignored_in_aggregation(&mut self, agg: &str, pos: Option<usize>) {
        self.info(format_args!("ignored histogram in {agg} aggregation"), pos);
    }

    pub(crate) fn histogram_ignored_in_mixed_range(&mut self, metric: &str, pos: Option<usize>) {
        self.info(
            format_args!("ignored histograms in a range containing both floats and histograms for metric name {metric:?}"),
            pos,
        );
    }

    pub(crate) fn quantile_nan_result(&mut self, metric: &str, pos: Option<usize>) {
        self.info(
            for_metric(
                "input to histogram_quantile has NaN observations, result is NaN",
                metric,
            ),
            pos,
        );
    }

    pub(crate) fn quantile_nan_skew(&mut self, metric: &str, pos: Option<usize>) {
        self.info(
            for_metric(
                "input to histogram_quantile has NaN observations, result is skewed higher",
                metric,
            ),
            pos,
        );
    }

    pub(crate) fn fraction_nans(&mut self, metric: &str, pos: Option<usize>) {
        self.info(
            for_metric(
                "input to histogram_fraction has NaN observations, which are excluded from all fractions",
                metric,
            ),
            pos,
        );
    }

    pub(crate) fn counter_reset_collision(&mut self, op: HistOp, pos: Option<usize>) {
        self.warn(
            format_args!("conflicting counter resets during histogram {}", op.name()),
            pos,
        );
    }

    pub(crate) fn mismatched_custom_buckets(&mut self, op: HistOp, pos: Option<usize>) {
        self.info(
            format_args!(
                "mismatched custom buckets were reconciled during {}",
                op.name()
            ),
            pos,
        );
    }
}
