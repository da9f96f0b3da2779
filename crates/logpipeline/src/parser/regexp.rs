//! `| regexp "re"`: each named capture of the first match as a label.
//!
//! As Loki: the regex needs at least one named capture and no name twice; a line that does
//! not match keeps its labels (and is kept); an optional group that did not take part gives
//! an empty value.

use regex::bytes::{CaptureLocations, Regex};

use super::set_parsed_once;
use crate::labels::LabelsBuilder;
use crate::StageError;

/// The `regexp` parser stage.
#[derive(Debug, Clone)]
pub struct RegexpParser {
    regex: Regex,
    /// `(group index, sanitised name)` of the named groups.
    names: Vec<(usize, String)>,
    locations: CaptureLocations,
    name_buf: String,
    value: String,
}

impl RegexpParser {
    pub fn new(regex: &str) -> Result<RegexpParser, StageError> {
        let compiled = crate::goregex::compile(regex).map_err(StageError::Regex)?;
        let mut names: Vec<(usize, String)> = Vec::new();
        for (i, name) in compiled.capture_names().enumerate() {
            let Some(name) = name else { continue };
            if names.iter().any(|(_, n)| n == name) {
                return Err(StageError::Expression(format!(
                    "duplicate extracted label name '{name}'"
                )));
            }
            names.push((i, name.to_string()));
        }
        if names.is_empty() {
            return Err(StageError::Expression(
                "at least one named capture must be supplied".into(),
            ));
        }
        // Loki sanitises after checking; names are identifiers, so this only guards.
        for (_, n) in &mut names {
            let mut s = String::new();
            super::append_sanitized(&mut s, n.as_bytes());
            *n = s;
        }
        Ok(RegexpParser {
            locations: compiled.capture_locations(),
            regex: compiled,
            names,
            name_buf: String::new(),
            value: String::new(),
        })
    }

    pub fn process(&mut self, line: &[u8], lb: &mut LabelsBuilder) {
        if self
            .regex
            .captures_read(&mut self.locations, line)
            .is_none()
        {
            return;
        }
        for (i, name) in &self.names {
            self.value.clear();
            if let Some((s, e)) = self.locations.get(*i) {
                self.value.push_str(&String::from_utf8_lossy(&line[s..e]));
            }
            set_parsed_once(lb, name, &self.value, &mut self.name_buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::Labels;

    #[test]
    fn captures() {
        let mut p =
            RegexpParser::new(r"(?P<method>\w+) (?P<path>[\w/]+)(?: (?P<q>\?\w+))?").unwrap();
        let mut lb = LabelsBuilder::new(Labels::from_pairs(&[("path", "x")]).unwrap());
        p.process(b"GET /a/b", &mut lb);
        assert_eq!(
            lb.result().to_string(),
            r#"{method="GET", path="x", path_extracted="/a/b", q=""}"#
        );
        assert_eq!(
            RegexpParser::new("(a)").unwrap_err().to_string(),
            "at least one named capture must be supplied"
        );
        assert!(RegexpParser::new("(?P<a>x)(?P<a>y)").is_err());
    }
}
