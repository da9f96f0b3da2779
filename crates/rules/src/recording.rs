//! Recording rules: an expression's result renamed to the rule's `record` name and labelled,
//! to be written back to storage by the group.

use std::collections::BTreeMap;

use bongsu_model::METRIC_NAME;
use bongsu_promql::VectorSample;

use super::alerting::OutputSample;
use super::LabelsSet;

/// Prometheus' error when two results get the same labels.
pub const ERR_DUPLICATE_RECORD: &str =
    "vector contains metrics with the same labelset after applying rule labels";

pub struct RecordingRule {
    pub name: String,
    pub expr: String,
    /// Group labels overridden by the rule's.
    pub labels: BTreeMap<String, String>,
}

impl RecordingRule {
    /// The samples to record from the expression's `result`, stamped `t`.
    pub fn eval(
        &self,
        result: Vec<VectorSample>,
        t: i64,
        limit: i64,
    ) -> Result<Vec<OutputSample>, String> {
        let mut out = Vec::with_capacity(result.len());
        let mut seen = LabelsSet::default();
        seen.reserve(result.len());
        for s in result {
            let mut b = s.labels.builder();
            b.set(METRIC_NAME, self.name.as_str());
            for (k, v) in &self.labels {
                b.set(k.as_str(), v.as_str());
            }
            let labels = b.build().map_err(|e| e.to_string())?;
            if !seen.insert(labels.clone()) {
                return Err(ERR_DUPLICATE_RECORD.to_string());
            }
            out.push(OutputSample {
                labels,
                t,
                v: s.v,
                h: s.h,
            });
        }
        if limit > 0 && out.len() as i64 > limit {
            return Err(format!(
                "exceeded limit of {limit} with {} series",
                out.len()
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::Labels;

    fn sample(pairs: &[(&str, &str)], v: f64) -> VectorSample {
        VectorSample {
            labels: Labels::from_pairs(pairs).unwrap(),
            t: 0,
            v,
            h: None,
        }
    }

    #[test]
    fn renames_labels_and_checks() {
        let r = RecordingRule {
            name: "job:up:sum".into(),
            expr: "sum by (job) (up)".into(),
            labels: BTreeMap::from([("team".into(), "a".into()), ("drop".into(), String::new())]),
        };
        let out = r
            .eval(vec![sample(&[("job", "x"), ("drop", "y")], 2.0)], 7, 0)
            .unwrap();
        assert_eq!(
            out,
            [OutputSample {
                labels: Labels::from_pairs(&[
                    ("__name__", "job:up:sum"),
                    ("job", "x"),
                    ("team", "a")
                ])
                .unwrap(),
                t: 7,
                v: 2.0,
                h: None,
            }]
        );
        let two = vec![
            sample(&[("__name__", "a"), ("job", "x")], 1.0),
            sample(&[("__name__", "b"), ("job", "x")], 1.0),
        ];
        assert_eq!(r.eval(two, 0, 0), Err(ERR_DUPLICATE_RECORD.to_string()));
        let two = vec![sample(&[("job", "x")], 1.0), sample(&[("job", "y")], 1.0)];
        assert_eq!(
            r.eval(two, 0, 1),
            Err("exceeded limit of 1 with 2 series".to_string())
        );
    }
}
