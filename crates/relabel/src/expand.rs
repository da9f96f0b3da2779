//! `$1`, `${1}`, `$name`, `${name}` and `$$` in templates, as Go's `regexp.Expand`.
//!
//! Go's rules differ from `regex::Captures::expand` in small ways that matter for configs
//! written for Prometheus: a name is the longest run of letters, digits and `_` (so `$1x` names
//! the group `1x`, which expands to nothing), a number with a leading zero is a name, and a `$`
//! that starts no valid reference is kept literally.

/// Appends `template` to `out`, with references replaced by the groups of `caps`.
pub(crate) fn expand(caps: &regex::Captures<'_>, template: &str, out: &mut String) {
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let Some((name, after)) = extract(rest) else {
            // Malformed reference: Go keeps the `$` as text.
            out.push('$');
            continue;
        };
        rest = after;
        let group = match group_number(name) {
            Some(n) => caps.get(n),
            None => caps.name(name),
        };
        if let Some(m) = group {
            out.push_str(m.as_str());
        }
    }
    out.push_str(rest);
}

/// Splits a reference (`name` or `{name}`) off the front of `s`.
fn extract(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let end = body
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    if braced {
        let after = body[end..].strip_prefix('}')?;
        return Some((name, after));
    }
    Some((name, &body[end..]))
}

/// A group number as Go reads one: ASCII digits, no leading zero, below 10^8.
fn group_number(name: &str) -> Option<usize> {
    if !name.bytes().all(|b| b.is_ascii_digit()) || (name.len() > 1 && name.starts_with('0')) {
        return None;
    }
    name.parse::<usize>().ok().filter(|&n| n < 100_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(re: &str, input: &str, template: &str) -> String {
        let re = regex::Regex::new(re).unwrap();
        let caps = re.captures(input).unwrap();
        let mut out = String::new();
        expand(&caps, template, &mut out);
        out
    }

    #[test]
    fn go_expand_rules() {
        let re = "^(?P<first>a+)(b+)$";
        assert_eq!(run(re, "aab", "$1-$2"), "aa-b");
        assert_eq!(run(re, "aab", "${1}x"), "aax");
        assert_eq!(run(re, "aab", "$1x"), ""); // group "1x" does not exist
        assert_eq!(run(re, "aab", "$first/${first}"), "aa/aa");
        assert_eq!(run(re, "aab", "$$1"), "$1");
        assert_eq!(run(re, "aab", "$"), "$");
        assert_eq!(run(re, "aab", "${1"), "${1");
        assert_eq!(run(re, "aab", "$01"), ""); // leading zero: a name, not group 1
        assert_eq!(run(re, "aab", "$9"), "");
        assert_eq!(run(re, "aab", "a$-b"), "a$-b");
    }
}
