//! Loki's pattern expressions (`<ip> - <_> [<ts>] "<method> <path> <_>"`), for the
//! `pattern` parser and the `|>`/`!>` line filters.
//!
//! A pattern is captures (`<name>`, `<_>` for an unnamed one) and literal text. Matching is
//! Loki's greedy-free scan: a leading literal must be at the start, then each capture runs to
//! the next occurrence of the literal after it; a capture at the end takes the rest. A line
//! that runs out early yields the captures found so far (the parser sets only those).

use thiserror::Error;

/// A bad pattern, in Loki's words.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PatternError {
    #[error(
        "parse error at line 1, col 1: syntax error: unexpected $end, expecting IDENTIFIER or LITERAL"
    )]
    Empty,
    #[error("at least one capture is required")]
    NoCapture,
    #[error("found consecutive capture '{0}': invalid expression")]
    ConsecutiveCaptures(String),
    #[error("duplicate capture name ({0}): invalid expression")]
    DuplicateCapture(String),
    #[error("named captures are not allowed: found '<{0}>'")]
    NamedCaptureInFilter(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    /// A capture's name; `_` is unnamed.
    Capture(String),
    Literal(Vec<u8>),
}

impl Node {
    fn is_named_capture(&self) -> bool {
        matches!(self, Node::Capture(n) if n != "_")
    }
}

/// A compiled pattern.
#[derive(Debug, Clone, Default)]
pub struct Pattern {
    nodes: Vec<Node>,
    names: Vec<String>,
    /// A searcher per node (used for literals), built once: building one per search cost more
    /// than the search on log lines.
    finders: Vec<memchr::memmem::Finder<'static>>,
}

/// The searchers of `nodes`' literals (an empty one stands in for a capture).
fn finders(nodes: &[Node]) -> Vec<memchr::memmem::Finder<'static>> {
    nodes
        .iter()
        .map(|n| match n {
            Node::Literal(l) => memchr::memmem::Finder::new(l).into_owned(),
            Node::Capture(_) => memchr::memmem::Finder::new(b"").into_owned(),
        })
        .collect()
}

impl Pattern {
    /// A pattern for the `pattern` parser: at least one named capture, no two captures in a
    /// row, no name twice.
    pub fn parser(text: &str) -> Result<Pattern, PatternError> {
        let nodes = lex(text)?;
        let names: Vec<String> = nodes
            .iter()
            .filter(|n| n.is_named_capture())
            .map(|n| match n {
                Node::Capture(c) => c.clone(),
                Node::Literal(_) => String::new(),
            })
            .collect();
        if names.is_empty() {
            return Err(PatternError::NoCapture);
        }
        check_consecutive(&nodes)?;
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(PatternError::DuplicateCapture(n.clone()));
            }
        }
        let finders = finders(&nodes);
        Ok(Pattern {
            nodes,
            names,
            finders,
        })
    }

    /// A pattern for `|>`/`!>`: only `<_>` captures; an empty pattern matches empty lines.
    pub fn line_filter(text: &str) -> Result<Pattern, PatternError> {
        if text.is_empty() {
            return Ok(Pattern::default());
        }
        let nodes = lex(text)?;
        check_consecutive(&nodes)?;
        if let Some(Node::Capture(n)) = nodes.iter().find(|n| n.is_named_capture()) {
            return Err(PatternError::NamedCaptureInFilter(n.clone()));
        }
        let finders = finders(&nodes);
        Ok(Pattern {
            nodes,
            names: Vec::new(),
            finders,
        })
    }

    /// The named captures, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The literal text right before named capture `index`, if it has one: a line that yields
    /// the capture holds that text followed by the capture's value.
    pub fn literal_before(&self, index: usize) -> Option<&[u8]> {
        let mut named = 0;
        for (k, node) in self.nodes.iter().enumerate() {
            if node.is_named_capture() {
                if named == index {
                    return match self.nodes.get(k.checked_sub(1)?)? {
                        Node::Literal(lit) => Some(lit),
                        Node::Capture(_) => None,
                    };
                }
                named += 1;
            }
        }
        None
    }

    /// Calls `f(index of the name, value)` for each named capture the line yields, as
    /// Loki's `Matcher.Matches`.
    pub fn captures<'l>(&self, line: &'l [u8], mut f: impl FnMut(usize, &'l [u8])) {
        self.walk(line, |i, v| {
            f(i, v);
            true
        });
    }

    /// The value of named capture `index` if the line yields it ([`captures`](Self::captures)
    /// stopped there).
    pub fn capture<'l>(&self, line: &'l [u8], index: usize) -> Option<&'l [u8]> {
        let mut found = None;
        self.walk(line, |i, v| {
            if i == index {
                found = Some(v);
            }
            i < index
        });
        found
    }

    /// The named captures in order, while `f` returns true.
    fn walk<'l>(&self, line: &'l [u8], mut f: impl FnMut(usize, &'l [u8]) -> bool) {
        if line.is_empty() || self.nodes.is_empty() {
            return;
        }
        let mut input = line;
        let mut k = 0;
        if let Node::Literal(lit) = &self.nodes[0] {
            if !input.starts_with(lit) {
                return;
            }
            input = &input[lit.len()..];
            k = 1;
        }
        let mut named = 0;
        while let Some(first) = self.nodes.get(k) {
            let Node::Capture(name) = first else {
                // Captures and literals alternate after the first node.
                return;
            };
            let unnamed = name == "_";
            let Some(Node::Literal(lit)) = self.nodes.get(k + 1) else {
                // Ending on a capture: it takes the rest.
                if !unnamed {
                    f(named, input);
                }
                return;
            };
            let Some(i) = self.finders[k + 1].find(input) else {
                if !unnamed {
                    f(named, input);
                }
                return;
            };
            k += 2;
            if !unnamed {
                if !f(named, &input[..i]) {
                    return;
                }
                named += 1;
            }
            input = &input[i + lit.len()..];
        }
    }

    /// Whether the line matches the whole pattern, as Loki's `Matcher.Test`.
    pub fn test(&self, line: &[u8]) -> bool {
        if line.is_empty() || self.nodes.is_empty() {
            return line.is_empty() && self.nodes.is_empty();
        }
        let mut off = 0;
        for (i, n) in self.nodes.iter().enumerate() {
            let Node::Literal(lit) = n else {
                continue;
            };
            let Some(j) = self.finders[i].find(&line[off..]) else {
                return false;
            };
            if i != 0 && j == 0 {
                return false;
            }
            off += j + lit.len();
        }
        let ends_on_capture = matches!(self.nodes.last(), Some(Node::Capture(_)));
        ends_on_capture == (off != line.len())
    }
}

/// Splits a pattern into captures and runs of literal text.
fn lex(text: &str) -> Result<Vec<Node>, PatternError> {
    if text.is_empty() {
        return Err(PatternError::Empty);
    }
    let b = text.as_bytes();
    let mut nodes: Vec<Node> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if let Some(len) = identifier_len(&b[i..]) {
            nodes.push(Node::Capture(text[i + 1..i + len - 1].to_string()));
            i += len;
            continue;
        }
        let width = text[i..].chars().next().map_or(1, char::len_utf8);
        match nodes.last_mut() {
            Some(Node::Literal(lit)) => lit.extend_from_slice(&b[i..i + width]),
            _ => nodes.push(Node::Literal(b[i..i + width].to_vec())),
        }
        i += width;
    }
    Ok(nodes)
}

/// The length of `<name>` at the start of `b`, name being `[A-Za-z_][A-Za-z0-9_]*`.
fn identifier_len(b: &[u8]) -> Option<usize> {
    if b.first() != Some(&b'<') {
        return None;
    }
    let first = *b.get(1)?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let rest = b[2..]
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))?;
    (b[2 + rest] == b'>').then_some(rest + 3)
}

fn check_consecutive(nodes: &[Node]) -> Result<(), PatternError> {
    for w in nodes.windows(2) {
        if let [Node::Capture(a), Node::Capture(b)] = w {
            return Err(PatternError::ConsecutiveCaptures(format!("<{a}><{b}>")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(p: &str, line: &str) -> Vec<(String, String)> {
        let p = Pattern::parser(p).unwrap();
        let mut out = Vec::new();
        p.captures(line.as_bytes(), |i, v| {
            out.push((p.names()[i].clone(), String::from_utf8_lossy(v).into()))
        });
        out
    }

    #[test]
    fn captures_as_loki() {
        assert_eq!(
            caps(
                "<ip> - <_> [<_>] \"<method> <path> <_>\"",
                "10.0.0.1 - - [date] \"GET /x HTTP/1.1\" 200"
            ),
            vec![
                ("ip".into(), "10.0.0.1".into()),
                ("method".into(), "GET".into()),
                ("path".into(), "/x".into())
            ]
        );
        // A missing literal: the capture takes the rest and matching stops.
        assert_eq!(
            caps("<a> x <b>", "foo bar"),
            vec![("a".into(), "foo bar".into())]
        );
        // A leading literal must be at the start.
        assert!(caps("x<a>", "yx1").is_empty());
    }

    #[test]
    fn literal_before_a_capture() {
        let p = Pattern::parser("<a> x <_> [<b>] <c>").unwrap();
        assert_eq!(p.literal_before(0), None);
        assert_eq!(p.literal_before(1), Some(&b" ["[..]));
        assert_eq!(p.literal_before(2), Some(&b"] "[..]));
        assert_eq!(p.literal_before(3), None);
    }

    #[test]
    fn capture_stops_at_its_index() {
        let p = Pattern::parser("<a> x <b> y <c>").unwrap();
        assert_eq!(p.capture(b"1 x 2 y 3", 1), Some(&b"2"[..]));
        assert_eq!(p.capture(b"1 x 2 y 3", 2), Some(&b"3"[..]));
        assert_eq!(p.capture(b"1 x 2 z 3", 1), Some(&b"2 z 3"[..]));
        assert_eq!(p.capture(b"1 x 2 z 3", 2), None);
        assert_eq!(p.capture(b"", 0), None);
    }

    #[test]
    fn errors_as_loki() {
        assert_eq!(
            Pattern::parser("<f><f>").unwrap_err().to_string(),
            "found consecutive capture '<f><f>': invalid expression"
        );
        assert_eq!(
            Pattern::parser("<f> f<f>").unwrap_err().to_string(),
            "duplicate capture name (f): invalid expression"
        );
        assert_eq!(Pattern::parser("foo").unwrap_err(), PatternError::NoCapture);
        assert_eq!(
            Pattern::line_filter("<foo <foo> bar <_>")
                .unwrap_err()
                .to_string(),
            "named captures are not allowed: found '<foo>'"
        );
        assert!(Pattern::parser("").is_err());
    }

    #[test]
    fn line_filter_test() {
        let p = Pattern::line_filter("<_> foo <_>").unwrap();
        assert!(p.test(b"a foo b"));
        assert!(!p.test(b"a bar b"));
        assert!(!p.test(b"a foo "));
        let p = Pattern::line_filter("foo<_>").unwrap();
        assert!(p.test(b"foobar"));
        // Loki does not anchor a leading literal in a filter.
        assert!(p.test(b"xfoobar"));
    }
}
