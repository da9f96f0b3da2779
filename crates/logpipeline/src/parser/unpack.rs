//! `| unpack`: undoes Promtail's `pack` stage. The line is a JSON object of strings whose
//! `_entry` becomes the new line and whose other keys become labels.
//!
//! As Loki: only string members count; labels are set only when the object has `_entry` (an
//! object without it is left alone); a line that does not start with `{`, or is malformed,
//! gets `__error__="JSONParserErr"` and keeps its line and labels.

use super::json_scan::{unescape_into, JsonError, Kind, Members};
use super::{append_sanitized, push_value};
use crate::labels::{LabelsBuilder, DUPLICATE_SUFFIX};
use crate::ERR_JSON;

/// The key holding the packed line.
pub const PACKED_ENTRY_KEY: &str = "_entry";

/// jsoniter's message for a line that is not an object.
const NOT_AN_OBJECT: &str = "expecting json object(6), but it is not";

/// The `unpack` parser stage.
#[derive(Debug, Clone, Default)]
pub struct UnpackParser {
    /// `(name, value)` pairs waiting for `_entry` to be found.
    pending: Vec<(String, String)>,
    used: usize,
    key: String,
    raw: Vec<u8>,
}

impl UnpackParser {
    pub fn new() -> UnpackParser {
        UnpackParser::default()
    }

    /// Returns whether the line was replaced by `_entry`, written to `out`.
    pub fn process(&mut self, line: &[u8], lb: &mut LabelsBuilder, out: &mut Vec<u8>) -> bool {
        let Some(&first) = line.first() else {
            return false;
        };
        if first != b'{' {
            lb.set_error(ERR_JSON, NOT_AN_OBJECT);
            return false;
        }
        self.used = 0;
        match self.unpack(line, lb, out) {
            Ok(false) => false,
            Ok(true) => {
                for (name, value) in &self.pending[..self.used] {
                    lb.set_parsed(name, value);
                }
                true
            }
            Err(e) => {
                lb.set_error(ERR_JSON, &e.to_string());
                false
            }
        }
    }

    fn unpack(
        &mut self,
        line: &[u8],
        lb: &mut LabelsBuilder,
        out: &mut Vec<u8>,
    ) -> Result<bool, JsonError> {
        let mut packed = false;
        for member in Members::new(line) {
            let (key, value, kind) = member?;
            if kind != Kind::String {
                continue;
            }
            if key.as_ref() == PACKED_ENTRY_KEY.as_bytes() {
                out.clear();
                if !unescape_into(value, out) {
                    return Err(JsonError::Escape);
                }
                packed = true;
                continue;
            }
            // Loki checks collisions and earlier extraction on the raw key, then sanitises.
            self.key.clear();
            self.key.push_str(&String::from_utf8_lossy(&key));
            if lb.base_has(&self.key) || lb.has_metadata(&self.key) {
                self.key.push_str(DUPLICATE_SUFFIX);
            }
            if lb.extracted(&self.key) {
                continue;
            }
            if self.used == self.pending.len() {
                self.pending.push(Default::default());
            }
            let (name, val) = &mut self.pending[self.used];
            self.used += 1;
            name.clear();
            let mut sanitized = std::mem::take(name);
            append_sanitized(&mut sanitized, self.key.as_bytes());
            *name = sanitized;
            val.clear();
            self.raw.clear();
            if unescape_into(value, &mut self.raw) {
                push_value(val, &self.raw);
            }
        }
        Ok(packed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::Labels;

    #[test]
    fn unpacks() {
        let mut p = UnpackParser::new();
        let mut lb = LabelsBuilder::new(Labels::from_pairs(&[("app", "a")]).unwrap());
        let mut out = Vec::new();
        let replaced = p.process(
            br#"{"app":"foo","pod":"p1","n":1,"_entry":"the \"line\""}"#,
            &mut lb,
            &mut out,
        );
        assert!(replaced);
        assert_eq!(out, br#"the "line""#);
        assert_eq!(
            lb.result().to_string(),
            r#"{app="a", app_extracted="foo", pod="p1"}"#
        );
        lb.reset();
        assert!(!p.process(br#"{"pod":"p1"}"#, &mut lb, &mut out));
        assert_eq!(lb.result().to_string(), r#"{app="a"}"#);
        assert!(!p.process(b"[1]", &mut lb, &mut out));
        assert_eq!(
            lb.result().to_string(),
            r#"{__error__="JSONParserErr", __error_details__="expecting json object(6), but it is not", app="a"}"#
        );
    }
}
