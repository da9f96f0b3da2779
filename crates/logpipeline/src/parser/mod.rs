//! The parser stages: `json`, `logfmt`, `regexp`, `pattern`, `unpack`, with and without
//! parameters. Each adds parsed labels to the [`LabelsBuilder`](crate::LabelsBuilder) as
//! Loki does: names sanitised (`[a-zA-Z0-9_]`, a leading digit gets `_`), `_extracted` added
//! when a stream or metadata label has the name, a name already parsed on this line skipped,
//! and values with invalid UTF-8 (or U+FFFD) turned into spaces.

pub mod json;
pub mod json_expr;
pub mod json_scan;
pub mod logfmt;
mod pattern;
pub mod regexp;
pub mod unpack;

pub use pattern::PatternParser;

use crate::labels::LabelsBuilder;

/// Appends `key` sanitised as Loki's `appendSanitized` does to a name being built in `to`:
/// trimmed, a leading digit (at the start of the name) prefixed with `_`, and every character
/// other than `[a-zA-Z0-9_]` (each invalid byte too) replaced by `_`.
pub(crate) fn append_sanitized(to: &mut String, key: &[u8]) {
    let key = trim_ascii_space(key);
    if key.is_empty() {
        return;
    }
    if to.is_empty() && key[0].is_ascii_digit() {
        to.push('_');
    }
    for chunk in key.utf8_chunks() {
        for c in chunk.valid().chars() {
            to.push(if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            });
        }
        for _ in chunk.invalid() {
            to.push('_');
        }
    }
}

/// Go's `bytes.TrimSpace` for the ASCII spaces (and the Unicode ones, which are rare in keys,
/// are kept).
fn trim_ascii_space(b: &[u8]) -> &[u8] {
    let is_space = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let start = b.iter().position(|c| !is_space(c)).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !is_space(c))
        .map_or(start, |e| e + 1);
    &b[start..end]
}

/// Appends `value` as a label value: invalid UTF-8 bytes and U+FFFD become spaces, as Loki
/// replaces the runes Prometheus would reject.
pub(crate) fn push_value(to: &mut String, value: &[u8]) {
    for chunk in value.utf8_chunks() {
        let valid = chunk.valid();
        // ASCII first: the common case, and cheaper than searching for the three bytes.
        if !valid.is_ascii() && valid.contains('\u{fffd}') {
            to.extend(valid.chars().map(|c| if c == '\u{fffd}' { ' ' } else { c }));
        } else {
            to.push_str(valid);
        }
        for _ in chunk.invalid() {
            to.push(' ');
        }
    }
}

/// Sets parsed label `name` (made `name_extracted` on a collision) unless a parser already
/// set it on this line; `name_buf` is scratch space.
pub(crate) fn set_parsed_once(
    lb: &mut LabelsBuilder,
    name: &str,
    value: &str,
    name_buf: &mut String,
) {
    let name = lb.parsed_name(name, name_buf);
    if !lb.extracted(name) {
        lb.set_parsed(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitises_as_loki() {
        let s = |k: &[u8]| {
            let mut out = String::new();
            append_sanitized(&mut out, k);
            out
        };
        assert_eq!(s(b"cou-nter"), "cou_nter");
        assert_eq!(s(b" 1a "), "_1a");
        assert_eq!(s("é".as_bytes()), "_");
        assert_eq!(s(b"a\xffb"), "a_b");
        let mut v = String::new();
        push_value(&mut v, b"a\xff\xfeb\xef\xbf\xbd");
        assert_eq!(v, "a  b ");
    }
}
