//! `| json name="path", …`: selected values by JSON path (`a.b`, `a["b c"]`, `a.list[0]`).
//!
//! As Loki: a found string is unescaped, an object or array is its JSON text, null is empty;
//! a path that is not found gives the label an empty value unless a label of that name
//! already exists; a line that does not start with `{`, `[` or `"` gets
//! `__error__="JSONParserErr"` (no details); an empty line gets nothing. The first of
//! duplicate keys wins. Names colliding with stream or metadata labels get `_extracted`.

use super::json::read_value;
use super::json_scan::{
    self as json_scan, array_element, block_end_from, next_token, string_end, unescape, Kind,
    Members,
};
use crate::labels::LabelsBuilder;
use crate::{StageError, ERR_JSON};

/// Longest JSON path accepted.
pub const MAX_PATH_PARTS: usize = 64;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPart {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Field(String),
    Str(String),
    Index(usize),
    Lsb,
    Rsb,
    Dot,
    End,
}

impl Token {
    fn name(&self) -> &'static str {
        match self {
            Token::Field(_) => "FIELD",
            Token::Str(_) => "STRING",
            Token::Index(_) => "INDEX",
            Token::Lsb => "LSB",
            Token::Rsb => "RSB",
            Token::Dot => "DOT",
            Token::End => "$end",
        }
    }
}

/// Splits a path as Loki's `jsonexpr` scanner; a scanner error ends the input and is
/// reported if the grammar accepts what came before.
fn tokens(expr: &str) -> (Vec<Token>, Option<String>) {
    let mut out = Vec::new();
    let b: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        i += 1;
        match c {
            ' ' | '\t' | '\n' => {}
            '[' => out.push(Token::Lsb),
            ']' => out.push(Token::Rsb),
            '.' => out.push(Token::Dot),
            '0'..='9' => {
                let start = i - 1;
                while i < b.len() && !matches!(b[i], ' ' | '\t' | '\n' | '.' | ']') {
                    if !b[i].is_ascii_digit() {
                        return (out, Some(format!("non-integer value: {}", b[i])));
                    }
                    i += 1;
                }
                if b.get(i) == Some(&'.') {
                    return (out, Some("cannot use float as array index".into()));
                }
                let digits: String = b[start..i].iter().collect();
                match digits.parse() {
                    Ok(n) => out.push(Token::Index(n)),
                    Err(_) => {
                        return (
                            out,
                            Some(format!(
                                "strconv.Atoi: parsing {}: value out of range",
                                crate::units::go_quote(&digits)
                            )),
                        )
                    }
                }
            }
            '"' => {
                let start = i;
                while i < b.len() && b[i] != '"' && b[i] != ']' {
                    i += 1;
                }
                out.push(Token::Str(b[start..i].iter().collect()));
                // The closing `"` or `]` is consumed.
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i - 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '_') {
                    i += 1;
                }
                out.push(Token::Field(b[start..i].iter().collect()));
            }
            c => return (out, Some(format!("unexpected char {c}"))),
        }
    }
    (out, None)
}

/// Parses a JSON path with Loki's grammar and error text.
pub fn parse_path(expr: &str) -> Result<Vec<PathPart>, String> {
    let (toks, lex_err) = tokens(expr);
    let mut it = toks
        .into_iter()
        .chain(std::iter::once(Token::End))
        .peekable();
    let err = |t: &Token, expecting: &str| {
        if expecting.is_empty() {
            format!("syntax error: unexpected {}", t.name())
        } else {
            format!(
                "syntax error: unexpected {}, expecting {expecting}",
                t.name()
            )
        }
    };
    let mut path = Vec::new();
    let mut first = true;
    loop {
        let t = it.next().unwrap_or(Token::End);
        match t {
            Token::Field(f) if first => path.push(PathPart::Key(f)),
            Token::Lsb => {
                let inner = it.next().unwrap_or(Token::End);
                let part = match inner {
                    Token::Str(s) => PathPart::Key(s),
                    Token::Index(n) => PathPart::Index(n),
                    t => return Err(err(&t, "STRING or INDEX")),
                };
                match it.next().unwrap_or(Token::End) {
                    Token::Rsb => path.push(part),
                    t => return Err(err(&t, "RSB")),
                }
            }
            Token::Dot if !first => match it.next().unwrap_or(Token::End) {
                Token::Field(f) => path.push(PathPart::Key(f)),
                t => return Err(err(&t, "FIELD")),
            },
            Token::End if !first => break,
            t if first => return Err(err(&t, "LSB or FIELD")),
            t => return Err(err(&t, "")),
        }
        first = false;
        if path.len() > MAX_PATH_PARTS {
            return Err(format!("path longer than {MAX_PATH_PARTS} parts"));
        }
    }
    match lex_err {
        Some(e) => Err(e),
        None => Ok(path),
    }
}

/// The `json` parser with parameters.
#[derive(Debug, Clone)]
pub struct JsonExprParser {
    exprs: Vec<(String, Vec<PathPart>)>,
    /// Per expression, a searcher for its first key, when the path starts with one.
    first_keys: Vec<Option<memchr::memmem::Finder<'static>>>,
    value: String,
    scratch: Vec<u8>,
    name: String,
}

impl JsonExprParser {
    /// `(label name, path)` pairs, in query order.
    pub fn new(exprs: &[(&str, &str)]) -> Result<JsonExprParser, StageError> {
        let exprs: Vec<(String, Vec<PathPart>)> = exprs
            .iter()
            .map(|(name, path)| {
                let parts = parse_path(path).map_err(|e| {
                    StageError::Expression(format!("cannot parse expression [{path}]: {e}"))
                })?;
                Ok((name.to_string(), parts))
            })
            .collect::<Result<_, StageError>>()?;
        let first_keys = exprs
            .iter()
            .map(|(_, path)| match path.first() {
                Some(PathPart::Key(k)) => Some(memchr::memmem::Finder::new(k).into_owned()),
                _ => None,
            })
            .collect();
        Ok(JsonExprParser {
            exprs,
            first_keys,
            value: String::new(),
            scratch: Vec::new(),
            name: String::new(),
        })
    }

    pub fn process(&mut self, line: &[u8], lb: &mut LabelsBuilder) {
        let Some(&first) = line.first() else {
            return;
        };
        if !matches!(first, b'"' | b'{' | b'[') {
            lb.set_err(ERR_JSON);
            return;
        }
        let mut matches = 0;
        // A key matches only where its bytes are, or where escapes spell it: a line with
        // neither has no such member, which a search says sooner than a walk.
        let mut escapes = None;
        for ((id, path), first_key) in self.exprs.iter().zip(&self.first_keys) {
            if let Some(finder) = first_key {
                if finder.find(line).is_none()
                    && !*escapes.get_or_insert_with(|| memchr::memchr(b'\\', line).is_some())
                {
                    continue;
                }
            }
            let Some((value, kind)) = lookup(line, path) else {
                continue;
            };
            match kind {
                Kind::Object => {
                    self.value.clear();
                    super::push_value(&mut self.value, value);
                }
                _ => read_value(value, kind, &mut self.value, &mut self.scratch),
            }
            let name = lb.parsed_name(id, &mut self.name);
            lb.set_parsed(name, &self.value);
            matches += 1;
        }
        if matches < self.exprs.len() {
            for (id, _) in &self.exprs {
                if lb.get(id).is_none() {
                    lb.set_parsed(id, "");
                }
            }
        }
    }
}

/// The value at `path` in the document, if there is one (malformed parts count as absent).
///
/// Defined in two passes: the document's first value is delimited (an object must close),
/// then the path is followed inside it. A path starting with a key is mostly answered in one
/// pass by [`first_member`].
fn lookup<'a>(doc: &'a [u8], path: &[PathPart]) -> Option<(&'a [u8], Kind)> {
    if let Some(PathPart::Key(key)) = path.first() {
        match first_member(doc, key.as_bytes()) {
            First::Found(value, kind) => return descend(value, kind, &path[1..]),
            First::Absent => return None,
            First::Unsure => {}
        }
    }
    let (value, kind, _) = super::json_scan::value(doc).ok()?;
    descend(value, kind, path)
}

/// What [`first_member`] says of a key.
enum First<'a> {
    Found(&'a [u8], Kind),
    Absent,
    /// The document has a shape where one pass could disagree with two.
    Unsure,
}

/// The top-level member `key` of `doc`, as [`lookup`]'s two passes find it, in one: the
/// members are walked up to the key, then the object is only checked to close.
///
/// The walk and the delimiting pass see the same strings and nested objects, so the members
/// up to the key lie inside the object the delimiting finds, except in two shapes, left to the
/// two passes: a number token holding `"`, `{` or `[` (jsonparser takes any token starting
/// with a digit as a number, where the delimiting sees a string or a brace), and an array
/// whose braces do not balance (the delimiting counts braces inside arrays too).
fn first_member<'a>(doc: &'a [u8], key: &[u8]) -> First<'a> {
    // `Members`' walk (jsonparser's `ObjectEach`) without its per-member bookkeeping: any
    // error, or the end of the object, before the key means the key is absent.
    let skip = |i: &mut usize| -> Option<u8> {
        *i += next_token(doc.get(*i..)?)?;
        Some(doc[*i])
    };
    let mut i = 0;
    if skip(&mut i) != Some(b'{') {
        return First::Absent;
    }
    i += 1;
    if skip(&mut i).is_none() {
        return First::Absent;
    }
    loop {
        if doc[i] != b'"' {
            return First::Absent;
        }
        let Some((end, escaped)) = string_end(&doc[i + 1..]) else {
            return First::Absent;
        };
        let raw = &doc[i + 1..i + end];
        i += 1 + end;
        let is_key = if escaped {
            match unescape(raw) {
                Some(k) => k == key,
                None => return First::Absent,
            }
        } else {
            raw == key
        };
        if skip(&mut i) != Some(b':') {
            return First::Absent;
        }
        i += 1;
        let Ok((value, kind, len)) = json_scan::value(&doc[i..]) else {
            return First::Absent;
        };
        i += len;
        let agree = match kind {
            Kind::Number => !value.iter().any(|c| matches!(c, b'"' | b'{' | b'[')),
            Kind::Array => braces_balance(value),
            _ => true,
        };
        if !agree {
            return First::Unsure;
        }
        if is_key {
            // Inside the top-level object (one brace deep) just past the value.
            return match block_end_from(&doc[i..], 1, b'{', b'}') {
                Some(_) => First::Found(value, kind),
                None => First::Absent,
            };
        }
        if skip(&mut i) != Some(b',') {
            return First::Absent;
        }
        i += 1;
        if skip(&mut i).is_none() {
            return First::Absent;
        }
    }
}

/// Whether the braces outside strings of `block` never close more than are open and end
/// balanced.
fn braces_balance(block: &[u8]) -> bool {
    let mut level = 0usize;
    let mut i = 0;
    while let Some(&c) = block.get(i) {
        match c {
            b'"' => match string_end(&block[i + 1..]) {
                Some((end, _)) => i += end,
                None => return false,
            },
            b'{' => level += 1,
            b'}' => match level.checked_sub(1) {
                Some(l) => level = l,
                None => return false,
            },
            _ => {}
        }
        i += 1;
    }
    level == 0
}

/// Follows `path` from `value` (an object's or array's text with its brackets, a string's
/// without quotes).
fn descend<'a>(mut value: &'a [u8], mut kind: Kind, path: &[PathPart]) -> Option<(&'a [u8], Kind)> {
    for part in path {
        match (part, kind) {
            (PathPart::Key(k), Kind::Object) => {
                let found = Members::new(value)
                    .map_while(Result::ok)
                    .find(|(key, _, _)| key.as_ref() == k.as_bytes())?;
                (value, kind) = (found.1, found.2);
            }
            (PathPart::Index(i), Kind::Array) => {
                (value, kind) = array_element(value, *i).ok().flatten()?;
            }
            _ => return None,
        }
    }
    Some((value, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_as_loki() {
        use PathPart::*;
        assert_eq!(
            parse_path(r#"pod.deployment.params[0]["param"]"#),
            Ok(vec![
                Key("pod".into()),
                Key("deployment".into()),
                Key("params".into()),
                Index(0),
                Key("param".into())
            ])
        );
        assert_eq!(
            parse_path(r#"["field with ÜFT8👌"]"#),
            Ok(vec![Key("field with ÜFT8👌".into())])
        );
        let e = |p| parse_path(p).unwrap_err();
        assert_eq!(e("field with space"), "syntax error: unexpected FIELD");
        assert_eq!(
            e(r#""pod"]"#),
            "syntax error: unexpected STRING, expecting LSB or FIELD"
        );
        assert_eq!(
            e(r#"["pod""#),
            "syntax error: unexpected $end, expecting RSB"
        );
        assert_eq!(
            e(r#"["pod""deployment"]"#),
            "syntax error: unexpected STRING, expecting RSB"
        );
        assert_eq!(
            e("pod..uuid"),
            "syntax error: unexpected DOT, expecting FIELD"
        );
        assert_eq!(
            e(r#"["key"#),
            "syntax error: unexpected $end, expecting RSB"
        );
    }

    fn two_passes<'a>(doc: &'a [u8], path: &[PathPart]) -> Option<(&'a [u8], Kind)> {
        let (value, kind, _) = super::super::json_scan::value(doc).ok()?;
        descend(value, kind, path)
    }

    /// Objects of members whose values may be junk, with junk between members and closing
    /// braces sometimes missing: the one-pass lookup must answer as the two passes that
    /// define it.
    #[test]
    fn one_pass_agrees_with_two() {
        use proptest::prelude::*;
        let keys = proptest::sample::select(vec![
            r#""k""#,
            r#""a""#,
            r#""\u006b""#,
            r#""k\"""#,
            r#""\x""#,
            " \"k\" ",
            "\"k\"\n:",
        ]);
        let values = proptest::sample::select(vec![
            "1",
            "-2.5",
            r#""s""#,
            r#""x\"}""#,
            r#""\\""#,
            "null",
            "true",
            "tru",
            "1{",
            "1\"",
            "1[",
            "[]",
            "[1,\"]\"]",
            "[{]",
            "[}]",
            "[{}]",
            r#"[{"k":1}]"#,
            r#"{"k":2}"#,
            r#"{"a":{"k":[3]}}"#,
            "{",
            "}",
            "[",
            r#"""#,
            "",
        ]);
        let glue = proptest::sample::select(vec![",", ",", ",", " , ", "", "}", "{", "]", "\""]);
        let member = (keys, values, glue).prop_map(|(k, v, g)| format!("{k}:{v}{g}"));
        let ends = proptest::sample::select(vec!["}", "}", "} x", "", "}}", " }"]);
        let doc = (proptest::collection::vec(member, 0..6), ends).prop_map(|(members, end)| {
            let mut doc = format!("{{{}", members.concat());
            if doc.ends_with(',') {
                doc.pop();
            }
            doc + end
        });
        let paths: Vec<Vec<PathPart>> = ["k", "a", "k.a", "k[0]", r#"["k"]"#, "a.k"]
            .iter()
            .map(|p| parse_path(p).unwrap())
            .collect();
        // How many answers were found in one pass, absent, and left to two passes.
        let seen = std::cell::Cell::new([0usize; 3]);
        proptest!(ProptestConfig::with_cases(20_000), |(doc in doc)| {
            for path in &paths {
                if let Some(PathPart::Key(k)) = path.first() {
                    let mut n = seen.get();
                    n[match first_member(doc.as_bytes(), k.as_bytes()) {
                        First::Found(..) => 0,
                        First::Absent => 1,
                        First::Unsure => 2,
                    }] += 1;
                    seen.set(n);
                }
                prop_assert_eq!(
                    lookup(doc.as_bytes(), path),
                    two_passes(doc.as_bytes(), path),
                    "{} {:?}", doc, path
                );
            }
        });
        assert!(seen.get().iter().all(|&n| n > 1000), "{:?}", seen.get());
    }

    #[test]
    fn lookups() {
        let doc = br#"{"a":{"b":[1,{"c":"x\"y"}]},"n":null}"#;
        let get = |p: &str| {
            lookup(doc, &parse_path(p).unwrap())
                .map(|(v, k)| (String::from_utf8_lossy(v).into_owned(), k))
        };
        assert_eq!(get("a.b[1].c"), Some(("x\\\"y".into(), Kind::String)));
        assert_eq!(get("a.b[0]"), Some(("1".into(), Kind::Number)));
        assert_eq!(get("a.b[2]"), None);
        assert_eq!(get("n"), Some(("null".into(), Kind::Null)));
        assert_eq!(get("a.x"), None);
    }
}
