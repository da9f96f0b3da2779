//! `| drop a, b="x"` and `| keep a, b=~"x.*"`.
//!
//! As Loki: `drop name` removes the label (`__error__`/`__error_details__` clear the error);
//! `drop name op "v"` removes it when its value (empty if missing) matches. `keep` removes
//! every label that no entry keeps — a bare name keeps that label, a matcher keeps its label
//! when the value matches — except the error labels, which `keep` never removes. Matchers
//! are Prometheus' (anchored regexes).

use bongsu_model::Matcher;

use crate::labels::{LabelsBuilder, ERROR_DETAILS_LABEL, ERROR_LABEL};

/// One entry of `drop` or `keep`: a bare label name or a matcher.
#[derive(Debug, Clone)]
pub enum LabelSelector {
    Name(String),
    Matcher(Matcher),
}

/// The `drop` stage.
#[derive(Debug, Clone)]
pub struct DropLabels {
    selectors: Vec<LabelSelector>,
}

impl DropLabels {
    pub fn new(selectors: Vec<LabelSelector>) -> DropLabels {
        DropLabels { selectors }
    }

    pub fn process(&self, lb: &mut LabelsBuilder) {
        for s in &self.selectors {
            match s {
                LabelSelector::Name(name) => match name.as_str() {
                    ERROR_LABEL => lb.reset_err(),
                    ERROR_DETAILS_LABEL => lb.reset_err_details(),
                    _ => {
                        if lb.get(name).is_some() {
                            lb.del(name);
                        }
                    }
                },
                LabelSelector::Matcher(m) => match m.name.as_str() {
                    ERROR_LABEL => {
                        if m.matches(lb.err()) {
                            lb.reset_err();
                        }
                    }
                    ERROR_DETAILS_LABEL => {
                        if m.matches(lb.err_details()) {
                            lb.reset_err_details();
                        }
                    }
                    name => {
                        if m.matches(lb.get(name).unwrap_or("")) {
                            lb.del(name);
                        }
                    }
                },
            }
        }
    }
}

/// The `keep` stage.
#[derive(Debug, Clone)]
pub struct KeepLabels {
    selectors: Vec<LabelSelector>,
    /// Names to delete, gathered before deleting.
    doomed: Vec<String>,
}

impl KeepLabels {
    pub fn new(selectors: Vec<LabelSelector>) -> KeepLabels {
        KeepLabels {
            selectors,
            doomed: Vec::new(),
        }
    }

    pub fn process(&mut self, lb: &mut LabelsBuilder) {
        if self.selectors.is_empty() {
            return;
        }
        self.doomed.clear();
        let selectors = &self.selectors;
        let doomed = &mut self.doomed;
        lb.for_each(|name, value| {
            if name == ERROR_LABEL || name == ERROR_DETAILS_LABEL {
                return;
            }
            let keep = selectors.iter().any(|s| match s {
                LabelSelector::Name(n) => n == name,
                LabelSelector::Matcher(m) => m.name == name && m.matches(value),
            });
            if !keep {
                doomed.push(name.to_string());
            }
        });
        for name in &self.doomed {
            lb.del(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::{Labels, MatchOp};

    #[test]
    fn drop_and_keep() {
        let mut lb = LabelsBuilder::new(Labels::from_pairs(&[("a", "1"), ("b", "2")]).unwrap());
        lb.set_parsed("c", "3");
        lb.set_error("JSONParserErr", "x");
        DropLabels::new(vec![
            LabelSelector::Name("a".into()),
            LabelSelector::Matcher(Matcher::new(MatchOp::Equal, "c", "4").unwrap()),
            LabelSelector::Name(ERROR_DETAILS_LABEL.into()),
        ])
        .process(&mut lb);
        assert_eq!(
            lb.result().to_string(),
            r#"{__error__="JSONParserErr", b="2", c="3"}"#
        );
        KeepLabels::new(vec![LabelSelector::Matcher(
            Matcher::new(MatchOp::Regex, "c", "[0-9]").unwrap(),
        )])
        .process(&mut lb);
        assert_eq!(
            lb.result().to_string(),
            r#"{__error__="JSONParserErr", c="3"}"#
        );
    }
}
