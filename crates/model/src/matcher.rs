//! Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus semantics.
//!
//! Regexes use RE2 syntax (the `regex` crate) and are fully anchored, as in Prometheus: `a.*`
//! matches `abc` but not `xabc`. A label a series does not have matches as the empty string, so
//! `foo=""` selects series without `foo` and `foo=~".*"` selects every series.

use std::fmt;

use regex::Regex;
use thiserror::Error;

/// Longest regex source accepted; a guard against hostile queries.
pub const MAX_REGEX_LEN: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        })
    }
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum MatcherError {
    #[error("invalid regular expression {pattern:?}: {message}")]
    BadRegex { pattern: String, message: String },
    #[error("regular expression is {0} bytes, more than the limit of {MAX_REGEX_LEN}")]
    RegexTooLong(usize),
}

/// One label matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    regex: Option<Regex>,
}

impl Matcher {
    pub fn new(op: MatchOp, name: &str, value: &str) -> Result<Matcher, MatcherError> {
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                if value.len() > MAX_REGEX_LEN {
                    return Err(MatcherError::RegexTooLong(value.len()));
                }
                let anchored = format!("^(?s:{value})$");
                Some(Regex::new(&anchored).map_err(|e| MatcherError::BadRegex {
                    pattern: value.to_string(),
                    message: e.to_string(),
                })?)
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

    /// `name="value"`; cannot fail.
    pub fn equal(name: &str, value: &str) -> Matcher {
        Matcher {
            name: name.to_string(),
            op: MatchOp::Equal,
            value: value.to_string(),
            regex: None,
        }
    }

    /// Whether a label value (empty when the label is absent) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => self.value == value,
            MatchOp::NotEqual => self.value != value,
            MatchOp::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(value)),
            MatchOp::NotRegex => !self.regex.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }

    /// Whether the matcher selects series that lack the label.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// For `=~"a|b|c"` made only of literal alternatives, the exact values it accepts, so the
    /// index can look them up instead of scanning every value.
    pub fn set_matches(&self) -> Option<Vec<String>> {
        if self.op != MatchOp::Regex {
            return None;
        }
        let special = |c: char| "\\.+*?()[]{}^$".contains(c);
        let alternatives: Vec<String> = self.value.split('|').map(str::to_string).collect();
        if alternatives.iter().any(|a| a.chars().any(special)) {
            return None;
        }
        Some(alternatives)
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Matcher) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_are_anchored() {
        let m = Matcher::new(MatchOp::Regex, "a", "b.*").unwrap();
        assert!(m.matches("bcd"));
        assert!(!m.matches("abcd"));
        let m = Matcher::new(MatchOp::Regex, "a", "x|y").unwrap();
        assert!(m.matches("x") && m.matches("y") && !m.matches("xy"));
        let m = Matcher::new(MatchOp::NotRegex, "a", "x.*").unwrap();
        assert!(!m.matches("xa") && m.matches("ax"));
        // `.` matches newlines too, as in Prometheus.
        assert!(Matcher::new(MatchOp::Regex, "a", ".*")
            .unwrap()
            .matches("a\nb"));
    }

    #[test]
    fn empty_value_semantics() {
        assert!(Matcher::equal("a", "").matches_empty());
        assert!(Matcher::new(MatchOp::Regex, "a", ".*")
            .unwrap()
            .matches_empty());
        assert!(!Matcher::new(MatchOp::Regex, "a", ".+")
            .unwrap()
            .matches_empty());
        assert!(Matcher::new(MatchOp::NotEqual, "a", "x")
            .unwrap()
            .matches_empty());
    }

    #[test]
    fn bad_regex_is_an_error() {
        assert!(matches!(
            Matcher::new(MatchOp::Regex, "a", "("),
            Err(MatcherError::BadRegex { .. })
        ));
    }

    #[test]
    fn literal_alternations_become_sets() {
        let m = Matcher::new(MatchOp::Regex, "a", "x|y|zz").unwrap();
        assert_eq!(
            m.set_matches(),
            Some(vec!["x".into(), "y".into(), "zz".into()])
        );
        assert_eq!(
            Matcher::new(MatchOp::Regex, "a", "x.*")
                .unwrap()
                .set_matches(),
            None
        );
    }
}
