//! What the notifiers of vendor HTTP APIs (PagerDuty, Opsgenie, VictorOps, Pushover) share,
//! as upstream's `notify` helpers: the hashed group key they deduplicate by, JSON encoded as
//! Go's `json.Encoder` writes it, rune truncation, sending a request with the receiver's
//! `http_config`, and the retry rule (2xx succeed, 5xx and listed codes are retried).

use std::time::Duration;

use serde::Serialize;

use super::NotifyError;
use crate::config::HttpClientConfig;

/// Most bytes of a failed response's body quoted in the error.
const ERROR_BODY_LIMIT: usize = 1024;

/// Appended where text was cut short, as upstream.
const TRUNCATION_MARKER: char = '…';

/// The SHA-256 of the group key in lowercase hex: the dedup key, alias and entity ID vendors
/// get (they limit the key's length, so the key itself is not sent).
pub(super) fn key_hash(group_key: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, group_key.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// `v` as Go's `json.NewEncoder(w).Encode(v)` writes it: `<`, `>`, `&`, U+2028 and U+2029
/// escaped, and a trailing newline.
pub(super) fn go_json<T: Serialize>(v: &T) -> Result<Vec<u8>, NotifyError> {
    let plain = serde_json::to_string(v)
        .map_err(|e| NotifyError::permanent(format!("failed to encode message: {e}")))?;
    let mut out = String::with_capacity(plain.len() + 1);
    // These characters can only occur inside JSON strings, so replacing them is safe.
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
    Ok(out.into_bytes())
}

/// `s` cut to at most `n` characters, the last replaced by `…` when cut (upstream's
/// `TruncateInRunes`); and whether it was cut.
pub(super) fn truncate_in_runes(s: &str, n: usize) -> (String, bool) {
    let count = s.chars().count();
    if count <= n {
        return (s.to_string(), false);
    }
    if n <= 3 {
        return (s.chars().take(n).collect(), true);
    }
    let mut out: String = s.chars().take(n - 1).collect();
    out.push(TRUNCATION_MARKER);
    (out, true)
}

/// Upstream's failure reason for an HTTP status.
pub(super) fn failure_reason(status: u16) -> &'static str {
    match status {
        401 | 403 => "authError",
        429 => "rateLimited",
        400..=499 => "clientError",
        500..=599 => "serverError",
        _ => "other",
    }
}

/// A request to send: method, URL, extra headers and body.
pub(super) struct Call<'a> {
    pub method: reqwest::Method,
    pub url: &'a str,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// No limit when zero.
    pub timeout: Duration,
}

/// A response: its status and (the start of) its body.
pub(super) struct Reply {
    pub status: u16,
    pub body: String,
}

/// Sends `call` with the receiver's client and `http_config` credentials. A transport error
/// is worth retrying; its message leaves the URL out (it may hold a key).
pub(super) async fn send(
    client: &reqwest::Client,
    http: &HttpClientConfig,
    call: Call<'_>,
) -> Result<Reply, NotifyError> {
    let mut req = client
        .request(call.method, call.url)
        .header(
            reqwest::header::USER_AGENT,
            concat!("bongsu/", env!("CARGO_PKG_VERSION")),
        )
        .header(reqwest::header::CONTENT_TYPE, call.content_type);
    for (name, value) in call.headers {
        req = req.header(name, value);
    }
    if call.timeout > Duration::ZERO {
        req = req.timeout(call.timeout);
    }
    let req = crate::scrape::fetch::with_auth(http, req.body(call.body))
        .map_err(|e| NotifyError::permanent(e.to_string()))?;
    let resp = req
        .send()
        .await
        .map_err(|e| NotifyError::transient(e.without_url().to_string()))?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap_or_default();
    let body = String::from_utf8_lossy(&body[..body.len().min(ERROR_BODY_LIMIT)]).into_owned();
    Ok(Reply { status, body })
}

/// Upstream's `Retrier.Check`: `None` for 2xx; otherwise the error, retried for 5xx and
/// `retry_codes`, with `details` (the body unless the vendor words it) after the status.
pub(super) fn check(
    status: u16,
    retry_codes: &[u16],
    details: &str,
    reason: &'static str,
) -> Option<NotifyError> {
    if status / 100 == 2 {
        return None;
    }
    let mut message = format!("unexpected status code {status}");
    if !details.is_empty() {
        message.push_str(": ");
        message.push_str(details);
    }
    Some(NotifyError {
        retry: status / 100 == 5 || retry_codes.contains(&status),
        message,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hash_is_sha256_hex() {
        assert_eq!(
            key_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn json_as_go_encodes_it() {
        let v = serde_json::json!({"b": "<a&b>", "a": 1});
        assert_eq!(
            String::from_utf8(go_json(&v).unwrap()).unwrap(),
            "{\"a\":1,\"b\":\"\\u003ca\\u0026b\\u003e\"}\n"
        );
    }

    #[test]
    fn truncation_in_runes() {
        assert_eq!(truncate_in_runes("abcdef", 6), ("abcdef".into(), false));
        assert_eq!(truncate_in_runes("abcdef", 5), ("abcd…".into(), true));
        assert_eq!(truncate_in_runes("äöüß", 3), ("äöü".into(), true));
    }

    #[test]
    fn retry_rule() {
        assert!(check(202, &[], "", "other").is_none());
        let e = check(429, &[429], "slow down", "rateLimited").unwrap();
        assert!(e.retry);
        assert_eq!(e.message, "unexpected status code 429: slow down");
        assert!(check(503, &[], "", "serverError").unwrap().retry);
        let e = check(400, &[429], "", "clientError").unwrap();
        assert!(!e.retry);
        assert_eq!(e.message, "unexpected status code 400");
        assert_eq!(failure_reason(403), "authError");
        assert_eq!(failure_reason(404), "clientError");
    }
}
