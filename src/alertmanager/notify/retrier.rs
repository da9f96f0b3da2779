//! Upstream's `Retrier` for HTTP notifiers: a 2xx answer is delivered, anything else fails
//! with the status and the start of the body, retried only on 5xx; the `reason` label
//! follows the status class. Also the rune truncation receivers apply to size-limited
//! fields.

use super::NotifyError;

/// Most bytes of a failed response's body quoted in the error.
const ERROR_BODY_LIMIT: usize = 1024;

/// Upstream's marker for a shortened string.
const TRUNCATION_MARKER: char = '…';

/// The `reason` label of a failure answered with `status`.
pub fn reason(status: reqwest::StatusCode) -> &'static str {
    if status.is_client_error() {
        "clientError"
    } else if status.is_server_error() {
        "serverError"
    } else {
        "other"
    }
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
    http_config: &crate::config::HttpClientConfig,
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
    crate::scrape::fetch::with_auth(http_config, req)
        .map_err(|e| NotifyError::permanent(e.to_string()))
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
        assert_eq!(e.reason, "clientError");
        assert_eq!(e.message, "unexpected status code 429");
        assert_eq!(status_error(code(302), b"").reason, "other");
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
    fn reasons_follow_status_class() {
        assert_eq!(reason(reqwest::StatusCode::NOT_FOUND), "clientError");
        assert_eq!(reason(reqwest::StatusCode::BAD_GATEWAY), "serverError");
        assert_eq!(reason(reqwest::StatusCode::MOVED_PERMANENTLY), "other");
    }
}
