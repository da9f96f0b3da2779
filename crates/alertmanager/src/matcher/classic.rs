//! The classic matcher grammar (Alertmanager before 0.27, still its fallback): a legacy label
//! name, an operator, and a value that may be double-quoted, with OpenMetrics escapes (`\"`,
//! `\n`, `\\`); any other backslash is literal. Lists split on commas outside quotes, with
//! optional braces and a tolerated trailing comma.

use std::sync::LazyLock;

use regex::Regex;

use super::{MatchOp, Matcher, MatcherError};

/// Go's `\s` is ASCII whitespace only, hence the explicit class.
static MATCHER_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^[\t\n\x0C\r ]*([a-zA-Z_:][a-zA-Z0-9_:]*)[\t\n\x0C\r ]*(=~|=|!=|!~)[\t\n\x0C\r ]*((?s).*?)[\t\n\x0C\r ]*$",
    )
    .expect("static regex compiles")
});

pub(super) fn parse_matchers(input: &str) -> Result<Vec<Matcher>, MatcherError> {
    let s = input.strip_prefix('{').unwrap_or(input);
    let s = s.strip_suffix('}').unwrap_or(s);
    let mut tokens = Vec::new();
    let mut token = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in s.chars() {
        match c {
            ',' if !quoted => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            ',' => {}
            '"' if escaped => escaped = false,
            '"' => quoted = !quoted,
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    let last = token.trim();
    if !last.is_empty() {
        tokens.push(last.to_string());
    }
    tokens.iter().map(|t| parse_matcher(t)).collect()
}

pub(super) fn parse_matcher(input: &str) -> Result<Matcher, MatcherError> {
    let caps = MATCHER_RE
        .captures(input)
        .ok_or_else(|| MatcherError(format!("bad matcher format: {input}")))?;
    let (name, op, raw) = (&caps[1], &caps[2], &caps[3]);
    let unescaped_quote = || {
        MatcherError(format!(
            "matcher value contains unescaped double quote: {raw}"
        ))
    };
    let (body, mut expect_quote) = match raw.strip_prefix('"') {
        Some(rest) => (rest, true),
        None => (raw, false),
    };
    let mut value = String::with_capacity(body.len());
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        let last = i + c.len_utf8() == body.len();
        if escaped {
            escaped = false;
            match c {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(c),
                c => {
                    value.push('\\');
                    value.push(c);
                }
            }
            continue;
        }
        match c {
            '\\' if !last => escaped = true,
            '\\' => value.push('\\'),
            '"' if !expect_quote || !last => return Err(unescaped_quote()),
            '"' => expect_quote = false,
            c => value.push(c),
        }
    }
    if expect_quote {
        return Err(unescaped_quote());
    }
    let op = match op {
        "=" => MatchOp::Equal,
        "!=" => MatchOp::NotEqual,
        "=~" => MatchOp::Regex,
        _ => MatchOp::NotRegex,
    };
    Matcher::new(op, name, &value)
}
