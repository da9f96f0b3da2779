//! Loki's pattern syntax (`| pattern "<ip> - <_> \"<method> <uri>\""` and the `|>`/`!>` line
//! filters): literals and `<name>` captures, `<_>` capturing nothing. Validated with Loki's
//! messages; the parts are what the evaluator matches with.
//!
//! Not here: matching lines.

/// A parsed pattern: the text as written and its parts, never two captures in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub source: String,
    pub parts: Vec<PatternPart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternPart {
    Literal(String),
    /// `<name>`, or `<_>` (`None`).
    Capture(Option<String>),
}

/// Reads the parts; `<` that does not start a `<name>` is literal text.
fn parts(source: &str) -> Result<Vec<PatternPart>, String> {
    if source.is_empty() {
        return Err(
            "parse error at line 1, col 1: syntax error: unexpected $end, expecting IDENTIFIER or LITERAL"
                .into(),
        );
    }
    let mut out: Vec<PatternPart> = Vec::new();
    let mut rest = source;
    while !rest.is_empty() {
        if let Some(name) = capture_at(rest) {
            rest = &rest[name.len() + 2..];
            out.push(PatternPart::Capture(
                (name != "_").then(|| name.to_string()),
            ));
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        match out.last_mut() {
            Some(PatternPart::Literal(l)) => l.push(c),
            _ => out.push(PatternPart::Literal(c.to_string())),
        }
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

/// The name of a `<name>` at the start of `s`.
fn capture_at(s: &str) -> Option<&str> {
    let body = s.strip_prefix('<')?;
    let end = body.find('>')?;
    let name = &body[..end];
    let mut chars = name.chars();
    let first = chars.next()?;
    let ok = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some(name)
}

fn show(p: &PatternPart) -> String {
    match p {
        PatternPart::Literal(l) => l.clone(),
        PatternPart::Capture(n) => format!("<{}>", n.as_deref().unwrap_or("_")),
    }
}

fn no_consecutive_captures(parts: &[PatternPart]) -> Result<(), String> {
    for w in parts.windows(2) {
        if let [a @ PatternPart::Capture(_), b @ PatternPart::Capture(_)] = w {
            return Err(format!(
                "found consecutive capture '{}{}': invalid expression",
                show(a),
                show(b)
            ));
        }
    }
    Ok(())
}

/// A pattern for the `pattern` parser: at least one named capture, names unique.
pub fn parse_parser(source: &str) -> Result<Pattern, String> {
    let parts = parts(source)?;
    let names: Vec<&String> = parts
        .iter()
        .filter_map(|p| match p {
            PatternPart::Capture(Some(n)) => Some(n),
            _ => None,
        })
        .collect();
    if names.is_empty() {
        return Err("at least one capture is required".into());
    }
    no_consecutive_captures(&parts)?;
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(format!("duplicate capture name ({n}): invalid expression"));
        }
    }
    Ok(Pattern {
        source: source.to_string(),
        parts,
    })
}

/// A pattern for `|>`/`!>`: only `<_>` captures; empty matches everything.
pub fn parse_line_filter(source: &str) -> Result<Pattern, String> {
    if source.is_empty() {
        return Ok(Pattern {
            source: String::new(),
            parts: Vec::new(),
        });
    }
    let parts = parts(source)?;
    no_consecutive_captures(&parts)?;
    if let Some(p) = parts
        .iter()
        .find(|p| matches!(p, PatternPart::Capture(Some(_))))
    {
        return Err(format!(
            "named captures are not allowed: found '{}'",
            show(p)
        ));
    }
    Ok(Pattern {
        source: source.to_string(),
        parts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(parse_parser("<ip> - <_>").is_ok());
        assert_eq!(
            parse_parser("<_>").unwrap_err(),
            "at least one capture is required"
        );
        assert_eq!(
            parse_parser("<f><f>").unwrap_err(),
            "found consecutive capture '<f><f>': invalid expression"
        );
        assert_eq!(
            parse_parser("<f> f<f>").unwrap_err(),
            "duplicate capture name (f): invalid expression"
        );
        assert_eq!(
            parse_line_filter("<foo>").unwrap_err(),
            "named captures are not allowed: found '<foo>'"
        );
        assert_eq!(
            parse_parser("a <b").unwrap_err(),
            "at least one capture is required"
        );
    }
}
