//! JSON bodies byte for byte as Go's `json.Encoder` writes them, which receivers behind
//! upstream notifiers see: `<`, `>`, `&`, U+2028 and U+2029 escaped as `\uXXXX`, and a
//! trailing newline.

use serde::Serialize;

use super::NotifyError;

/// Encodes `value` as Go's `json.NewEncoder(w).Encode(value)` does.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    Ok(finish(serde_json::to_string(value)?))
}

/// A compact JSON document as Go's encoder ends it: the HTML-sensitive characters and the
/// two line separators escaped, and a trailing newline.
pub fn finish(plain: String) -> Vec<u8> {
    let mut out = String::with_capacity(plain.len() + 16);
    // These characters can only occur inside JSON strings, so escaping them in the whole
    // document changes strings only.
    for c in plain.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('\n');
    out.into_bytes()
}

/// [`encode`] for a request body: failing to encode is a permanent notification error.
pub fn body<T: Serialize>(value: &T) -> Result<Vec<u8>, NotifyError> {
    encode(value).map_err(|e| NotifyError::permanent(format!("failed to encode message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        let got = encode(&serde_json::json!({"t": "<b>a&b</b>\u{2028}é\"\n"})).unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            "{\"t\":\"\\u003cb\\u003ea\\u0026b\\u003c/b\\u003e\\u2028é\\\"\\n\"}\n"
        );
    }
}
