//! Go's number literals as `text/scanner` reads them (`12`, `1.5`, `.5`, `1e3`, `0x1F`,
//! `0o17`, `0b1`, `1_000`), with its error texts; what a number means is decided later.

use super::Lexer;

impl Lexer {
    /// Go's number literal syntax (`12`, `1.5`, `.5`, `1e3`, `0x1F`, `0o17`, `0b1`, `1_000`).
    pub(super) fn scan_number(&mut self) -> Result<(), String> {
        let start = self.i;
        let mut base = 10;
        let mut prefix = None;
        let mut invalid = None;
        let mut seen_digits = false;
        let mut is_float = false;
        if self.peek() == Some('.') {
            self.bump();
            is_float = true;
        } else {
            if self.peek() == Some('0') {
                self.bump();
                match self.peek().map(|c| c.to_ascii_lowercase()) {
                    Some('x') => {
                        self.bump();
                        base = 16;
                        prefix = Some('x');
                    }
                    Some('o') => {
                        self.bump();
                        base = 8;
                        prefix = Some('o');
                    }
                    Some('b') if matches!(self.peek_at(1), Some('0' | '1')) => {
                        self.bump();
                        base = 2;
                        prefix = Some('b');
                    }
                    _ => {
                        base = 8;
                        prefix = Some('0');
                        seen_digits = true;
                    }
                }
            }
            seen_digits |= self.digits(base, &mut invalid);
            if self.peek() == Some('.') {
                self.bump();
                is_float = true;
            }
        }
        let litname = match prefix {
            Some('x') => "hexadecimal literal",
            Some('o' | '0') => "octal literal",
            Some('b') => "binary literal",
            _ => "decimal literal",
        };
        if is_float {
            if matches!(prefix, Some('o' | 'b')) {
                return Err(format!("invalid radix point in {litname}"));
            }
            seen_digits |= self.digits(base, &mut invalid);
        }
        if !seen_digits {
            return Err(format!("{litname} has no digits"));
        }
        let e = self.peek().map(|c| c.to_ascii_lowercase());
        if e == Some('e') || (e == Some('p') && prefix == Some('x')) {
            if e == Some('e') && matches!(prefix, Some('x' | 'o' | 'b')) {
                return Err(format!(
                    "{:?} exponent requires decimal mantissa",
                    self.peek().unwrap_or('e')
                ));
            }
            self.bump();
            is_float = true;
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            let mut none = None;
            if !self.digits(10, &mut none) {
                return Err("exponent has no digits".into());
            }
        } else if prefix == Some('x') && is_float {
            return Err("hexadecimal mantissa requires a 'p' exponent".into());
        }
        if !is_float {
            if let Some(d) = invalid {
                return Err(format!("invalid digit {d:?} in {litname}"));
            }
        }
        let text = self.text(start);
        if text.contains('_') && !underscores_ok(&text) {
            return Err("'_' must separate successive digits".into());
        }
        Ok(())
    }

    /// Digits and `_` of `base` (decimal digits always read; the first too large for the
    /// base is remembered). Whether a digit was seen.
    fn digits(&mut self, base: u32, invalid: &mut Option<char>) -> bool {
        let mut seen = false;
        loop {
            match self.peek() {
                Some('_') => {
                    self.bump();
                }
                Some(c)
                    if (base <= 10 && c.is_ascii_digit())
                        || (base == 16 && c.is_ascii_hexdigit()) =>
                {
                    if base < 10 && c.to_digit(10).is_some_and(|d| d >= base) && invalid.is_none() {
                        *invalid = Some(c);
                    }
                    seen = true;
                    self.bump();
                }
                _ => return seen,
            }
        }
    }
}

/// Go's rule for `_` in number literals: only between digits (or after a base prefix).
fn underscores_ok(text: &str) -> bool {
    let b = text.as_bytes();
    let lower = text.to_ascii_lowercase();
    let hex = lower.starts_with("0x");
    let mut prev = if hex || lower.starts_with("0o") || lower.starts_with("0b") {
        b'0'
    } else {
        b'.'
    };
    let start = if prev == b'0' { 2 } else { 0 };
    for &c in &b[start..] {
        let is_digit = c.is_ascii_digit() || (hex && c.is_ascii_hexdigit());
        if c == b'_' {
            if prev != b'0' {
                return false;
            }
            prev = b'_';
        } else if is_digit {
            prev = b'0';
        } else {
            if prev == b'_' {
                return false;
            }
            prev = b'.';
        }
    }
    prev != b'_'
}
