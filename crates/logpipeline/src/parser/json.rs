//! `| json` without parameters: every string, number and boolean of the line's object as a
//! label, nested objects flattened with `_` (`{"a":{"b":1}}` gives `a_b="1"`).
//!
//! As Loki: strings are unescaped, numbers kept as written, booleans `true`/`false`; arrays
//! and nulls are skipped; a key that sanitises to nothing is skipped at the top level (but
//! nested under empty keys gives the empty name, as Loki does). The first of duplicate keys
//! wins. A malformed line keeps the labels found before the error and gets
//! `__error__="JSONParserErr"` with jsonparser's message as details.
//!
//! Nothing is allocated per line once the builder's slots and our buffers have grown, unless
//! the parser also records each label's JSON path ([`JsonParser::capturing_paths`], for
//! Loki's detected fields, as its `NewJSONParser(true)`).

use super::json_scan::{unescape_into, JsonError, Kind, Members};
use super::{append_sanitized, push_value};
use crate::labels::{LabelsBuilder, DUPLICATE_SUFFIX};
use crate::ERR_JSON;

/// How deep nested objects are flattened; deeper ones are skipped (Go's jsonparser has no
/// limit, but our stack is bounded).
pub const MAX_JSON_NESTING: usize = 64;

/// The `json` parser stage.
#[derive(Debug, Clone, Default)]
pub struct JsonParser {
    /// The sanitised prefix of the object being walked (`a_b` inside `{"a":{"b":…}}`).
    prefix: String,
    name: String,
    value: String,
    scratch: Vec<u8>,
    /// With path capture: the keys of the objects being walked, as written.
    keys: Vec<String>,
    /// With path capture: each label set by the last line and its path of keys.
    paths: Option<Vec<(String, Vec<String>)>>,
}

impl JsonParser {
    pub fn new() -> JsonParser {
        JsonParser::default()
    }

    /// A parser that also records the JSON path (the keys, unsanitised) of each label it sets,
    /// as Loki's `jsonPath` of detected fields: `{"user":{"id":1}}` gives `user_id` at
    /// `["user", "id"]`.
    pub fn capturing_paths() -> JsonParser {
        JsonParser {
            paths: Some(Vec::new()),
            ..JsonParser::default()
        }
    }

    /// The path of label `name` set by the last line, when capturing paths.
    pub fn path(&self, name: &str) -> Option<&[String]> {
        self.paths
            .as_ref()?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.as_slice())
    }

    pub fn process(&mut self, line: &[u8], lb: &mut LabelsBuilder) {
        self.prefix.clear();
        self.keys.clear();
        if let Some(p) = &mut self.paths {
            p.clear();
        }
        if let Err(e) = self.walk(line, lb, 0) {
            lb.set_error(ERR_JSON, &e.to_string());
        }
    }

    fn walk(
        &mut self,
        object: &[u8],
        lb: &mut LabelsBuilder,
        depth: usize,
    ) -> Result<(), JsonError> {
        for member in Members::new(object) {
            let (key, value, kind) = member?;
            match kind {
                Kind::String | Kind::Number | Kind::Bool => {
                    self.set(&key, value, kind, lb, depth == 0);
                }
                Kind::Object if depth < MAX_JSON_NESTING => {
                    let len = self.prefix.len();
                    self.push_part(&key);
                    if self.paths.is_some() {
                        self.keys.push(String::from_utf8_lossy(&key).into_owned());
                    }
                    let result = self.walk(value, lb, depth + 1);
                    self.prefix.truncate(len);
                    if self.paths.is_some() {
                        self.keys.pop();
                    }
                    result?;
                }
                Kind::Object | Kind::Array | Kind::Null => {}
            }
        }
        Ok(())
    }

    /// Appends a key to the prefix as Loki's `buildSanitizedPrefixFromBuffer`: keys empty
    /// once trimmed are skipped, others joined with `_`.
    fn push_part(&mut self, key: &[u8]) {
        if !super::trim_ascii_space(key).is_empty() && !self.prefix.is_empty() {
            self.prefix.push('_');
        }
        append_sanitized(&mut self.prefix, key);
    }

    fn set(&mut self, key: &[u8], value: &[u8], kind: Kind, lb: &mut LabelsBuilder, top: bool) {
        let len = self.prefix.len();
        self.push_part(key);
        if top && self.prefix.is_empty() {
            // Loki's top level skips keys that sanitise to nothing.
            return;
        }

        if lb.base_has(&self.prefix) || lb.has_metadata(&self.prefix) {
            // Loki renames the last part: `key_extracted`, sanitised again.
            self.prefix.truncate(len);
            self.scratch.clear();
            self.scratch.extend_from_slice(key);
            self.scratch.extend_from_slice(DUPLICATE_SUFFIX.as_bytes());
            let renamed = std::mem::take(&mut self.scratch);
            self.push_part(&renamed);
            self.scratch = renamed;
        }
        self.name.clear();
        self.name.push_str(&self.prefix);
        self.prefix.truncate(len);
        if !lb.extracted(&self.name) {
            read_value(value, kind, &mut self.value, &mut self.scratch);
            lb.set_parsed(&self.name, &self.value);
            if let Some(paths) = &mut self.paths {
                let mut path = self.keys.clone();
                path.push(String::from_utf8_lossy(key).into_owned());
                paths.push((self.name.clone(), path));
            }
        }
    }
}

/// Loki's `readValue`: a string unescaped (empty if its escapes are bad), a number as
/// written, a boolean as `true`/`false`; an array's text is unescaped like a string, as the
/// path parser does.
pub(crate) fn read_value(value: &[u8], kind: Kind, out: &mut String, scratch: &mut Vec<u8>) {
    out.clear();
    match kind {
        Kind::String | Kind::Array => {
            scratch.clear();
            if unescape_into(value, scratch) {
                push_value(out, scratch);
            }
        }
        Kind::Bool => out.push_str(if value == b"true" { "true" } else { "false" }),
        Kind::Null => {}
        Kind::Number | Kind::Object => push_value(out, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::Labels;

    fn parse(base: &[(&str, &str)], line: &str) -> String {
        let mut lb = LabelsBuilder::new(Labels::from_pairs(base).unwrap());
        JsonParser::new().process(line.as_bytes(), &mut lb);
        lb.result().to_string()
    }

    #[test]
    fn loki_cases() {
        assert_eq!(
            parse(
                &[("app", "foo"), ("pod_uuid", "foo")],
                r#"{"app":"bar","namespace":"prod","pod":{"uuid":"bar","deployment":{"ref":"foobar"}}}"#
            ),
            r#"{app="foo", app_extracted="bar", namespace="prod", pod_deployment_ref="foobar", pod_uuid="foo", pod_uuid_extracted="bar"}"#
        );
        assert_eq!(
            parse(&[], r#"{"counter":1, "price": {"_net_":5.56909}}"#),
            r#"{counter="1", price__net_="5.56909"}"#
        );
        assert_eq!(parse(&[], r#"{" ": {"foo":"bar"}}"#), r#"{foo="bar"}"#);
        assert_eq!(parse(&[], r#"{" ": {" ":"bar"}}"#), r#"{="bar"}"#);
        assert_eq!(
            parse(&[], r#"{"counter":1, "price": {"net_":["10","20"]}}"#),
            r#"{counter="1"}"#
        );
        assert_eq!(
            parse(&[], r#"{"foo":{"cou-nter":1}}""#),
            r#"{foo_cou_nter="1"}"#
        );
        assert_eq!(
            parse(&[], "{n}"),
            r#"{__error__="JSONParserErr", __error_details__="Value looks like object, but can't find closing '}' symbol"}"#
        );
        assert_eq!(
            parse(&[], r#"{"a":"x","a":"y","b":"c\"d"}"#),
            r#"{a="x", b="c\"d"}"#
        );
    }

    #[test]
    fn paths_are_the_keys_as_written() {
        let mut lb = LabelsBuilder::new(Labels::from_pairs(&[("level", "x")]).unwrap());
        let mut p = JsonParser::capturing_paths();
        p.process(br#"{"level":"info","user":{"the-id":7},"a":1}"#, &mut lb);
        assert_eq!(p.path("level_extracted"), Some(&["level".to_string()][..]));
        assert_eq!(
            p.path("user_the_id"),
            Some(&["user".to_string(), "the-id".to_string()][..])
        );
        assert_eq!(p.path("a"), Some(&["a".to_string()][..]));
        assert_eq!(JsonParser::new().path("a"), None);
    }
}
