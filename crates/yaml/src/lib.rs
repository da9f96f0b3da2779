//! YAML as Go's yaml.v2 reads it, for configuration files written for Prometheus and
//! Alertmanager: error messages worded as yaml.v2 words them (users search for those), and
//! `!!binary` scalars decoded as Go decodes them. Parsing itself is `serde_yaml_ng`'s; this
//! crate knows nothing of what the files configure.

use base64::Engine;
use thiserror::Error;

/// The error's message without serde_yaml_ng's " at line L column C" suffix, with
/// "unknown field" and "duplicate field" reworded as yaml.v2 words them (users search for
/// Prometheus' messages), naming the section where Go names a type.
pub fn describe(e: &serde_yaml_ng::Error) -> String {
    let mut msg = e.to_string();
    if let Some(loc) = e.location() {
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        if let Some(stripped) = msg.strip_suffix(&suffix) {
            msg = stripped.to_string();
        }
    }
    for (serde_words, go_words) in [
        ("unknown field `", "not found in"),
        ("duplicate field `", "already set in"),
    ] {
        let Some(i) = msg.find(serde_words) else {
            continue;
        };
        let prefix = &msg[..i];
        let rest = &msg[i + serde_words.len()..];
        let Some((field, after)) = rest.split_once('`') else {
            continue;
        };
        let section = prefix.trim_end_matches(": ");
        let expected = after.trim_start_matches(", ");
        let mut out = format!(
            "{prefix}field {field} {go_words} type {}",
            type_name(section)
        );
        if !expected.is_empty() {
            out.push_str(&format!(" ({expected})"));
        }
        return out;
    }
    msg
}

/// What Go would call the type at `section` (a serde path like `scrape_configs[0].tls_config`):
/// the top level and `global` decode as `config.plain` in Prometheus; elsewhere the key
/// names the section, in the singular.
/// Whether a [`describe`]d error is in the data rather than the YAML syntax: what yaml.v2
/// reports as `yaml: unmarshal errors:` (a wrong type or value, an unknown or repeated field, a
/// missing one, a bad duration) instead of `yaml: line N: …`.
pub fn is_unmarshal_error(described: &str) -> bool {
    [
        "cannot unmarshal",
        "invalid type:",
        "invalid value:",
        "unknown variant",
        "missing field",
        "not found in type",
        "already set in type",
        "invalid length",
        "not a valid duration",
        "time: invalid duration",
    ]
    .iter()
    .any(|w| described.contains(w))
}

fn type_name(section: &str) -> String {
    let last = section.rsplit('.').next().unwrap_or("");
    let last = last.split('[').next().unwrap_or("");
    match last {
        "" | "global" => "config.plain".to_string(),
        s => s.strip_suffix('s').unwrap_or(s).to_string(),
    }
}

/// Why a `!!binary` scalar could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BinaryTagError {
    /// A block scalar (`!!binary |`), which bongsu does not read.
    #[error("!!binary block scalars are not supported by bongsu yet")]
    BlockScalar,
    #[error("!!binary value contains invalid base64 data")]
    InvalidBase64,
    /// Decoded bytes that are not UTF-8, Go-quoted; `what` is `name` or `value`.
    #[error("{quoted} is not a valid label {what}")]
    NotUtf8 { quoted: String, what: &'static str },
}

/// Replaces `!!binary <base64>` scalars with the decoded text, as Go's YAML decoder would.
/// Decoded bytes that are not UTF-8 cannot be a label name or value (the only places
/// Prometheus users write `!!binary`), so they are refused with Prometheus' message. Errors
/// carry their 1-based line.
pub fn decode_binary_tags(text: &str) -> Result<String, (usize, BinaryTagError)> {
    const TAG: &str = "!!binary";
    if !text.contains(TAG) {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let err = |e: BinaryTagError| (n + 1, e);
        let mut rest = line;
        while let Some(pos) = find_tag(rest, TAG) {
            out.push_str(&rest[..pos]);
            let after_tag = rest[pos + TAG.len()..].trim_start_matches([' ', '\t']);
            let (scalar, after) = split_scalar(after_tag);
            if scalar.is_empty() || scalar.starts_with(['|', '>']) {
                return Err(err(BinaryTagError::BlockScalar));
            }
            let encoded: String = scalar.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| err(BinaryTagError::InvalidBase64))?;
            let decoded = String::from_utf8(bytes).map_err(|e| {
                let is_key = after.trim_start().starts_with(':');
                let what = if is_key { "name" } else { "value" };
                err(BinaryTagError::NotUtf8 {
                    quoted: go_quote(e.as_bytes()),
                    what,
                })
            })?;
            out.push_str(&yaml_quote(&decoded));
            rest = after;
        }
        out.push_str(rest);
    }
    Ok(out)
}

/// The first `tag` in `line` outside quotes and comments.
fn find_tag(line: &str, tag: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') => return None,
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, _) if line[i..].starts_with(tag) => return Some(i),
            _ => {}
        }
    }
    None
}

/// Splits a quoted or plain scalar off the front of `s`: (its text, the rest).
fn split_scalar(s: &str) -> (&str, &str) {
    if let Some(body) = s.strip_prefix('"') {
        if let Some(end) = body.find('"') {
            return (&body[..end], &body[end + 1..]);
        }
    }
    if let Some(body) = s.strip_prefix('\'') {
        if let Some(end) = body.find('\'') {
            return (&body[..end], &body[end + 1..]);
        }
    }
    let end = s
        .find([',', ']', '}', '\n', '\r', '#', ':'])
        .unwrap_or(s.len());
    (s[..end].trim_end(), &s[end..])
}

/// A YAML double-quoted scalar holding `s`.
fn yaml_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a byte string: invalid UTF-8 bytes as `\xNN`.
fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_tags() {
        let t = decode_binary_tags("a:\n  !!binary \"Zm9v\": !!binary YmFy\n").unwrap();
        assert_eq!(t, "a:\n  \"foo\": \"bar\"\n");
        let (line, e) = decode_binary_tags("x:\n  !!binary \"/w==\": v\n").unwrap_err();
        assert_eq!(
            (line, e.to_string()),
            (2, r#""\xff" is not a valid label name"#.to_string())
        );
        let (_, e) = decode_binary_tags("x: !!binary \"/w==\"\n").unwrap_err();
        assert_eq!(e.to_string(), r#""\xff" is not a valid label value"#);
        let (_, e) = decode_binary_tags("r: !!binary \"/w==$1\"\n").unwrap_err();
        assert_eq!(e.to_string(), "!!binary value contains invalid base64 data");
        assert_eq!(
            decode_binary_tags("# !!binary x\n").unwrap(),
            "# !!binary x\n"
        );
    }
}
