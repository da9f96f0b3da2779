//! The Jira notifier's request bodies: the issue's fields (a JSON object with sorted keys,
//! as Go marshals a map, custom fields last so they override), the description as a string
//! or, for API v3, as the rendered JSON document itself, and the templated custom fields.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

use crate::notify::NotifyError;

/// A template renderer, failing with the template error's text.
pub type Render<'a> = dyn Fn(&str) -> Result<String, NotifyError> + 'a;

/// The issue fields, each as its JSON text, by key.
#[derive(Default)]
pub struct Fields(BTreeMap<String, String>);

impl Fields {
    pub fn set(&mut self, key: &str, value: &Json) {
        self.0.insert(key.to_string(), value.to_string());
    }

    /// A field whose JSON text is already made (the v3 description).
    pub fn set_raw(&mut self, key: &str, json: String) {
        self.0.insert(key.to_string(), json);
    }

    pub fn remove(&mut self, key: &str) {
        self.0.remove(key);
    }

    /// `{"fields":{…}}` as Go's encoder writes it.
    pub fn issue_body(&self) -> Vec<u8> {
        let mut out = String::from("{\"fields\":{");
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&Json::String(k.clone()).to_string());
            out.push(':');
            out.push_str(v);
        }
        out.push_str("}}");
        crate::notify::gojson::finish(out)
    }
}

/// `text` without the whitespace between JSON tokens (as Go re-encodes a raw message).
pub fn compact_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Upstream's `DeepCopyWithTemplate`: strings are rendered, and a rendering that reads as
/// YAML data other than a string (a number, a list, a mapping, or nothing) is sent as that
/// data; mapping keys are rendered too; non-string keys are dropped.
pub fn deep_copy(value: &Yaml, render: &Render<'_>) -> Result<Json, NotifyError> {
    Ok(match value {
        Yaml::String(s) => {
            let rendered = render(s)?;
            match serde_yaml_ng::from_str::<Yaml>(&rendered) {
                Ok(Yaml::String(_)) | Err(_) => Json::String(rendered),
                Ok(data) => plain(&data),
            }
        }
        Yaml::Sequence(items) => Json::Array(
            items
                .iter()
                .map(|v| deep_copy(v, render))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                if let Yaml::String(k) = k {
                    out.insert(render(k)?, deep_copy(v, render)?);
                }
            }
            Json::Object(out)
        }
        other => plain(other),
    })
}

/// YAML data as JSON, as upstream normalises it: string keys only, whole floats written
/// as Go writes them (no `.0`).
fn plain(value: &Yaml) -> Json {
    match value {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(*b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.abs() < 1e21 {
                    // Exact: |f| < 1e21 fits in i128.
                    Json::from(f as i128 as i64)
                } else {
                    serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
                }
            }
        }
        Yaml::String(s) => Json::String(s.clone()),
        Yaml::Sequence(items) => Json::Array(items.iter().map(plain).collect()),
        Yaml::Mapping(m) => Json::Object(
            m.iter()
                .filter_map(|(k, v)| match k {
                    Yaml::String(k) => Some((k.clone(), plain(v))),
                    _ => None,
                })
                .collect(),
        ),
        Yaml::Tagged(t) => plain(&t.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(s: &str) -> Result<String, NotifyError> {
        Ok(s.replace("{{X}}", "42").replace("{{L}}", "[a, b]"))
    }

    fn copy(yaml: &str) -> String {
        let v: Yaml = serde_yaml_ng::from_str(yaml).unwrap();
        deep_copy(&v, &render).unwrap().to_string()
    }

    #[test]
    fn renderings_that_read_as_data_become_data() {
        assert_eq!(copy("'{{X}}'"), "42");
        assert_eq!(copy("'{{L}}'"), r#"["a","b"]"#);
        assert_eq!(copy("'id {{X}}'"), r#""id 42""#);
        assert_eq!(copy("''"), "null");
        assert_eq!(
            copy("{'k{{X}}': {value: '{{X}}'}, 3: dropped}"),
            r#"{"k42":{"value":42}}"#
        );
        assert_eq!(copy("[1.0, 2.5, true]"), "[1,2.5,true]");
        // A rendered value is not read again below its top level.
        assert_eq!(copy("'{a: \"b:\"}'"), r#"{"a":"b:"}"#);
    }

    #[test]
    fn compacting_keeps_strings() {
        assert_eq!(
            compact_json("{ \"a b\" : [ 1, \"x \\\" y\" ],\n \"c\": {} }"),
            "{\"a b\":[1,\"x \\\" y\"],\"c\":{}}"
        );
    }

    #[test]
    fn body_has_sorted_keys() {
        let mut f = Fields::default();
        f.set("summary", &Json::from("s <b>"));
        f.set("labels", &serde_json::json!(["ALERT{x}"]));
        f.set_raw("description", "{\"type\":\"doc\",\"a\":1}".into());
        assert_eq!(
            String::from_utf8(f.issue_body()).unwrap(),
            "{\"fields\":{\"description\":{\"type\":\"doc\",\"a\":1},\"labels\":[\"ALERT{x}\"],\
             \"summary\":\"s \\u003cb\\u003e\"}}\n"
        );
    }
}
