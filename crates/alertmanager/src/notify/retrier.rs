//! Upstream's `Retrier` and request helpers for HTTP notifiers: a 2xx answer is delivered,
//! anything else fails with the status and the start of the body, retried on 5xx (and on the
//! codes a vendor API names); the `reason` label as upstream's
//! `GetFailureReasonFromStatusCode`. Also sending a request with the receiver's
//! `http_config`, the hashed group key vendor APIs deduplicate by, and the rune truncation
//! receivers apply to size-limited fields.

use std::time::Duration;

use bongsu_httpclient::HttpClientConfig;

use super::NotifyError;

/// Most bytes of a failed response's body quoted in the error.
const ERROR_BODY_LIMIT: usize = 1024;

/// Upstream's marker for a shortened string.
const TRUNCATION_MARKER: char = '…';

/// The `reason` label of a failure answered with `status`.
pub fn reason(status: reqwest::StatusCode) -> &'static str {
    match status.as_u16() {
        401 | 403 => "authError",
        429 => "rateLimited",
        400..=499 => "clientError",
        500..=599 => "serverError",
        _ => "other",
    }
}

/// [`reason`] for a status code.
pub fn reason_code(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status).map_or("other", reason)
}

/// The response when it is a 2xx, else the error: `unexpected status code N` followed by the
/// body, if any.
pub async fn check(resp: reqwest::Response) -> Result<reqwest::Response, NotifyError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.bytes().await.unwrap_or_default();
    Err(status_error(status, &body))
}

/// The error for a non-2xx answer: only 5xx is worth retrying (a 429 is not, as upstream).
pub fn status_error(status: reqwest::StatusCode, body: &[u8]) -> NotifyError {
    let body = String::from_utf8_lossy(&body[..body.len().min(ERROR_BODY_LIMIT)]);
    let mut message = format!("unexpected status code {}", status.as_u16());
    if !body.is_empty() {
        message.push_str(": ");
        message.push_str(&body);
    }
    NotifyError {
        retry: status.is_server_error(),
        message,
        reason: reason(status),
    }
}

/// A JSON POST of `body` to `url` with the receiver's `http_config` credentials, and a
/// per-request timeout when `timeout` is not zero.
pub fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    http_config: &bongsu_httpclient::HttpClientConfig,
    timeout: std::time::Duration,
) -> Result<reqwest::RequestBuilder, NotifyError> {
    let mut req = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            reqwest::header::USER_AGENT,
            concat!("bongsu/", env!("CARGO_PKG_VERSION")),
        )
        .body(body);
    if !timeout.is_zero() {
        req = req.timeout(timeout);
    }
    bongsu_httpclient::with_auth(http_config, req)
        .map_err(|e| NotifyError::permanent(e.to_string()))
}

/// The SHA-256 of the group key in lowercase hex: the dedup key, alias and entity ID vendors
/// get (they limit the key's length, so the key itself is not sent).
pub fn key_hash(group_key: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, group_key.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A request to send: method, URL, extra headers and body.
pub struct Call<'a> {
    pub method: reqwest::Method,
    pub url: &'a str,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// No limit when zero.
    pub timeout: Duration,
}

/// A response: its status and (the start of) its body.
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// Sends `call` with the receiver's client and `http_config` credentials. A transport error
/// is worth retrying; its message leaves the URL out (it may hold a key).
pub async fn send(
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
    let req = bongsu_httpclient::with_auth(http, req.body(call.body))
        .map_err(|e| NotifyError::permanent(e.to_string()))?;
    let resp = req.send().await.map_err(send_error)?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap_or_default();
    let body = String::from_utf8_lossy(&body[..body.len().min(ERROR_BODY_LIMIT)]).into_owned();
    Ok(Reply { status, body })
}

/// Upstream's `Retrier.Check`: `Ok` for 2xx; otherwise the error, retried for 5xx and
/// `retry_codes`, with `details` (the body unless the vendor words it) after the status.
pub fn check_status(
    status: u16,
    retry_codes: &[u16],
    details: &str,
    reason: &'static str,
) -> Result<(), NotifyError> {
    if status / 100 == 2 {
        return Ok(());
    }
    let mut message = format!("unexpected status code {status}");
    if !details.is_empty() {
        message.push_str(": ");
        message.push_str(details);
    }
    Err(NotifyError {
        retry: status / 100 == 5 || retry_codes.contains(&status),
        message,
        reason,
    })
}

/// [`post_json`], sent and [`check`]ed: the common case of a receiver whose only verdict is
/// the status code.
pub async fn deliver_json(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    http_config: &bongsu_httpclient::HttpClientConfig,
    timeout: std::time::Duration,
) -> Result<(), NotifyError> {
    let req = post_json(client, url, body, http_config, timeout)?;
    let resp = req.send().await.map_err(send_error)?;
    check(resp).await.map(drop)
}

/// A receiver's URL, given inline (`url_key`) or in a file (`file_key`, read on every send so a
/// rotated file takes effect, with surrounding whitespace trimmed). Loading checked that one
/// of them is set.
pub fn url_or_file(
    url: Option<&crate::config::SecretUrl>,
    file: Option<&std::path::Path>,
    url_key: &str,
    file_key: &str,
) -> Result<String, NotifyError> {
    let url = match (url, file) {
        (Some(u), _) => u.expose().map(|u| u.as_str().to_string()).ok_or_else(|| {
            NotifyError::permanent(format!("{url_key} is the <secret> placeholder, not a URL"))
        })?,
        (None, Some(f)) => bongsu_httpclient::read_secret_file(f)
            .map_err(|e| NotifyError::permanent(format!("read {file_key}: {e}")))?
            .expose()
            .trim()
            .to_string(),
        (None, None) => String::new(),
    };
    if url.is_empty() {
        return Err(NotifyError::permanent(format!("no {url_key} configured")));
    }
    Ok(url)
}

/// A request that could not be sent (connection refused, timeout…): retried, with the URL
/// left out of the message since it may hold a token.
pub fn send_error(e: reqwest::Error) -> NotifyError {
    NotifyError::transient(e.without_url().to_string())
}

/// `s` cut to at most `n` characters, the last one replaced by `…` when cut (upstream's
/// `TruncateInRunes`); true when it was cut.
pub fn truncate_runes(s: String, n: usize) -> (String, bool) {
    let Some((cut, _)) = s.char_indices().nth(n) else {
        return (s, false);
    };
    if n <= 3 {
        return (s[..cut].to_string(), true);
    }
    let (keep, _) = s.char_indices().nth(n - 1).unwrap_or((cut, ' '));
    let mut out = s[..keep].to_string();
    out.push(TRUNCATION_MARKER);
    (out, true)
}

/// `s` cut to at most `n` bytes on a character boundary, ending in `…` when cut (upstream's
/// `TruncateInBytes`; under 4 bytes the marker does not fit and dots stand in); true when
/// it was cut.
pub fn truncate_bytes(s: String, n: usize) -> (String, bool) {
    if s.len() <= n {
        return (s, false);
    }
    match n {
        3 => return (TRUNCATION_MARKER.to_string(), true),
        0..=2 => return (".".repeat(n), true),
        _ => {}
    }
    let mut keep = n - TRUNCATION_MARKER.len_utf8();
    while !s.is_char_boundary(keep) {
        keep -= 1;
    }
    let mut out = s[..keep].to_string();
    out.push(TRUNCATION_MARKER);
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classification() {
        let code = |c| reqwest::StatusCode::from_u16(c).unwrap();
        let e = status_error(code(500), b"boom");
        assert!(e.retry);
        assert_eq!(e.reason, "serverError");
        assert_eq!(e.message, "unexpected status code 500: boom");
        let e = status_error(code(429), b"");
        assert!(!e.retry);
        assert_eq!(e.reason, "rateLimited");
        assert_eq!(e.message, "unexpected status code 429");
        assert_eq!(status_error(code(302), b"").reason, "other");
        assert_eq!(status_error(code(403), b"").reason, "authError");
        assert_eq!(status_error(code(404), b"").reason, "clientError");
    }

    #[test]
    fn key_hash_is_sha256_hex() {
        assert_eq!(
            key_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn vendor_retry_codes() {
        assert!(check_status(202, &[], "", "other").is_ok());
        let e = check_status(429, &[429], "slow down", "rateLimited").unwrap_err();
        assert!(e.retry);
        assert_eq!(e.message, "unexpected status code 429: slow down");
        assert!(check_status(503, &[], "", "serverError").unwrap_err().retry);
        let e = check_status(400, &[429], "", "clientError").unwrap_err();
        assert!(!e.retry);
        assert_eq!(e.message, "unexpected status code 400");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate_runes("abc".into(), 3), ("abc".into(), false));
        assert_eq!(truncate_runes("abcd".into(), 3), ("abc".into(), true));
        assert_eq!(truncate_runes("abcdef".into(), 5), ("abcd…".into(), true));
        assert_eq!(truncate_runes("äöüß€x".into(), 5), ("äöüß…".into(), true));
        assert_eq!(truncate_runes("äöüß€".into(), 5), ("äöüß€".into(), false));
        assert_eq!(truncate_runes(String::new(), 0), (String::new(), false));
        assert_eq!(truncate_runes("a".into(), 0), (String::new(), true));
    }

    #[test]
    fn truncation_counts_bytes() {
        assert_eq!(truncate_bytes("abc".into(), 3), ("abc".into(), false));
        assert_eq!(truncate_bytes("abcd".into(), 3), ("…".into(), true));
        assert_eq!(truncate_bytes("abcd".into(), 2), ("..".into(), true));
        assert_eq!(truncate_bytes("abcdefgh".into(), 7), ("abcd…".into(), true));
        // "ä" is two bytes: a cut inside it drops the whole character.
        assert_eq!(truncate_bytes("aäbcdefg".into(), 5), ("a…".into(), true));
        assert_eq!(truncate_bytes("aäbcdefg".into(), 6), ("aä…".into(), true));
    }

    #[test]
    fn reasons_follow_status_class() {
        assert_eq!(reason(reqwest::StatusCode::NOT_FOUND), "clientError");
        assert_eq!(reason(reqwest::StatusCode::BAD_GATEWAY), "serverError");
        assert_eq!(reason(reqwest::StatusCode::MOVED_PERMANENTLY), "other");
    }
}
