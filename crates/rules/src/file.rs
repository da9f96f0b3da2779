//! Rule files: the Prometheus YAML format (`groups:` of recording and alerting rules), read
//! and validated with Prometheus' checks and error messages (its `model/rulefmt`).
//!
//! This module owns the file format only; evaluation is in [`super::group`].

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use thiserror::Error;

use bongsu_gotmpl::fmt::quote as go_quote;
use bongsu_model::parse_prometheus_duration;
use bongsu_model::METRIC_NAME;
use bongsu_relabel::NameValidationScheme;

use super::template::TemplateExpander;
use super::yaml_pos::{group_positions, unknown_fields, GroupPos, Pos, RulePos};

/// Largest rule file read; far above real files (Prometheus' own stress file is ~1 MiB).
pub const MAX_RULE_FILE_BYTES: u64 = 64 << 20;

/// The groups of one rule file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleGroups {
    pub groups: Vec<RuleGroup>,
}

/// The query language of a rule file's expressions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum QueryLang {
    /// `rule_files`: Prometheus rules.
    #[default]
    Promql,
    /// `log_rule_files`: Loki's ruler rules, LogQL metric queries.
    Logql,
}

/// A list of rules evaluated in order, every `interval`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleGroup {
    pub name: String,
    /// The language of its file's expressions.
    pub lang: QueryLang,
    /// `None`: the global `evaluation_interval`.
    pub interval: Option<Duration>,
    /// `None`: the global `rule_query_offset`.
    pub query_offset: Option<Duration>,
    /// Most series (recording) or alerts (alerting) one rule may produce; 0 = no limit.
    pub limit: i64,
    pub rules: Vec<Rule>,
    /// Added to every rule's output; rule labels win.
    pub labels: BTreeMap<String, String>,
}

/// A recording rule (`record` set) or an alerting rule (`alert` set); validation ensures
/// exactly one is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rule {
    pub record: String,
    pub alert: String,
    pub expr: String,
    pub for_: Duration,
    pub keep_firing_for: Duration,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

impl Rule {
    /// The alert or record name.
    pub fn name(&self) -> &str {
        if self.alert.is_empty() {
            &self.record
        } else {
            &self.alert
        }
    }
}

/// Every error found in a rule file, each a line as Prometheus prints it.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub struct RuleFileErrors(pub Vec<String>);

impl fmt::Display for RuleFileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    groups: Option<Vec<Option<RawGroup>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    #[serde(default, deserialize_with = "text")]
    name: String,
    #[serde(default, deserialize_with = "duration")]
    interval: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    query_offset: Option<Duration>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    rules: Option<Vec<Option<RawRule>>>,
    #[serde(default, deserialize_with = "text_map")]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default, deserialize_with = "text")]
    record: String,
    #[serde(default, deserialize_with = "text")]
    alert: String,
    #[serde(default, deserialize_with = "text")]
    expr: String,
    #[serde(default, rename = "for", deserialize_with = "duration")]
    for_: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    keep_firing_for: Option<Duration>,
    #[serde(default, deserialize_with = "text_map")]
    labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "text_map")]
    annotations: BTreeMap<String, String>,
}

/// A YAML scalar as Go decodes it into a `string`: numbers and booleans as written.
#[derive(Default)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Text, E> {
                Ok(Text::default())
            }
        }
        d.deserialize_any(V)
    }
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<Text>::deserialize(d)?.unwrap_or_default().0)
}

fn text_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let m: Option<BTreeMap<Text, Text>> = Option::deserialize(d)?;
    Ok(m.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.0, v.0))
        .collect())
}

impl PartialEq for Text {
    fn eq(&self, o: &Text) -> bool {
        self.0 == o.0
    }
}
impl Eq for Text {}
impl PartialOrd for Text {
    fn partial_cmp(&self, o: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Text {
    fn cmp(&self, o: &Text) -> std::cmp::Ordering {
        self.0.cmp(&o.0)
    }
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let Some(Text(s)) = Option::<Text>::deserialize(d)? else {
        return Ok(None);
    };
    parse_prometheus_duration(&s)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("not a valid duration string: {s:?}")))
}

/// Parses and validates rule-file text. `Err` holds every error found, in Prometheus' words
/// and order (a YAML error stops at that one).
pub fn parse(
    text: &str,
    scheme: NameValidationScheme,
    templates: &dyn TemplateExpander,
) -> Result<RuleGroups, RuleFileErrors> {
    parse_as(text, QueryLang::Promql, scheme, templates)
}

/// As [`parse`], with expressions in `lang`.
pub fn parse_as(
    text: &str,
    lang: QueryLang,
    scheme: NameValidationScheme,
    templates: &dyn TemplateExpander,
) -> Result<RuleGroups, RuleFileErrors> {
    let raw = decode(text).map_err(|e| {
        // yaml.v3 lists every unknown key in one error; serde stops at the first.
        let unknown = unknown_fields(text);
        if unknown.is_empty() || !e.to_string().contains("unknown field") {
            return RuleFileErrors(decode_error(&e));
        }
        RuleFileErrors(vec![format!(
            "yaml: unmarshal errors:\n  {}",
            unknown.join("\n  ")
        )])
    })?;
    let groups = raw
        .and_then(|r| r.groups)
        .unwrap_or_default()
        .into_iter()
        .map(|g| RuleGroup {
            lang,
            ..g.map(RuleGroup::from_raw).unwrap_or_default()
        })
        .collect();
    let groups = RuleGroups { groups };
    let errors = validate(&groups, &group_positions(text), scheme, templates);
    if errors.is_empty() {
        Ok(groups)
    } else {
        Err(RuleFileErrors(errors))
    }
}

/// Reads and parses the file at `path`; every error is prefixed with the path, as promtool
/// prints them.
pub fn parse_file(
    path: &Path,
    scheme: NameValidationScheme,
    templates: &dyn TemplateExpander,
) -> Result<RuleGroups, RuleFileErrors> {
    parse_file_as(path, QueryLang::Promql, scheme, templates)
}

/// As [`parse_file`], with expressions in `lang`.
pub fn parse_file_as(
    path: &Path,
    lang: QueryLang,
    scheme: NameValidationScheme,
    templates: &dyn TemplateExpander,
) -> Result<RuleGroups, RuleFileErrors> {
    let shown = path.display();
    let text = read_limited(path).map_err(|e| RuleFileErrors(vec![format!("{shown}: {e}")]))?;
    parse_as(&text, lang, scheme, templates)
        .map_err(|e| RuleFileErrors(e.0.into_iter().map(|m| format!("{shown}: {m}")).collect()))
}

fn read_limited(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    file.take(MAX_RULE_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_RULE_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "rule file is larger than {MAX_RULE_FILE_BYTES} bytes"
        )));
    }
    Ok(text)
}

impl RuleGroup {
    fn from_raw(g: RawGroup) -> RuleGroup {
        RuleGroup {
            name: g.name,
            lang: QueryLang::Promql,
            interval: g.interval.filter(|d| !d.is_zero()),
            query_offset: g.query_offset,
            limit: g.limit.unwrap_or(0),
            rules: g
                .rules
                .unwrap_or_default()
                .into_iter()
                .map(|r| {
                    let r = r.unwrap_or_default();
                    Rule {
                        record: r.record,
                        alert: r.alert,
                        expr: r.expr,
                        for_: r.for_.unwrap_or_default(),
                        keep_firing_for: r.keep_firing_for.unwrap_or_default(),
                        labels: r.labels,
                        annotations: r.annotations,
                    }
                })
                .collect(),
            labels: g.labels,
        }
    }
}

/// Decodes the text's first YAML document, as Prometheus does (later ones are ignored with a
/// warning). YAML merge keys (`<<: *anchor`), which Go's decoder resolves, are merged first
/// (errors in such files then carry no line).
fn decode(text: &str) -> Result<Option<RawFile>, serde_yaml_ng::Error> {
    let mut docs = serde_yaml_ng::Deserializer::from_str(text);
    let Some(first) = docs.next() else {
        return Ok(None);
    };
    let raw = if text.contains("<<") {
        let mut v = serde_yaml_ng::Value::deserialize(first)?;
        v.apply_merge()?;
        serde_yaml_ng::from_value(v)?
    } else {
        Option::<RawFile>::deserialize(first)?
    };
    if docs.next().is_some() {
        tracing::warn!("the rule file has more than one YAML document; only the first is read");
    }
    Ok(raw)
}

/// A YAML decode error in yaml.v3's words: syntax errors as `yaml: line N: …`, errors in the
/// data as `yaml: unmarshal errors:` with the line, unknown keys as "field X not found in
/// type …".
fn decode_error(e: &serde_yaml_ng::Error) -> Vec<String> {
    let msg = describe_decode_error(e);
    // Prometheus decodes twice (values, then positions); a file that is not a mapping fails
    // both, and both errors are shown.
    if let Some(rest) = msg.strip_suffix(" into rulefmt.RuleGroups") {
        let second = format!("{rest} into rulefmt.ruleGroups");
        return vec![msg, second];
    }
    vec![msg]
}

fn describe_decode_error(e: &serde_yaml_ng::Error) -> String {
    let line = e.location().map(|l| l.line());
    let mut msg = e.to_string();
    if let Some(loc) = e.location() {
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        if let Some(s) = msg.strip_suffix(&suffix) {
            msg = s.to_string();
        }
    }
    // serde paths ("groups[0].rules[1]: …") are not part of Go's messages.
    let (path, detail) = match msg.split_once(": ") {
        Some((p, d)) if !p.contains(' ') => (p.to_string(), d.to_string()),
        _ => (String::new(), msg.clone()),
    };
    let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
    if let Some(rest) = detail.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let ty = if path.ends_with(']') && path.contains(".rules[") {
            "rulefmt.Rule"
        } else if path.starts_with("groups[") {
            "rulefmt.RuleGroup"
        } else {
            "rulefmt.RuleGroups"
        };
        return format!("yaml: unmarshal errors:\n  {at}field {field} not found in type {ty}");
    }
    if let Some(rest) = detail.strip_prefix("duplicate field `") {
        let field = rest.split('`').next().unwrap_or_default();
        return format!("yaml: unmarshal errors:\n  {at}mapping key {field:?} already defined");
    }
    if detail.starts_with("not a valid duration string") {
        return detail;
    }
    if let Some(go) = go_type_error(&detail) {
        return format!("yaml: unmarshal errors:\n  {at}{go}");
    }
    if detail.starts_with("invalid type") || detail.starts_with("invalid value") {
        return format!("yaml: unmarshal errors:\n  {at}{detail}");
    }
    format!("yaml: {at}{detail}")
}

/// serde's "invalid type: sequence, expected struct RawGroup" as yaml.v3 words it: "cannot
/// unmarshal !!seq into rulefmt.RuleGroup" (scalars with their value in backquotes).
fn go_type_error(detail: &str) -> Option<String> {
    let rest = detail.strip_prefix("invalid type: ")?;
    let (found, expected) = rest.rsplit_once(", expected struct ")?;
    let ty = match expected {
        "RawFile" => "rulefmt.RuleGroups",
        "RawGroup" => "rulefmt.RuleGroup",
        "RawRule" => "rulefmt.Rule",
        _ => return None,
    };
    let (kind, value) = found.split_once(' ').unwrap_or((found, ""));
    let tag = match kind {
        "sequence" => "!!seq",
        "map" => "!!map",
        "string" => "!!str",
        "integer" => "!!int",
        "floating" => "!!float",
        "boolean" => "!!bool",
        _ => return None,
    };
    let value = value.trim_start_matches("point ").trim_matches(['"', '`']);
    Some(if value.is_empty() {
        format!("cannot unmarshal {tag} into {ty}")
    } else {
        format!("cannot unmarshal {tag} `{value}` into {ty}")
    })
}

/// One error about a rule, placed at up to two nodes as Prometheus places it.
struct RuleError {
    at: Vec<Pos>,
    message: String,
}

fn validate(
    file: &RuleGroups,
    positions: &[GroupPos],
    scheme: NameValidationScheme,
    templates: &dyn TemplateExpander,
) -> Vec<String> {
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (j, g) in file.groups.iter().enumerate() {
        let gpos = positions.get(j).cloned().unwrap_or_default();
        if g.name.is_empty() {
            errors.push(format!("{}: Groupname must not be empty", gpos.at));
        }
        if !seen.insert(g.name.as_str()) {
            errors.push(format!(
                "{}: groupname: \"{}\" is repeated in the same file",
                gpos.at, g.name
            ));
        }
        errors.extend(g.labels.keys().filter_map(|k| label_name_error(k, scheme)));
        for (i, r) in g.rules.iter().enumerate() {
            let rpos = gpos.rules.get(i).cloned().unwrap_or_default();
            for e in validate_rule(r, g.lang, &rpos, scheme, templates) {
                let mut line = String::new();
                for p in &e.at {
                    line.push_str(&format!("{p}: "));
                }
                line.push_str(&format!(
                    "group {}, rule {}, {}: {}",
                    go_quote(&g.name),
                    i + 1,
                    go_quote(r.name()),
                    e.message
                ));
                errors.push(line);
            }
        }
    }
    errors
}

/// Prometheus' check of a rule or group label name. Values need none: a Rust string is
/// always valid UTF-8, Prometheus' only rule for them.
fn label_name_error(k: &str, scheme: NameValidationScheme) -> Option<String> {
    (!scheme.is_valid_label_name(k) || k == METRIC_NAME).then(|| format!("invalid label name: {k}"))
}

fn validate_rule(
    r: &Rule,
    lang: QueryLang,
    pos: &RulePos,
    scheme: NameValidationScheme,
    templates: &dyn TemplateExpander,
) -> Vec<RuleError> {
    let mut out = Vec::new();
    let mut err = |at: Vec<Pos>, message: String| out.push(RuleError { at, message });
    if !r.record.is_empty() && !r.alert.is_empty() {
        err(
            vec![pos.record, pos.alert],
            "only one of 'record' and 'alert' must be set".into(),
        );
    }
    if r.record.is_empty() && r.alert.is_empty() {
        err(
            vec![pos.record, pos.alert],
            "one of 'record' or 'alert' must be set".into(),
        );
    }
    if r.expr.is_empty() {
        err(vec![pos.expr], "field 'expr' must be set in rule".into());
    } else if let Err(e) = check_expr(lang, &r.expr) {
        err(vec![pos.expr], format!("could not parse expression: {e}"));
    }
    if !r.record.is_empty() {
        if !r.annotations.is_empty() {
            err(
                vec![pos.record],
                "invalid field 'annotations' in recording rule".into(),
            );
        }
        if !r.for_.is_zero() {
            err(
                vec![pos.record],
                "invalid field 'for' in recording rule".into(),
            );
        }
        if !r.keep_firing_for.is_zero() {
            err(
                vec![pos.record],
                "invalid field 'keep_firing_for' in recording rule".into(),
            );
        }
        if !valid_metric_name(scheme, &r.record) {
            err(
                vec![pos.record],
                format!("invalid recording rule name: {}", r.record),
            );
        }
        if r.record.contains(['{', '}']) {
            err(
                vec![pos.record],
                format!(
                    "braces present in the recording rule name; should it be in expr?: {}",
                    r.record
                ),
            );
        }
    }
    for k in r.labels.keys() {
        if let Some(m) = label_name_error(k, scheme) {
            err(Vec::new(), m);
        }
    }
    for k in r.annotations.keys() {
        if !scheme.is_valid_label_name(k) {
            err(Vec::new(), format!("invalid annotation name: {k}"));
        }
    }
    if !r.alert.is_empty() {
        let name = format!("__alert_{}", r.alert);
        for (what, map) in [("label", &r.labels), ("annotation", &r.annotations)] {
            for (k, v) in map {
                if let Err(e) = templates.check(&name, v) {
                    err(Vec::new(), format!("{what} {}: {e}", go_quote(k)));
                }
            }
        }
    }
    out
}

/// Why `expr` is not a valid rule expression in `lang`, in the parser's words.
fn check_expr(lang: QueryLang, expr: &str) -> Result<(), String> {
    match lang {
        QueryLang::Promql => bongsu_promql::parse(expr)
            .map(drop)
            .map_err(|e| e.to_string()),
        QueryLang::Logql => crate::logs::parse_metric_query(expr).map(drop),
    }
}

/// Whether `name` is a valid metric name under `scheme`.
pub fn valid_metric_name(scheme: NameValidationScheme, name: &str) -> bool {
    match scheme {
        NameValidationScheme::Utf8 => !name.is_empty(),
        NameValidationScheme::Legacy => {
            let mut chars = name.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        }
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
