//! Relabeling: Prometheus' `relabel_configs` rules and the function that applies them.
//!
//! This module owns the rule type ([`RelabelConfig`], as it appears in `relabel_configs`,
//! `metric_relabel_configs`, `write_relabel_configs`, `alert_relabel_configs`), its validation
//! with Prometheus' error messages, and [`relabel`], which applies a list of rules to a label
//! set. Regexes are compiled once, when the rule is loaded. It knows nothing of where label sets
//! come from (scrapes, alerts, remote write): callers pick the rule list.

mod expand;
mod process;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Deserializer};
use thiserror::Error;

pub use process::relabel;

/// The regex used when a rule has none: match anything, capture it as `$1`.
const DEFAULT_REGEX: &str = "(.*)";
const DEFAULT_SEPARATOR: &str = ";";
const DEFAULT_REPLACEMENT: &str = "$1";

/// What a target label containing `$` must look like for `replace`: names and `$var`/`${var}`
/// references only (Prometheus' `relabelTarget`). `\w` is ASCII in Go, hence the class.
static RELABEL_TARGET: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^(?:(?:[a-zA-Z_]|\$(?:\{[0-9A-Za-z_]+\}|[0-9A-Za-z_]+))+[0-9A-Za-z_]*)+$")
        .expect("constant regex compiles")
});

static LEGACY_LABEL_NAME: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new("^[a-zA-Z_][a-zA-Z0-9_]*$").expect("constant regex compiles")
});

/// Which label names are valid: Prometheus 3 accepts any non-empty UTF-8 string (`utf8`, the
/// default); `legacy` keeps the `[a-zA-Z_][a-zA-Z0-9_]*` rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NameValidationScheme {
    #[default]
    Utf8,
    Legacy,
}

impl NameValidationScheme {
    /// Whether `name` is a valid label name under this scheme.
    pub fn is_valid_label_name(self, name: &str) -> bool {
        match self {
            // Rust strings are always valid UTF-8, so only emptiness is left to check.
            NameValidationScheme::Utf8 => !name.is_empty(),
            NameValidationScheme::Legacy => LEGACY_LABEL_NAME.is_match(name),
        }
    }
}

/// A relabeling action (`action:`), spelled as Prometheus spells it (case-insensitive in YAML).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Action {
    #[default]
    Replace,
    Keep,
    Drop,
    KeepEqual,
    DropEqual,
    HashMod,
    LabelMap,
    LabelDrop,
    LabelKeep,
    Lowercase,
    Uppercase,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }

    fn parse(s: &str) -> Result<Action, RelabelError> {
        const ALL: [Action; 11] = [
            Action::Replace,
            Action::Keep,
            Action::Drop,
            Action::KeepEqual,
            Action::DropEqual,
            Action::HashMod,
            Action::LabelMap,
            Action::LabelDrop,
            Action::LabelKeep,
            Action::Lowercase,
            Action::Uppercase,
        ];
        if s.is_empty() {
            return Err(RelabelError::EmptyAction);
        }
        let lower = s.to_lowercase();
        ALL.into_iter()
            .find(|a| a.as_str() == lower)
            .ok_or_else(|| RelabelError::UnknownAction(s.to_string()))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a relabel rule was rejected; the messages are Prometheus'.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum RelabelError {
    #[error("relabel action cannot be empty")]
    EmptyAction,
    #[error("unknown relabel action {0:?}")]
    UnknownAction(String),
    #[error("error parsing regexp {pattern:?}: {message}")]
    Regex { pattern: String, message: String },
    #[error("relabel configuration for hashmod requires non-zero modulus")]
    ZeroModulus,
    #[error("relabel configuration for {0} action requires 'target_label' value")]
    MissingTarget(Action),
    #[error("{0:?} is invalid 'target_label' for {1} action")]
    InvalidTarget(String, Action),
    #[error("'replacement' can not be set for {0} action")]
    ReplacementSet(Action),
    #[error("{0:?} is invalid 'replacement' for {1} action")]
    InvalidReplacement(String, Action),
    #[error("{0} action requires only 'source_labels' and `target_label`, and no other fields")]
    EqualExtraFields(Action),
    #[error("{0} action requires only 'regex', and no other fields")]
    LabelFilterExtraFields(Action),
}

/// A compiled, fully anchored regex that remembers the source text the user wrote.
#[derive(Clone)]
pub struct Regex {
    source: String,
    compiled: regex::Regex,
}

impl Regex {
    /// Compiles `source` anchored at both ends, as Prometheus does (`^(?:source)$`).
    pub fn new(source: &str) -> Result<Regex, RelabelError> {
        let compiled =
            regex::Regex::new(&format!("^(?:{source})$")).map_err(|e| RelabelError::Regex {
                pattern: source.to_string(),
                message: e.to_string(),
            })?;
        Ok(Regex {
            source: source.to_string(),
            compiled,
        })
    }

    /// The regex as written in the configuration, without the anchors.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_match(&self, s: &str) -> bool {
        self.compiled.is_match(s)
    }

    pub(crate) fn compiled(&self) -> &regex::Regex {
        &self.compiled
    }
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.source)
    }
}

impl PartialEq for Regex {
    fn eq(&self, other: &Regex) -> bool {
        self.source == other.source
    }
}

static DEFAULT_COMPILED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(DEFAULT_REGEX).expect("default regex compiles"));

/// One relabeling rule, with defaults applied: `separator` `;`, `regex` `(.*)`, `replacement`
/// `$1`, `action` `replace`. Build it from YAML, or from [`RelabelConfig::default`] and then
/// call [`RelabelConfig::validate`].
#[derive(Debug, Clone)]
pub struct RelabelConfig {
    pub source_labels: Vec<String>,
    pub separator: String,
    pub regex: Regex,
    pub modulus: u64,
    pub target_label: String,
    pub replacement: String,
    pub action: Action,
    /// `source_labels` appeared in the rule (even empty): `labelkeep`/`labeldrop` forbid it.
    source_labels_set: bool,
    /// `regex` was written by the user: Prometheus treats an explicit `(.*)` differently from
    /// the default (the `replace` fast path, the `keepequal`/`dropequal` field check).
    regex_set: bool,
    /// Decides which target label names `replace` may produce; set by `validate`.
    scheme: NameValidationScheme,
}

impl Default for RelabelConfig {
    fn default() -> RelabelConfig {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: DEFAULT_SEPARATOR.to_string(),
            regex: DEFAULT_COMPILED.clone(),
            modulus: 0,
            target_label: String::new(),
            replacement: DEFAULT_REPLACEMENT.to_string(),
            action: Action::Replace,
            source_labels_set: false,
            regex_set: false,
            scheme: NameValidationScheme::Utf8,
        }
    }
}

impl RelabelConfig {
    /// Sets the regex (compiled and anchored) as if the user had written it.
    pub fn with_regex(mut self, source: &str) -> Result<RelabelConfig, RelabelError> {
        self.regex = Regex::new(source)?;
        self.regex_set = true;
        Ok(self)
    }

    pub(crate) fn regex_is_default(&self) -> bool {
        !self.regex_set
    }

    pub(crate) fn scheme(&self) -> NameValidationScheme {
        self.scheme
    }

    /// Checks the rule as Prometheus does and fixes the label-name `scheme` used when it runs.
    pub fn validate(&mut self, scheme: NameValidationScheme) -> Result<(), RelabelError> {
        use Action::*;
        self.scheme = scheme;
        let a = self.action;
        if self.modulus == 0 && a == HashMod {
            return Err(RelabelError::ZeroModulus);
        }
        let needs_target = matches!(
            a,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        );
        if needs_target && self.target_label.is_empty() {
            return Err(RelabelError::MissingTarget(a));
        }
        let target = &self.target_label;
        let invalid_target = || RelabelError::InvalidTarget(target.clone(), a);
        if a == Replace {
            let ok = if target.contains('$') {
                RELABEL_TARGET.is_match(target)
            } else {
                scheme.is_valid_label_name(target)
            };
            if !ok {
                return Err(invalid_target());
            }
        }
        let single_target = matches!(a, Lowercase | Uppercase | KeepEqual | DropEqual);
        if single_target && !scheme.is_valid_label_name(target) {
            return Err(invalid_target());
        }
        if single_target && self.replacement != DEFAULT_REPLACEMENT {
            return Err(RelabelError::ReplacementSet(a));
        }
        if a == LabelMap && !RELABEL_TARGET.is_match(&self.replacement) {
            return Err(RelabelError::InvalidReplacement(
                self.replacement.clone(),
                a,
            ));
        }
        if a == HashMod && !scheme.is_valid_label_name(target) {
            return Err(invalid_target());
        }
        if matches!(a, KeepEqual | DropEqual)
            && (self.regex_set
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(RelabelError::EqualExtraFields(a));
        }
        if matches!(a, LabelKeep | LabelDrop)
            && (self.source_labels_set
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(RelabelError::LabelFilterExtraFields(a));
        }
        Ok(())
    }
}

/// The rule as written. A missing key takes the default; a key set to null takes the type's
/// zero value (empty string, empty regex), as Go's YAML decoder does.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelabelConfig {
    #[serde(default, deserialize_with = "null_is_zero")]
    source_labels: Option<Vec<String>>,
    #[serde(default, deserialize_with = "null_is_zero")]
    separator: Option<String>,
    #[serde(default, deserialize_with = "null_is_zero")]
    regex: Option<String>,
    #[serde(default, deserialize_with = "null_is_zero")]
    modulus: Option<u64>,
    #[serde(default, deserialize_with = "null_is_zero")]
    target_label: Option<String>,
    #[serde(default, deserialize_with = "null_is_zero")]
    replacement: Option<String>,
    #[serde(default, deserialize_with = "null_is_zero")]
    action: Option<String>,
}

/// Only called for keys that are present: null becomes `T::default()`.
fn null_is_zero<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Some(Option::<T>::deserialize(d)?.unwrap_or_default()))
}

impl TryFrom<RawRelabelConfig> for RelabelConfig {
    type Error = RelabelError;

    fn try_from(raw: RawRelabelConfig) -> Result<RelabelConfig, RelabelError> {
        let d = RelabelConfig::default();
        let action = match raw.action {
            Some(a) => Action::parse(&a)?,
            None => d.action,
        };
        let (regex, regex_set) = match raw.regex {
            Some(r) => (Regex::new(&r)?, true),
            None => (d.regex, false),
        };
        Ok(RelabelConfig {
            source_labels_set: raw.source_labels.is_some(),
            source_labels: raw.source_labels.unwrap_or_default(),
            separator: raw.separator.unwrap_or(d.separator),
            regex,
            regex_set,
            modulus: raw.modulus.unwrap_or(0),
            target_label: raw.target_label.unwrap_or_default(),
            replacement: raw.replacement.unwrap_or(d.replacement),
            action,
            scheme: d.scheme,
        })
    }
}

impl<'de> Deserialize<'de> for RelabelConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RelabelConfig, D::Error> {
        let raw = RawRelabelConfig::deserialize(d)?;
        RelabelConfig::try_from(raw).map_err(serde::de::Error::custom)
    }
}
