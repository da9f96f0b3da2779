//! The configuration as `GET /api/v1/status/config` shows it: the file's YAML with every
//! secret (passwords, tokens, credentials, TLS keys, secret headers) replaced by `<secret>`,
//! as Prometheus prints its `Secret`s, and the password inside every URL-typed value
//! (`url`, `proxy_url`, `*_url`) masked as Go's `url.URL.Redacted` does
//! (`http://user:xxxxx@host`). Keys are as written: defaults are not filled in.

use std::borrow::Cow;

use bongsu_httpclient::redact_url;
use serde_yaml_ng::Value;

/// What Prometheus prints instead of a secret.
pub const SECRET_MASK: &str = "<secret>";

/// Keys whose scalar value is a secret wherever they appear.
const SECRET_KEYS: &[&str] = &[
    "password",
    "bearer_token",
    "credentials",
    "client_secret",
    "secret_key",
    "key",
];

/// `text` re-emitted with its secrets masked; `None` if it is not YAML (it was validated
/// before, so this does not happen for a loaded configuration).
pub fn redacted_yaml(text: &str) -> Option<String> {
    let mut doc: Value = serde_yaml_ng::from_str(text).ok()?;
    mask(&mut doc);
    serde_yaml_ng::to_string(&doc).ok()
}

fn mask(v: &mut Value) {
    match v {
        Value::Mapping(m) => {
            for (k, v) in m.iter_mut() {
                match k.as_str() {
                    Some(k) if SECRET_KEYS.contains(&k) && !v.is_null() => {
                        *v = Value::String(SECRET_MASK.into());
                    }
                    // `http_headers: {Name: {secrets: [...]}}`.
                    Some("secrets") => mask_all(v),
                    // `proxy_connect_header: {Name: [values]}`: all values are secrets.
                    Some("proxy_connect_header") => mask_all(v),
                    // Prometheus' URL-typed fields print their password masked.
                    Some(k) if k == "url" || k.ends_with("_url") => {
                        if let Value::String(s) = v {
                            if let Cow::Owned(masked) = redact_url(s) {
                                *s = masked;
                            }
                        }
                    }
                    _ => mask(v),
                }
            }
        }
        Value::Sequence(s) => s.iter_mut().for_each(mask),
        Value::Tagged(t) => mask(&mut t.value),
        _ => {}
    }
}

/// Masks every scalar below `v`.
fn mask_all(v: &mut Value) {
    match v {
        Value::Mapping(m) => m.iter_mut().for_each(|(_, v)| mask_all(v)),
        Value::Sequence(s) => s.iter_mut().for_each(mask_all),
        Value::Null => {}
        _ => *v = Value::String(SECRET_MASK.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked() {
        let text = "global:\n  scrape_interval: 15s\nscrape_configs:\n- job_name: a\n  basic_auth:\n    username: u\n    password: hunter2\n  authorization:\n    credentials: tok\n  http_headers:\n    X-Key:\n      secrets: [s1, s2]\n      values: [v]\n  proxy_connect_header:\n    P: [p1]\n  tls_config:\n    key: PEMDATA\n    key_file: /k\n";
        let out = redacted_yaml(text).unwrap();
        for secret in ["hunter2", "tok", "s1", "s2", "p1", "PEMDATA"] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
        for kept in ["username: u", "key_file: /k", "- v", "scrape_interval: 15s"] {
            assert!(out.contains(kept), "{kept} missing: {out}");
        }
        assert!(out.contains("password: <secret>"), "{out}");
    }

    #[test]
    fn passwords_inside_urls_are_masked() {
        let text = "scrape_configs:\n- job_name: a\n  proxy_url: http://pu:PROXYPW@proxy:3128\nremote_write:\n- url: http://ru:RWPW@host/api/v1/write\n  oauth2:\n    token_url: https://tu:TOKPW@auth/token\n";
        let out = redacted_yaml(text).unwrap();
        for secret in ["PROXYPW", "RWPW", "TOKPW"] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
        assert!(out.contains("http://ru:xxxxx@host/api/v1/write"), "{out}");
        assert!(out.contains("http://pu:xxxxx@proxy:3128"), "{out}");
    }
}
