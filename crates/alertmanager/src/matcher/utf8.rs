//! The UTF-8 matcher grammar of Alertmanager 0.27+: label names and values are either
//! unquoted runs of non-reserved characters or double-quoted strings with Go escapes, so any
//! UTF-8 label name can be written (`"foo bar"="baz"`). A list may be wrapped in braces and may
//! end with a comma.
//!
//! In the fallback mode only the accept/reject decision of this grammar is visible (the
//! classic parser's error is the one reported), so errors here name the offending token
//! plainly rather than reproducing upstream's column positions.

use super::{MatchOp, Matcher, MatcherError};

/// Characters that end an unquoted token.
pub(crate) fn is_reserved(c: char) -> bool {
    c.is_whitespace() || "{}!=~,\\\"'`".contains(c)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Comma,
    Op(MatchOp),
    /// A name or value, already unquoted.
    Text(String),
}

fn err(msg: impl Into<String>) -> MatcherError {
    MatcherError(msg.into())
}

fn lex(input: &str) -> Result<Vec<Token>, MatcherError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' => tokens.push(Token::Open),
            '}' => tokens.push(Token::Close),
            ',' => tokens.push(Token::Comma),
            '=' => {
                if chars.next_if(|&(_, c)| c == '~').is_some() {
                    tokens.push(Token::Op(MatchOp::Regex));
                } else {
                    tokens.push(Token::Op(MatchOp::Equal));
                }
            }
            '!' => match chars.next() {
                Some((_, '=')) => tokens.push(Token::Op(MatchOp::NotEqual)),
                Some((_, '~')) => tokens.push(Token::Op(MatchOp::NotRegex)),
                _ => return Err(err(format!("{}: expected one of '=~'", &input[i..]))),
            },
            '"' => {
                let start = i;
                let mut escaped = false;
                let mut end = None;
                for (j, c) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        end = Some(j);
                        break;
                    }
                }
                let end = end.ok_or_else(|| err(format!("{}: missing end \"", &input[start..])))?;
                tokens.push(Token::Text(go_unquote(&input[start + 1..end]).ok_or_else(
                    || err(format!("{}: invalid input", &input[start..=end])),
                )?));
            }
            c if c.is_whitespace() => {}
            c if !is_reserved(c) => {
                let mut end = i + c.len_utf8();
                while let Some((j, c)) = chars.next_if(|&(_, c)| !is_reserved(c)) {
                    end = j + c.len_utf8();
                }
                tokens.push(Token::Text(input[i..end].to_string()));
            }
            c => return Err(err(format!("{c}: invalid input"))),
        }
    }
    Ok(tokens)
}

pub(super) fn parse_matchers(input: &str) -> Result<Vec<Matcher>, MatcherError> {
    let tokens = lex(input)?;
    let mut rest = tokens.as_slice();
    let open = rest.first() == Some(&Token::Open);
    if open {
        rest = &rest[1..];
    }
    let mut matchers = Vec::new();
    loop {
        match rest {
            [] if open => return Err(err("expected close brace")),
            [] => return Ok(matchers),
            [Token::Close, tail @ ..] => {
                if !open {
                    return Err(err("}: expected opening brace"));
                }
                if !tail.is_empty() {
                    return Err(err("expected end of input"));
                }
                return Ok(matchers);
            }
            [Token::Text(name), Token::Op(op), Token::Text(value), tail @ ..] => {
                matchers.push(
                    Matcher::new(*op, name, value)
                        .map_err(|e| err(format!("failed to create matcher: {e}")))?,
                );
                rest = match tail {
                    [Token::Comma, after @ ..] => after,
                    [] | [Token::Close, ..] => tail,
                    _ => return Err(err("expected a comma or close brace")),
                };
            }
            [Token::Text(_), Token::Op(_), ..] => return Err(err("expected label value")),
            [Token::Text(_), ..] => {
                return Err(err("expected an operator such as '=', '!=', '=~' or '!~'"))
            }
            _ => return Err(err("expected label name")),
        }
    }
}

/// Go's `strconv.Unquote` of a double-quoted string's body; `None` where Go would fail.
fn go_unquote(body: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\n' => return None,
            '\\' => {}
            c => {
                out.push(c);
                continue;
            }
        }
        let e = chars.next()?;
        let simple = match e {
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            '\\' => Some('\\'),
            '"' => Some('"'),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s);
            continue;
        }
        let digits = |n: usize, radix: u32, chars: &mut std::str::Chars| -> Option<u32> {
            let s: String = chars.by_ref().take(n).collect();
            if s.len() != n {
                return None;
            }
            u32::from_str_radix(&s, radix).ok()
        };
        match e {
            // Go's \x and octal escapes are bytes; only ASCII ones keep the string UTF-8.
            'x' => out.push(char::from_u32(digits(2, 16, &mut chars)?).filter(char::is_ascii)?),
            '0'..='7' => {
                let rest = digits(2, 8, &mut chars)?;
                let v = (e as u32 - '0' as u32) * 64 + rest;
                out.push(char::from_u32(v).filter(char::is_ascii)?);
            }
            'u' => out.push(char::from_u32(digits(4, 16, &mut chars)?)?),
            'U' => out.push(char::from_u32(digits(8, 16, &mut chars)?)?),
            _ => return None,
        }
    }
    Some(out)
}
