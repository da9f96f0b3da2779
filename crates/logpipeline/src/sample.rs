//! Sample extraction for metric queries: the value one log line contributes.
//!
//! `count_over_time`, `rate`… count lines (1 each); `bytes_over_time`, `bytes_rate` count the
//! line's bytes after the pipeline. `| unwrap label` (`duration(label)`,
//! `duration_seconds(label)`, `bytes(label)`) takes the value from a label, as Loki: a line
//! whose label is missing or empty gives no sample; a value that does not convert gives 0
//! with `__error__="SampleExtractionErr"` and the conversion's message; the post filters
//! (`| unwrap x | __error__=""`) then run; the unwrapped label is not part of the sample's
//! labels (Loki groups `without` it).

use crate::label_filter::LabelFilter;
use crate::labels::LabelsBuilder;
use crate::pipeline::Pipeline;
use crate::units::{duration_seconds, parse_bytes, parse_duration, parse_float};
use crate::ERR_SAMPLE_EXTRACTION;

/// How `unwrap` converts the label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// `unwrap x`: Go's `ParseFloat`.
    Float,
    /// `unwrap duration(x)` or `duration_seconds(x)`: Go's `ParseDuration`, in seconds.
    Duration,
    /// `unwrap bytes(x)`: humanize's `ParseBytes`.
    Bytes,
}

impl Conversion {
    pub fn convert(self, value: &str) -> Result<f64, String> {
        match self {
            Conversion::Float => parse_float(value),
            Conversion::Duration => parse_duration(value).map(duration_seconds),
            Conversion::Bytes => parse_bytes(value).map(|b| b as f64),
        }
    }
}

/// `| unwrap …` with the label filters that follow it.
#[derive(Debug, Clone)]
pub struct Unwrap {
    label: String,
    conversion: Conversion,
    post_filters: Vec<LabelFilter>,
}

impl Unwrap {
    pub fn new(label: &str, conversion: Conversion, post_filters: Vec<LabelFilter>) -> Unwrap {
        Unwrap {
            label: label.to_string(),
            conversion,
            post_filters,
        }
    }

    /// The sample of a line that went through the pipeline, if it has one.
    pub fn extract(&self, lb: &mut LabelsBuilder) -> Option<f64> {
        let raw = lb.get(&self.label).unwrap_or("");
        if raw.is_empty() {
            return None;
        }
        let value = match self.conversion.convert(raw) {
            Ok(v) => v,
            Err(e) => {
                lb.set_error(ERR_SAMPLE_EXTRACTION, &e);
                0.0
            }
        };
        // Loki joins post filters with `and`: every one runs.
        let mut keep = true;
        for f in &self.post_filters {
            keep &= f.process(lb);
        }
        if !keep {
            return None;
        }
        lb.del(&self.label);
        Some(value)
    }
}

/// What a line contributes to a range aggregation.
#[derive(Debug, Clone)]
pub enum Extract {
    /// 1 per line.
    Count,
    /// The line's length in bytes.
    Bytes,
    Unwrap(Unwrap),
}

/// A pipeline and what to extract after it.
#[derive(Clone)]
pub struct SampleExtractor {
    pipeline: Pipeline,
    extract: Extract,
}

impl SampleExtractor {
    pub fn new(pipeline: Pipeline, extract: Extract) -> SampleExtractor {
        SampleExtractor { pipeline, extract }
    }

    /// The sample of one entry, if any; its labels are then `lb.result()`.
    pub fn process<N: AsRef<str>, V: AsRef<str>>(
        &mut self,
        ts: i64,
        line: &[u8],
        metadata: &[(N, V)],
        lb: &mut LabelsBuilder,
    ) -> Option<f64> {
        let line = self.pipeline.process(ts, line, metadata, lb)?;
        match &self.extract {
            Extract::Count => Some(1.0),
            Extract::Bytes => Some(line.len() as f64),
            Extract::Unwrap(u) => u.extract(lb),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::logfmt::LogfmtParser;
    use crate::pipeline::Stage;
    use bongsu_model::{Labels, MatchOp};

    #[test]
    fn unwrap_as_loki() {
        let post = vec![LabelFilter::string("__error__", MatchOp::Equal, "").unwrap()];
        let mut e = SampleExtractor::new(
            Pipeline::new(vec![Stage::Logfmt(LogfmtParser::new(false, false))]),
            Extract::Unwrap(Unwrap::new("d", Conversion::Duration, post)),
        );
        let mut lb = LabelsBuilder::new(Labels::from_pairs(&[("job", "x")]).unwrap());
        let none: &[(&str, &str)] = &[];
        assert_eq!(e.process(0, b"d=1.5s a=1", none, &mut lb), Some(1.5));
        assert_eq!(lb.result().to_string(), r#"{a="1", job="x"}"#);
        assert_eq!(e.process(0, b"d=oops", none, &mut lb), None);
        assert_eq!(e.process(0, b"a=1", none, &mut lb), None);
        let mut e = SampleExtractor::new(
            Pipeline::new(vec![Stage::Logfmt(LogfmtParser::new(false, false))]),
            Extract::Unwrap(Unwrap::new("d", Conversion::Float, Vec::new())),
        );
        assert_eq!(e.process(0, b"d=x", none, &mut lb), Some(0.0));
        assert_eq!(
            lb.result().to_string(),
            r#"{__error__="SampleExtractionErr", __error_details__="strconv.ParseFloat: parsing \"x\": invalid syntax", job="x"}"#
        );
        let mut e = SampleExtractor::new(Pipeline::default(), Extract::Bytes);
        assert_eq!(e.process(0, "héllo".as_bytes(), none, &mut lb), Some(6.0));
    }
}
