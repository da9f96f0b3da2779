//! Whether Loki reduces a label filter's regex to literal tests (then its `String()` prints
//! the matcher as `name=~"…"`) or keeps a regex (printed `name=~`…``). Loki decides on Go's
//! parsed and simplified regex tree; this mirrors the shapes it accepts — alternatives that
//! are each a literal, `.*`, `.+`, empty, or `.*`-bounded literals, with `(?i)` and capture
//! groups — and Go's factoring of alternatives into character classes (`bar|baz` becomes
//! `ba[rz]`, which Loki keeps as a regex). An approximation: printing only, never matching.

/// True when Loki would replace `re` with literal filters.
pub fn loki_simplifies(re: &str) -> bool {
    let re = re.strip_prefix("(?i)").unwrap_or(re);
    let Some(alts) = split_top(re, '|') else {
        return false;
    };
    if alts.len() == 1 {
        return simple_alternative(alts[0]);
    }
    if !alts.iter().all(|a| simple_alternative(a)) {
        return false;
    }
    // Go merges adjacent alternatives that are single characters (once a shared prefix is
    // factored out) into a class, which Loki cannot simplify.
    let lits: Vec<Option<&str>> = alts.iter().map(|a| plain_literal(a)).collect();
    for w in lits.windows(2) {
        if let [Some(a), Some(b)] = w {
            let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
            if a.chars().count() == common + 1 && b.chars().count() == common + 1 {
                return false;
            }
        }
    }
    true
}

/// One alternative: literal, `.*`, `.+`, empty, `.*lit`, `lit.*`, `.*lit.*`, or a group
/// holding simplifiable alternatives.
fn simple_alternative(a: &str) -> bool {
    if let Some(inner) = whole_group(a) {
        return loki_simplifies(inner);
    }
    if a.is_empty() || a == ".*" || a == ".+" {
        return true;
    }
    let body = a.strip_prefix(".*").unwrap_or(a);
    let body = body.strip_suffix(".*").unwrap_or(body);
    plain_literal(body).is_some_and(|l| !l.is_empty())
}

/// The literal text when `s` has no regex operator (escaped punctuation counts as literal).
fn plain_literal(s: &str) -> Option<&str> {
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let e = chars.next()?;
                if e.is_alphanumeric() {
                    return None;
                }
            }
            '.' | '+' | '*' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '^' | '$' => {
                return None
            }
            _ => {}
        }
    }
    Some(s)
}

/// The inside of `(…)` or `(?:…)` when the group spans all of `a`.
fn whole_group(a: &str) -> Option<&str> {
    let inner = a.strip_prefix('(')?.strip_suffix(')')?;
    let inner = inner.strip_prefix("?:").unwrap_or(inner);
    if inner.starts_with('?') {
        return None;
    }
    // The parentheses must match each other, not close and reopen.
    let mut depth = 0i32;
    let mut escaped = false;
    for c in inner.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            _ => {}
        }
    }
    (depth == 0).then_some(inner)
}

/// Splits at `sep` outside groups and classes; `None` on unbalanced text.
fn split_top(s: &str, sep: char) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let (mut depth, mut class, mut escaped, mut start) = (0i32, false, false, 0);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' if !class => class = true,
            ']' if class => class = false,
            _ if class => {}
            '(' => depth += 1,
            ')' => depth -= 1,
            c if c == sep && depth == 0 => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    (depth == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::loki_simplifies;

    #[test]
    fn shapes() {
        for yes in [
            "foo",
            "foo|bar",
            ".*foo.*",
            "(?i)foo",
            "(foo|bar)",
            ".+",
            "",
            "foo.*",
        ] {
            assert!(loki_simplifies(yes), "{yes}");
        }
        for no in [
            "5..", "\\w.*", "bar|baz", "a|b", "^foo$", "[a-z]+", ".*a.*b",
        ] {
            assert!(!loki_simplifies(no), "{no}");
        }
    }
}
