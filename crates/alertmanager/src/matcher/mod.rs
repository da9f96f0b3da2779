//! Alertmanager's label matchers: `name op value` with `=`, `!=`, `=~`, `!~`, and lists of
//! them (`{a="b", c=~"d"}`), as routes, inhibit rules, silences and amtool write them.
//!
//! Two grammars exist upstream. The classic one (`classic.rs`) takes legacy label names and
//! optionally quoted values with OpenMetrics escapes; the UTF-8 one of Alertmanager 0.27+
//! (`utf8.rs`) takes any quoted name and Go string escapes. Alertmanager's default mode, and
//! ours, is the fallback between them: the classic result wins whenever the classic parser
//! accepts the input, the UTF-8 result is used when only it accepts, and when neither does the
//! classic parser's error is reported.
//!
//! Regexes differ from PromQL's: anchored as `^(?:re)$` without the `s` flag, so `.` does not
//! match a newline (Go's default), which is why this is not `bongsu_model::Matcher`.

mod classic;
mod utf8;

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;
use thiserror::Error;

pub(crate) use bongsu_gotmpl::fmt::quote as go_quote;
pub use bongsu_model::MatchOp;

/// Longest regex source accepted in a matcher; a guard against hostile input.
pub const MAX_REGEX_LEN: usize = 64 * 1024;

/// An alert's (or silence target's) labels: name → value, sorted by name.
pub type LabelSet = BTreeMap<String, String>;

/// Why a matcher could not be parsed or built; messages follow Alertmanager's.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct MatcherError(pub(crate) String);

/// One label matcher. A label that is absent matches as the empty string.
#[derive(Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    regex: Option<Regex>,
}

impl Matcher {
    /// Builds a matcher; regex values are compiled, anchored at both ends.
    pub fn new(op: MatchOp, name: &str, value: &str) -> Result<Matcher, MatcherError> {
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                if value.len() > MAX_REGEX_LEN {
                    return Err(MatcherError(format!(
                        "regular expression is {} bytes, more than the limit of {MAX_REGEX_LEN}",
                        value.len()
                    )));
                }
                Some(
                    Regex::new(&format!("^(?:{value})$"))
                        .map_err(|e| MatcherError(regex_error(&e)))?,
                )
            }
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            regex,
        })
    }

    /// Whether `value` (the empty string for an absent label) satisfies the matcher.
    pub fn matches_value(&self, value: &str) -> bool {
        match (&self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            // `new` always compiles a regex for the regex operators.
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }

    /// Whether the label set satisfies the matcher.
    pub fn matches(&self, labels: &LabelSet) -> bool {
        self.matches_value(labels.get(&self.name).map_or("", String::as_str))
    }

    /// Parses one matcher (`foo="bar"`, `foo!~ba.*`). Braces are refused: they belong to lists.
    pub fn parse(input: &str) -> Result<Matcher, MatcherError> {
        if input.starts_with('{') || input.ends_with('}') {
            return Err(MatcherError(format!(
                "unexpected open or close brace: {input}"
            )));
        }
        match classic::parse_matcher(input) {
            Ok(m) => Ok(m),
            Err(classic_err) => match utf8::parse_matchers(input) {
                Ok(mut ms) if ms.len() == 1 => Ok(ms.remove(0)),
                _ => Err(classic_err),
            },
        }
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// Alertmanager's rendering: `name="escaped value"`, with the name quoted (Go-style) when it
/// holds a character the classic parser cannot read.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.chars().any(utf8::is_reserved) {
            write!(
                f,
                "{}{}{}",
                go_quote(&self.name),
                self.op,
                go_quote(&self.value)
            )
        } else {
            write!(
                f,
                "{}{}\"{}\"",
                self.name,
                self.op,
                openmetrics_escape(&self.value)
            )
        }
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Matcher) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

fn op_rank(op: MatchOp) -> u8 {
    match op {
        MatchOp::Equal => 0,
        MatchOp::NotEqual => 1,
        MatchOp::Regex => 2,
        MatchOp::NotRegex => 3,
    }
}

/// Alertmanager's sort order for matcher lists: by name, then value, then operator.
pub fn compare(a: &Matcher, b: &Matcher) -> Ordering {
    a.name
        .cmp(&b.name)
        .then_with(|| a.value.cmp(&b.value))
        .then_with(|| op_rank(a.op).cmp(&op_rank(b.op)))
}

/// A conjunction of matchers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matchers(pub Vec<Matcher>);

impl Matchers {
    /// Parses a list: `{a="b", c=~"d"}`, `a=b,c!=d`; braces optional, a trailing comma allowed.
    pub fn parse(input: &str) -> Result<Matchers, MatcherError> {
        match classic::parse_matchers(input) {
            Ok(ms) => Ok(Matchers(ms)),
            Err(classic_err) => utf8::parse_matchers(input)
                .map(Matchers)
                .map_err(|_| classic_err),
        }
    }

    /// Whether every matcher is satisfied (an empty list matches everything).
    pub fn matches(&self, labels: &LabelSet) -> bool {
        self.0.iter().all(|m| m.matches(labels))
    }

    pub fn sort(&mut self) {
        self.0.sort_by(compare);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Matcher> {
        self.0.iter()
    }
}

/// `{a="b",c=~"d"}`, as route keys show them.
impl fmt::Display for Matchers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{m}")?;
        }
        f.write_str("}")
    }
}

/// Whether `a` and `b` agree on every label in `names` (absent = empty), the `equal` rule of
/// inhibition.
pub fn equal_labels(names: &[String], a: &LabelSet, b: &LabelSet) -> bool {
    names
        .iter()
        .all(|n| a.get(n).map_or("", String::as_str) == b.get(n).map_or("", String::as_str))
}

/// OpenMetrics escaping: backslash, newline and double quote.
fn openmetrics_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

/// A regex compile error in Go's words where they differ only in framing.
fn regex_error(e: &regex::Error) -> String {
    format!(
        "error parsing regexp: {}",
        e.to_string().lines().last().unwrap_or("invalid")
    )
}

#[cfg(test)]
mod tests;
