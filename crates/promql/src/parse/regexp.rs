//! Label-matcher regexes checked as Prometheus checks them: compiled as `^(?s:<value>)$`, with
//! failures worded as Go's `regexp` package words them (`error parsing regexp: <what>:
//! `<fragment>``).

use regex_syntax::ast::{parse::Parser, ErrorKind};

/// `None` when the matcher value compiles; else Prometheus' message.
pub fn check(value: &str) -> Option<String> {
    let wrapped = format!("^(?s:{value})$");
    // Parsing is enough to find syntax errors and far cheaper than compiling; the matcher is
    // compiled once, later, by whoever evaluates it.
    let translated = regex_syntax::Parser::new().parse(&wrapped).err()?;
    let Err(e) = Parser::new().parse(&wrapped) else {
        // Valid syntax the translation refuses (e.g. a bad Unicode class): no Go wording.
        let text = translated.to_string();
        let last = text.lines().last().unwrap_or_default().trim().to_string();
        return Some(format!("error parsing regexp: {last}"));
    };
    let span = e.span();
    let at = |from: usize, to: usize| wrapped.get(from..to).unwrap_or_default().to_string();
    let (what, fragment) = match e.kind() {
        ErrorKind::ClassUnclosed => ("missing closing ]", at(span.start.offset, wrapped.len())),
        ErrorKind::GroupUnopened => ("unexpected )", wrapped.clone()),
        ErrorKind::GroupUnclosed => ("missing closing )", wrapped.clone()),
        ErrorKind::RepetitionMissing => {
            // The span may be empty; Go quotes the operator itself.
            let rest = wrapped.get(span.start.offset..).unwrap_or_default();
            let op: String = rest
                .chars()
                .take(1)
                .chain(rest.chars().skip(1).take_while(|c| *c == '?'))
                .collect();
            let text = at(span.start.offset, span.end.offset);
            (
                "missing argument to repetition operator",
                if text.is_empty() { op } else { text },
            )
        }
        ErrorKind::EscapeUnrecognized
        | ErrorKind::ClassEscapeInvalid
        | ErrorKind::EscapeHexInvalid
        | ErrorKind::EscapeHexInvalidDigit
        | ErrorKind::EscapeHexEmpty => (
            "invalid escape sequence",
            at(span.start.offset, span.end.offset),
        ),
        ErrorKind::ClassRangeInvalid => (
            "invalid character class range",
            at(span.start.offset, span.end.offset),
        ),
        ErrorKind::RepetitionCountInvalid => (
            "invalid repeat count",
            at(span.start.offset, span.end.offset),
        ),
        _ => (
            "invalid or unsupported Perl syntax",
            at(span.start.offset, span.end.offset),
        ),
    };
    Some(format!("error parsing regexp: {what}: `{fragment}`"))
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn go_wording() {
        assert_eq!(check("a.*"), None);
        assert_eq!(
            check(".[+").as_deref(),
            Some("error parsing regexp: missing closing ]: `[+)$`")
        );
        assert_eq!(
            check("t)est").as_deref(),
            Some("error parsing regexp: unexpected ): `^(?s:t)est)$`")
        );
        assert_eq!(
            check("*a").as_deref(),
            Some("error parsing regexp: missing argument to repetition operator: `*`")
        );
    }
}
