//! Substring search for line filters, and the regexes Loki turns into substring searches.
//!
//! `|= "x"` is a plain substring search (`memchr::memmem`, SIMD). A case-insensitive search
//! (from `(?i)x`) compares as Loki's `containsLower` does: the needle lowercased once, each
//! line character lowercased on the fly (ASCII fast path; non-ASCII characters one by one), so
//! nothing is allocated per line.
//!
//! Loki rewrites simple regexes into such searches before compiling them; we recognise the
//! same everyday shapes from the source text: a literal, `(?i)` + literal, `.*` around them,
//! a capture group around them, and alternations of literals (`error|fatal`). Anything else
//! stays a regex. The rewrite never changes which lines match, only how fast.

use memchr::memmem;

/// A substring to search for.
#[derive(Clone, Debug)]
pub struct Needle {
    /// Lowercased when case-insensitive.
    text: Vec<u8>,
    case_insensitive: bool,
    finder: memmem::Finder<'static>,
    /// First byte in both cases, for the ASCII case-insensitive scan.
    first: (u8, u8),
}

impl Needle {
    pub fn new(text: &str, case_insensitive: bool) -> Needle {
        let text: Vec<u8> = if case_insensitive {
            text.to_lowercase().into_bytes()
        } else {
            text.as_bytes().to_vec()
        };
        let first = text
            .first()
            .map_or((0, 0), |b| (b.to_ascii_lowercase(), b.to_ascii_uppercase()));
        Needle {
            finder: memmem::Finder::new(&text).into_owned(),
            text,
            case_insensitive,
            first,
        }
    }

    pub fn text(&self) -> &[u8] {
        &self.text
    }

    pub fn case_insensitive(&self) -> bool {
        self.case_insensitive
    }

    /// Whether `line` contains the needle.
    pub fn is_in(&self, line: &[u8]) -> bool {
        if !self.case_insensitive {
            return self.finder.find(line).is_some();
        }
        contains_lower(line, &self.text, self.first)
    }

    /// Whether `s` equals the needle (case-insensitively if so built).
    pub fn equals(&self, s: &[u8]) -> bool {
        if s.len() != self.text.len() {
            return false;
        }
        if s.is_empty() {
            // Not through `==`: the empty needle of `__error__=""` (on nearly every line of a
            // metric query) has a dangling pointer, and glibc's AVX-512 memcmp then takes a
            // masked load that costs some 100 ns even for zero bytes.
            return true;
        }
        if !self.case_insensitive {
            return s == self.text.as_slice();
        }
        contains_lower(s, &self.text, self.first)
    }
}

/// Loki's `containsLower`: `needle` is lowercase; `first` is its first byte in both cases.
fn contains_lower(line: &[u8], needle: &[u8], first: (u8, u8)) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.len() > line.len() {
        return false;
    }
    let last_start = line.len() - needle.len();
    let mut from = 0;
    if needle[0].is_ascii() {
        // Jump between candidate first bytes with memchr.
        while from <= last_start {
            let Some(off) = memchr::memchr2(first.0, first.1, &line[from..=last_start]) else {
                return false;
            };
            let at = from + off;
            if matches_lower_at(line, at, needle) {
                return true;
            }
            from = at + 1;
        }
        return false;
    }
    while from <= last_start {
        if matches_lower_at(line, from, needle) {
            return true;
        }
        from += 1;
    }
    false
}

/// Whether `line[at..]` starts with `needle` once lowercased.
fn matches_lower_at(line: &[u8], at: usize, needle: &[u8]) -> bool {
    let (mut l, mut n) = (at, 0);
    while n < needle.len() {
        let Some(&c) = line.get(l) else {
            return false;
        };
        let s = needle[n];
        if c.is_ascii() && s.is_ascii() {
            if c.to_ascii_lowercase() != s {
                return false;
            }
            l += 1;
            n += 1;
            continue;
        }
        let (lc, lw) = decode_char(&line[l..]);
        let (nc, nw) = decode_char(&needle[n..]);
        match (lc, nc) {
            (Some(lc), Some(nc)) => {
                if lower(lc) != nc {
                    return false;
                }
            }
            // An invalid byte compares as itself.
            (None, _) => {
                if c != s {
                    return false;
                }
            }
            (Some(_), None) => return false,
        }
        l += lw;
        n += nw;
    }
    true
}

/// Go's `unicode.ToLower` for one character (the first of Rust's mapping).
fn lower(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// The UTF-8 character at the start of `b` and its width; `None` (width 1) when invalid.
fn decode_char(b: &[u8]) -> (Option<char>, usize) {
    let width = match b.first() {
        Some(&c) if c < 0x80 => 1,
        Some(&c) if c >= 0xf0 => 4,
        Some(&c) if c >= 0xe0 => 3,
        Some(&c) if c >= 0xc0 => 2,
        _ => return (None, 1),
    };
    match b.get(..width).and_then(|s| std::str::from_utf8(s).ok()) {
        Some(s) => (s.chars().next(), width),
        None => (None, 1),
    }
}

/// A regex Loki would run as substring searches.
#[derive(Debug, PartialEq, Eq)]
pub struct Simplified {
    /// Any of these literals (one for a plain literal).
    pub literals: Vec<String>,
    pub case_insensitive: bool,
    /// A `.*` was around the literal: Loki then searches for it as a substring even in a
    /// label matcher, where a bare literal must equal the value.
    pub dot_star: bool,
}

/// Recognises `[(?i)] [.*] ( lit | (lit) | (?:lit) ) [.*]` and `[(?i)] (lit|lit…)`.
pub fn simplify(regex: &str) -> Option<Simplified> {
    let (case_insensitive, mut body) = match regex.strip_prefix("(?i)") {
        Some(rest) => (true, rest),
        None => (false, regex),
    };
    let mut dot_star = false;
    if let Some(rest) = body.strip_prefix(".*") {
        body = rest;
        dot_star = true;
    }
    if body.ends_with(".*") && !body.ends_with("\\.*") {
        body = &body[..body.len() - 2];
        dot_star = true;
    }
    let group = body
        .strip_prefix("(?:")
        .or_else(|| body.strip_prefix('('))
        .and_then(|b| b.strip_suffix(')'));
    let literals = literals(group.unwrap_or(body))?;
    // Loki rewrites `.*` next to an alternation only when a literal precedes it.
    if dot_star && literals.len() > 1 {
        return None;
    }
    Some(Simplified {
        literals,
        case_insensitive,
        dot_star,
    })
}

/// `lit|lit|…` where each literal has no unescaped metacharacter; escapes of punctuation
/// are literal.
fn literals(s: &str) -> Option<Vec<String>> {
    let mut out = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let e = chars.next()?;
                if !e.is_ascii_punctuation() {
                    return None;
                }
                out.last_mut()?.push(e);
            }
            '|' => out.push(String::new()),
            '.' | '+' | '*' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '^' | '$' => return None,
            c => out.last_mut()?.push(c),
        }
    }
    // An empty alternative (`a|`) matches everywhere; Loki keeps it as a regex too.
    if out.len() > 1 && out.iter().any(String::is_empty) {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_search() {
        let n = Needle::new("ERROR", true);
        assert!(n.is_in(b"an Error here"));
        assert!(n.is_in(b"error"));
        assert!(!n.is_in(b"erro"));
        let n = Needle::new("ÉTÉ", true);
        assert!(n.is_in("un été".as_bytes()));
        assert!(Needle::new("", true).is_in(b""));
        assert!(Needle::new("x", true).equals(b"X"));
    }

    #[test]
    fn simple_regexes() {
        let s = |r| simplify(r);
        assert_eq!(
            s("(?i)error"),
            Some(Simplified {
                literals: vec!["error".into()],
                case_insensitive: true,
                dot_star: false,
            })
        );
        assert_eq!(s(".*foo\\.bar.*").unwrap().literals, vec!["foo.bar"]);
        assert!(s(".*foo").unwrap().dot_star);
        assert_eq!(s(".*(a|b)"), None);
        assert_eq!(s("(error|fatal)").unwrap().literals, vec!["error", "fatal"]);
        assert_eq!(s("a|b").unwrap().literals, vec!["a", "b"]);
        assert_eq!(s("fo+"), None);
        assert_eq!(s("a|"), None);
        assert_eq!(s("\\d"), None);
    }
}
