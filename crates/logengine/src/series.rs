//! Which output series of a range aggregation a line's sample joins: the line's labels reduced
//! to the aggregation's grouping, or a pipeline error when the line carries `__error__`.
//!
//! Two ways to the same answer. In general the line's full label set is built
//! ([`LabelsBuilder::result`]) and reduced; lines of a stream mostly share their set, so the
//! previous line's series is reused when the builder hands back the same set. With `by (…)`
//! only the named labels matter, and building the full set per line costs more than the rest
//! of a `| json | unwrap` pipeline once each line's parsed values differ: then the named
//! labels are read from the builder and compared with the previous line's.
//!
//! Not here: the samples' windows and functions (`range`).

use std::collections::HashMap;
use std::sync::Arc;

use bongsu_logpipeline::labels::{ERROR_DETAILS_LABEL, ERROR_LABEL};
use bongsu_logpipeline::{LabelsBuilder, LabelsResult};
use bongsu_logql::ast::Grouping;
use bongsu_model::{Label, Labels};

use crate::{print_labels, QueryError};

/// One output series' samples as `(Unix ns, value)`.
pub(crate) struct Collected {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
}

/// The series one worker collects, and the way lines find theirs.
pub(crate) struct SeriesSet<'g> {
    grouping: Option<&'g Grouping>,
    /// The `by` names, sorted and unique, when a line's series follows from their values
    /// alone (not for `without`, no grouping, or a grouping by the error labels, which the
    /// builder keeps apart from the others).
    by: Option<Vec<String>>,
    series: Vec<Collected>,
    index: HashMap<Labels, usize>,
    /// The previous line's set and series (general way).
    last_result: Option<(Arc<LabelsResult>, usize)>,
    /// The previous line's `by` values (missing as empty) and series (`by` way).
    last_values: Vec<String>,
    last_by: Option<usize>,
    /// The stream labels named by `by`, looked up once per stream.
    base_values: Vec<Option<String>>,
}

impl<'g> SeriesSet<'g> {
    pub fn new(grouping: Option<&'g Grouping>) -> SeriesSet<'g> {
        let by = grouping.filter(|g| !g.without).and_then(|g| {
            let mut names = g.labels.clone();
            names.sort_unstable();
            names.dedup();
            let error_label = |n: &String| n == ERROR_LABEL || n == ERROR_DETAILS_LABEL;
            (!names.iter().any(error_label)).then_some(names)
        });
        SeriesSet {
            grouping,
            by,
            series: Vec::new(),
            index: HashMap::new(),
            last_result: None,
            last_values: Vec::new(),
            last_by: None,
            base_values: Vec::new(),
        }
    }

    /// Readies the set for the lines of another stream, whose builder is `lb`: call it before
    /// the first [`push`](Self::push) of each stream.
    pub fn start_stream(&mut self, lb: &LabelsBuilder) {
        self.last_result = None;
        if let Some(by) = &self.by {
            let base = lb.base();
            self.base_values = by.iter().map(|n| base.get(n).map(String::from)).collect();
        }
    }

    /// Adds a sample of the line whose labels `lb` holds.
    pub fn push(&mut self, lb: &mut LabelsBuilder, sample: (i64, f64)) -> Result<(), QueryError> {
        let i = self.series_of(lb)?;
        self.series[i].samples.push(sample);
        Ok(())
    }

    pub fn into_series(self) -> Vec<Collected> {
        self.series
    }

    fn series_of(&mut self, lb: &mut LabelsBuilder) -> Result<usize, QueryError> {
        match &self.by {
            // A line with an error takes the general way, which reports it.
            Some(by) if !has_error(lb) => {
                let bases = &self.base_values;
                let value = |k: usize| lb.get_over_base(&by[k], bases[k].as_deref()).unwrap_or("");
                if let Some(i) = self.last_by {
                    if (0..by.len()).all(|k| same(value(k), &self.last_values[k])) {
                        return Ok(i);
                    }
                }
                self.last_values.resize(by.len(), String::new());
                for (k, v) in self.last_values.iter_mut().enumerate() {
                    v.clear();
                    v.push_str(value(k));
                }
                let labels = by
                    .iter()
                    .zip(&self.last_values)
                    .map(|(n, v)| Label::new(n.as_str(), v.as_str()))
                    .collect();
                let labels =
                    Labels::new(labels).map_err(|e| QueryError::BadQuery(e.to_string()))?;
                let i = self.insert(labels);
                self.last_by = Some(i);
                Ok(i)
            }
            _ => {
                let result = lb.result();
                if let Some((prev, i)) = &self.last_result {
                    if Arc::ptr_eq(prev, &result) {
                        return Ok(*i);
                    }
                }
                let labels = output_labels(&result, self.grouping)?;
                let i = self.insert(labels);
                self.last_result = Some((result, i));
                Ok(i)
            }
        }
    }

    fn insert(&mut self, labels: Labels) -> usize {
        let series = &mut self.series;
        *self.index.entry(labels.clone()).or_insert_with(|| {
            series.push(Collected {
                labels,
                samples: Vec::new(),
            });
            series.len() - 1
        })
    }
}

/// `a == b`, but an empty `b` never reaches memcmp: a `String` that never held text has a
/// dangling pointer, and glibc's AVX-512 memcmp then takes a masked load that costs some
/// 100 ns even for zero bytes — on every line whose `by` label is missing.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && (b.is_empty() || a == b)
}

/// Whether the line's set would carry a non-empty `__error__` (set by a stage, or a parsed or
/// stream label of that name).
fn has_error(lb: &LabelsBuilder) -> bool {
    lb.has_err() || lb.get(ERROR_LABEL).is_some_and(|v| !v.is_empty())
}

/// A sample's series labels: the line's labels (an error is Loki's pipeline error), reduced to
/// the grouping if any.
fn output_labels(result: &LabelsResult, grouping: Option<&Grouping>) -> Result<Labels, QueryError> {
    if let Some(err) = result.get(ERROR_LABEL).filter(|e| !e.is_empty()) {
        let all: Vec<Label> = result.pairs().map(|(n, v)| Label::new(n, v)).collect();
        let series = Labels::new(all)
            .map(|l| print_labels(&l))
            .unwrap_or_else(|_| result.to_string());
        return Err(QueryError::Pipeline {
            error: err.to_string(),
            series,
        });
    }
    let keep = |name: &str| match grouping {
        None => name != ERROR_LABEL && name != ERROR_DETAILS_LABEL,
        Some(g) if g.without => !g.labels.iter().any(|l| l == name),
        Some(g) => g.labels.iter().any(|l| l == name),
    };
    let labels: Vec<Label> = result
        .pairs()
        .filter(|(n, _)| keep(n))
        .map(|(n, v)| Label::new(n, v))
        .collect();
    Labels::new(labels).map_err(|e| QueryError::BadQuery(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by(names: &[&str]) -> Grouping {
        Grouping {
            without: false,
            labels: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    /// Lines in various states: the `by` way must give each the series (or error) the general
    /// way gives.
    #[test]
    fn by_values_agree_with_full_label_sets() {
        let bases = [
            Labels::from_pairs(&[("app", "a"), ("job", "j"), ("path", "/s")]).unwrap(),
            Labels::from_pairs(&[("app", "b"), ("pod", "q")]).unwrap(),
        ];
        type Line = fn(&mut LabelsBuilder);
        let lines: [Line; 9] = [
            |_| {},
            |lb| lb.set_parsed("path", "/p"),
            |lb| lb.set_parsed("path", ""),
            |lb| lb.del("app"),
            |lb| lb.add_metadata("pod", "m"),
            |lb| {
                lb.set_parsed("pod", "p");
                lb.del("pod");
            },
            |lb| lb.set_parsed("level", "x"),
            |lb| lb.set_err_details("only details"),
            |lb| lb.set_parsed("path", "/p"),
        ];
        let groupings = [
            by(&["path"]),
            by(&["app", "path", "app"]),
            by(&["pod", "level"]),
            by(&[]),
            by(&["missing"]),
        ];
        for g in &groupings {
            let mut fast = SeriesSet::new(Some(g));
            assert!(fast.by.is_some());
            let mut t = 0;
            for base in &bases {
                let mut lb = LabelsBuilder::new(base.clone());
                fast.start_stream(&lb);
                for line in &lines {
                    lb.reset();
                    line(&mut lb);
                    let want = output_labels(&lb.result(), Some(g)).unwrap();
                    fast.push(&mut lb, (t, 0.0)).unwrap();
                    let got = fast
                        .series
                        .iter()
                        .find(|s| s.samples.iter().any(|x| x.0 == t));
                    assert_eq!(got.map(|s| &s.labels), Some(&want), "{g:?} {base} line {t}");
                    t += 1;
                }
            }
        }
    }

    #[test]
    fn errors_take_the_general_way() {
        let base = Labels::from_pairs(&[("app", "a")]).unwrap();
        let g = by(&["app"]);
        let mut set = SeriesSet::new(Some(&g));
        let mut lb = LabelsBuilder::new(base.clone());
        set.start_stream(&lb);
        lb.set_err("JSONParserErr");
        let e = set.push(&mut lb, (0, 0.0)).unwrap_err();
        assert!(matches!(e, QueryError::Pipeline { .. }));
        // A parsed label named `__error__` is an error too, as in the full set.
        lb.reset();
        lb.set_parsed(ERROR_LABEL, "x");
        assert!(set.push(&mut lb, (0, 0.0)).is_err());
        lb.reset();
        lb.set_parsed(ERROR_LABEL, "");
        set.push(&mut lb, (0, 0.0)).unwrap();
        // A grouping by the error labels keeps the general way.
        assert!(SeriesSet::new(Some(&by(&["app", ERROR_DETAILS_LABEL])))
            .by
            .is_none());
    }
}
