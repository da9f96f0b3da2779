//! Needles: the literal substrings a query requires of a line (the literal parts of LogQL's
//! `|=` filters), pushed down to the store.
//!
//! The store uses a needle twice: its [`Probe`] skips chunks whose filter proves no line can
//! contain it, and [`Needle::matches`] drops lines that do not contain it. So a scan with
//! needles yields exactly the lines containing all of them (in range, up to the limit).

use memchr::memmem;

use crate::tokens::Probe;

/// A required substring.
#[derive(Debug, Clone)]
pub struct Needle {
    text: Vec<u8>,
    case_insensitive: bool,
    finder: memmem::Finder<'static>,
    pub(crate) probe: Probe,
}

impl Needle {
    /// A case-sensitive needle: the line must contain these exact bytes.
    pub fn new(text: &str) -> Needle {
        Needle {
            text: text.as_bytes().to_vec(),
            case_insensitive: false,
            finder: memmem::Finder::new(text.as_bytes()).into_owned(),
            probe: Probe::for_needle(text.as_bytes()),
        }
    }

    /// An ASCII-case-insensitive needle: ASCII letters match either case, other bytes exactly.
    /// (A regex's `(?i)` also folds U+212A KELVIN SIGN to `k` and U+017F LONG S to `s`; a
    /// caller that needs that must not push such a needle down, or must check itself.)
    pub fn ascii_case_insensitive(text: &str) -> Needle {
        let lower = text.to_ascii_lowercase();
        Needle {
            finder: memmem::Finder::new(lower.as_bytes()).into_owned(),
            probe: Probe::for_needle(lower.as_bytes()),
            text: lower.into_bytes(),
            case_insensitive: true,
        }
    }

    /// Whether `line` contains the needle.
    pub fn matches(&self, line: &[u8]) -> bool {
        if !self.case_insensitive {
            return self.finder.find(line).is_some();
        }
        let Some(&first) = self.text.first() else {
            return true;
        };
        let n = self.text.len();
        let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
        memchr::memchr2_iter(lo, up, line)
            .any(|i| line.len() - i >= n && line[i..i + n].eq_ignore_ascii_case(&self.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        assert!(Needle::new("b c").matches(b"ab cd"));
        assert!(!Needle::new("B c").matches(b"ab cd"));
        let ci = Needle::ascii_case_insensitive("ErRor");
        assert!(ci.matches(b"x [ERROR] y"));
        assert!(ci.matches(b"upstream_error"));
        assert!(!ci.matches(b"erro"));
        assert!(Needle::ascii_case_insensitive("").matches(b""));
    }
}
