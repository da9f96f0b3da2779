//! Go's RE2 regular expressions on the `regex` crate.
//!
//! The grammars agree except where Go is ASCII-only and the crate is Unicode-aware: Go's
//! `\d`, `\w`, `\s` and `\b` are ASCII classes, so we rewrite them to the crate's
//! ASCII forms (`(?-u:\d)` outside a class, explicit ranges inside one). Go also reads `[` and
//! `&&` inside a class literally, where the crate would nest classes or intersect, so they are
//! escaped. Left as is: `\D`/`\W`/`\S` inside a class (Unicode here), `\Q…\E` (Go only).

use regex::bytes::{Regex, RegexBuilder};

/// Longest regular expression accepted from a query.
pub const MAX_REGEX_LEN: usize = 64 * 1024;
/// Compiled-program size limit (the crate's default is 10 MiB).
const REGEX_SIZE_LIMIT: usize = 32 << 20;

/// Compiles a Go regular expression for matching bytes; the error is the crate's message.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > MAX_REGEX_LEN {
        return Err(format!(
            "regular expression is {} bytes, more than the limit of {MAX_REGEX_LEN}",
            pattern.len()
        ));
    }
    RegexBuilder::new(&translate(pattern))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| e.to_string())
}

/// Rewrites Go syntax to the `regex` crate's with the same meaning (see the module doc).
pub fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    // Inside a bracket class; `class_start` while the next char may still be the class's
    // first (where `]` is a literal in both grammars).
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        if c == '\\' {
            let Some(e) = chars.next() else {
                out.push('\\');
                break;
            };
            class_start = false;
            match (in_class, e) {
                (false, 'd' | 'D' | 'w' | 'W' | 's' | 'S' | 'b' | 'B') => {
                    out.push_str("(?-u:\\");
                    out.push(e);
                    out.push(')');
                }
                (true, 'd') => out.push_str("0-9"),
                (true, 'w') => out.push_str("0-9A-Za-z_"),
                (true, 's') => out.push_str("\\t\\n\\f\\r "),
                _ => {
                    out.push('\\');
                    out.push(e);
                }
            }
            continue;
        }
        if in_class {
            match c {
                ']' if !class_start => in_class = false,
                '[' if chars.peek() == Some(&':') => {
                    // A POSIX class `[:alpha:]`: copy through its `:]`.
                    out.push('[');
                    for p in chars.by_ref() {
                        out.push(p);
                        if p == ']' {
                            break;
                        }
                    }
                    class_start = false;
                    continue;
                }
                '[' => {
                    out.push_str("\\[");
                    class_start = false;
                    continue;
                }
                '&' | '~' if chars.peek() == Some(&c) => {
                    out.push(c);
                    out.push('\\');
                    class_start = false;
                    continue;
                }
                '^' if class_start && out.ends_with('[') => {
                    out.push(c);
                    continue;
                }
                _ => {}
            }
            class_start = false;
            out.push(c);
            continue;
        }
        if c == '[' {
            in_class = true;
            class_start = true;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_classes_as_go() {
        let re = compile(r"^\d+$").unwrap();
        assert!(re.is_match(b"123"));
        assert!(!re.is_match("١٢٣".as_bytes()));
        let re = compile(r"^[\w.]+$").unwrap();
        assert!(re.is_match(b"a_b.c"));
        assert!(!re.is_match("é".as_bytes()));
        assert!(compile(r"^[]a]$").unwrap().is_match(b"]"));
        assert!(compile(r"^[^]a]$").unwrap().is_match(b"b"));
        assert!(compile(r"^[a[]$").unwrap().is_match(b"["));
        assert!(compile(r"^[[:alpha:]]+$").unwrap().is_match(b"abc"));
        assert!(compile(r"^[a&&b]+$").unwrap().is_match(b"&"));
        assert!(compile(r"(?P<x>\w+)").is_ok());
    }
}
