//! Passwords inside URLs, as Go's `url.URL.Redacted` hides them when Prometheus and
//! Alertmanager print a configuration: `http://user:xxxxx@host/path`.

use std::borrow::Cow;

/// What a URL's password prints as.
pub const URL_PASSWORD_MASK: &str = "xxxxx";

/// `url` with the password of its userinfo replaced by [`URL_PASSWORD_MASK`]; unchanged when
/// it has none (a username alone is not a secret, as in Go).
pub fn redact_url(url: &str) -> Cow<'_, str> {
    let Some(scheme_end) = url.find("://") else {
        return Cow::Borrowed(url);
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    // The userinfo ends at the last '@' of the authority (a password may hold '@' when written
    // unescaped, which Go's parser also reads as part of the userinfo).
    let Some(at) = authority.rfind('@') else {
        return Cow::Borrowed(url);
    };
    let Some(colon) = authority[..at].find(':') else {
        return Cow::Borrowed(url);
    };
    let password_start = authority_start + colon + 1;
    let password_end = authority_start + at;
    Cow::Owned(format!(
        "{}{URL_PASSWORD_MASK}{}",
        &url[..password_start],
        &url[password_end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_masked_as_go_does() {
        for (url, want) in [
            (
                "http://user:SECRET@host:9090/api/v1/write",
                "http://user:xxxxx@host:9090/api/v1/write",
            ),
            ("https://u:p@ss@h/x?y=1", "https://u:xxxxx@h/x?y=1"),
            ("http://user@host/", "http://user@host/"),
            ("http://host:80/a@b", "http://host:80/a@b"),
            ("http://:pw@host", "http://:xxxxx@host"),
            ("socks5://a:b@proxy:1080", "socks5://a:xxxxx@proxy:1080"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }
}
