//! Value types shared by the sections of `alertmanager.yml`: URLs (plain and secret), SMTP
//! `host:port`, durations, label-name checks and the way validation errors leave serde; and
//! what several receiver kinds' configurations share (the HTTP client inherited from
//! `global`, default templates, the `webhook_url` pair check, API URLs ending in `/`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use bongsu_httpclient::{HttpClientConfig, HttpClientSection};
use bongsu_model::parse_prometheus_duration;

use super::ConfigError;

/// Marks a message as ours (a validation error raised while deserializing) so that the loader
/// reports it bare, as Alertmanager does, instead of as a YAML type error with a position.
pub(crate) const OWN_ERROR: char = '\u{1}';

/// A validation error raised inside `Deserialize`.
pub(crate) fn invalid<E: serde::de::Error>(msg: impl fmt::Display) -> E {
    E::custom(format!("{OWN_ERROR}{msg}"))
}

/// A validation message from a `TryFrom` conversion, marked as ours for the loader.
pub(crate) struct Invalid(pub(crate) String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{OWN_ERROR}{}", self.0)
    }
}

pub(crate) fn fail<T>(msg: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(msg.into()))
}

/// What Alertmanager prints for a secret.
pub const SECRET_TOKEN: &str = "<secret>";

/// An `http` or `https` URL with a host, checked at load time.
#[derive(Clone, PartialEq, Eq)]
pub struct Url(url::Url);

impl Url {
    pub fn parse(s: &str) -> Result<Url, String> {
        let u = match url::Url::parse(s) {
            Ok(u) => u,
            // Go parses a schemeless string as a relative URL, then refuses its empty scheme.
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                return Err("unsupported scheme \"\" for URL".to_string())
            }
            Err(e) => return Err(format!("parse {s:?}: {e}")),
        };
        if u.scheme() != "http" && u.scheme() != "https" {
            return Err(format!("unsupported scheme {:?} for URL", u.scheme()));
        }
        if u.host_str().is_none_or(str::is_empty) {
            return Err("missing host for URL".to_string());
        }
        Ok(Url(u))
    }

    pub fn as_url(&self) -> &url::Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0.as_str())
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for Url {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
        Url::parse(&String::deserialize(d)?).map_err(invalid)
    }
}

impl Serialize for Url {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

/// A URL that carries a credential (Slack and Discord webhooks): prints as `<secret>`. The
/// literal `<secret>` loads as a placeholder, so a configuration printed by the API reloads.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(Option<Url>);

impl SecretUrl {
    /// The URL, for building requests only; `None` for the `<secret>` placeholder.
    pub fn expose(&self) -> Option<&Url> {
        self.0.as_ref()
    }

    pub fn from_url(url: Url) -> SecretUrl {
        SecretUrl(Some(url))
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SECRET_TOKEN)
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SecretUrl, D::Error> {
        let s = String::deserialize(d)?;
        if s == SECRET_TOKEN {
            return Ok(SecretUrl(None));
        }
        // The error must not echo the URL: it may hold a token.
        Url::parse(&s)
            .map(|u| SecretUrl(Some(u)))
            .map_err(|e| invalid(redact(&e, &s)))
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(SECRET_TOKEN)
    }
}

/// `message` with `secret` (raw or Go-quoted) replaced by `[REDACTED]`.
pub(crate) fn redact(message: &str, secret: &str) -> String {
    message
        .replace(&format!("{secret:?}"), "\"[REDACTED]\"")
        .replace(secret, "[REDACTED]")
}

/// An SMTP `host:port`; the port is required.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: String,
}

impl HostPort {
    pub fn is_empty(&self) -> bool {
        self.host.is_empty() && self.port.is_empty()
    }

    /// Go's `net.SplitHostPort` plus Alertmanager's non-empty port rule.
    pub fn parse(s: &str) -> Result<HostPort, String> {
        if s.is_empty() {
            return Ok(HostPort::default());
        }
        let missing_port = || format!("address {s}: missing port in address");
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("address {s}: missing ']' in address"))?;
            let port = after.strip_prefix(':').ok_or_else(missing_port)?;
            (host, port)
        } else {
            let (host, port) = s.rsplit_once(':').ok_or_else(missing_port)?;
            if host.contains(':') {
                return Err(format!("address {s}: too many colons in address"));
            }
            (host, port)
        };
        if port.is_empty() {
            return Err(format!("address {s:?}: port cannot be empty"));
        }
        Ok(HostPort {
            host: host.to_string(),
            port: port.to_string(),
        })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            Ok(())
        } else if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl<'de> Deserialize<'de> for HostPort {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<HostPort, D::Error> {
        HostPort::parse(&Option::<String>::deserialize(d)?.unwrap_or_default()).map_err(invalid)
    }
}

/// A `*_file` path; empty counts as unset, as Go's `len(path) > 0` checks.
pub(crate) fn file_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    Ok(Option::<String>::deserialize(d)?
        .filter(|s| !s.is_empty())
        .map(PathBuf::from))
}

/// Prometheus' duration syntax (`30s`, `1h30m`), as `model.Duration`.
pub(crate) fn model_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    let Some(s) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    parse_prometheus_duration(&s)
        .map(Some)
        .ok_or_else(|| invalid(format!("not a valid duration string: {s:?}")))
}

/// Go's `time.Duration` syntax (`10s`, `1m30s`, `500ms`), as the receivers' `timeout`.
pub(crate) fn go_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let Some(s) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    match bongsu_model::units::parse_go_duration(&s) {
        Some(ns) if ns >= 0 => Ok(Some(Duration::from_nanos(ns as u64))),
        _ => Err(invalid(format!("time: invalid duration {s:?}"))),
    }
}

/// Prometheus' legacy label-name rule, which `match`/`match_re` keys follow.
pub(crate) fn is_legacy_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The rule for `group_by`, `equal` and route labels: any non-empty UTF-8 name, as in
/// Alertmanager's default (fallback) mode.
pub(crate) fn is_valid_label_name(name: &str) -> bool {
    !name.is_empty()
}

/// A receiver's `http_config`: its own if given (relative paths joined to `dir`), else a copy
/// of the global one.
pub(crate) fn http_or_global(
    own: Option<HttpClientSection>,
    global: &HttpClientConfig,
    dir: Option<&Path>,
) -> Result<HttpClientConfig, ConfigError> {
    match own {
        Some(section) => http_section(section, dir),
        None => Ok(global.clone()),
    }
}

/// Validates an `http_config` section and resolves its file paths.
pub(crate) fn http_section(
    section: HttpClientSection,
    dir: Option<&Path>,
) -> Result<HttpClientConfig, ConfigError> {
    let mut c = section
        .into_config()
        .map_err(|e| ConfigError::Invalid(e.to_string()))?;
    if let Some(key) = c.unsupported() {
        return Err(ConfigError::unsupported(key));
    }
    if let Some(dir) = dir {
        c.set_directory(dir);
    }
    Ok(c)
}

/// `own`, or Alertmanager's default for a templated field: `{{ template "name" . }}`.
pub(crate) fn template(own: Option<String>, name: &str) -> String {
    own.unwrap_or_else(|| format!(r#"{{{{ template "{name}" . }}}}"#))
}

/// Checks a `webhook_url` / `webhook_url_file` pair: exactly one must be set.
pub(crate) fn one_webhook(url: &Option<SecretUrl>, file: &Option<PathBuf>) -> Result<(), Invalid> {
    match (url, file) {
        (None, None) => fail("one of webhook_url or webhook_url_file must be configured"),
        (Some(_), Some(_)) => {
            fail("at most one of webhook_url & webhook_url_file must be configured")
        }
        _ => Ok(()),
    }
}

/// `url` with `/` appended to its path unless it ends in one (the API paths are appended).
pub(crate) fn with_trailing_slash(url: Url) -> Url {
    if url.as_url().path().ends_with('/') {
        return url;
    }
    let mut u = url.as_url().clone();
    u.set_path(&format!("{}/", u.path()));
    Url::parse(u.as_str()).unwrap_or(url)
}
